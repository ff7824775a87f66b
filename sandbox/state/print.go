package state

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints the model for a person: each resource with its paths,
// key, identifier and operations, then what could not be inferred.
func (m *Model) WriteText(w io.Writer) error {
	var b strings.Builder
	noun := "resources"
	if len(m.Resources) == 1 {
		noun = "resource"
	}
	fmt.Fprintf(&b, "%s: %d %s\n", m.Contract, len(m.Resources), noun)
	for _, r := range m.Resources {
		fmt.Fprintf(&b, "\n%s\n", r.Name)
		if r.Parent != "" {
			fmt.Fprintf(&b, "  parent      %s\n", r.Parent)
		}
		if r.Collection != "" {
			fmt.Fprintf(&b, "  collection  %s\n", r.Collection)
		}
		if r.Item != "" {
			fmt.Fprintf(&b, "  item        %s\n", r.Item)
		}
		if len(r.Keys) > 0 {
			fmt.Fprintf(&b, "  keyed by    %s\n", strings.Join(r.Keys, ", "))
		}
		field := r.IDField
		if field == "" {
			field = "(unknown)"
		}
		fmt.Fprintf(&b, "  id          %s: %s (source: %s)\n", field, r.ID, r.ID.Source)
		if r.Schema != "" {
			fmt.Fprintf(&b, "  schema      %s\n", r.Schema)
		}
		idem := r.Idempotency
		if idem == "" {
			idem = "none declared"
		}
		fmt.Fprintf(&b, "  idempotency %s\n", idem)
		for _, o := range r.Ops {
			kind := string(o.Kind)
			if o.Kind == Action {
				kind += " " + o.Action
			}
			fmt.Fprintf(&b, "  %-14s %-6s %s  %s\n", kind, o.Method, o.Path, o.OperationID)
			if p := o.Pagination; p != nil {
				fmt.Fprintf(&b, "                 pages: %s (%s)\n", p.Style, p.Why)
			}
		}
	}
	if len(m.Notes) > 0 {
		fmt.Fprintf(&b, "\nnot inferred (%d)\n", len(m.Notes))
		for _, n := range m.Notes {
			fmt.Fprintf(&b, "  line %d: %s %s (%s): %s\n", n.Line, n.Method, n.Path, n.OperationID, n.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
