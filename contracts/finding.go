package contracts

import (
	"fmt"
	"strings"
)

// Level says how much a [Finding] or a [Change] matters. Levels are
// ordered: a higher level matters more, so f.Level >= LevelWarning reads as
// it says.
type Level int

// The levels, in increasing order.
const (
	LevelInfo    Level = iota // worth knowing, never a failure
	LevelWarning              // suspicious, may break some clients, or a limit of what could be checked
	LevelError                // breaks the contract, or breaks clients
)

func (l Level) String() string {
	switch l {
	case LevelInfo:
		return "info"
	case LevelWarning:
		return "warning"
	case LevelError:
		return "error"
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// MarshalText writes the level as "info", "warning" or "error".
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads what MarshalText writes, and the spellings
// [ParseLevel] accepts.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err == nil {
		*l = v
	}
	return err
}

// ParseLevel reads "info", "warning" (or "warn") and "error" (or "err",
// "breaking").
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "info":
		return LevelInfo, nil
	case "warning", "warn":
		return LevelWarning, nil
	case "error", "err", "breaking":
		return LevelError, nil
	}
	return 0, fmt.Errorf("unknown level %q (want info, warning or error)", s)
}

// Position is a place in a file: its name, relative to the root the file
// was loaded from (a connector's directory, or the folder of the document
// given), then the 1-based line and column, 0 when unknown.
type Position struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// String renders file:line:col, leaving out what is unknown.
func (p Position) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line > 0 && p.Column > 0:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}

// Known reports whether the position names a file.
func (p Position) Known() bool { return p.File != "" }

// Rule is one entry of a rule catalogue: a stable kebab-case ID, the level
// its findings have, a one-line summary that starts every message, and
// what to do about it. Each package of tether keeps its rules in a table
// of its own; tether rules prints them all.
type Rule struct {
	ID      string `json:"id"`
	Level   Level  `json:"level"`
	Summary string `json:"summary"`
	Hint    string `json:"hint,omitempty"`
}

// Finding is one result about a document, a payload or traffic: the rule
// it reports, where, and why. Position is where the finding is: the file a
// person edits to act on it. Where the finding is judged against a
// contract and Position is elsewhere (a cassette, a sample event), Contract
// points at the place in the contract.
type Finding struct {
	ID       string `json:"id"`
	Level    Level  `json:"level"`
	Position `json:"position,omitzero"`
	// Contract is the place in the contract the finding was judged
	// against, when Position names another file.
	Contract Position `json:"contract,omitzero"`
	// Operation is the operationId, or "METHOD /template".
	Operation string `json:"operation,omitempty"`
	// Path is where in the payload: a JSON path ("$.items[0].id"), or
	// "query.limit", "header.X-Id".
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// New starts a finding of rule r: its ID, level and hint, and a message
// that is the rule's summary followed by detail, when given.
func (r Rule) New(detail string) Finding {
	msg := r.Summary
	if detail != "" {
		msg += ": " + detail
	}
	return Finding{ID: r.ID, Level: r.Level, Message: msg, Hint: r.Hint}
}

// At returns the finding placed at p.
func (f Finding) At(p Position) Finding {
	f.Position = p
	return f
}

// String renders the finding on one line, position first:
// "crm.yaml:88:13: error [request-body-invalid] createDeal at $.amount: ...".
func (f Finding) String() string {
	var b strings.Builder
	if loc := f.Position.String(); loc != "" {
		b.WriteString(loc)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s [%s]", f.Level, f.ID)
	if f.Operation != "" {
		fmt.Fprintf(&b, " %s", f.Operation)
	}
	if f.Path != "" {
		fmt.Fprintf(&b, " at %s", f.Path)
	}
	b.WriteString(": ")
	b.WriteString(f.Message)
	if f.Contract.Known() && f.Contract.File != f.File {
		fmt.Fprintf(&b, " (contract %s)", f.Contract)
	}
	if f.Hint != "" {
		fmt.Fprintf(&b, "; %s", f.Hint)
	}
	return b.String()
}

// HasErrors reports whether any finding is at [LevelError].
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Level == LevelError {
			return true
		}
	}
	return false
}
