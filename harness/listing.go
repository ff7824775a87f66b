package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tetherkit/tether/contracts"
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
func BuildListing(c *Connector, rep *Report) (*Listing, error) {
	m := c.Manifest
	l := &Listing{Name: m.Name, Version: m.Version, Summary: m.Summary, Support: m.Support,
		Scopes: []ListingScope{}, Config: []ListingConfigField{}, Vendors: []ListingVendor{}}
	if l.Support == "" {
		l.Support = "stable"
	}
	used, err := usedOperations(c)
	if err != nil {
		return nil, err
	}
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
	if m.Config.Schema != "" {
		if l.Config, err = configFields(m.Path(m.Config.Schema)); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.Vendors)) {
		ct := c.Contracts[name]
		v := ListingVendor{Vendor: name, Contract: filepath.ToSlash(m.Vendors[name].Contract)}
		if ct != nil {
			v.Title, v.OpenAPI = ct.Title(), ct.Version()
		}
		if v.Version, err = infoVersion(m.Path(m.Vendors[name].Contract)); err != nil {
			return nil, err
		}
		l.Vendors = append(l.Vendors, v)
	}
	if rep != nil {
		l.Coverage = coverage(rep)
	}
	return l, nil
}

type usedOp struct {
	ListingOperation
	op *contracts.Operation
}

// usedOperations returns the operations the connector's cassettes and
// golden files call, by vendor then in the contract's order.
func usedOperations(c *Connector) ([]usedOp, error) {
	calls, err := recordedCalls(c)
	if err != nil {
		return nil, err
	}
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
	return out, nil
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

// configFields reads the top-level properties of the JSON Schema in file,
// in the order the file has them.
func configFields(file string) ([]ListingConfigField, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read config schema: %w", err)
	}
	var root map[string]json.RawMessage
	if err := json.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("read config schema %s: %w", file, err)
	}
	var required []string
	if raw, ok := root["required"]; ok {
		if err := json.Unmarshal(raw, &required); err != nil {
			return nil, fmt.Errorf("read config schema %s: required: %w", file, err)
		}
	}
	out := []ListingConfigField{}
	if _, ok := root["properties"]; !ok {
		return out, nil
	}
	names, props, err := orderedObject(root["properties"])
	if err != nil {
		return nil, fmt.Errorf("read config schema %s: properties: %w", file, err)
	}
	for i, name := range names {
		var p propertySchema
		if err := json.Unmarshal(resolveRef(root, props[i]), &p); err != nil {
			return nil, fmt.Errorf("read config schema %s: property %s: %w", file, name, err)
		}
		f := ListingConfigField{Name: name, Type: p.Type.String(), Required: slices.Contains(required, name),
			Default: compact(p.Default), Title: p.Title, Description: p.Description}
		enum := p.Enum
		if p.Items != nil {
			var items propertySchema
			if err := json.Unmarshal(resolveRef(root, p.Items), &items); err == nil {
				if it := items.Type.String(); it != "" && f.Type == "array" {
					f.Type = "array of " + it
				}
				if enum == nil {
					enum = items.Enum
				}
			}
		}
		for _, e := range enum {
			f.Enum = append(f.Enum, compact(e))
		}
		out = append(out, f)
	}
	return out, nil
}

// propertySchema is what a listing shows of a property's schema.
type propertySchema struct {
	Type        schemaType        `json:"type"`
	Default     json.RawMessage   `json:"default"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Enum        []json.RawMessage `json:"enum"`
	Items       json.RawMessage   `json:"items"`
}

// schemaType is a JSON Schema type: one name or a list of them.
type schemaType []string

func (t *schemaType) UnmarshalJSON(data []byte) error {
	var one string
	if json.Unmarshal(data, &one) == nil {
		*t = schemaType{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return errors.New("type is neither a name nor a list of names")
	}
	*t = many
	return nil
}

func (t schemaType) String() string { return strings.Join(t, " or ") }

// orderedObject splits a JSON object into its keys and values, in order.
func orderedObject(data json.RawMessage) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, errors.New("not an object")
	}
	var keys []string
	var values []json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys, values = append(keys, tok.(string)), append(values, v)
	}
	return keys, values, nil
}

// resolveRef follows a local $ref ("#/$defs/channel") from the schema s
// within root; a $ref it cannot follow leaves s as it is.
func resolveRef(root map[string]json.RawMessage, s json.RawMessage) json.RawMessage {
	for range 32 {
		var r struct {
			Ref string `json:"$ref"`
		}
		if json.Unmarshal(s, &r) != nil || !strings.HasPrefix(r.Ref, "#/") {
			return s
		}
		parts := strings.Split(r.Ref[2:], "/")
		at, ok := root[unescapePointer(parts[0])]
		for _, p := range parts[1:] {
			var obj map[string]json.RawMessage
			if !ok || json.Unmarshal(at, &obj) != nil {
				return s
			}
			at, ok = obj[unescapePointer(p)]
		}
		if !ok {
			return s
		}
		s = at
	}
	return s
}

func unescapePointer(p string) string {
	return strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
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

// infoVersion reads info.version from the contract in file, which
// [contracts.Contract] does not keep.
func infoVersion(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read contract: %w", err)
	}
	var doc struct {
		Info struct {
			Version string `yaml:"version"`
		} `yaml:"info"`
	}
	if err := yaml.Unmarshal(jsonTabs(data), &doc); err != nil {
		return "", fmt.Errorf("read info.version of %s: %w", file, err)
	}
	return doc.Info.Version, nil
}

func coverage(rep *Report) *ListingCoverage {
	cv := &ListingCoverage{Status: rep.Summary.Status, Seed: rep.Run.Seed, Target: rep.Run.Target,
		Checks: rep.Summary.Checks, Failed: rep.Summary.Failed,
		Suites: []ListingSuite{}, Scenarios: []ListingScenario{}}
	for _, s := range rep.Suites {
		cv.Suites = append(cv.Suites, ListingSuite{Name: s.Name, Status: s.Status, Checks: s.Checks, Failed: s.Failed})
	}
	for _, s := range rep.Scenarios {
		cv.Scenarios = append(cv.Scenarios, ListingScenario{Name: s.Name, Status: s.Status})
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

	p("# %s %s\n\n", mdText(l.Name), mdText(l.Version))
	if l.Summary != "" {
		p("%s\n\n", mdText(l.Summary))
	}
	p("Support: **%s**\n", mdText(l.Support))

	p("\n## Scopes\n\n")
	if len(l.Scopes) == 0 {
		p("The connector asks for no scope.\n")
	} else {
		row("Scope", "Why the connector needs it")
		row("---", "---")
		for _, s := range l.Scopes {
			why := mdText(s.Reason)
			if len(s.Operations) > 0 {
				ops := make([]string, len(s.Operations))
				for i, op := range s.Operations {
					ops[i] = codeSpan(op.String())
				}
				why = "used by " + strings.Join(ops, ", ")
			}
			row(codeSpan(s.Scope), why)
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
			def := mdCell("")
			if len(f.Default) > 0 {
				def = codeSpan(string(f.Default))
			}
			desc := f.Title
			if f.Description != "" {
				desc = strings.TrimSuffix(joinNonEmpty(f.Title, ": ", f.Description), ".") + "."
			}
			desc = mdText(desc)
			if len(f.Enum) > 0 {
				vals := make([]string, len(f.Enum))
				for i, e := range f.Enum {
					vals[i] = codeSpan(string(e))
				}
				desc = joinNonEmpty(desc, " ", "One of "+strings.Join(vals, ", ")+".")
			}
			if desc == "" {
				desc = mdCell("")
			}
			row(codeSpan(f.Name), mdCell(f.Type), req, def, desc)
		}
	}

	p("\n## Test coverage\n\n")
	if l.Coverage == nil {
		p("Not tested: no report was given.\n")
	} else {
		cv := l.Coverage
		p("Status: **%s**: %s, %d failed (seed %d, %s target).\n\n",
			mdText(cv.Status), plural(cv.Checks, "check"), cv.Failed, cv.Seed, mdText(cv.Target))
		row("Suite", "Status", "Checks", "Failed")
		row("---", "---", "---:", "---:")
		for _, s := range cv.Suites {
			row(mdText(s.Name), mdText(s.Status), fmt.Sprint(s.Checks), fmt.Sprint(s.Failed))
		}
		if len(cv.Scenarios) > 0 {
			p("\n")
			row("Scenario", "Status")
			row("---", "---")
			for _, s := range cv.Scenarios {
				row(mdText(s.Name), mdText(s.Status))
			}
		}
	}

	p("\n## Vendor APIs\n\n")
	row("Vendor", "API", "Version", "Contract")
	row("---", "---", "---", "---")
	for _, v := range l.Vendors {
		row(mdText(v.Vendor), mdCell(v.Title), mdCell(v.Version), codeSpan(v.Contract))
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
