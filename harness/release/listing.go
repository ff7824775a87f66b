package release

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pb33f/go-yaml"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
	"github.com/tetherkit/tether/internal/markdown"
)

// Listing is a connector's marketplace listing: what it is, the scopes it
// asks for and why, what an admin configures, how it was tested, and which
// vendor API versions it was built against. [BuildListing] makes one;
// [Listing.JSON] and [Listing.Markdown] write it.
type Listing struct {
	Name    string               `json:"name"`
	Version string               `json:"version"`
	Summary string               `json:"summary,omitempty"`
	Support string               `json:"support"` // stable, beta or deprecated
	Scopes  []ListingScope       `json:"scopes"`
	Config  []ListingConfigField `json:"config"`
	// Coverage is nil when no report was given.
	Coverage *ListingCoverage `json:"coverage,omitempty"`
	Vendors  []ListingVendor  `json:"vendors"`
}

// ListingScope is a scope the manifest declares and why the connector
// needs it.
type ListingScope struct {
	Scope string `json:"scope"`
	// Reason names the operations in Operations, or says that none was
	// seen using the scope.
	Reason string `json:"reason"`
	// Operations are the operations the connector was seen calling, in
	// its cassettes and golden files, whose security requires the scope.
	Operations []ListingOperation `json:"operations,omitempty"`
}

// ListingOperation is an operation of a vendor's contract the connector
// calls.
type ListingOperation struct {
	Vendor string `json:"vendor"`
	ID     string `json:"id"` // the operationId, or "METHOD /path" when the contract gives none
	Method string `json:"method"`
	Path   string `json:"path"` // the path template, such as /deals/{dealId}
}

func (o ListingOperation) String() string {
	s := o.Vendor + ": " + o.Method + " " + o.Path
	if o.ID != o.Method+" "+o.Path {
		s += " (" + o.ID + ")"
	}
	return s
}

// ListingConfigField is a top-level property of the configuration schema.
type ListingConfigField struct {
	Name     string `json:"name"`
	Type     string `json:"type,omitempty"` // "string", "number", "array of string", "string or null"
	Required bool   `json:"required"`
	// Default is the schema's default as JSON; absent when there is none.
	Default     json.RawMessage   `json:"default,omitempty"`
	Title       string            `json:"title,omitempty"`
	Description string            `json:"description,omitempty"`
	Enum        []json.RawMessage `json:"enum,omitempty"` // allowed values (of the items, for an array)
}

// ListingCoverage is what the harness ran against this release, from its report.
type ListingCoverage struct {
	Status    string            `json:"status"` // pass or fail
	Seed      uint64            `json:"seed"`
	Target    string            `json:"target"`
	Checks    int               `json:"checks"`
	Failed    int               `json:"failed"`
	Suites    []ListingSuite    `json:"suites"`
	Scenarios []ListingScenario `json:"scenarios"`
	// Contracts is what of each vendor contract the connector uses and
	// the suites exercised; Events what of the event contract the
	// scenarios delivered. Both are absent from a report without coverage.
	Contracts []ListingContractCoverage `json:"contracts,omitempty"`
	Events    *ListingEventCoverage     `json:"events,omitempty"`
}

// ListingContractCoverage is the coverage of one vendor's contract, as
// [report.VendorCoverage] measures it.
type ListingContractCoverage struct {
	Vendor           string       `json:"vendor"`
	Declared         int          `json:"declared_operations"`
	Used             int          `json:"used_operations"`
	Exercised        report.Ratio `json:"exercised"`         // of the used operations
	DeclaredStatuses report.Ratio `json:"declared_statuses"` // of the used operations, answered
	RequiredFields   report.Ratio `json:"required_fields"`
	OptionalFields   report.Ratio `json:"optional_fields"`
	// Missed are the used operations never exercised and the declared
	// statuses never answered ("postMessage 503").
	Missed []string `json:"missed,omitempty"`
}

// ListingEventCoverage is what of the event contract the scenarios
// delivered.
type ListingEventCoverage struct {
	Delivered report.Ratio `json:"delivered"`
	Missed    []string     `json:"missed,omitempty"`
}

// ListingSuite is one suite run.
type ListingSuite struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Checks int    `json:"checks"`
	Failed int    `json:"failed"`
}

// ListingScenario is one scenario run.
type ListingScenario struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// ListingVendor is the version of a vendor's API the release supports.
type ListingVendor struct {
	Vendor   string `json:"vendor"`
	Title    string `json:"title"`    // the contract's info.title
	Version  string `json:"version"`  // the contract's info.version
	OpenAPI  string `json:"openapi"`  // the document's OpenAPI (or Swagger) version
	Contract string `json:"contract"` // the contract file, relative to the connector
}

// unusedScope is the reason of a scope no operation seen needs.
const unusedScope = "declared; no operation seen using it"

// BuildListing makes the listing of the loaded connector c, with the test
// coverage from rep (nil for none).
//
// A scope's reason is the operations of c's vendor contracts that require
// the scope and that the connector uses: the calls in its cassettes
// (cassettes/*.yaml and those its scenarios name) and golden files, each
// matched to its vendor by server URL and to an operation by
// [contracts.Contract.Find]. Calls no operation matches are left out; a
// golden file still to be written is skipped.
//
// The error is for a cassette, configuration schema or contract file that
// cannot be read.
func BuildListing(c *manifest.Connector, rep *report.Report) (*Listing, error) {
	m := c.Manifest
	l := &Listing{Name: m.Name, Version: m.Version, Summary: m.Summary, Support: m.Support,
		Scopes: []ListingScope{}, Config: []ListingConfigField{}, Vendors: []ListingVendor{}}
	if l.Support == "" {
		l.Support = "stable"
	}
	used := usedOperations(c)
	for _, s := range m.Scopes {
		ls := ListingScope{Scope: s}
		var names []string
		for _, op := range used {
			if requiresScope(op.op, s) {
				ls.Operations = append(ls.Operations, op.ListingOperation)
				names = append(names, op.String())
			}
		}
		ls.Reason = unusedScope
		if len(names) > 0 {
			ls.Reason = "used by " + strings.Join(names, "; ")
		}
		l.Scopes = append(l.Scopes, ls)
	}
	if c.ConfigSchema != nil {
		var err error
		if l.Config, err = configFields(c.ConfigSchema); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.Vendors)) {
		ct := c.Contracts[name]
		v := ListingVendor{Vendor: name, Contract: filepath.ToSlash(m.Vendors[name].Contract)}
		if ct != nil {
			v.Title, v.OpenAPI, v.Version = ct.Title(), ct.OpenAPIVersion(), ct.APIVersion()
		}
		l.Vendors = append(l.Vendors, v)
	}
	if rep != nil {
		l.Coverage = listingCoverage(rep)
	}
	return l, nil
}

type usedOp struct {
	ListingOperation
	op *contracts.Operation
}

// usedOperations returns the operations the connector's cassettes and
// golden files call, by vendor then in the contract's order.
func usedOperations(c *manifest.Connector) []usedOp {
	calls := compat.RecordedCalls(c)
	var out []usedOp
	for _, vendor := range slices.Sorted(maps.Keys(c.Contracts)) {
		ct := c.Contracts[vendor]
		seen := map[*contracts.Operation]bool{}
		for _, cl := range calls {
			if !underServer(ct, cl.URL) {
				continue
			}
			if m, err := ct.Find(cl.Method, cl.URL); err == nil {
				seen[m.Operation] = true
			}
		}
		for _, op := range ct.Operations() {
			if seen[op] {
				out = append(out, usedOp{ListingOperation{Vendor: vendor, ID: op.ID, Method: op.Method, Path: op.Path}, op})
			}
		}
	}
	return out
}

// underServer reports whether url is under one of the contract's servers;
// a contract whose servers are relative takes every URL.
func underServer(ct *contracts.Contract, url string) bool {
	for _, s := range ct.Servers() {
		base := strings.TrimSuffix(s.Resolved, "/")
		if !strings.Contains(base, "://") {
			return true
		}
		if url == base || strings.HasPrefix(url, base+"/") || strings.HasPrefix(url, base+"?") {
			return true
		}
	}
	return false
}

// requiresScope reports whether some alternative of op's security lists
// scope.
func requiresScope(op *contracts.Operation, scope string) bool {
	for _, req := range op.Security {
		for _, scopes := range req {
			if slices.Contains(scopes, scope) {
				return true
			}
		}
	}
	return false
}

// configFields reads the top-level properties of the configuration
// schema, in the order its file has them, following its local $refs.
func configFields(sch *contracts.Schema) ([]ListingConfigField, error) {
	out := []ListingConfigField{}
	root := sch.Root()
	if root == nil || root.Kind != yaml.MappingNode {
		return out, nil
	}
	var required []string
	if r := valueOf(root, "required"); r != nil {
		if err := r.Decode(&required); err != nil {
			return nil, fmt.Errorf("read config schema %s:%d: required: %w", sch.File(), r.Line, err)
		}
	}
	props := valueOf(root, "properties")
	if props == nil || props.Kind != yaml.MappingNode {
		return out, nil
	}
	for i := 0; i+1 < len(props.Content); i += 2 {
		name, p := props.Content[i].Value, sch.Resolve(props.Content[i+1])
		f := ListingConfigField{Name: name, Type: typeOf(valueOf(p, "type")), Required: slices.Contains(required, name),
			Default: asJSON(valueOf(p, "default")), Title: scalar(valueOf(p, "title")), Description: scalar(valueOf(p, "description"))}
		enum := valueOf(p, "enum")
		if items := valueOf(p, "items"); items != nil {
			items = sch.Resolve(items)
			if it := typeOf(valueOf(items, "type")); it != "" && f.Type == "array" {
				f.Type = "array of " + it
			}
			if enum == nil {
				enum = valueOf(items, "enum")
			}
		}
		if enum != nil && enum.Kind == yaml.SequenceNode {
			for _, e := range enum.Content {
				f.Enum = append(f.Enum, asJSON(e))
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// valueOf returns the value of key in the mapping n, or nil.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// typeOf reads a JSON Schema type: one name, or a list of them as
// "string or null".
func typeOf(n *yaml.Node) string {
	switch {
	case n == nil:
		return ""
	case n.Kind == yaml.ScalarNode:
		return n.Value
	case n.Kind == yaml.SequenceNode:
		var names []string
		for _, c := range n.Content {
			names = append(names, c.Value)
		}
		return strings.Join(names, " or ")
	}
	return ""
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// asJSON writes a schema value as compact JSON; nil for none.
func asJSON(n *yaml.Node) json.RawMessage {
	if n == nil {
		return nil
	}
	var v any
	if n.Decode(&v) != nil {
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return data
}

func compact(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

func listingCoverage(rep *report.Report) *ListingCoverage {
	cv := &ListingCoverage{Status: rep.Summary.Status, Seed: rep.Run.Seed, Target: rep.Run.Target,
		Checks: rep.Summary.Checks, Failed: rep.Summary.Failed,
		Suites: []ListingSuite{}, Scenarios: []ListingScenario{}}
	for _, s := range rep.Suites {
		cv.Suites = append(cv.Suites, ListingSuite{Name: s.Name, Status: s.Status, Checks: s.Checks, Failed: s.Failed})
	}
	for _, s := range rep.Scenarios {
		cv.Scenarios = append(cv.Scenarios, ListingScenario{Name: s.Name, Status: s.Status})
	}
	if c := rep.Coverage; c != nil {
		for _, v := range c.Vendors {
			cv.Contracts = append(cv.Contracts, ListingContractCoverage{Vendor: v.Vendor, Declared: v.Declared, Used: len(v.Used),
				Exercised: v.UsedOperations, DeclaredStatuses: v.DeclaredStatuses, RequiredFields: v.RequiredFields, OptionalFields: v.OptionalFields,
				Missed: append(slices.Clone(v.Unexercised), v.MissedStatuses()...)})
		}
		if e := c.Events; e != nil {
			cv.Events = &ListingEventCoverage{Delivered: e.Ratio, Missed: slices.Clone(e.Missed)}
		}
	}
	return cv
}

// JSON is the listing as indented JSON ending in a newline; the same
// listing always gives the same bytes.
func (l *Listing) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(l); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Markdown is the listing for people: the scopes with their reasons, the
// configuration, the test coverage and the vendor API versions, as
// tables. Values are escaped, pipes included, so that no value breaks a
// table.
func (l *Listing) Markdown() []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	row := func(cells ...string) { p("| %s |\n", strings.Join(cells, " | ")) }

	p("# %s %s\n\n", markdown.Text(l.Name), markdown.Text(l.Version))
	if l.Summary != "" {
		p("%s\n\n", markdown.Text(l.Summary))
	}
	p("Support: **%s**\n", markdown.Text(l.Support))

	p("\n## Scopes\n\n")
	if len(l.Scopes) == 0 {
		p("The connector asks for no scope.\n")
	} else {
		row("Scope", "Why the connector needs it")
		row("---", "---")
		for _, s := range l.Scopes {
			why := markdown.Text(s.Reason)
			if len(s.Operations) > 0 {
				ops := make([]string, len(s.Operations))
				for i, op := range s.Operations {
					ops[i] = markdown.Code(op.String())
				}
				why = "used by " + strings.Join(ops, ", ")
			}
			row(markdown.Code(s.Scope), why)
		}
	}

	p("\n## Configuration\n\n")
	if len(l.Config) == 0 {
		p("Nothing to configure.\n")
	} else {
		row("Field", "Type", "Required", "Default", "Description")
		row("---", "---", "---", "---", "---")
		for _, f := range l.Config {
			req := "no"
			if f.Required {
				req = "yes"
			}
			def := markdown.Cell("")
			if len(f.Default) > 0 {
				def = markdown.Code(string(f.Default))
			}
			desc := f.Title
			if f.Description != "" {
				desc = strings.TrimSuffix(joinNonEmpty(f.Title, ": ", f.Description), ".") + "."
			}
			desc = markdown.Text(desc)
			if len(f.Enum) > 0 {
				vals := make([]string, len(f.Enum))
				for i, e := range f.Enum {
					vals[i] = markdown.Code(string(e))
				}
				desc = joinNonEmpty(desc, " ", "One of "+strings.Join(vals, ", ")+".")
			}
			if desc == "" {
				desc = markdown.Cell("")
			}
			row(markdown.Code(f.Name), markdown.Cell(f.Type), req, def, desc)
		}
	}

	p("\n## Test coverage\n\n")
	if l.Coverage == nil {
		p("Not tested: no report was given.\n")
	} else {
		cv := l.Coverage
		checks := fmt.Sprintf("%d checks", cv.Checks)
		if cv.Checks == 1 {
			checks = "1 check"
		}
		p("Status: **%s**: %s, %d failed (seed %d, %s target).\n\n",
			markdown.Text(cv.Status), checks, cv.Failed, cv.Seed, markdown.Text(cv.Target))
		row("Suite", "Status", "Checks", "Failed")
		row("---", "---", "---:", "---:")
		for _, s := range cv.Suites {
			row(markdown.Text(s.Name), markdown.Text(s.Status), fmt.Sprint(s.Checks), fmt.Sprint(s.Failed))
		}
		if len(cv.Scenarios) > 0 {
			p("\n")
			row("Scenario", "Status")
			row("---", "---")
			for _, s := range cv.Scenarios {
				row(markdown.Text(s.Name), markdown.Text(s.Status))
			}
		}
		if len(cv.Contracts) > 0 {
			p("\nWhat of each vendor API the connector uses, and what of that the suites exercised:\n\n")
			row("Vendor", "Operations used", "Used exercised", "Declared statuses answered", "Required fields sent", "Optional fields sent", "Missed")
			row("---", "---:", "---:", "---:", "---:", "---:", "---")
			for _, v := range cv.Contracts {
				missed := markdown.Cell("")
				if len(v.Missed) > 0 {
					missed = markdown.Cell(strings.Join(v.Missed, ", "))
				}
				row(markdown.Text(v.Vendor), fmt.Sprintf("%d of %d", v.Used, v.Declared), v.Exercised.String(), v.DeclaredStatuses.String(),
					v.RequiredFields.String(), v.OptionalFields.String(), missed)
			}
		}
		if e := cv.Events; e != nil {
			p("\nEvent types delivered: %s", e.Delivered)
			if len(e.Missed) > 0 {
				p("; never delivered: %s", markdown.Text(strings.Join(e.Missed, ", ")))
			}
			p(".\n")
		}
	}

	p("\n## Vendor APIs\n\n")
	row("Vendor", "API", "Version", "Contract")
	row("---", "---", "---", "---")
	for _, v := range l.Vendors {
		row(markdown.Text(v.Vendor), markdown.Cell(v.Title), markdown.Cell(v.Version), markdown.Code(v.Contract))
	}
	return b.Bytes()
}

// joinNonEmpty joins the non-empty of a and b with sep.
func joinNonEmpty(a, sep, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + sep + b
}
