package contracts

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pb33f/go-yaml"

	"github.com/tetherkit/tether/internal/jsonpath"
)

// Schemas are compared resolved and memoised per pair of schemas and flow:
// a schema shared by many operations, or reached by many routes within one,
// is compared once. A pair met again while it is being compared (a cycle)
// is taken as equal there; its changes are reported where it was entered.

type pairKey struct {
	o, n *yaml.Node
	flow int
}

type memoEntry struct {
	done    bool
	depth   int  // while in progress: its depth in the comparison
	partial bool // met a pair in progress above it, so it may lack that pair's changes
	redone  bool
	rels    []rel
}

// rel is a change found inside a schema, relative to it.
type rel struct {
	id       string // the full ID, for property rules; empty for schema rules
	suffix   string // the schema rule, completed by the flow's prefix
	field    string // JSON path below the schema: "", ".name", "[*].id"
	args     []any  // the message's arguments after its subject
	old, new *Position
	ident    string // the same change reached by another route has the same ident
}

// maxRoutes bounds how many routes to one change are kept: enough for the
// usage filter to see a change wherever a connector reads it, without the
// lists growing with every route through a schema graph as dense as
// Stripe's.
const maxRoutes = 16

type relList struct {
	list []rel
	seen map[string]int
}

func (l *relList) add(r rel) {
	if l.seen == nil {
		l.seen = map[string]int{}
	}
	if l.seen[r.ident] >= maxRoutes {
		return
	}
	l.seen[r.ident]++
	l.list = append(l.list, r)
}

func (l *relList) addUnder(prefix string, rs []rel) {
	for _, r := range rs {
		r.field = prefix + r.field
		l.add(r)
	}
}

// schema compares two schemas in a flow. A pair met again while it is being
// compared (a cycle) counts as equal there; its changes are reported where
// it was entered. A pair whose comparison met such a cycle above it is
// partial and is compared once more the next time it is reached, when the
// cycle's entry is complete, so that what is reported does not depend on
// the order in which paths are walked.
func (d *differ) schema(o, n yn, fl flow) []rel {
	o, n = d.old.deref(o), d.new.deref(n)
	if !o.ok() || !n.ok() {
		return nil
	}
	k := pairKey{o.n, n.n, fl.kind}
	e, ok := d.memo[k]
	switch {
	case ok && !e.done:
		d.cycleAt = min(d.cycleAt, e.depth)
		return nil
	case ok && (!e.partial || e.redone):
		return e.rels
	case ok:
		e.redone = true
	default:
		e = &memoEntry{}
		d.memo[k] = e
	}
	d.depth++
	e.done, e.depth = false, d.depth
	outer := d.cycleAt
	d.cycleAt = int(^uint(0) >> 1)
	var out relList
	d.compareSchema(o, n, fl, &out)
	e.partial = d.cycleAt < e.depth
	d.cycleAt = min(outer, d.cycleAt)
	d.depth--
	e.rels, e.done = out.list, true
	return e.rels
}

func (d *differ) compareSchema(o, n yn, fl flow, out *relList) {
	mk := func(suffix string, on, nn yn, args ...any) {
		if !on.ok() {
			on = o
		}
		if !nn.ok() {
			nn = n
		}
		r := rel{suffix: suffix, args: args, old: on.pos(), new: nn.pos()}
		r.ident = suffix + "|" + r.old.String() + "|" + r.new.String() + "|" + fmt.Sprint(args...)
		out.add(r)
	}

	// Types, formats and nullability.
	ot, onull := typesOf(o)
	nt, nnull := typesOf(n)
	of, nf := o.get("format").str(), n.get("format").str()
	switch {
	case len(ot) > 0 && len(nt) > 0 && !slices.Equal(ot, nt):
		oText, nText := typeText(ot, of), typeText(nt, nf)
		switch {
		case len(ot) > 1 || len(nt) > 1:
			switch {
			case subset(ot, nt):
				mk("list-of-types-widened", o.get("type"), n.get("type"), oText, nText)
			case subset(nt, ot):
				mk("list-of-types-narrowed", o.get("type"), n.get("type"), oText, nText)
			default:
				mk("type-changed", o.get("type"), n.get("type"), oText, nText)
			}
		case ot[0] == "integer" && nt[0] == "number":
			mk("type-generalized", o.get("type"), n.get("type"), oText, nText)
		case ot[0] == "number" && nt[0] == "integer":
			mk("type-specialized", o.get("type"), n.get("type"), oText, nText)
		default:
			mk("type-changed", o.get("type"), n.get("type"), oText, nText)
		}
	case (len(ot) == 0) != (len(nt) == 0) && !composed(o) && !composed(n):
		// A schema that gained a type accepts less; one that lost it, more.
		oText, nText := typeText(ot, of), typeText(nt, nf)
		if len(ot) == 0 {
			mk("type-specialized", yn{}, n.get("type"), "any", nText)
		} else {
			mk("type-generalized", o.get("type"), yn{}, oText, "any")
		}
	case len(ot) > 0 && slices.Equal(ot, nt) && of != nf:
		oText, nText := typeText(ot, of), typeText(nt, nf)
		switch {
		case of == "":
			mk("type-specialized", o.get("type"), n.get("format"), oText, nText)
		case nf == "":
			mk("type-generalized", o.get("format"), n.get("type"), oText, nText)
		default:
			mk("type-changed", o.get("format"), n.get("format"), oText, nText)
		}
	}
	if onull != nnull {
		if nnull {
			mk("became-nullable", yn{}, nullNode(n))
		} else {
			mk("became-not-nullable", nullNode(o), yn{})
		}
	}

	// Enumerations and constants.
	oe, ne := o.get("enum"), n.get("enum")
	switch {
	case !oe.ok() && ne.ok():
		mk("became-enum", yn{}, ne, enumText(ne))
	case oe.ok() && !ne.ok():
		mk("became-not-enum", oe, yn{}, enumText(oe))
	case oe.ok() && ne.ok():
		have := scalars(ne)
		for _, v := range oe.items() {
			if !have[v.scalar()] {
				mk("enum-value-removed", v, ne, v.scalar())
			}
		}
		had := scalars(oe)
		for _, v := range ne.items() {
			if !had[v.scalar()] {
				mk("enum-value-added", oe, v, v.scalar())
			}
		}
	}
	if ox, nx := o.get("x-extensible-enum"), n.get("x-extensible-enum"); ox.ok() && nx.ok() {
		have := scalars(nx)
		for _, v := range ox.items() {
			if !have[v.scalar()] {
				mk("x-extensible-enum-value-removed", v, nx, v.scalar())
			}
		}
	}
	switch oc, nc := o.get("const"), n.get("const"); {
	case !oc.ok() && nc.ok():
		mk("const-added", yn{}, nc, nc.scalar())
	case oc.ok() && !nc.ok():
		mk("const-removed", oc, yn{}, oc.scalar())
	case oc.ok() && nc.ok() && oc.scalar() != nc.scalar():
		mk("const-changed", oc, nc, oc.scalar(), nc.scalar())
	}

	// Bounds: a client that writes the value is hurt by tighter ones, one
	// that reads it by looser ones.
	for _, b := range bounds {
		ov, ook := number(o.get(b.key))
		nv, nok := number(n.get(b.key))
		on, nn := o.get(b.key), n.get(b.key)
		switch {
		case ook && nok && ov != nv:
			dir := b.up
			if nv < ov {
				dir = b.down
			}
			mk(dir, on, nn, on.str(), nn.str())
		case !ook && nok:
			if b.set != "" {
				mk(b.set, yn{}, nn, "", nn.str())
			} else if b.implicit != "" {
				mk(b.up, yn{}, nn, b.implicit, nn.str())
			}
		case ook && !nok:
			if b.unset != "" {
				mk(b.unset, on, yn{}, on.str())
			} else if b.implicit != "" {
				mk(b.down, on, yn{}, on.str(), b.implicit)
			}
		}
	}
	switch op, np := o.get("pattern"), n.get("pattern"); {
	case !op.ok() && np.ok():
		mk("pattern-added", yn{}, np, "", np.str())
	case op.ok() && !np.ok():
		mk("pattern-removed", op, yn{}, op.str())
	case op.ok() && np.ok() && op.str() != np.str():
		mk("pattern-changed", op, np, op.str(), np.str())
	}

	// Discriminators.
	od, nd := o.get("discriminator"), n.get("discriminator")
	switch {
	case !od.ok() && nd.ok():
		mk("discriminator-added", yn{}, nd, nd.get("propertyName").str())
	case od.ok() && !nd.ok():
		mk("discriminator-removed", od, yn{}, od.get("propertyName").str())
	case od.ok() && nd.ok():
		if a, b := od.get("propertyName"), nd.get("propertyName"); a.str() != b.str() {
			mk("discriminator-property-name-changed", a, b, a.str(), b.str())
		}
		om, nm := od.get("mapping"), nd.get("mapping")
		om.pairs(func(key string, k, v yn) {
			w := nm.get(key)
			switch {
			case !w.ok():
				mk("discriminator-mapping-deleted", k, nm, key)
			case refName(v.str()) != refName(w.str()):
				mk("discriminator-mapping-changed", v, w, key, w.str(), v.str())
			}
		})
		nm.pairs(func(key string, k, _ yn) {
			if !om.get(key).ok() {
				mk("discriminator-mapping-added", om, k, key)
			}
		})
	}

	// Alternatives: matched by the name of the schema they refer to, or
	// their title, else by position among the unnamed ones.
	for _, kw := range [...]struct{ key, added, removed string }{
		{"oneOf", "one-of-added", "one-of-removed"},
		{"anyOf", "any-of-added", "any-of-removed"},
	} {
		oa, na := o.get(kw.key), n.get(kw.key)
		if !oa.ok() && !na.ok() {
			continue
		}
		pairs, gone, added := d.matchAlternatives(oa.items(), na.items())
		for _, g := range gone {
			mk(kw.removed, g.n, na, g.name)
		}
		for _, a := range added {
			mk(kw.added, oa, a.n, a.name)
		}
		for _, p := range pairs {
			out.addUnder("", d.schema(p[0], p[1], fl))
		}
	}

	// Properties, with those of allOf members merged in.
	ov, nv := d.old.objectView(o), d.new.objectView(n)
	for _, name := range ov.order {
		op := ov.props[name]
		field := propertyPath(name)
		np, ok := nv.props[name]
		if !ok {
			sub := d.old.deref(op.value)
			if (!fl.reader && sub.get("readOnly").truthy()) || (fl.reader && sub.get("writeOnly").truthy()) {
				continue
			}
			kind := propRemovedOptional
			if ov.required[name] {
				kind = propRemovedRequired
			}
			out.add(propRel(fl, kind, field, op.key, n))
			continue
		}
		if or, nr := ov.required[name], nv.required[name]; or != nr {
			sub := d.new.deref(np.value)
			skip := (!fl.reader && sub.get("readOnly").truthy()) || (fl.reader && sub.get("writeOnly").truthy())
			if !skip {
				kind := propBecameOptional
				if nr {
					kind = propBecameRequired
				}
				out.add(propRel(fl, kind, field, op.key, np.key))
			}
		}
		out.addUnder(field, d.schema(op.value, np.value, fl))
	}
	for _, name := range nv.order {
		if _, ok := ov.props[name]; ok {
			continue
		}
		np := nv.props[name]
		sub := d.new.deref(np.value)
		if (!fl.reader && sub.get("readOnly").truthy()) || (fl.reader && sub.get("writeOnly").truthy()) {
			continue
		}
		kind := propAddedOptional
		if nv.required[name] {
			kind = propAddedRequired
			if sub.get("default").ok() {
				kind = propAddedDefault
			}
		}
		out.add(propRel(fl, kind, propertyPath(name), o, np.key))
	}

	// Nested schemas.
	if oi, ni := o.get("items"), n.get("items"); oi.ok() && ni.ok() {
		out.addUnder("[*]", d.schema(oi, ni, fl))
	}
	if oa, na := o.get("additionalProperties"), n.get("additionalProperties"); oa.ok() && na.ok() &&
		oa.n.Kind == yaml.MappingNode && na.n.Kind == yaml.MappingNode {
		out.addUnder(".*", d.schema(oa, na, fl))
	}
	if on, nn := o.get("not"), n.get("not"); on.ok() && nn.ok() {
		out.addUnder("", d.schema(on, nn, fl))
	}
}

func propRel(fl flow, kind, field string, on, nn yn) rel {
	r := rel{id: propertyRules[fl.kind][kind].ID, field: field, old: on.pos(), new: nn.pos()}
	r.ident = r.id + "|" + r.old.String() + "|" + r.new.String()
	return r
}

// bound is a numeric keyword and the rules for it moving up or down, being
// set where it was absent, or dropped. implicit is its value when absent,
// for keywords that have one (minLength 0).
var bounds = []struct {
	key, up, down, set, unset, implicit string
}{
	{key: "maximum", up: "max-increased", down: "max-decreased", set: "max-set", unset: "max-unset"},
	{key: "minimum", up: "min-increased", down: "min-decreased", set: "min-set", unset: "min-unset"},
	{key: "maxLength", up: "max-length-increased", down: "max-length-decreased", set: "max-length-set", unset: "max-length-unset"},
	{key: "minLength", up: "min-length-increased", down: "min-length-decreased", implicit: "0"},
	{key: "maxItems", up: "max-items-increased", down: "max-items-decreased", set: "max-items-set"},
	{key: "minItems", up: "min-items-increased", down: "min-items-decreased", set: "min-items-set", unset: "min-items-unset"},
}

func number(x yn) (float64, bool) {
	if x.n == nil || x.n.Kind != yaml.ScalarNode {
		return 0, false
	}
	f, err := strconv.ParseFloat(x.n.Value, 64)
	return f, err == nil
}

// typesOf returns a schema's types, sorted and without "null", and whether
// null is allowed: by `nullable: true` (3.0) or a "null" type (3.1).
func typesOf(x yn) ([]string, bool) {
	t := x.get("type")
	var out []string
	null := x.get("nullable").truthy()
	add := func(s string) {
		if s == "null" {
			null = true
		} else if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if t.ok() && t.n.Kind == yaml.SequenceNode {
		for _, it := range t.items() {
			add(it.str())
		}
	} else {
		add(t.str())
	}
	slices.Sort(out)
	return out, null
}

// composed reports whether a schema is made of others, which then say what
// type it has.
func composed(x yn) bool {
	for _, k := range []string{"allOf", "oneOf", "anyOf", "not", "$ref", "properties", "items", "enum", "const"} {
		if x.get(k).ok() {
			return true
		}
	}
	return false
}

func nullNode(x yn) yn {
	if v := x.get("nullable"); v.ok() {
		return v
	}
	return x.get("type")
}

func typeText(types []string, format string) string {
	s := strings.Join(types, "|")
	if format != "" {
		s += "/" + format
	}
	return s
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func scalars(seq yn) map[string]bool {
	out := map[string]bool{}
	for _, v := range seq.items() {
		out[v.scalar()] = true
	}
	return out
}

func enumText(seq yn) string {
	var vs []string
	items := seq.items()
	for _, v := range items[:min(len(items), 5)] {
		vs = append(vs, v.scalar())
	}
	if len(items) > 5 {
		vs = append(vs, fmt.Sprintf("... %d in all", len(items)))
	}
	return "[" + strings.Join(vs, ", ") + "]"
}

// propertyPath is the JSON path step to a property: ".name", or
// ["odd name"] when the name is not an identifier.
func propertyPath(name string) string { return jsonpath.Key(name) }

type alternative struct {
	name string
	n    yn
}

// matchAlternatives pairs the members of two oneOf or anyOf lists.
func (d *differ) matchAlternatives(old, new []yn) (pairs [][2]yn, gone, added []alternative) {
	label := func(x yn, i int) (string, bool) {
		if r := x.get("$ref").str(); r != "" {
			return refName(r), true
		}
		if t := x.get("title").str(); t != "" {
			return t, true
		}
		return fmt.Sprintf("#%d", i), false
	}
	type entry struct {
		name  string
		named bool
		n     yn
		used  bool
	}
	var ne []*entry
	for i, x := range new {
		name, named := label(x, i)
		ne = append(ne, &entry{name: name, named: named, n: x})
	}
	var unnamedOld []alternative
	for i, x := range old {
		name, named := label(x, i)
		if !named {
			unnamedOld = append(unnamedOld, alternative{name, x})
			continue
		}
		found := false
		for _, e := range ne {
			if e.named && !e.used && e.name == name {
				e.used, found = true, true
				pairs = append(pairs, [2]yn{x, e.n})
				break
			}
		}
		if !found {
			gone = append(gone, alternative{name, x})
		}
	}
	// A schema renamed, or moved inline, is matched by its content.
	var left []alternative
	for _, g := range gone {
		found := false
		for _, e := range ne {
			if !e.used && d.old.fingerprint(g.n, 4) == d.new.fingerprint(e.n, 4) {
				e.used, found = true, true
				pairs = append(pairs, [2]yn{g.n, e.n})
				break
			}
		}
		if !found {
			left = append(left, g)
		}
	}
	gone = left
	var unnamedNew []*entry
	for _, e := range ne {
		if !e.named && !e.used {
			unnamedNew = append(unnamedNew, e)
		}
	}
	for i, a := range unnamedOld {
		if i < len(unnamedNew) {
			unnamedNew[i].used = true
			pairs = append(pairs, [2]yn{a.n, unnamedNew[i].n})
			continue
		}
		gone = append(gone, a)
	}
	for _, e := range ne {
		if !e.used {
			added = append(added, alternative{e.name, e.n})
		}
	}
	return pairs, gone, added
}

// objectView is an object schema's properties and required names, with
// those of its allOf members merged in.
type objectView struct {
	order    []string
	props    map[string]property
	required map[string]bool
}

type property struct {
	key, value yn
}

func (s *Spec) objectView(x yn) objectView {
	v := objectView{props: map[string]property{}, required: map[string]bool{}}
	seen := map[*yaml.Node]bool{}
	var walk func(x yn, depth int)
	walk = func(x yn, depth int) {
		x = s.deref(x)
		if !x.ok() || seen[x.n] || depth > 16 {
			return
		}
		seen[x.n] = true
		x.get("properties").pairs(func(name string, k, val yn) {
			if _, dup := v.props[name]; !dup {
				v.order = append(v.order, name)
				v.props[name] = property{k, val}
			}
		})
		for _, r := range x.get("required").items() {
			v.required[r.str()] = true
		}
		for _, m := range x.get("allOf").items() {
			walk(m, depth+1)
		}
	}
	walk(x, 0)
	return v
}

// fingerprint is a schema's content to a depth, references resolved and
// keys sorted, for matching a schema that was renamed.
func (s *Spec) fingerprint(x yn, depth int) string {
	x = s.deref(x)
	if !x.ok() {
		return ""
	}
	if depth == 0 {
		return "~"
	}
	switch x.n.Kind {
	case yaml.MappingNode:
		var parts []string
		x.pairs(func(key string, _, v yn) {
			if key == "description" || key == "example" || key == "examples" {
				return
			}
			parts = append(parts, strconv.Quote(key)+":"+s.fingerprint(v, depth-1))
		})
		slices.Sort(parts)
		return "{" + strings.Join(parts, ",") + "}"
	case yaml.SequenceNode:
		var parts []string
		for _, it := range x.items() {
			parts = append(parts, s.fingerprint(it, depth-1))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return x.scalar()
}
