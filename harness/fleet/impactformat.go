package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/internal/junit"
	"github.com/tetherkit/tether/internal/markdown"
)

// JSON is the report as indented JSON; the same report gives the same
// bytes.
func (r *ImpactReport) JSON() ([]byte, error) { return encodeJSON(r) }

func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Line is the one-line verdict.
func (r *ImpactReport) Line() string {
	s := r.Summary
	what := r.New.File
	if r.Vendor != "" {
		what = "vendor " + r.Vendor
	}
	line := fmt.Sprintf("%s: %d of %d releases using %s affected (%s or worse); %d not affected; %d do not use it",
		strings.ToUpper(s.Status), s.Affected, s.Using, what, r.FailOn, s.Unaffected, s.Releases-s.Using-s.Unreadable)
	if s.Unreadable > 0 {
		line += fmt.Sprintf("; %d unreadable", s.Unreadable)
	}
	return line
}

// where is the place a change is about, beyond its operation: the
// parameter, or the body field with its status.
func where(c contracts.Change) string {
	switch {
	case c.Param != "":
		return c.Param
	case c.Field != "":
		at := c.Body
		if c.Status != "" {
			at += " " + c.Status
		}
		return strings.TrimSpace(at + " " + c.Field)
	}
	return ""
}

// Text writes one block per affected release, each change on a line,
// then the verdict.
func (r *ImpactReport) Text(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "compared %s with %s: %d changes, %d breaking\n", r.Old.File, r.New.File, r.Changes.Total, r.Changes.Errors)
	for _, a := range r.Affected {
		fmt.Fprintf(&b, "%s %s (%s, usage %s): %d changes affect it\n", a.Connector, a.Version, a.Bundle, a.Usage, len(a.Changes))
		for _, c := range a.Changes {
			at := where(c)
			if at != "" {
				at = " " + at
			}
			fmt.Fprintf(&b, "  %s %s %s%s: %s\n", c.Level, c.ID, c.Operation(), at, c.Message)
		}
	}
	for _, p := range r.Unreadable {
		fmt.Fprintf(&b, "unreadable %s: %s\n", p.Bundle, p.Error)
	}
	b.WriteString(r.Line() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Markdown writes a section per affected release with a table of its
// changes, for a pull request or a step summary.
func (r *ImpactReport) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### Fleet impact: %s → %s\n\n", markdown.Text(r.Old.File), markdown.Text(r.New.File))
	fmt.Fprintf(&b, "**%s**\n\n", markdown.Text(r.Line()))
	fmt.Fprintf(&b, "The comparison found %d changes: %d errors, %d warnings, %d infos.\n", r.Changes.Total, r.Changes.Errors, r.Changes.Warnings, r.Changes.Infos)
	for _, a := range r.Affected {
		fmt.Fprintf(&b, "\n#### %s %s\n\n", markdown.Text(a.Connector), markdown.Text(a.Version))
		fmt.Fprintf(&b, "Bundle %s, usage %s.\n\n", markdown.Code(a.Bundle), a.Usage)
		b.WriteString("| Level | ID | Operation | Where | Change |\n|---|---|---|---|---|\n")
		for _, c := range a.Changes {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.Level, markdown.Code(c.ID), markdown.Cell(c.Operation()),
				markdown.Cell(where(c)), markdown.Cell(c.Message))
		}
	}
	if len(r.Unreadable) > 0 {
		b.WriteString("\n#### Unreadable bundles\n\n")
		for _, p := range r.Unreadable {
			fmt.Fprintf(&b, "- %s: %s\n", markdown.Code(p.Bundle), markdown.Text(p.Error))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// JUnit writes one test case per affected release, failing with a
// failure per change, one case per unreadable bundle, and one passing
// case that counts the releases not affected.
func (r *ImpactReport) JUnit(w io.Writer) error {
	s := junit.Suite{Name: "tether impact " + r.Old.File + " " + r.New.File, Properties: []junit.Property{
		{Name: "fleet", Value: r.Fleet},
		{Name: "old", Value: r.Old.File}, {Name: "old.sha256", Value: r.Old.SHA256},
		{Name: "new", Value: r.New.File}, {Name: "new.sha256", Value: r.New.SHA256},
		{Name: "fail-on", Value: r.FailOn.String()},
	}}
	for _, a := range r.Affected {
		tc := junit.Case{Name: a.Connector + " " + a.Version, Classname: "impact"}
		for _, c := range a.Changes {
			line := c.Operation()
			if at := where(c); at != "" {
				line += " " + at
			}
			line += ": " + c.Message
			tc.Failures = append(tc.Failures, junit.Failure{Message: line, Type: c.ID, Text: c.String()})
		}
		s.Cases = append(s.Cases, tc)
	}
	for _, p := range r.Unreadable {
		s.Cases = append(s.Cases, junit.Case{Name: p.Bundle, Classname: "impact", Failures: []junit.Failure{{Message: p.Error, Type: "unreadable", Text: p.Error}}})
	}
	s.Cases = append(s.Cases, junit.Case{Name: fmt.Sprintf("%d releases not affected", r.Summary.Unaffected), Classname: "impact"})
	return junit.Write(w, junit.Report{Name: "tether impact", Suites: []junit.Suite{s}})
}
