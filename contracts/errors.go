package contracts

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrNotOpenAPI is wrapped by the error returned for a document that is not
// OpenAPI 2.0 or 3.x (an AsyncAPI document, a JSON Schema, any other YAML).
var ErrNotOpenAPI = errors.New("not an OpenAPI document")

// ErrRemoteRef is wrapped by the error returned for a document that refers to
// a remote URL while remote references are off (see [AllowRemoteRefs]).
var ErrRemoteRef = errors.New("remote reference not allowed")

// Error is a problem with a contract document itself: it cannot be read,
// parsed or resolved. It names the file, and the line and column where known
// (both 1-based; 0 when unknown).
type Error struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	Msg    string `json:"message"`        // what is wrong, lower case, no trailing period
	Hint   string `json:"hint,omitempty"` // what to do about it; may be empty
	Err    error  `json:"-"`              // the underlying cause, for errors.Is and errors.As
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil && !strings.Contains(e.Msg, e.Err.Error()) && !errors.Is(e.Err, ErrNotOpenAPI) && !errors.Is(e.Err, ErrRemoteRef) {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// MarshalJSON writes the fields and, as "cause", the underlying error.
func (e *Error) MarshalJSON() ([]byte, error) {
	type plain Error
	out := struct {
		*plain
		Cause string `json:"cause,omitempty"`
	}{plain: (*plain)(e)}
	if e.Err != nil && !strings.Contains(e.Msg, e.Err.Error()) {
		out.Cause = e.Err.Error()
	}
	return json.Marshal(out)
}

// Errors is several document problems found at once, in document order.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap lets errors.Is and errors.As see every problem.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
