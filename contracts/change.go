package contracts

import (
	"fmt"
	"strings"
)

// Severity says how much a [Change] matters to a client written against the
// older version: SeverityError is breaking, Warning may break some clients, Info is
// safe.
type Severity int

// The severities, in increasing order.
const (
	SeverityInfo Severity = iota
	SeverityWarning
	SeverityError
)

func (l Severity) String() string {
	switch l {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(l))
}

// MarshalText writes the severity as "info", "warning" or "error".
func (l Severity) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (l *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err == nil {
		*l = v
	}
	return err
}

// ParseSeverity reads "info", "warning"/"warn" or "error"/"err"/"breaking".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "info":
		return SeverityInfo, nil
	case "warning", "warn":
		return SeverityWarning, nil
	case "error", "err", "breaking":
		return SeverityError, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want info, warning or error)", s)
}

// Position is a place in a document: file, then 1-based line and column.
type Position struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

func (p *Position) String() string {
	if p == nil {
		return ""
	}
	s := p.File
	if p.Line > 0 {
		s += fmt.Sprintf(":%d", p.Line)
		if p.Col > 0 {
			s += fmt.Sprintf(":%d", p.Col)
		}
	}
	return s
}

// Whether a change concerns a connector, once [Usage.Mark] has looked.
const (
	AffectsConnector = "connector" // the connector calls, sends or receives what changed
	AffectsElsewhere = "elsewhere" // the change is in a part of the API the connector does not use
)

// Change is one difference between two versions of a contract that a client
// could notice. Method and Path (or Webhook) name the operation as the older
// document writes it (the newer one for additions); Param, Body, Status,
// Media and Field narrow it down. Old and New point at the thing in each
// document, where it exists there.
type Change struct {
	ID       string    `json:"id"`
	Severity Severity  `json:"severity"`
	Method   string    `json:"method,omitempty"`
	Path     string    `json:"path,omitempty"`
	Webhook  string    `json:"webhook,omitempty"`
	Param    string    `json:"param,omitempty"`  // "in:name", e.g. "query:limit"
	Body     string    `json:"body,omitempty"`   // "request" or "response"
	Status   string    `json:"status,omitempty"` // response status, e.g. "200"
	Media    string    `json:"media,omitempty"`  // media type of the body
	Field    string    `json:"field,omitempty"`  // JSON path in the body or parameter value, "$" for the whole
	Also     []string  `json:"also,omitempty"`   // other JSON paths in the same body that reach the same change
	Old      *Position `json:"old,omitempty"`
	New      *Position `json:"new,omitempty"`
	Message  string    `json:"message"`
	Affects  string    `json:"affects,omitempty"` // AffectsConnector, AffectsElsewhere, or empty before Usage.Mark
}

// Operation names the changed operation: "GET /deals/{id}",
// "webhook deal.updated", or "" for a change to the document as a whole.
func (c Change) Operation() string {
	switch {
	case c.Webhook != "":
		if c.Method != "" {
			return "webhook " + c.Webhook + " " + c.Method
		}
		return "webhook " + c.Webhook
	case c.Path != "" && c.Method != "":
		return c.Method + " " + c.Path
	}
	return c.Path
}

// String is the one-line form used in text output:
// "error request-parameter-removed GET /pets: ... (old.yaml:12:7)".
func (c Change) String() string {
	var b strings.Builder
	b.WriteString(c.Severity.String())
	b.WriteByte(' ')
	b.WriteString(c.ID)
	if op := c.Operation(); op != "" {
		b.WriteByte(' ')
		b.WriteString(op)
	}
	b.WriteString(": ")
	b.WriteString(c.Message)
	var at []string
	if c.Old != nil {
		at = append(at, c.Old.String())
	}
	if c.New != nil {
		at = append(at, c.New.String())
	}
	if len(at) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(at, " -> "))
		b.WriteByte(')')
	}
	return b.String()
}

// AtLeast returns the changes whose severity is at least min, in order.
func AtLeast(changes []Change, min Severity) []Change {
	var out []Change
	for _, c := range changes {
		if c.Severity >= min {
			out = append(out, c)
		}
	}
	return out
}
