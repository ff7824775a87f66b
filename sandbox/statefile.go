package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/internal/yamldoc"
	"github.com/tetherkit/tether/sandbox/state"
)

// MaxStateFile bounds a state file, and a state sent to the admin API.
const MaxStateFile = 64 << 20

// The bounds of one state file's objects: how deep they nest, and how many
// values they hold in all once aliases are expanded.
const (
	maxStateDepth  = 200
	maxStateValues = 4 << 20
)

// LoadState reads a state file: the objects each vendor's tenants start
// with, by vendor name, as [Vendor.State] and [Sandbox.SetState] take
// them. The file is YAML (JSON is YAML too) of at most [MaxStateFile]
// bytes, laid out as vendor -> resource -> list of items, with resources
// named as `tether sandbox model` names them:
//
//	stripe:
//	  customers:
//	    - object: {id: cus_1, email: ada@example.com}
//	github:
//	  repos/issues:
//	    - keys: {owner: octo, repo: hello}
//	      object: {number: 1, title: It broke, state: open}
//
// Each item has an object, as the vendor answers it, and, for a resource
// that lives under a parent (GitHub's repos/issues live under a repository), the
// parent's path parameters as keys. Reading checks the layout only: a
// mistake in it is a *[contracts.Error] at its line and column. Whether
// the vendors, resources, keys and identifier fields exist is known once
// the contracts are: [WithStateFile] checks them when the sandbox starts,
// at the same places.
func LoadState(path string) (map[string]state.Document, error) {
	f, err := readStateFile(path)
	if err != nil {
		return nil, err
	}
	return f.docs, nil
}

// WithStateFile seeds every tenant with the objects of the state file at
// path (see [LoadState] for its layout), after those of the cassettes, the
// contracts' examples and [Vendor.State]; a later object of the same
// identifier replaces an earlier one, and [Sandbox.ResetState] returns to
// them. [Start] fails with a *[contracts.Error] at the place in the file
// of a vendor it does not serve or serves without state, a resource its
// contract does not have, an item without the keys of its parent or an
// object without its identifier field.
func WithStateFile(path string) Option {
	return Option{func(c *config) {
		f, err := readStateFile(path)
		if err != nil {
			c.problems = append(c.problems, err.Error())
			return
		}
		c.stateFile = f
	}}
}

// stateFile is a state file as read, with the places of its parts.
type stateFile struct {
	name string
	docs map[string]state.Document
	at   map[string]*vendorAt
}

type place struct{ line, col int }

type vendorAt struct {
	key       place
	resources map[string]*resourceAt
}

type resourceAt struct {
	key   place
	items []itemAt
}

type itemAt struct{ item, keys, object place }

func readStateFile(path string) (*stateFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, &contracts.Error{File: path, Msg: "cannot read the state file", Err: err}
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxStateFile+1))
	if err != nil {
		return nil, &contracts.Error{File: path, Msg: "cannot read the state file", Err: err}
	}
	return parseState(path, data)
}

// parseState reads a state document from data; name is the file named in
// errors.
func parseState(name string, data []byte) (f *stateFile, err error) {
	defer func() {
		// The YAML parser is third-party code; whatever it does with odd
		// input must come out as an error, not a crash.
		if r := recover(); r != nil {
			f, err = nil, &contracts.Error{File: name, Msg: fmt.Sprintf("cannot read the state: %v", r)}
		}
	}()
	if len(data) > MaxStateFile {
		return nil, &contracts.Error{File: name, Msg: fmt.Sprintf("the state is over %d MiB; a state file holds at most that", MaxStateFile>>20)}
	}
	f = &stateFile{name: name, docs: map[string]state.Document{}, at: map[string]*vendorAt{}}
	if len(bytes.TrimSpace(data)) == 0 {
		return f, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg, hint := yamldoc.Syntax(err)
		if line == 0 {
			// The parser names no line for what it found at the end.
			line = bytes.Count(bytes.TrimRight(data, "\n"), []byte("\n")) + 1
		}
		return nil, &contracts.Error{File: name, Line: line, Msg: "invalid YAML: " + msg, Hint: hint}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return f, nil
	}
	p := &stateParser{file: name}
	top := p.deref(doc.Content[0])
	if top.Kind == yaml.ScalarNode && top.ShortTag() == "!!null" {
		return f, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, p.fail(top, "the state is %s; it must be a mapping from vendor names to their resources, such as stripe: {customers: [...]}", yamldoc.Describe(top))
	}
	err = p.pairs(top, "vendor", func(vendor string, k, v *yaml.Node) error {
		va := &vendorAt{key: at(k), resources: map[string]*resourceAt{}}
		doc, err := p.vendor(vendor, v, va)
		if err != nil {
			return err
		}
		f.docs[vendor], f.at[vendor] = doc, va
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func at(n *yaml.Node) place { return place{n.Line, n.Column} }

type stateParser struct {
	file   string
	values int // values read so far, aliases expanded
}

func (p *stateParser) fail(n *yaml.Node, format string, args ...any) error {
	e := &contracts.Error{File: p.file, Line: 1, Msg: fmt.Sprintf(format, args...)}
	if n != nil && n.Line > 0 {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

func (p *stateParser) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// pairs walks a mapping whose keys are names of what, refusing keys that
// are not text and keys given twice.
func (p *stateParser) pairs(m *yaml.Node, what string, each func(name string, k, v *yaml.Node) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := p.deref(m.Content[i]), p.deref(m.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			return p.fail(k, "a %s name must be plain text, not %s", what, yamldoc.Describe(k))
		}
		if line, dup := seen[k.Value]; dup {
			return p.fail(k, "%s %q is given twice, first on line %d; keep one", what, k.Value, line)
		}
		seen[k.Value] = k.Line
		if err := each(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *stateParser) vendor(vendor string, v *yaml.Node, va *vendorAt) (state.Document, error) {
	doc := state.Document{}
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return doc, nil
	}
	if v.Kind != yaml.MappingNode {
		return nil, p.fail(v, "vendor %s is %s; it must be a mapping from resource names to lists of items, such as customers: [...]", vendor, yamldoc.Describe(v))
	}
	err := p.pairs(v, "resource", func(res string, k, list *yaml.Node) error {
		ra := &resourceAt{key: at(k)}
		va.resources[res] = ra
		doc[res] = []state.Entry{}
		if list.Kind == yaml.ScalarNode && list.ShortTag() == "!!null" {
			return nil
		}
		if list.Kind != yaml.SequenceNode {
			return p.fail(list, "%s: %s is %s; it must be a list of items, each with an object: and, under a parent, keys:", vendor, res, yamldoc.Describe(list))
		}
		for i, item := range list.Content {
			e, ia, err := p.item(fmt.Sprintf("%s: %s, item %d", vendor, res, i+1), p.deref(item))
			if err != nil {
				return err
			}
			doc[res] = append(doc[res], e)
			ra.items = append(ra.items, ia)
		}
		return nil
	})
	return doc, err
}

var itemFields = []string{"keys", "object"}

func (p *stateParser) item(what string, n *yaml.Node) (state.Entry, itemAt, error) {
	var e state.Entry
	ia := itemAt{item: at(n)}
	if n.Kind != yaml.MappingNode {
		return e, ia, p.fail(n, "%s is %s; it must be a mapping with object: and, under a parent, keys:", what, yamldoc.Describe(n))
	}
	var objNode *yaml.Node
	err := p.pairs(n, "field", func(field string, k, v *yaml.Node) error {
		switch field {
		case "keys":
			ia.keys = at(v)
			if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
				return nil
			}
			if v.Kind != yaml.MappingNode {
				return p.fail(v, "%s: keys is %s; it must be a mapping of the parent's path parameters, such as {owner: octo, repo: hello}", what, yamldoc.Describe(v))
			}
			e.Keys = map[string]string{}
			return p.pairs(v, "key", func(key string, _, kv *yaml.Node) error {
				if kv.Kind != yaml.ScalarNode || kv.ShortTag() == "!!null" || kv.Value == "" {
					return p.fail(kv, "%s: keys: %s is %s; it must be a value, such as octo", what, key, yamldoc.Describe(kv))
				}
				e.Keys[key] = kv.Value
				return nil
			})
		case "object":
			ia.object, objNode = at(v), v
			if v.Kind != yaml.MappingNode {
				return p.fail(v, "%s: object is %s; it must be a mapping, the item as the vendor answers it", what, yamldoc.Describe(v))
			}
			obj, err := p.value(what+": object", v, 0)
			if err != nil {
				return err
			}
			e.Object = obj.(map[string]any)
		default:
			msg := fmt.Sprintf("%s: unknown field %q; an item has object: and keys:", what, field)
			if near := closest(field, itemFields); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			}
			return p.fail(k, "%s", msg)
		}
		return nil
	})
	if err != nil {
		return e, ia, err
	}
	if len(e.Keys) == 0 {
		// No keys and empty keys are one thing, as JSON carries them.
		e.Keys = nil
	}
	if objNode == nil {
		return e, ia, p.fail(n, "%s has no object:; give the item as the vendor answers it, such as object: {id: cus_1}", what)
	}
	return e, ia, nil
}

// value turns a node into what encoding/json would decode from the same
// JSON: maps, slices, strings, booleans, nil, and numbers as float64, so
// that a document read from a file and one sent to the admin API are the
// same.
func (p *stateParser) value(what string, n *yaml.Node, depth int) (any, error) {
	n = p.deref(n)
	p.values++
	switch {
	case p.values > maxStateValues:
		return nil, p.fail(n, "%s: the state holds over %d values (aliases count each time they are used)", what, maxStateValues)
	case depth > maxStateDepth:
		return nil, p.fail(n, "%s: values nest over %d deep", what, maxStateDepth)
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := p.deref(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return nil, p.fail(k, "%s: a field name must be plain text, not %s", what, yamldoc.Describe(k))
			}
			if k.ShortTag() == "!!merge" {
				return nil, p.fail(k, "%s: merge keys (<<) are not taken; write the fields out", what)
			}
			v, err := p.value(what, n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := p.value(what, c, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, p.fail(n, "%s: %s is not a boolean", what, yamldoc.Describe(n))
			}
			return b, nil
		case "!!int", "!!float":
			f, err := yamlNumber(n)
			if err != nil {
				return nil, p.fail(n, "%s: %s: %v", what, yamldoc.Describe(n), err)
			}
			return f, nil
		case "!!str":
			return n.Value, nil
		}
		return nil, p.fail(n, "%s: %s is tagged %s; write a string, number, boolean or null", what, yamldoc.Describe(n), n.ShortTag())
	}
	return nil, p.fail(n, "%s: %s is not a value", what, yamldoc.Describe(n))
}

// yamlNumber reads a YAML number as JSON holds one.
func yamlNumber(n *yaml.Node) (float64, error) {
	var f float64
	if err := n.Decode(&f); err != nil {
		// A whole number too large for float64's exact range still reads.
		if v, perr := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); perr == nil {
			f = v
		} else {
			return 0, errors.New("not a number JSON can hold")
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("JSON holds no NaN or infinity")
	}
	return f, nil
}

// check makes sure every vendor the file names is served with state.
func (f *stateFile) check(s *Sandbox) error {
	for _, name := range slices.Sorted(maps.Keys(f.docs)) {
		v, ok := s.vendors[name]
		pos := f.at[name].key
		switch {
		case !ok:
			msg := fmt.Sprintf("no vendor %q is served; the vendors are %s", name, strings.Join(s.Vendors(), ", "))
			if near := closest(name, s.Vendors()); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			}
			return &contracts.Error{File: f.name, Line: pos.line, Column: pos.col, Msg: msg}
		case v.store == nil:
			return &contracts.Error{File: f.name, Line: pos.line, Column: pos.col,
				Msg: fmt.Sprintf("vendor %q is served without state, so it has none to seed or replace", name)}
		}
	}
	return nil
}

// locate turns an error of the store about the vendor's document into one
// at its place in the file; other errors pass unchanged.
func (f *stateFile) locate(vendor string, err error) error {
	var ee *state.EntryError
	if !errors.As(err, &ee) {
		return err
	}
	va := f.at[vendor]
	if va == nil {
		return err
	}
	ra := va.resources[ee.Resource]
	if ra == nil {
		return err
	}
	pos := ra.key
	what := fmt.Sprintf("%s: %s", vendor, ee.Resource)
	if ee.Item > 0 && ee.Item <= len(ra.items) {
		ia := ra.items[ee.Item-1]
		what += fmt.Sprintf(", item %d", ee.Item)
		pos = ia.item
		switch {
		case ee.Part == "keys" && ia.keys.line > 0:
			pos = ia.keys
		case ee.Part == "object" && ia.object.line > 0:
			pos = ia.object
		}
	}
	return &contracts.Error{File: f.name, Line: pos.line, Column: pos.col, Msg: what + ": " + ee.Err.Error(), Err: ee.Err}
}
