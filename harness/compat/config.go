package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pb33f/go-yaml"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/internal/jsonpath"
)

// IDs of the changes [CompareConfigSchemas] reports. They are stable:
// reports, waivers and [RequiredBump] refer to them.
const (
	RuleConfigRequiredFieldAdded       = "config-required-field-added"
	RuleConfigRequiredFieldWithDefault = "config-required-field-added-with-default"
	RuleConfigFieldRemoved             = "config-field-removed"
	RuleConfigTypeNarrowed             = "config-type-narrowed"
	RuleConfigEnumValueRemoved         = "config-enum-value-removed"
	RuleConfigEnumAdded                = "config-enum-added"
	RuleConfigPatternChanged           = "config-pattern-changed"
	RuleConfigBoundTightened           = "config-bound-tightened"
	RuleConfigFieldAdded               = "config-field-added"
	RuleConfigDefaultChanged           = "config-default-changed"
	RuleConfigSampleRejected           = "config-sample-rejected"
)

// ConfigSample is a configuration known to be in use, such as a
// scenario's config.
type ConfigSample struct {
	Source string // where it comes from, as file:line
	Value  any    // the configuration, as decoded from JSON or YAML
}

// ScenarioConfigs returns each scenario's config as a [ConfigSample]
// sourced at its config: line.
func ScenarioConfigs(scenarios []*manifest.Scenario) []ConfigSample {
	out := make([]ConfigSample, 0, len(scenarios))
	for _, sc := range scenarios {
		out = append(out, ConfigSample{Source: fmt.Sprintf("%s:%d", sc.File, sc.ConfigLine), Value: sc.Config})
	}
	return out
}

// CompareConfigSchemas lists what an admin would notice between two
// versions of a connector's configuration schema (JSON Schema files,
// draft 2020-12 or earlier), in document order, then proves the point by
// validation.
//
// The rules compare the schemas keyword by keyword from the root, into
// properties, items, prefixItems and additionalProperties, following local
// $refs ("#/$defs/..."); a $ref's sibling keywords are not compared, nor
// are allOf, anyOf, oneOf, not and if, which only the validation covers.
// Each change points at the keyword in each schema. A removed field is an
// error when the new schema forbids unknown fields or a sample uses it,
// otherwise a warning.
//
// Then every configuration the old schema accepts must pass the new one:
// each sample, and a minimal and a fullest configuration generated from
// the old schema. Each that fails is a config-sample-rejected change at the
// sample's source and the new schema's failing keyword. Samples (and
// generated configurations) the old schema already rejects prove nothing
// and are skipped.
//
// The error is for a schema that cannot be read or compiled, or a sample
// that cannot be written as JSON.
func CompareConfigSchemas(oldSchema, newSchema *contracts.Schema, samples []ConfigSample) ([]contracts.Change, error) {
	oldDoc, err := schemaDocOf(oldSchema)
	if err != nil {
		return nil, err
	}
	newDoc, err := schemaDocOf(newSchema)
	if err != nil {
		return nil, err
	}
	oldFile, newFile := oldSchema.File(), newSchema.File()
	type encoded struct {
		source string
		json   []byte
	}
	var accepted []encoded
	var values []any
	for _, s := range samples {
		data, err := json.Marshal(s.Value)
		if err != nil {
			return nil, fmt.Errorf("encode config sample %s: %w", s.Source, err)
		}
		if len(oldSchema.Validate(data)) > 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("decode config sample %s: %w", s.Source, err)
		}
		accepted = append(accepted, encoded{s.Source, data})
		values = append(values, v)
	}

	cc := &configComparison{old: oldDoc, new: newDoc, samples: values, seen: map[[2]*yaml.Node]bool{}}
	cc.walk(oldDoc.root, newDoc.root, nil)

	for _, maximal := range []bool{false, true} {
		budget := 2000 // schema nodes, so that recursive schemas stay small
		v, ok := generateConfig(oldDoc, oldDoc.root, maximal, 0, 0, &budget)
		if !ok {
			continue
		}
		data, err := json.Marshal(v)
		if err != nil || len(oldSchema.Validate(data)) > 0 {
			continue
		}
		if slices.ContainsFunc(accepted, func(e encoded) bool { return bytes.Equal(e.json, data) }) {
			continue
		}
		what := "a minimal configuration generated from " + oldFile
		if maximal {
			what = "the fullest configuration generated from " + oldFile
		}
		accepted = append(accepted, encoded{what, data})
	}
	for _, s := range accepted {
		problems := newSchema.Validate(s.json)
		if len(problems) == 0 {
			continue
		}
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Path + ": " + p.Message
		}
		first := problems[0]
		r := rule(RuleConfigSampleRejected)
		cc.out = append(cc.out, contracts.Change{
			ID:      RuleConfigSampleRejected,
			Level:   r.Level,
			Field:   first.Path,
			Old:     sourcePosition(s.source),
			New:     &contracts.Position{File: newFile, Line: first.Line, Column: first.Column},
			Message: r.Summary + ": " + s.source + ": " + strings.Join(msgs, "; "),
		})
	}
	return cc.out, nil
}

var fileLine = regexp.MustCompile(`^(.+):(\d+)$`)

// sourcePosition reads "file:line"; any other source is a position with no
// file, as a generated configuration has none.
func sourcePosition(src string) *contracts.Position {
	if m := fileLine.FindStringSubmatch(src); m != nil {
		line, _ := strconv.Atoi(m[2])
		return &contracts.Position{File: m[1], Line: line}
	}
	return nil
}

// schemaDoc is a schema file's tree, with positions.
type schemaDoc struct {
	file   string
	root   *yaml.Node
	schema *contracts.Schema
}

func schemaDocOf(s *contracts.Schema) (*schemaDoc, error) {
	root := s.Root()
	if root == nil {
		return nil, fmt.Errorf("read config schema %s: the file holds no document", s.File())
	}
	return &schemaDoc{file: s.File(), root: root, schema: s}, nil
}

// resolve follows local $refs from n to the schema they name; a $ref it
// cannot follow leaves n as it is.
func (d *schemaDoc) resolve(n *yaml.Node) *yaml.Node { return d.schema.Resolve(n) }

type configComparison struct {
	old, new *schemaDoc
	samples  []any // decoded samples the old schema accepts
	seen     map[[2]*yaml.Node]bool
	out      []contracts.Change
}

func (cc *configComparison) add(id string, path []string, oldPos, newPos *contracts.Position, format string, args ...any) *contracts.Change {
	r := rule(id)
	cc.out = append(cc.out, contracts.Change{
		ID: id, Level: r.Level, Field: fieldPath(path), Old: oldPos, New: newPos,
		Message: r.Summary + ": " + fmt.Sprintf(format, args...),
	})
	return &cc.out[len(cc.out)-1]
}

// at is the position of keyword in the schema n, or of n when it lacks it.
func (d *schemaDoc) at(n *yaml.Node, keyword string) *contracts.Position {
	if k := keyOf(n, keyword); k != nil {
		n = k
	}
	p := &contracts.Position{File: d.file}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	return p
}

// keyOf returns the key node of key in the mapping n, or nil.
func keyOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

func (d *schemaDoc) node(n *yaml.Node) *contracts.Position {
	p := &contracts.Position{File: d.file}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	return p
}

// fieldPath renders path segments as a JSON path: $.stages[*].name.
func fieldPath(path []string) string {
	var b strings.Builder
	b.WriteByte('$')
	for _, s := range path {
		switch {
		case s == "[*]" || strings.HasPrefix(s, "[") && numeric(strings.Trim(s, "[]")):
			b.WriteString(s)
		default:
			b.WriteString(jsonpath.Key(s))
		}
	}
	return b.String()
}

// anySchema stands for a missing subschema, which accepts anything.
func anySchema() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }

func isFalse(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!bool" && n.Value == "false"
}

func isTrue(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!bool" && n.Value == "true"
}

// walk compares the old schema o with the new schema n at path.
func (cc *configComparison) walk(o, n *yaml.Node, path []string) {
	o, n = cc.old.resolve(o), cc.new.resolve(n)
	if o == nil || n == nil || cc.seen[[2]*yaml.Node{o, n}] || len(path) > 64 {
		return
	}
	cc.seen[[2]*yaml.Node{o, n}] = true
	if isTrue(o) {
		o = anySchema()
	}
	if isFalse(n) && !isFalse(o) {
		cc.add(RuleConfigTypeNarrowed, path, cc.old.node(o), cc.new.node(n), "%s now accepts no value at all", fieldPath(path))
		return
	}
	if o.Kind != yaml.MappingNode || n.Kind != yaml.MappingNode {
		return
	}
	cc.types(o, n, path)
	cc.enums(o, n, path)
	if np := valueOf(n, "pattern"); np != nil {
		if op := valueOf(o, "pattern"); op == nil || op.Value != np.Value {
			was := "none"
			if op != nil {
				was = strconv.Quote(op.Value)
			}
			cc.add(RuleConfigPatternChanged, path, cc.old.at(o, "pattern"), cc.new.at(n, "pattern"), "%s: pattern %s is now %q", fieldPath(path), was, np.Value)
		}
	}
	cc.bounds(o, n, path)
	if od := valueOf(o, "default"); od != nil {
		nd := valueOf(n, "default")
		switch {
		case nd == nil:
			cc.add(RuleConfigDefaultChanged, path, cc.old.at(o, "default"), cc.new.node(n), "%s: the default %s was removed", fieldPath(path), canonical(od))
		case canonical(od) != canonical(nd):
			cc.add(RuleConfigDefaultChanged, path, cc.old.at(o, "default"), cc.new.at(n, "default"), "%s: the default %s is now %s", fieldPath(path), canonical(od), canonical(nd))
		}
	}
	cc.properties(o, n, path)
	sub := func(kw string) (*yaml.Node, *yaml.Node) {
		os, ns := valueOf(o, kw), valueOf(n, kw)
		if os == nil {
			os = anySchema()
		}
		return os, ns
	}
	if os, ns := sub("items"); ns != nil && ns.Kind != yaml.SequenceNode && os.Kind != yaml.SequenceNode {
		cc.walk(os, ns, append(slices.Clip(path), "[*]"))
	}
	if os, ns := sub("additionalProperties"); ns != nil && ns.Kind == yaml.MappingNode && !isFalse(os) {
		cc.walk(os, ns, append(slices.Clip(path), "*"))
	}
	if ns := valueOf(n, "prefixItems"); ns != nil && ns.Kind == yaml.SequenceNode {
		os := valueOf(o, "prefixItems")
		for i, item := range ns.Content {
			var oi *yaml.Node
			if os != nil && os.Kind == yaml.SequenceNode && i < len(os.Content) {
				oi = os.Content[i]
			} else {
				oi = anySchema()
			}
			cc.walk(oi, item, append(slices.Clip(path), "["+strconv.Itoa(i)+"]"))
		}
	}
}

// typeSet returns the names in a schema's type keyword; ok is false when
// it has none, meaning every type.
func typeSet(n *yaml.Node) (types []string, ok bool) {
	t := valueOf(n, "type")
	switch {
	case t == nil:
		return nil, false
	case t.Kind == yaml.ScalarNode:
		return []string{t.Value}, true
	case t.Kind == yaml.SequenceNode:
		for _, c := range t.Content {
			types = append(types, c.Value)
		}
		return types, true
	}
	return nil, false
}

func (cc *configComparison) types(o, n *yaml.Node, path []string) {
	nt, nok := typeSet(n)
	if !nok {
		return
	}
	ot, ook := typeSet(o)
	if !ook {
		cc.add(RuleConfigTypeNarrowed, path, cc.old.node(o), cc.new.at(n, "type"), "%s accepted any type and now only %s", fieldPath(path), strings.Join(nt, " or "))
		return
	}
	var lost []string
	for _, t := range ot {
		if slices.Contains(nt, t) || t == "integer" && slices.Contains(nt, "number") {
			continue
		}
		lost = append(lost, t)
	}
	if len(lost) > 0 {
		cc.add(RuleConfigTypeNarrowed, path, cc.old.at(o, "type"), cc.new.at(n, "type"), "%s no longer accepts %s (was %s, now %s)", fieldPath(path), strings.Join(lost, " or "), strings.Join(ot, " or "), strings.Join(nt, " or "))
	}
}

// enumValues returns the values of enum, or of const as a list of one.
func enumValues(n *yaml.Node) (vals []*yaml.Node, keyword string) {
	if e := valueOf(n, "enum"); e != nil && e.Kind == yaml.SequenceNode {
		return e.Content, "enum"
	}
	if c := valueOf(n, "const"); c != nil {
		return []*yaml.Node{c}, "const"
	}
	return nil, ""
}

func (cc *configComparison) enums(o, n *yaml.Node, path []string) {
	nv, nkw := enumValues(n)
	if nkw == "" {
		return
	}
	ov, okw := enumValues(o)
	if okw == "" {
		cc.add(RuleConfigEnumAdded, path, cc.old.node(o), cc.new.at(n, nkw), "%s now accepts only %s", fieldPath(path), canonicalList(nv))
		return
	}
	have := map[string]bool{}
	for _, v := range nv {
		have[canonical(v)] = true
	}
	for _, v := range ov {
		if !have[canonical(v)] {
			cc.add(RuleConfigEnumValueRemoved, path, cc.old.node(v), cc.new.at(n, nkw), "%s no longer accepts %s", fieldPath(path), canonical(v))
		}
	}
}

func canonicalList(vals []*yaml.Node) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = canonical(v)
	}
	return strings.Join(s, ", ")
}

// canonical writes a value as compact JSON, so that equal values compare
// equal whatever their spelling in the file.
func canonical(n *yaml.Node) string {
	var v any
	if err := n.Decode(&v); err == nil {
		if b, err := json.Marshal(v); err == nil {
			return string(b)
		}
	}
	return fmt.Sprintf("%q", n.Value)
}

// number reads a numeric keyword; ok is false when it is missing or not a
// finite number (draft 4's boolean exclusiveMinimum, say).
func number(n *yaml.Node, kw string) (float64, bool) {
	v := valueOf(n, kw)
	if v == nil || v.Kind != yaml.ScalarNode || (v.Tag != "!!int" && v.Tag != "!!float") {
		return 0, false
	}
	f, err := strconv.ParseFloat(v.Value, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

var (
	lowerBounds = []string{"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains"}
	upperBounds = []string{"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains"}
)

func (cc *configComparison) bounds(o, n *yaml.Node, path []string) {
	tight := func(kw, was, now string) {
		cc.add(RuleConfigBoundTightened, path, cc.old.at(o, kw), cc.new.at(n, kw), "%s: %s %s is now %s", fieldPath(path), kw, was, now)
	}
	for _, upper := range []bool{false, true} {
		kws := lowerBounds
		if upper {
			kws = upperBounds
		}
		for _, kw := range kws {
			nv, nok := number(n, kw)
			if !nok {
				continue
			}
			ov, ook := number(o, kw)
			switch {
			case !ook:
				tight(kw, "(none)", valueOf(n, kw).Value)
			case !upper && nv > ov, upper && nv < ov:
				tight(kw, valueOf(o, kw).Value, valueOf(n, kw).Value)
			}
		}
	}
	if nv, ok := number(n, "multipleOf"); ok && nv > 0 {
		ov, ook := number(o, "multipleOf")
		if r := ov / nv; !ook || ov != nv && r != math.Trunc(r) {
			was := "(none)"
			if ook {
				was = valueOf(o, "multipleOf").Value
			}
			tight("multipleOf", was, valueOf(n, "multipleOf").Value)
		}
	}
	if isTrue(valueOf(n, "uniqueItems")) && !isTrue(valueOf(o, "uniqueItems")) {
		tight("uniqueItems", "false", "true")
	}
	for _, kw := range []string{"additionalProperties", "unevaluatedProperties"} {
		if isFalse(valueOf(n, kw)) && !isFalse(valueOf(o, kw)) {
			tight(kw, "true", "false")
		}
	}
}

// required returns the names in a schema's required list, with their nodes.
func required(n *yaml.Node) map[string]*yaml.Node {
	r := valueOf(n, "required")
	out := map[string]*yaml.Node{}
	if r != nil && r.Kind == yaml.SequenceNode {
		for _, c := range r.Content {
			out[c.Value] = c
		}
	}
	return out
}

// props returns a schema's properties as (key node, schema) pairs in order.
func props(n *yaml.Node) (keys []*yaml.Node, schemas map[string]*yaml.Node) {
	schemas = map[string]*yaml.Node{}
	p := valueOf(n, "properties")
	if p == nil || p.Kind != yaml.MappingNode {
		return nil, schemas
	}
	for i := 0; i+1 < len(p.Content); i += 2 {
		keys = append(keys, p.Content[i])
		schemas[p.Content[i].Value] = p.Content[i+1]
	}
	return keys, schemas
}

func (cc *configComparison) properties(o, n *yaml.Node, path []string) {
	okeys, oschemas := props(o)
	nkeys, nschemas := props(n)
	oreq, nreq := required(o), required(n)
	closed := isFalse(valueOf(n, "additionalProperties")) || isFalse(valueOf(n, "unevaluatedProperties"))
	child := func(name string) []string { return append(slices.Clip(path), name) }
	for _, k := range okeys {
		name := k.Value
		if ns, ok := nschemas[name]; ok {
			cc.walk(oschemas[name], ns, child(name))
			continue
		}
		used := slices.ContainsFunc(cc.samples, func(v any) bool { return presentAt(v, child(name)) })
		c := cc.add(RuleConfigFieldRemoved, child(name), cc.old.node(k), cc.new.at(n, "properties"), "%s", fieldPath(child(name)))
		switch {
		case closed && used:
			c.Level = contracts.LevelError
			c.Message += "; configurations use it and the new schema rejects unknown fields"
		case closed:
			c.Level = contracts.LevelError
			c.Message += "; the new schema rejects unknown fields, so configurations that set it fail"
		case used:
			c.Level = contracts.LevelError
			c.Message += "; configurations use it"
		}
	}
	requiredAdded := func(name string, oldPos, newPos *contracts.Position) {
		id := RuleConfigRequiredFieldAdded
		msg := fieldPath(child(name))
		if s, ok := nschemas[name]; ok {
			if d := valueOf(cc.new.resolve(s), "default"); d != nil {
				id = RuleConfigRequiredFieldWithDefault
				msg += " (default " + canonical(d) + ")"
			}
		}
		cc.add(id, child(name), oldPos, newPos, "%s", msg)
	}
	for _, k := range nkeys {
		name := k.Value
		if _, ok := oschemas[name]; ok {
			continue
		}
		if _, req := nreq[name]; req {
			requiredAdded(name, cc.old.at(o, "properties"), cc.new.node(k))
			continue
		}
		cc.add(RuleConfigFieldAdded, child(name), cc.old.at(o, "properties"), cc.new.node(k), "%s", fieldPath(child(name)))
	}
	if r := valueOf(n, "required"); r != nil && r.Kind == yaml.SequenceNode {
		for _, c := range r.Content {
			name := c.Value
			_, wasReq := oreq[name]
			_, inOld := oschemas[name]
			_, inNew := nschemas[name]
			if wasReq || (inNew && !inOld) {
				continue
			}
			oldPos := cc.old.at(o, "required")
			if inOld {
				oldPos = cc.old.node(keyOf(valueOf(o, "properties"), name))
			}
			requiredAdded(name, oldPos, cc.new.node(c))
		}
	}
}

// presentAt says whether the value v has something at path; "[*]" matches
// any element of an array and "*" any member of an object.
func presentAt(v any, path []string) bool {
	if len(path) == 0 {
		return true
	}
	switch x := v.(type) {
	case map[string]any:
		if path[0] == "*" {
			for _, c := range x {
				if presentAt(c, path[1:]) {
					return true
				}
			}
			return false
		}
		c, ok := x[path[0]]
		return ok && presentAt(c, path[1:])
	case []any:
		if path[0] == "[*]" {
			for _, c := range x {
				if presentAt(c, path[1:]) {
					return true
				}
			}
			return false
		}
		if i, err := strconv.Atoi(strings.Trim(path[0], "[]")); err == nil && i >= 0 && i < len(x) {
			return presentAt(x[i], path[1:])
		}
	}
	return false
}

// generateConfig makes a value the schema n should accept: with only the
// required members of objects and the fewest array items, or (maximal)
// with every declared property and at least one item. Variant picks
// another enum value or string, so that array items can differ. ok is
// false when it cannot make one, or when budget (a count of schema nodes
// visited) runs out; the caller still validates the result.
func generateConfig(d *schemaDoc, n *yaml.Node, maximal bool, depth, variant int, budget *int) (any, bool) {
	n = d.resolve(n)
	*budget--
	if n == nil || depth > 12 || *budget < 0 || isFalse(n) {
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		return nil, true
	}
	decode := func(v *yaml.Node) (any, bool) {
		var out any
		if err := v.Decode(&out); err != nil {
			return nil, false
		}
		if b, err := json.Marshal(out); err != nil || json.Unmarshal(b, &out) != nil {
			return nil, false
		}
		return out, true
	}
	types, _ := typeSet(n)
	kind := ""
	for _, t := range types {
		if t != "null" {
			kind = t
			break
		}
	}
	if kind == "" && len(types) > 0 {
		kind = "null"
	}
	if kind == "" {
		switch {
		case valueOf(n, "properties") != nil || valueOf(n, "required") != nil:
			kind = "object"
		case valueOf(n, "items") != nil || valueOf(n, "prefixItems") != nil:
			kind = "array"
		}
	}
	if kind != "object" && kind != "array" {
		vals, kw := enumValues(n)
		if c := valueOf(n, "const"); c != nil {
			return decode(c)
		}
		if kw == "enum" && variant > 0 && len(vals) > 0 {
			return decode(vals[variant%len(vals)])
		}
		if v := valueOf(n, "default"); v != nil {
			return decode(v)
		}
		if ex := valueOf(n, "examples"); ex != nil && ex.Kind == yaml.SequenceNode && len(ex.Content) > 0 {
			return decode(ex.Content[0])
		}
		if len(vals) > 0 {
			return decode(vals[0])
		}
	}
	switch kind {
	case "object":
		out := map[string]any{}
		keys, schemas := props(n)
		req := required(n)
		for _, k := range keys {
			if _, r := req[k.Value]; !r && !maximal {
				continue
			}
			v, ok := generateConfig(d, schemas[k.Value], maximal, depth+1, 0, budget)
			if !ok {
				if _, r := req[k.Value]; r {
					return nil, false
				}
				continue
			}
			out[k.Value] = v
		}
		for name := range req {
			if _, ok := out[name]; !ok {
				if _, declared := schemas[name]; !declared {
					out[name] = "x"
				}
			}
		}
		return out, true
	case "array":
		count := 0
		if m, ok := number(n, "minItems"); ok && m > 0 {
			count = int(min(m, 16))
		}
		if maximal {
			count = max(count, 1)
		}
		if m, ok := number(n, "maxItems"); ok && float64(count) > m {
			count = int(max(m, 0))
		}
		prefix := valueOf(n, "prefixItems")
		out := []any{}
		for i := range count {
			item := valueOf(n, "items")
			if prefix != nil && prefix.Kind == yaml.SequenceNode && i < len(prefix.Content) {
				item = prefix.Content[i]
			}
			if item == nil {
				out = append(out, "x"+strconv.Itoa(i))
				continue
			}
			v, ok := generateConfig(d, item, maximal, depth+1, i, budget)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	case "string":
		if f := valueOf(n, "format"); f != nil {
			if s, ok := formatExamples[f.Value]; ok {
				return s, true
			}
		}
		length := 1
		if m, ok := number(n, "minLength"); ok && m > 1 {
			length = int(min(m, 4096))
		}
		s := strings.Repeat("x", length)
		if variant > 0 {
			s = strconv.Itoa(variant) + s[min(len(s), len(strconv.Itoa(variant))):]
		}
		if m, ok := number(n, "maxLength"); ok && float64(len(s)) > m {
			s = s[:int(max(m, 0))]
		}
		return s, true
	case "integer", "number":
		v := float64(variant)
		if m, ok := number(n, "minimum"); ok {
			v = math.Ceil(m) + float64(variant)
		}
		if m, ok := number(n, "exclusiveMinimum"); ok && v <= m {
			v = math.Floor(m) + 1
		}
		if m, ok := number(n, "maximum"); ok && v > m {
			v = math.Floor(m)
		}
		if m, ok := number(n, "exclusiveMaximum"); ok && v >= m {
			v = math.Ceil(m) - 1
		}
		return v, true
	case "boolean":
		return variant%2 == 1, true
	}
	return nil, true
}

// formatExamples are values of the formats configurations commonly use.
var formatExamples = map[string]string{
	"email":     "admin@example.com",
	"uri":       "https://example.com/",
	"url":       "https://example.com/",
	"hostname":  "example.com",
	"date-time": "2024-01-02T03:04:05Z",
	"date":      "2024-01-02",
	"time":      "03:04:05Z",
	"uuid":      "123e4567-e89b-12d3-a456-426614174000",
	"ipv4":      "192.0.2.1",
	"ipv6":      "2001:db8::1",
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
