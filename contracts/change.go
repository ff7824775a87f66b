package contracts

import "strings"

// Whether a change concerns a connector, once [Usage.Mark] has looked.
const (
	AffectsConnector = "connector" // the connector calls, sends or receives what changed
	AffectsElsewhere = "elsewhere" // the change is in a part of the API the connector does not use
)

// Change is one difference between two versions of a contract that a client
// could notice. Its level says whether it breaks such a client (error), may
// break some (warning) or is safe (info). Method and Path (or Webhook) name the operation as the older
// document writes it (the newer one for additions); Param, Body, Status,
// Media and Field narrow it down. Old and New point at the thing in each
// document, where it exists there.
type Change struct {
	ID      string    `json:"id"`
	Level   Level     `json:"level"`
	Method  string    `json:"method,omitempty"`
	Path    string    `json:"path,omitempty"`
	Webhook string    `json:"webhook,omitempty"`
	Param   string    `json:"param,omitempty"`  // "in:name", e.g. "query:limit"
	Body    string    `json:"body,omitempty"`   // "request" or "response"
	Status  string    `json:"status,omitempty"` // response status, e.g. "200"
	Media   string    `json:"media,omitempty"`  // media type of the body
	Field   string    `json:"field,omitempty"`  // JSON path in the body or parameter value, "$" for the whole
	Also    []string  `json:"also,omitempty"`   // other JSON paths in the same body that reach the same change
	Old     *Position `json:"old,omitempty"`
	New     *Position `json:"new,omitempty"`
	Message string    `json:"message"`
	Affects string    `json:"affects,omitempty"` // AffectsConnector, AffectsElsewhere, or empty before Usage.Mark
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
	b.WriteString(c.Level.String())
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

// AtLeast returns the changes whose level is at least min, in order.
func AtLeast(changes []Change, min Level) []Change {
	var out []Change
	for _, c := range changes {
		if c.Level >= min {
			out = append(out, c)
		}
	}
	return out
}

// Finding is the change as a finding: placed in the newer document, or in
// the older one for what the newer no longer has.
func (c Change) Finding() Finding {
	f := Finding{ID: c.ID, Level: c.Level, Operation: c.Operation(), Path: c.Field, Message: c.Message}
	if r, ok := changeRules[c.ID]; ok {
		f.Hint = r.Hint
	}
	switch {
	case c.New != nil:
		f.Position = *c.New
	case c.Old != nil:
		f.Position = *c.Old
	}
	return f
}
