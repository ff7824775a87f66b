// Package junit writes JUnit XML, the test-result format CI systems read:
// a <testsuites> root, one <testsuite> per group and one <testcase> per
// check. Every JUnit file tether writes goes through [Write], which counts
// the tests, failures and skips itself, so the counts always agree with the
// cases.
package junit

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
)

// Report is the root element.
type Report struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     string   `xml:"time,attr,omitempty"` // seconds, as "1.250"
	Suites   []Suite  `xml:"testsuite"`
}

// Suite is one group of test cases.
type Suite struct {
	Name       string     `xml:"name,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       string     `xml:"time,attr,omitempty"`
	Properties []Property `xml:"properties>property,omitempty"`
	Cases      []Case     `xml:"testcase"`
}

// Property is a name and value a suite carries, such as an input's digest.
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Case is one test case: it failed when it has failures, was skipped when
// Skipped is set, and passed otherwise. SystemOut is written as CDATA, so
// its lines stay lines.
type Case struct {
	Classname string    `xml:"classname,attr"`
	Name      string    `xml:"name,attr"`
	Failures  []Failure `xml:"failure,omitempty"`
	Skipped   *struct{} `xml:"skipped,omitempty"`
	SystemOut Text      `xml:"system-out"`
}

// Failure says why a case failed: a short message, a type (a rule ID) and
// the full text, written as CDATA.
type Failure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// Text is element text written as CDATA, so that newlines stay newlines
// rather than &#xA;; an empty Text writes no element.
type Text string

// MarshalXML writes t as CDATA in the element start, or nothing when t is
// empty.
func (t Text) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if t == "" {
		return nil
	}
	return e.EncodeElement(struct {
		Text string `xml:",cdata"`
	}{string(t)}, start)
}

// Write counts r's tests, failures and skips, per suite and in all, and
// writes it as indented XML with its header, ending in a newline.
func Write(w io.Writer, r Report) error {
	r.Tests, r.Failures, r.Skipped = 0, 0, 0
	for i := range r.Suites {
		s := &r.Suites[i]
		s.Tests, s.Failures, s.Skipped = len(s.Cases), 0, 0
		for _, c := range s.Cases {
			switch {
			case len(c.Failures) > 0:
				s.Failures++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		r.Tests += s.Tests
		r.Failures += s.Failures
		r.Skipped += s.Skipped
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode junit: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}
