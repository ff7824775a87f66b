// Package reqdiff explains why a live request does not match a recorded
// one: it lists each way the two differ, part by part and, in JSON bodies,
// down to the first JSON path whose values differ. The replay transport
// and the go-vcr recorder both explain their misses with it, so a miss
// reads the same whichever found it.
package reqdiff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tetherkit/tether/internal/jsonpath"
	"github.com/tetherkit/tether/internal/mapkeys"
)

// Request is what two requests are compared on, each part as matching
// sees it (redacted, normalised, with ignored parts left out).
type Request struct {
	Method   string
	Origin   string     // scheme://host, lower case
	Path     string     // escaped
	Query    url.Values // nil when the query does not parse; RawQuery is compared then
	RawQuery string
	Header   map[string][]string // the headers that count
	Body     Body
}

// Body is a request body as matching compares it.
type Body struct {
	Canon string     // what equality is judged on: canonical JSON, a sorted form, or the bytes
	JSON  any        // the decoded JSON, when the body is JSON
	Form  url.Values // the fields, when the body is a form
}

// Mismatch is one way a request differs from a recorded one. Part is
// "method", "host", "path", "query", "header" or "body"; Name is the query
// parameter, header, form field or JSON path (such as "$.items[2].id"), or
// empty for the whole part. Recorded and Sent are rendered for reading:
// JSON as compact JSON, other values quoted, "(absent)" for a missing one.
type Mismatch struct {
	Part     string
	Name     string
	Recorded string
	Sent     string
}

// Absent is how a missing value reads.
const Absent = "(absent)"

// String renders m as one line, such as `body $.amount: recorded 100, sent 250`.
func (m Mismatch) String() string {
	label := m.Part
	if m.Name != "" {
		label += " " + m.Name
	}
	return fmt.Sprintf("%s: recorded %s, sent %s", label, m.Recorded, m.Sent)
}

// Weight ranks a mismatch for finding the closest recording: one that
// calls another endpoint is further away than one with another body.
func (m Mismatch) Weight() int {
	switch m.Part {
	case "host":
		return 16
	case "path":
		return 8
	case "method":
		return 4
	case "query", "body":
		return 2
	}
	return 1
}

// Compare lists how live differs from rec, in a fixed order: method, host,
// path, query, headers, body; none when they match.
func Compare(rec, live *Request) []Mismatch {
	var out []Mismatch
	if rec.Method != live.Method {
		out = append(out, Mismatch{Part: "method", Recorded: strconv.Quote(rec.Method), Sent: strconv.Quote(live.Method)})
	}
	if rec.Origin != live.Origin {
		out = append(out, Mismatch{Part: "host", Recorded: strconv.Quote(rec.Origin), Sent: strconv.Quote(live.Origin)})
	}
	if rec.Path != live.Path {
		out = append(out, Mismatch{Part: "path", Recorded: strconv.Quote(rec.Path), Sent: strconv.Quote(live.Path)})
	}
	if rec.Query == nil || live.Query == nil {
		if r, l := rec.Query.Encode()+rec.RawQuery, live.Query.Encode()+live.RawQuery; r != l {
			out = append(out, Mismatch{Part: "query", Recorded: strconv.Quote(r), Sent: strconv.Quote(l)})
		}
	} else {
		out = values(out, "query", rec.Query, live.Query)
	}
	out = values(out, "header", rec.Header, live.Header)
	switch {
	case rec.Body.Canon == live.Body.Canon:
	case rec.Body.JSON != nil && live.Body.JSON != nil:
		path, r, s := FirstJSONDifference("$", rec.Body.JSON, live.Body.JSON)
		out = append(out, Mismatch{Part: "body", Name: path, Recorded: r, Sent: s})
	case rec.Body.Form != nil && live.Body.Form != nil:
		out = values(out, "body", rec.Body.Form, live.Body.Form)
	default:
		out = append(out, Mismatch{Part: "body", Recorded: Excerpt(rec.Body.Canon), Sent: Excerpt(live.Body.Canon)})
	}
	return out
}

// Matches reports whether live matches rec: Compare would find nothing.
func Matches(rec, live *Request) bool { return len(Compare(rec, live)) == 0 }

// values adds one mismatch per name whose values differ.
func values(out []Mismatch, part string, rec, live map[string][]string) []Mismatch {
	for _, name := range mapkeys.SortedUnion(rec, live) {
		if !slices.Equal(rec[name], live[name]) {
			out = append(out, Mismatch{Part: part, Name: name, Recorded: quoted(rec[name]), Sent: quoted(live[name])})
		}
	}
	return out
}

func quoted(vs []string) string {
	if len(vs) == 0 {
		return Absent
	}
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(clip(v))
	}
	return strings.Join(q, ", ")
}

// Excerpt renders a body for a message, shortened when long.
func Excerpt(s string) string {
	if s == "" {
		return "(empty)"
	}
	if utf8.RuneCountInString(s) > excerptRunes {
		return fmt.Sprintf("%s (%d bytes)", strconv.Quote(clip(s)), len(s))
	}
	return strconv.Quote(s)
}

// excerptRunes is how much of a long value a message shows.
const excerptRunes = 120

func clip(s string) string {
	if utf8.RuneCountInString(s) <= excerptRunes {
		return s
	}
	return string([]rune(s)[:excerptRunes]) + "…"
}

// FirstJSONDifference walks rec and live in key order and returns the path
// of the first value that differs, with both values as compact JSON.
func FirstJSONDifference(path string, rec, live any) (string, string, string) {
	switch r := rec.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			break
		}
		for _, k := range mapkeys.SortedUnion(r, l) {
			rv, rok := r[k]
			lv, lok := l[k]
			sub := path + jsonpath.Key(k)
			switch {
			case !rok:
				return sub, Absent, JSONText(lv)
			case !lok:
				return sub, JSONText(rv), Absent
			case jsonText(rv) != jsonText(lv):
				return FirstJSONDifference(sub, rv, lv)
			}
		}
	case []any:
		l, ok := live.([]any)
		if !ok {
			break
		}
		for i := 0; i < max(len(r), len(l)); i++ {
			sub := path + jsonpath.Index(i)
			switch {
			case i >= len(r):
				return sub, Absent, JSONText(l[i])
			case i >= len(l):
				return sub, JSONText(r[i]), Absent
			case jsonText(r[i]) != jsonText(l[i]):
				return FirstJSONDifference(sub, r[i], l[i])
			}
		}
	}
	return path, JSONText(rec), JSONText(live)
}

// JSONText writes v as compact JSON for a message, HTML characters as
// they are, shortened when long.
func JSONText(v any) string { return clip(jsonText(v)) }

// Compact writes v as compact JSON, HTML characters as they are, whole.
func Compact(v any) string { return jsonText(v) }

func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
