package contracts

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/pb33f/go-yaml"
)

// convertSwagger converts a Swagger 2.0 document to OpenAPI 3.0 with
// kin-openapi's openapi2conv, a converter in wide use and kept up to date.
// The result is indented JSON, one key a line, so that a line of the
// converted document names exactly one key; [origin] maps such a line back
// to the original document.
func convertSwagger(name string, data []byte) ([]byte, *origin, []Finding, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, nil, syntaxError(name, data, err)
	}
	warnings := repairSwagger(name, &root)
	var generic any
	if err := root.Decode(&generic); err != nil {
		return nil, nil, nil, &Error{File: name, Msg: "cannot read the Swagger 2.0 document: " + err.Error(), Err: err}
	}
	raw, err := json.Marshal(jsonCompatible(generic))
	if err != nil {
		return nil, nil, nil, &Error{File: name, Msg: "cannot read the Swagger 2.0 document: " + err.Error(), Err: err}
	}
	var v2 openapi2.T
	if err := json.Unmarshal(raw, &v2); err != nil {
		return nil, nil, nil, &Error{File: name, Msg: "invalid Swagger 2.0 document: " + err.Error(), Err: err}
	}
	v3doc, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return nil, nil, nil, &Error{File: name, Msg: "cannot convert Swagger 2.0 to OpenAPI 3.0: " + err.Error(), Err: err}
	}
	out, err := json.MarshalIndent(v3doc, "", " ")
	if err != nil {
		return nil, nil, nil, &Error{File: name, Msg: "cannot convert Swagger 2.0 to OpenAPI 3.0: " + err.Error(), Err: err}
	}
	return out, &origin{original: &root, converted: out, swagger: true}, warnings, nil
}

// repairSwagger rewrites constructs that real Swagger 2.0 documents use
// although the specification does not allow them, so that the converter
// accepts the document, and a valid construct the converter mishandles (see
// [repairAdditionalRefs]); each repair is reported as a warning. Slack's Web
// API contract, for one, writes `items: [A, B]` to mean "A or B".
func repairSwagger(name string, root *yaml.Node) []Finding {
	var out []Finding
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			dropType := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "items" && v.Kind == yaml.SequenceNode {
					_, typ := child(n, "type")
					_, anyOf := child(n, "anyOf")
					if (typ == nil || typ.Value != "array") && anyOf == nil {
						// In a schema that is not an array, the list says
						// what the value itself may be, as Slack means it.
						p := newFinding(RuleSwaggerRepaired, "`items` holds a list of schemas in a schema that is not an array; read as `anyOf: [...]`")
						p.File, p.Line, p.Column = name, k.Line, k.Column
						out = append(out, p)
						n.Content[i] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "anyOf", Line: k.Line, Column: k.Column}
						if typ != nil {
							dropType = true // each alternative says its own
						}
						continue
					}
					p := newFinding(RuleSwaggerRepaired, "`items` holds a list of schemas; read as `items: {anyOf: [...]}`")
					p.File, p.Line, p.Column = name, k.Line, k.Column
					out = append(out, p)
					if len(v.Content) == 1 {
						n.Content[i+1] = v.Content[0]
					} else {
						key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "anyOf", Line: v.Line, Column: v.Column}
						n.Content[i+1] = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column, Content: []*yaml.Node{key, v}}
					}
				}
			}
			if dropType {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == "type" {
						n.Content = append(n.Content[:i], n.Content[i+2:]...)
						break
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	return append(out, repairAdditionalRefs(name, root)...)
}

// repairAdditionalRefs writes in OpenAPI 3.0 form the `$ref`s to
// definitions that sit inside an `additionalProperties` schema where the
// converter does not rewrite them. openapi2conv reads such a schema as
// OpenAPI 3.0 already and rewrites only its own `$ref`, that of its `items`,
// and those of nested `additionalProperties` and `allOf`; a `$ref` under its
// `properties`, say, stays "#/definitions/..." and the conversion fails to
// resolve it. Slack's Web API contract has one: defs_pinned_info maps to
// objects whose pinned_by is a reference. The reference keeps its target,
// only its spelling changes.
func repairAdditionalRefs(name string, root *yaml.Node) []Finding {
	const v2, v3 = "#/definitions/", "#/components/schemas/"
	var out []Finding
	// The walk's states: the converter rewrites the `$ref` of a schema in
	// state covered or itemsOfCovered, and no `$ref` in state uncovered.
	const (
		outside = iota // not inside additionalProperties
		covered
		itemsOfCovered
		uncovered
	)
	var walk func(n *yaml.Node, state int, names bool)
	walk = func(n *yaml.Node, state int, names bool) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, state, false)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, state, false)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if names {
					// The keys are names (of properties, definitions...),
					// each value a schema or object in the current state.
					walk(v, state, false)
					continue
				}
				switch k.Value {
				case "example", "examples", "default", "enum":
					continue // values, not schemas
				case "$ref":
					if state == uncovered && v.Kind == yaml.ScalarNode && strings.HasPrefix(v.Value, v2) {
						target := v3 + strings.TrimPrefix(v.Value, v2)
						p := newFinding(RuleSwaggerRepaired, fmt.Sprintf("`$ref: %s` inside `additionalProperties` is not rewritten by the converter; read as `$ref: %s`", v.Value, target))
						p.File, p.Line, p.Column = name, k.Line, k.Column
						out = append(out, p)
						v.Value = target
					}
					continue
				}
				if strings.HasPrefix(k.Value, "x-") {
					continue
				}
				next := state
				switch {
				case k.Value == "additionalProperties" && (state == outside || state == covered):
					next = covered
				case k.Value == "allOf" && state == covered:
					next = covered
				case k.Value == "items" && state == covered:
					next = itemsOfCovered
				case state == covered || state == itemsOfCovered:
					next = uncovered
				}
				childNames := false
				switch k.Value {
				case "properties", "patternProperties", "definitions", "parameters", "responses", "securityDefinitions", "paths", "headers":
					childNames = v.Kind == yaml.MappingNode
				}
				walk(v, next, childNames)
			}
		}
	}
	walk(root, outside, false)
	return out
}

// jsonCompatible turns the map[any]any a YAML decoder may produce for
// non-string keys into map[string]any, which encoding/json accepts.
func jsonCompatible(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonCompatible(x)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = jsonCompatible(x)
		}
		return m
	case []any:
		for i, x := range t {
			t[i] = jsonCompatible(x)
		}
		return t
	}
	return v
}

// origin maps a location in a converted or overlaid document back to the
// original: converted line -> JSON pointer -> the same thing's pointer in
// Swagger 2.0 terms, for a converted one -> the deepest node of the
// original that exists.
type origin struct {
	original  *yaml.Node
	converted []byte
	swagger   bool // converted from Swagger 2.0

	once  sync.Once
	lines map[int][]string // converted line -> path of the key on it
	max   int
}

func (o *origin) position(line, col int) (int, int) {
	o.once.Do(o.indexConverted)
	path, ok := o.lines[line]
	for l := line; !ok && l > 0; l-- {
		path, ok = o.lines[l]
	}
	if !ok {
		return 0, 0
	}
	if o.swagger {
		path = swaggerPath(path)
	}
	n := deepest(o.original, path)
	if n == nil {
		return 0, 0
	}
	return n.Line, n.Column
}

func (o *origin) indexConverted() {
	o.lines = map[int][]string{}
	var root yaml.Node
	if err := yaml.Unmarshal(o.converted, &root); err != nil {
		return
	}
	var walk func(n *yaml.Node, path []string)
	walk = func(n *yaml.Node, path []string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := append(append([]string(nil), path...), n.Content[i].Value)
				o.lines[n.Content[i].Line] = p
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := append(append([]string(nil), path...), strconv.Itoa(i))
				if _, taken := o.lines[c.Line]; !taken {
					o.lines[c.Line] = p
				}
				walk(c, p)
			}
		}
	}
	walk(&root, nil)
}

// swaggerPath translates an OpenAPI 3.0 path into where the same thing sits
// in a Swagger 2.0 document.
func swaggerPath(p []string) []string {
	at := func(i int) string {
		if i < len(p) {
			return p[i]
		}
		return ""
	}
	join := func(head []string, rest []string) []string { return append(head, rest...) }
	switch {
	case at(0) == "components" && at(1) == "schemas" && len(p) > 2:
		return join([]string{"definitions", p[2]}, p[3:])
	case at(0) == "components" && at(1) == "parameters" && len(p) > 2:
		return join([]string{"parameters", p[2]}, p[3:])
	case at(0) == "components" && at(1) == "requestBodies" && len(p) > 2:
		return []string{"parameters", p[2]}
	case at(0) == "components" && at(1) == "securitySchemes" && len(p) > 2:
		return join([]string{"securityDefinitions", p[2]}, p[3:])
	case at(0) == "components" && at(1) == "responses" && len(p) > 2:
		if at(3) == "content" && at(5) == "schema" {
			return join([]string{"responses", p[2], "schema"}, p[6:])
		}
		return []string{"responses", p[2]}
	case at(0) == "servers":
		return []string{"host"}
	case at(0) == "paths" && len(p) > 3 && at(3) == "requestBody":
		return []string{"paths", p[1], p[2], "parameters"}
	case at(0) == "paths" && len(p) > 4 && at(3) == "responses" && at(5) == "content" && at(7) == "schema":
		return join([]string{"paths", p[1], p[2], "responses", p[4], "schema"}, p[8:])
	case at(0) == "paths" && len(p) > 4 && at(3) == "responses" && at(5) == "content":
		return []string{"paths", p[1], p[2], "responses", p[4]}
	}
	return p
}

// deepest walks path down from root and returns the last node that exists
// (the key node for a mapping entry, so that its line is the key's).
func deepest(root *yaml.Node, path []string) *yaml.Node {
	n := documentBody(root)
	best := n
	for _, seg := range path {
		key, next := child(n, seg)
		if next == nil {
			return best
		}
		best, n = key, next
	}
	return best
}

// child returns the key and value of a mapping entry, or a sequence item
// (as both), or nils.
func child(n *yaml.Node, seg string) (key, value *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				return n.Content[i], n.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i], n.Content[i]
		}
	}
	return nil, nil
}

// documentBody skips a document node to its content.
func documentBody(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0]
	}
	return n
}

// pointerSegments splits a JSON pointer ("/a/b~1c") into unescaped segments.
func pointerSegments(ptr string) []string {
	var out []string
	for _, seg := range strings.Split(ptr, "/") {
		if seg != "" {
			out = append(out, strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~"))
		}
	}
	return out
}

// position maps a line and column of the loaded document to the file the
// user gave: the identity, except for a converted Swagger 2.0 document.
func (c *Contract) position(line, col int) (int, int) {
	if c.origin == nil || line <= 0 {
		return line, col
	}
	return c.origin.position(line, col)
}
