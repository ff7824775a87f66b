package contracts

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	lowbase "github.com/pb33f/libopenapi/datamodel/low/base"
	"github.com/pb33f/libopenapi/orderedmap"

	"github.com/tetherkit/tether/internal/jsonpath"
	"github.com/tetherkit/tether/internal/jsonvalue"
)

// UnsatisfiableError says why no value can satisfy a schema.
//
// The synthesiser also returns it for the few schemas it cannot handle although a value
// may exist (a pattern outside Go's regexp syntax, a search that exceeds its effort
// budget); Reason says so in those cases.
type UnsatisfiableError struct {
	Path   string // JSON path in the value being built, e.g. "$.items[0].amount"
	Line   int    // line of the offending schema in its document, 0 if unknown
	Reason string // plain English, e.g. "minimum 10 is greater than maximum 5"
}

// Error renders the path, the line when known, and the reason.
func (e *UnsatisfiableError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("unsatisfiable schema at %s (line %d): %s", e.Path, e.Line, e.Reason)
	}
	return fmt.Sprintf("unsatisfiable schema at %s: %s", e.Path, e.Reason)
}

// payloadDirection says which side of an exchange a value is built for; it decides
// whether readOnly and writeOnly properties may appear.
type payloadDirection int

const (
	// eitherDirection includes readOnly and writeOnly properties alike.
	eitherDirection payloadDirection = iota
	// requestDirection omits optional readOnly properties, as a client would.
	requestDirection
	// responseDirection omits optional writeOnly properties, as a server would.
	responseDirection
)

// Limits that keep synthesised values small and the search bounded on large vendor
// contracts (Stripe, GitHub), whose schemas are deep and circular.
const (
	// optionalDepth is the object and array nesting below which optional properties
	// are included; deeper objects carry their required properties only.
	optionalDepth = 3
	// optionalPerObject caps the optional properties included in one object.
	optionalPerObject = 6
	// maxNesting stops a value from nesting deeper than this, whatever the schema says.
	maxNesting = 48
	// recursionLimit is how often one schema may appear on the path being built before a
	// required recursion counts as having no way out.
	recursionLimit = 3
	// effortLimit bounds the sub-schemas explored for one value, retries included.
	effortLimit = 20000
	// retries is how often a value is regenerated to escape a "not" or a second
	// matching oneOf branch.
	retries = 3
)

// synthesizer builds values that satisfy OpenAPI schemas. The values are JSON-shaped
// (map[string]any, []any, string, int64 for integers, float64 for other numbers, bool,
// nil), small, and deterministic: the same seed, version, direction and schema give the
// same value. A synthesizer is not safe for concurrent use.
type synthesizer struct {
	rng     *rand.Rand
	version float32
	// direction decides whether readOnly or writeOnly properties are left out; set it
	// after construction. The zero value, eitherDirection, leaves both in.
	direction payloadDirection

	check   *checker
	regexes map[string]*regexGenerator
	onPath  map[*yaml.Node]int // schemas on the path being built, by document node
	effort  int
	minimal int // > 0 while retrying without optional content
}

// newSynthesizer returns a synthesizer whose choices are drawn from a PCG source seeded
// with seed. version is the OpenAPI version of the schemas' document, 3.0 or 3.1: it
// decides whether `nullable` counts.
func newSynthesizer(seed uint64, version float32) *synthesizer {
	return &synthesizer{
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		version: version,
		check:   newChecker(version),
		regexes: map[string]*regexGenerator{},
		onPath:  map[*yaml.Node]int{},
	}
}

// value returns a value that satisfies schema, or an *UnsatisfiableError saying why
// none could be built. Required properties are always present; optional ones only near
// the top. A returned value is a fresh copy that the caller may modify.
func (s *synthesizer) value(schema *base.Schema) (any, error) {
	s.effort = 0
	s.minimal = 0
	clear(s.onPath)
	v, err := s.genSchemas(site{path: "$"}, []*base.Schema{schema})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// site is where in the value being built a schema applies.
type site struct {
	path  string
	depth int // objects and arrays entered so far
}

func (st site) property(name string) site {
	return site{path: st.path + pathKey(name), depth: st.depth + 1}
}

func (st site) item(i int) site {
	return site{path: st.path + jsonpath.Index(i), depth: st.depth + 1}
}

// pathKey renders one object key of a JSON path.
func pathKey(name string) string { return jsonpath.Key(name) }

func (s *synthesizer) fail(st site, line int, format string, args ...any) *UnsatisfiableError {
	return &UnsatisfiableError{Path: st.path, Line: line, Reason: fmt.Sprintf(format, args...)}
}

// schemaLine is the line a schema starts on, 0 if unknown.
func schemaLine(sch *base.Schema) int {
	if sch == nil {
		return 0
	}
	if low := sch.GoLow(); low != nil && low.RootNode != nil {
		return low.RootNode.Line
	}
	return 0
}

// keywordLine is the line of one keyword of a schema, falling back to the schema's line.
func keywordLine(sch *base.Schema, pick func(*lowbase.Schema) *yaml.Node) int {
	if sch != nil {
		if low := sch.GoLow(); low != nil {
			if n := pick(low); n != nil && n.Line > 0 {
				return n.Line
			}
		}
	}
	return schemaLine(sch)
}

// schemaKey identifies a schema across references: every $ref to a component resolves
// to the same document node.
func schemaKey(sch *base.Schema) *yaml.Node {
	if sch == nil {
		return nil
	}
	if low := sch.GoLow(); low != nil {
		return low.RootNode
	}
	return nil
}

// refName is the last segment of a reference, the component name for local refs.
func refName(ref string) string {
	if i := strings.LastIndexAny(ref, "/#"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// conjunction is what one value must satisfy: every atom, and one branch of each choice.
type conjunction struct {
	atoms   []*base.Schema
	choices []choice
}

// choice is an open oneOf, anyOf or if/then/else of one atom.
type choice struct {
	kind     string // "oneOf", "anyOf", "if"
	owner    *base.Schema
	branches []*base.SchemaProxy
}

func (c conjunction) clone() conjunction {
	return conjunction{atoms: slices.Clone(c.atoms), choices: slices.Clone(c.choices)}
}

// resolve builds the schema behind a proxy.
func (s *synthesizer) resolve(st site, p *base.SchemaProxy) (*base.Schema, error) {
	sch := s.check.schemaOf(p)
	if sch == nil {
		ref := p.GetReference()
		if ref == "" {
			ref = "inline schema"
		}
		line := 0
		if n := p.GetValueNode(); n != nil {
			line = n.Line
		}
		return nil, s.fail(st, line, "%s cannot be built: %v", ref, p.GetBuildError())
	}
	return sch, nil
}

// add puts sch and its allOf members into c; seen stops allOf cycles.
func (s *synthesizer) add(st site, c *conjunction, sch *base.Schema, seen map[*yaml.Node]bool) error {
	if sch == nil {
		return nil
	}
	if sch.BooleanSchema != nil {
		if !*sch.BooleanSchema {
			return s.fail(st, schemaLine(sch), "schema false admits no value")
		}
		return nil
	}
	if k := schemaKey(sch); k != nil {
		if seen[k] {
			return nil
		}
		seen[k] = true
	}
	c.atoms = append(c.atoms, sch)
	for _, p := range sch.AllOf {
		member, err := s.resolve(st, p)
		if err != nil {
			return err
		}
		if err := s.add(st, c, member, seen); err != nil {
			return err
		}
	}
	if len(sch.OneOf) > 0 {
		c.choices = append(c.choices, choice{kind: "oneOf", owner: sch, branches: sch.OneOf})
	}
	if len(sch.AnyOf) > 0 {
		c.choices = append(c.choices, choice{kind: "anyOf", owner: sch, branches: sch.AnyOf})
	}
	if sch.If != nil {
		c.choices = append(c.choices, choice{kind: "if", owner: sch})
	}
	return nil
}

// genSchemas builds a value that satisfies all of schemas. Where they all admit null,
// null is the way out of a recursion and of a failure below.
func (s *synthesizer) genSchemas(st site, schemas []*base.Schema) (any, error) {
	var c conjunction
	seen := map[*yaml.Node]bool{}
	for _, sch := range schemas {
		if err := s.add(st, &c, sch, seen); err != nil {
			return nil, err
		}
	}
	nullable := len(schemas) > 0
	for _, sch := range schemas {
		if sch == nil || !s.check.matches(nil, sch, true, 0) {
			nullable = false
			break
		}
	}
	if nullable && slices.ContainsFunc(c.atoms, func(a *base.Schema) bool { return s.onPath[schemaKey(a)] > 0 }) {
		return nil, nil
	}
	v, err := s.genConjunction(st, c)
	if err != nil && nullable {
		return nil, nil
	}
	return v, err
}

func (s *synthesizer) genProxies(st site, proxies []*base.SchemaProxy) (any, error) {
	schemas := make([]*base.Schema, 0, len(proxies))
	for _, p := range proxies {
		sch, err := s.resolve(st, p)
		if err != nil {
			return nil, err
		}
		schemas = append(schemas, sch)
	}
	return s.genSchemas(st, schemas)
}

// extend returns c plus sch (with its allOf members).
func (s *synthesizer) extend(st site, c conjunction, schemas ...*base.Schema) (conjunction, error) {
	out := c.clone()
	seen := map[*yaml.Node]bool{}
	for _, a := range out.atoms {
		if k := schemaKey(a); k != nil {
			seen[k] = true
		}
	}
	for _, sch := range schemas {
		if err := s.add(st, &out, sch, seen); err != nil {
			return out, err
		}
	}
	return out, nil
}

// genConjunction settles the open choices one at a time, first workable branch first,
// and builds the value once none is left.
func (s *synthesizer) genConjunction(st site, c conjunction) (any, error) {
	if len(c.choices) == 0 {
		return s.genAtoms(st, c.atoms)
	}
	ch := c.choices[0]
	rest := conjunction{atoms: c.atoms, choices: c.choices[1:]}
	if ch.kind == "if" {
		return s.genIf(st, rest, ch.owner)
	}

	var firstErr *UnsatisfiableError
	note := func(err error) {
		if u, ok := err.(*UnsatisfiableError); ok && firstErr == nil {
			firstErr = u
		}
	}
	for _, i := range s.branchOrder(ch.branches) {
		branch, err := s.resolve(st, ch.branches[i])
		if err != nil {
			note(err)
			continue
		}
		// With a discriminator, the branch is named in the discriminating property;
		// when the branch's own schema rejects that name, try without it.
		var attempts [][]*base.Schema
		if d := ch.owner.Discriminator; d != nil && d.PropertyName != "" {
			if name := discriminatorValue(d, ch.branches[i]); name != "" {
				attempts = append(attempts, []*base.Schema{branch, constProperty(d.PropertyName, name)})
			}
		}
		attempts = append(attempts, []*base.Schema{branch})
		for _, extra := range attempts {
			next, err := s.extend(st, rest, extra...)
			if err != nil {
				note(err)
				continue
			}
			v, err := s.genConjunction(st, next)
			if err != nil {
				note(err)
				continue
			}
			if ch.kind == "oneOf" && len(s.otherMatches(v, ch.branches, i)) > 0 {
				if v, err = s.exclusive(st, next, ch.branches, i, branch); err != nil {
					note(err)
					continue
				}
			}
			return v, nil
		}
	}
	reason := "no branch can be satisfied"
	if firstErr != nil {
		if firstErr.Path == st.path {
			reason += ": " + firstErr.Reason
		} else {
			reason += fmt.Sprintf(": %s: %s", firstErr.Path, firstErr.Reason)
		}
	}
	return nil, s.fail(st, keywordLine(ch.owner, func(l *lowbase.Schema) *yaml.Node {
		if ch.kind == "oneOf" {
			return l.OneOf.KeyNode
		}
		return l.AnyOf.KeyNode
	}), "%s: %s", ch.kind, reason)
}

// otherMatches returns the branches other than chosen that v may match.
func (s *synthesizer) otherMatches(v any, branches []*base.SchemaProxy, chosen int) []*base.Schema {
	var out []*base.Schema
	for j, p := range branches {
		if j == chosen {
			continue
		}
		if other := s.check.schemaOf(p); other != nil && s.check.matches(v, other, false, 0) {
			out = append(out, other)
		}
	}
	return out
}

// exclusive rebuilds the value of oneOf branch chosen so that it fits no other branch.
// Optional content is what usually makes a value fit a sibling too, so it starts from
// required content only; when that still fits a sibling it requires, one at a time,
// properties of the chosen branch that the siblings declare differently or forbid.
func (s *synthesizer) exclusive(st site, next conjunction, branches []*base.SchemaProxy, chosen int, branch *base.Schema) (any, error) {
	s.minimal++
	defer func() { s.minimal-- }()
	v, err := s.genConjunction(st, next)
	if err != nil {
		return nil, err
	}
	others := s.otherMatches(v, branches, chosen)
	tries := 0
	for _, name := range s.distinguishingNames(branch, others) {
		if len(others) == 0 || tries == 12 {
			break
		}
		if m, ok := v.(map[string]any); ok {
			if _, present := m[name]; present {
				continue
			}
		}
		tries++
		forced, err := s.extend(st, next, &base.Schema{Required: []string{name}})
		if err != nil {
			continue
		}
		v2, err := s.genConjunction(st, forced)
		if err != nil {
			continue
		}
		if o2 := s.otherMatches(v2, branches, chosen); len(o2) < len(others) {
			next, v, others = forced, v2, o2
		}
	}
	if len(others) > 0 {
		return nil, s.fail(st, schemaLine(branch), "the value built for oneOf branch %d also matches another branch", chosen+1)
	}
	return v, nil
}

// distinguishingNames lists the properties of a branch that could set its values apart
// from the others: those the others declare (perhaps with another schema) or forbid
// first, then the rest, each in document order.
func (s *synthesizer) distinguishingNames(branch *base.Schema, others []*base.Schema) []string {
	var own []string
	for _, a := range s.allOfClosure(branch) {
		for name := range a.Properties.FromOldest() {
			if !slices.Contains(own, name) {
				own = append(own, name)
			}
		}
	}
	var first, rest []string
	for _, name := range own {
		contested := false
		for _, o := range others {
			for _, a := range s.allOfClosure(o) {
				_, declared := lookup(a.Properties, name)
				closed := a.AdditionalProperties != nil && a.AdditionalProperties.IsB() && !a.AdditionalProperties.B
				if declared || closed {
					contested = true
				}
			}
		}
		if contested {
			first = append(first, name)
		} else {
			rest = append(rest, name)
		}
	}
	return append(first, rest...)
}

// allOfClosure is a schema with its allOf members, recursively, each once.
func (s *synthesizer) allOfClosure(sch *base.Schema) []*base.Schema {
	var out []*base.Schema
	seen := map[*base.Schema]bool{}
	var walk func(*base.Schema)
	walk = func(x *base.Schema) {
		if x == nil || seen[x] || len(out) > 64 {
			return
		}
		seen[x] = true
		out = append(out, x)
		for _, p := range x.AllOf {
			walk(s.check.schemaOf(p))
		}
	}
	walk(sch)
	return out
}

// genIf satisfies if/then/else: first a value meeting both `if` and `then`, else one
// that surely fails `if` (and meets `else`).
func (s *synthesizer) genIf(st site, rest conjunction, owner *base.Schema) (any, error) {
	cond, err := s.resolve(st, owner.If)
	if err != nil {
		return nil, err
	}
	thenBranch := []*base.Schema{cond}
	if owner.Then != nil {
		t, err := s.resolve(st, owner.Then)
		if err != nil {
			return nil, err
		}
		thenBranch = append(thenBranch, t)
	}
	next, err := s.extend(st, rest, thenBranch...)
	if err == nil {
		if v, err := s.genConjunction(st, next); err == nil {
			return v, nil
		}
	}
	elseRest := rest
	if owner.Else != nil {
		e, err := s.resolve(st, owner.Else)
		if err != nil {
			return nil, err
		}
		if elseRest, err = s.extend(st, rest, e); err != nil {
			return nil, err
		}
	}
	for range retries {
		v, err := s.genConjunction(st, elseRest)
		if err != nil {
			return nil, err
		}
		if !s.check.matches(v, cond, false, 0) {
			return v, nil
		}
	}
	return nil, s.fail(st, schemaLine(owner), "if/then/else: no value meets both `if` and `then`, and none surely fails `if`")
}

// branchOrder lists branch indexes in document order, except that branches admitting
// only null and branches recursing into a schema already being built come last: both
// are ways out, not the value a reader expects.
func (s *synthesizer) branchOrder(branches []*base.SchemaProxy) []int {
	var first, last []int
	for i, p := range branches {
		sch := s.check.schemaOf(p)
		if sch != nil && (s.onPath[schemaKey(sch)] > 0 || s.onlyNull(sch)) {
			last = append(last, i)
			continue
		}
		first = append(first, i)
	}
	return append(first, last...)
}

func (s *synthesizer) onlyNull(sch *base.Schema) bool {
	mask, declared := s.check.types(sch)
	return declared && mask == typeNull
}

// discriminatorValue is the discriminating name of a branch: its mapping key, else its
// component name. Inline branches have none.
func discriminatorValue(d *base.Discriminator, branch *base.SchemaProxy) string {
	ref := branch.GetReference()
	if ref == "" {
		return ""
	}
	for key, target := range d.Mapping.FromOldest() {
		if target == ref || refName(target) == refName(ref) {
			return key
		}
	}
	return refName(ref)
}

// constProperty is a schema that requires property name to equal value.
func constProperty(name, value string) *base.Schema {
	props := orderedmap.New[string, *base.SchemaProxy]()
	props.Set(name, base.CreateSchemaProxy(&base.Schema{
		Const: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value},
	}))
	return &base.Schema{Properties: props, Required: []string{name}}
}

// Type bits. typeNumber is a number that is not an integer; "number" in a schema
// admits typeNumber|typeInteger.
type typeMask uint8

const (
	typeNull typeMask = 1 << iota
	typeBoolean
	typeObject
	typeArray
	typeNumber
	typeInteger
	typeString
	typeAny = typeNull | typeBoolean | typeObject | typeArray | typeNumber | typeInteger | typeString
)

func typeBits(name string) typeMask {
	switch name {
	case "null":
		return typeNull
	case "boolean":
		return typeBoolean
	case "object":
		return typeObject
	case "array":
		return typeArray
	case "number":
		return typeNumber | typeInteger
	case "integer":
		return typeInteger
	case "string":
		return typeString
	}
	return 0
}

func (t typeMask) String() string {
	var names []string
	for i, n := range []string{"null", "boolean", "object", "array", "number", "integer", "string"} {
		if t&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, " or ")
}

// valueType is the JSON type of a JSON-shaped Go value; whole numbers are integers.
func valueType(v any) typeMask {
	switch x := v.(type) {
	case nil:
		return typeNull
	case bool:
		return typeBoolean
	case string:
		return typeString
	case map[string]any:
		return typeObject
	case []any:
		return typeArray
	case int, int32, int64, uint64:
		return typeInteger
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			return typeInteger
		}
		return typeNumber
	case json.Number:
		if r, ok := new(big.Rat).SetString(string(x)); ok && r.IsInt() {
			return typeInteger
		}
		return typeNumber
	}
	return 0
}

// genAtoms builds a value for a conjunction without open choices.
func (s *synthesizer) genAtoms(st site, atoms []*base.Schema) (any, error) {
	s.effort++
	if s.effort > effortLimit {
		return nil, s.fail(st, 0, "gave up after exploring %d sub-schemas", effortLimit)
	}
	if st.depth > maxNesting {
		return nil, s.fail(st, 0, "the value would nest deeper than %d levels", maxNesting)
	}
	for _, a := range atoms {
		if k := schemaKey(a); k != nil && s.onPath[k] >= recursionLimit {
			return nil, s.fail(st, schemaLine(a), "required content recurses into the same schema with no way out")
		}
	}
	for _, a := range atoms {
		if k := schemaKey(a); k != nil {
			s.onPath[k]++
			defer func() { s.onPath[k]-- }()
		}
	}

	for _, a := range atoms {
		if a.Not != nil && s.isEmpty(a.Not) {
			return nil, s.fail(st, keywordLine(a, func(l *lowbase.Schema) *yaml.Node { return l.Not.KeyNode }), "not: {} rejects every value")
		}
	}
	// A value that matches a `not` schema is retried without optional content, which is
	// what usually makes it match.
	var bad *base.Schema
	for attempt := range retries {
		if attempt > 0 {
			s.minimal++
		}
		v, violated, err := s.genOnce(st, atoms)
		if attempt > 0 {
			s.minimal--
		}
		if err != nil {
			return nil, err
		}
		if violated == nil {
			return v, nil
		}
		bad = violated
	}
	return nil, s.fail(st, keywordLine(bad, func(l *lowbase.Schema) *yaml.Node { return l.Not.KeyNode }), "no value was found that surely fails the `not` schema")
}

// notViolated returns the first atom whose `not` schema v may match.
func (s *synthesizer) notViolated(v any, atoms []*base.Schema) *base.Schema {
	for _, a := range atoms {
		if a.Not == nil {
			continue
		}
		if n := s.check.schemaOf(a.Not); n != nil && s.check.matches(v, n, false, 0) {
			return a
		}
	}
	return nil
}

// isEmpty reports whether p is a schema without assertions, which every value matches.
func (s *synthesizer) isEmpty(p *base.SchemaProxy) bool {
	sch := s.check.schemaOf(p)
	if sch == nil {
		return false
	}
	if sch.BooleanSchema != nil {
		return *sch.BooleanSchema
	}
	low := sch.GoLow()
	if low == nil || low.RootNode == nil || low.RootNode.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(low.RootNode.Content); i += 2 {
		switch k := low.RootNode.Content[i].Value; k {
		case "title", "description", "example", "examples", "default", "deprecated", "$comment", "readOnly", "writeOnly", "externalDocs", "xml":
		default:
			if !strings.HasPrefix(k, "x-") {
				return false
			}
		}
	}
	return true
}

// genOnce builds one value for the atoms, trying each admissible type in turn. When
// every value it built matched a `not` schema, violated is the atom owning that `not`.
func (s *synthesizer) genOnce(st site, atoms []*base.Schema) (v any, violated *base.Schema, err error) {
	if v, ok, err := s.ownValue(st, atoms); ok || err != nil {
		if err != nil {
			return nil, nil, err
		}
		return v, s.notViolated(v, atoms), nil
	}
	mask := typeAny
	for _, a := range atoms {
		if m, declared := s.check.types(a); declared {
			mask &= m
		}
	}
	if mask == 0 {
		var declared []string
		for _, a := range atoms {
			if m, ok := s.check.types(a); ok {
				declared = append(declared, m.String())
			}
		}
		return nil, nil, s.fail(st, schemaLine(atoms[0]), "the combined schemas require conflicting types: %s", strings.Join(declared, "; "))
	}

	var firstErr error
	for _, t := range s.typeOrder(atoms, mask) {
		var v any
		var err error
		switch t {
		case typeNull:
			v = nil
		case typeBoolean:
			v = s.rng.IntN(2) == 0
		case typeObject:
			v, err = s.genObject(st, atoms)
		case typeArray:
			v, err = s.genArray(st, atoms)
		case typeString:
			v, err = s.genString(st, atoms)
		case typeInteger:
			v, err = s.genNumber(st, atoms, true)
		case typeNumber:
			v, err = s.genNumber(st, atoms, false)
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if bad := s.notViolated(v, atoms); bad != nil {
			violated = bad
			continue
		}
		return v, nil, nil
	}
	if violated != nil {
		return nil, violated, nil
	}
	return nil, nil, firstErr
}

// typeOrder lists the types to try: declared ones in document order, then what the
// keywords suggest, then the rest; null always last.
func (s *synthesizer) typeOrder(atoms []*base.Schema, mask typeMask) []typeMask {
	var order []typeMask
	add := func(t typeMask) {
		if mask&t != 0 && !slices.Contains(order, t) {
			order = append(order, t)
		}
	}
	for _, a := range atoms {
		for _, name := range a.Type {
			switch name {
			case "number":
				add(typeNumber)
				add(typeInteger)
			case "null":
			default:
				add(typeBits(name))
			}
		}
	}
	for _, a := range atoms {
		if a.Properties != nil || len(a.Required) > 0 || a.AdditionalProperties != nil || a.MinProperties != nil || a.PatternProperties != nil {
			add(typeObject)
		}
		if a.Items != nil || len(a.PrefixItems) > 0 || a.MinItems != nil || a.MaxItems != nil {
			add(typeArray)
		}
		if a.Minimum != nil || a.Maximum != nil || a.MultipleOf != nil || a.ExclusiveMinimum != nil || a.ExclusiveMaximum != nil || a.Format == "int32" || a.Format == "int64" {
			add(typeInteger)
			add(typeNumber)
		}
	}
	for _, t := range []typeMask{typeString, typeInteger, typeNumber, typeBoolean, typeObject, typeArray, typeNull} {
		add(t)
	}
	return order
}

// ownValue returns a value the schemas name themselves: a const, an enum member, or an
// example or default that surely fits. ok is false when they name none.
func (s *synthesizer) ownValue(st site, atoms []*base.Schema) (v any, ok bool, err error) {
	for _, a := range atoms {
		if a.Const == nil {
			continue
		}
		c := s.check.nodeValue(a.Const)
		for _, b := range atoms {
			if !s.check.matches(c, b, false, 0) {
				return nil, true, s.fail(st, keywordLine(a, func(l *lowbase.Schema) *yaml.Node { return l.Const.KeyNode }), "const %s does not satisfy the rest of the schema", short(c))
			}
		}
		return jsonvalue.Clone(c), true, nil
	}
	for _, a := range atoms {
		if emptyEnum(a) {
			return nil, true, s.fail(st, keywordLine(a, func(l *lowbase.Schema) *yaml.Node { return l.Enum.KeyNode }), "enum is empty, so no value satisfies it")
		}
		if len(a.Enum) == 0 {
			continue
		}
		var fits, nulls []any
		for _, n := range a.Enum {
			e := s.check.nodeValue(n)
			if !s.allMatch(e, atoms) {
				continue
			}
			if e == nil {
				nulls = append(nulls, e)
			} else {
				fits = append(fits, e)
			}
		}
		if len(fits) == 0 {
			fits = nulls
		}
		if len(fits) == 0 {
			return nil, true, s.fail(st, keywordLine(a, func(l *lowbase.Schema) *yaml.Node { return l.Enum.KeyNode }), "no enum value satisfies the rest of the schema")
		}
		return jsonvalue.Clone(fits[s.rng.IntN(len(fits))]), true, nil
	}
	// Examples are used for scalars only: object examples in vendor contracts are often
	// partial or stale, and a checked scalar example reads better than random text.
	for _, a := range atoms {
		candidates := make([]*yaml.Node, 0, 2+len(a.Examples))
		candidates = append(candidates, a.Example)
		candidates = append(candidates, a.Examples...)
		candidates = append(candidates, a.Default)
		for _, n := range candidates {
			if n == nil || n.Kind != yaml.ScalarNode {
				continue
			}
			e := s.check.nodeValue(n)
			if e == nil {
				continue
			}
			if s.surelyFits(e, atoms) {
				return e, true, nil
			}
		}
	}
	return nil, false, nil
}

func (s *synthesizer) allMatch(v any, atoms []*base.Schema) bool {
	for _, a := range atoms {
		if !s.check.matches(v, a, false, 0) {
			return false
		}
	}
	return true
}

// surelyFits reports whether a scalar surely satisfies every atom; anything the checker
// cannot decide counts as a misfit.
func (s *synthesizer) surelyFits(v any, atoms []*base.Schema) bool {
	for _, a := range atoms {
		if len(a.OneOf) > 0 || len(a.AnyOf) > 0 || a.Not != nil || a.If != nil {
			return false
		}
		if !s.check.matches(v, a, true, 0) {
			return false
		}
	}
	return true
}

// short renders a value for a message, cut to a readable length.
func short(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

// genObject builds an object: required properties always, optional ones near the top.
func (s *synthesizer) genObject(st site, atoms []*base.Schema) (any, error) {
	var names []string
	declared := map[string][]*base.SchemaProxy{}
	for _, a := range atoms {
		for name, p := range a.Properties.FromOldest() {
			if _, ok := declared[name]; !ok {
				names = append(names, name)
			}
			declared[name] = append(declared[name], p)
		}
	}
	var required []string
	for _, a := range atoms {
		for _, name := range a.Required {
			if !slices.Contains(required, name) {
				required = append(required, name)
			}
		}
		// The validator insists on the discriminating property being present.
		if d := a.Discriminator; d != nil && d.PropertyName != "" && !slices.Contains(required, d.PropertyName) {
			required = append(required, d.PropertyName)
		}
	}

	minProps, maxProps := 0, -1
	var minAt, maxAt *base.Schema
	for _, a := range atoms {
		if a.MinProperties != nil && int(*a.MinProperties) > minProps {
			minProps, minAt = int(*a.MinProperties), a
		}
		if a.MaxProperties != nil && (maxProps < 0 || int(*a.MaxProperties) < maxProps) {
			maxProps, maxAt = int(*a.MaxProperties), a
		}
	}
	if maxProps >= 0 && minProps > maxProps {
		return nil, s.fail(st, keywordLine(minAt, func(l *lowbase.Schema) *yaml.Node { return l.MinProperties.KeyNode }), "minProperties %d is greater than maxProperties %d", minProps, maxProps)
	}

	// Dependent requirements of required properties are required too.
	for i := 0; i < len(required); i++ {
		for _, dep := range s.dependents(atoms, required[i]) {
			if !slices.Contains(required, dep) {
				required = append(required, dep)
			}
		}
	}
	if maxProps >= 0 && len(required) > maxProps {
		return nil, s.fail(st, keywordLine(maxAt, func(l *lowbase.Schema) *yaml.Node { return l.MaxProperties.KeyNode }), "%d required properties exceed maxProperties %d", len(required), maxProps)
	}

	include := slices.Clone(required)
	for _, name := range required {
		if _, ok := s.propertySchemas(atoms, declared, name); !ok {
			return nil, s.fail(st, s.closedLine(atoms), "required property %q is not allowed by additionalProperties: false", name)
		}
	}
	limit := func() bool { return maxProps >= 0 && len(include) >= maxProps }
	optional := func(name string, choosy bool) bool {
		if slices.Contains(include, name) || limit() {
			return false
		}
		proxies, ok := s.propertySchemas(atoms, declared, name)
		if !ok || s.recurses(proxies) || s.triggersDependentSchema(atoms, name) || anyEmptyEnum(proxies) {
			return false
		}
		// By choice, a value leaves out what its direction omits and what is deprecated;
		// minProperties may still call for them.
		if choosy && (s.directionExcludes(proxies) || s.deprecated(proxies)) {
			return false
		}
		deps := s.dependents(atoms, name)
		for _, d := range deps {
			if _, ok := s.propertySchemas(atoms, declared, d); !ok {
				return false
			}
		}
		if maxProps >= 0 && len(include)+1+len(deps) > maxProps {
			return false
		}
		include = append(include, name)
		for _, d := range deps {
			if !slices.Contains(include, d) {
				include = append(include, d)
			}
		}
		return true
	}
	if st.depth < optionalDepth && s.minimal == 0 {
		added := 0
		for _, name := range names {
			if added >= optionalPerObject {
				break
			}
			if optional(name, true) {
				added++
			}
		}
	}
	for _, name := range names {
		if len(include) >= minProps {
			break
		}
		optional(name, false)
	}
	// Still short of minProperties: make up names, plain ones first, then names that
	// patternProperties admit.
	for i := 1; len(include) < minProps && i <= minProps+10; i++ {
		s.extraName(atoms, declared, &include, "extra"+strconv.Itoa(i))
	}
	for _, a := range atoms {
		for pattern := range a.PatternProperties.FromOldest() {
			g, err := s.regexGen(pattern)
			for try := 0; err == nil && len(include) < minProps && try < minProps+10; try++ {
				if name, err := g.generate(s.rng, 1, 40); err == nil {
					s.extraName(atoms, declared, &include, name)
				}
			}
		}
	}

	out := make(map[string]any, len(include))
	for _, name := range include {
		proxies, _ := s.propertySchemas(atoms, declared, name)
		v, err := s.genProxies(st.property(name), proxies)
		if err != nil {
			if slices.Contains(required, name) {
				return nil, err
			}
			continue
		}
		out[name] = v
	}
	// An optional property stays only with the properties it depends on.
	for _, name := range include {
		if _, ok := out[name]; !ok || slices.Contains(required, name) {
			continue
		}
		for _, d := range s.dependents(atoms, name) {
			if _, ok := out[d]; !ok {
				delete(out, name)
				break
			}
		}
	}
	if len(out) < minProps {
		return nil, s.fail(st, keywordLine(minAt, func(l *lowbase.Schema) *yaml.Node { return l.MinProperties.KeyNode }), "cannot build the %d properties minProperties asks for", minProps)
	}
	return out, nil
}

// extraName adds an undeclared property name to include when the schemas surely allow it.
func (s *synthesizer) extraName(atoms []*base.Schema, declared map[string][]*base.SchemaProxy, include *[]string, name string) {
	if _, taken := declared[name]; taken || slices.Contains(*include, name) {
		return
	}
	for _, a := range atoms {
		if pn := s.check.schemaOf(a.PropertyNames); a.PropertyNames != nil && (pn == nil || !s.check.matches(name, pn, true, 0)) {
			return
		}
	}
	if _, ok := s.propertySchemas(atoms, declared, name); ok {
		*include = append(*include, name)
	}
}

// propertySchemas returns the schemas a property must satisfy: its declarations, the
// patternProperties it matches, and additionalProperties of atoms that declare neither.
// ok is false when an atom forbids the property.
func (s *synthesizer) propertySchemas(atoms []*base.Schema, declared map[string][]*base.SchemaProxy, name string) (proxies []*base.SchemaProxy, ok bool) {
	proxies = slices.Clone(declared[name])
	_, declaredAnywhere := declared[name]
	matchedAnywhere := false
	for _, a := range atoms {
		_, own := lookup(a.Properties, name)
		matched := false
		for pattern, p := range a.PatternProperties.FromOldest() {
			if re := s.check.regexp(pattern); re != nil && re.MatchString(name) {
				proxies = append(proxies, p)
				matched = true
			}
		}
		matchedAnywhere = matchedAnywhere || matched
		if own || matched || a.AdditionalProperties == nil {
			continue
		}
		if a.AdditionalProperties.IsA() {
			if a.AdditionalProperties.A != nil {
				proxies = append(proxies, a.AdditionalProperties.A)
			}
		} else if !a.AdditionalProperties.B {
			return nil, false
		}
	}
	if !declaredAnywhere && !matchedAnywhere {
		for _, a := range atoms {
			if u := a.UnevaluatedProperties; u != nil {
				if u.IsB() && !u.B {
					return nil, false
				}
				if u.IsA() && u.A != nil {
					proxies = append(proxies, u.A)
				}
			}
		}
	}
	return proxies, true
}

func (s *synthesizer) closedLine(atoms []*base.Schema) int {
	for _, a := range atoms {
		if a.AdditionalProperties != nil && a.AdditionalProperties.IsB() && !a.AdditionalProperties.B {
			return keywordLine(a, func(l *lowbase.Schema) *yaml.Node { return l.AdditionalProperties.KeyNode })
		}
	}
	return schemaLine(atoms[0])
}

// dependents lists the properties dependentRequired demands alongside name.
func (s *synthesizer) dependents(atoms []*base.Schema, name string) []string {
	var out []string
	for _, a := range atoms {
		if deps, ok := lookup(a.DependentRequired, name); ok {
			out = append(out, deps...)
		}
	}
	return out
}

// triggersDependentSchema reports whether including name would bring in a
// dependentSchemas entry; the synthesiser leaves such optional properties out.
func (s *synthesizer) triggersDependentSchema(atoms []*base.Schema, name string) bool {
	for _, a := range atoms {
		if _, ok := lookup(a.DependentSchemas, name); ok {
			return true
		}
	}
	return false
}

// recurses reports whether any of the schemas is already being built further up.
func (s *synthesizer) recurses(proxies []*base.SchemaProxy) bool {
	for _, p := range proxies {
		if sch := s.check.schemaOf(p); sch != nil && s.onPath[schemaKey(sch)] > 0 {
			return true
		}
	}
	return false
}

// deprecated reports whether any of the schemas marks the property deprecated.
func (s *synthesizer) deprecated(proxies []*base.SchemaProxy) bool {
	return slices.ContainsFunc(proxies, func(p *base.SchemaProxy) bool {
		sch := s.check.schemaOf(p)
		return sch != nil && sch.Deprecated != nil && *sch.Deprecated
	})
}

// directionExcludes reports whether an optional property is left out for the direction.
func (s *synthesizer) directionExcludes(proxies []*base.SchemaProxy) bool {
	for _, p := range proxies {
		sch := s.check.schemaOf(p)
		if sch == nil {
			continue
		}
		if s.direction == requestDirection && sch.ReadOnly != nil && *sch.ReadOnly {
			return true
		}
		if s.direction == responseDirection && sch.WriteOnly != nil && *sch.WriteOnly {
			return true
		}
	}
	return false
}

// genArray builds an array of minItems items, or one item near the top.
func (s *synthesizer) genArray(st site, atoms []*base.Schema) (any, error) {
	minItems, maxItems := 0, -1
	var minAt *base.Schema
	unique := false
	var contains []*base.SchemaProxy
	for _, a := range atoms {
		if a.MinItems != nil && int(*a.MinItems) > minItems {
			minItems, minAt = int(*a.MinItems), a
		}
		if a.MaxItems != nil && (maxItems < 0 || int(*a.MaxItems) < maxItems) {
			maxItems = int(*a.MaxItems)
		}
		if a.UniqueItems != nil && *a.UniqueItems {
			unique = true
		}
		// items: false closes the array after its prefixItems.
		if a.Items != nil && a.Items.IsB() && !a.Items.B && (maxItems < 0 || len(a.PrefixItems) < maxItems) {
			maxItems = len(a.PrefixItems)
		}
		if a.Contains != nil && (a.MinContains == nil || *a.MinContains > 0) {
			contains = append(contains, a.Contains)
		}
	}
	line := keywordLine(minAt, func(l *lowbase.Schema) *yaml.Node { return l.MinItems.KeyNode })
	if maxItems >= 0 && minItems > maxItems {
		return nil, s.fail(st, line, "minItems %d is greater than maxItems %d", minItems, maxItems)
	}
	if len(contains) > 0 {
		minItems = max(minItems, 1)
		if maxItems == 0 {
			return nil, s.fail(st, schemaLine(atoms[0]), "contains needs an item but maxItems is 0")
		}
	}
	itemSchemas := func(i int) []*base.SchemaProxy {
		var out []*base.SchemaProxy
		for _, a := range atoms {
			if i < len(a.PrefixItems) {
				out = append(out, a.PrefixItems[i])
			} else if a.Items != nil && a.Items.IsA() && a.Items.A != nil {
				out = append(out, a.Items.A)
			}
		}
		if i == 0 {
			out = append(out, contains...)
		}
		return out
	}
	n := minItems
	if n == 0 && maxItems != 0 && st.depth < optionalDepth && s.minimal == 0 && !s.recurses(itemSchemas(0)) {
		n = 1
	}
	out := make([]any, 0, n)
	for i := 0; i < n; i++ {
		var v any
		var err error
		for try := 0; ; try++ {
			v, err = s.genProxies(st.item(i), itemSchemas(i))
			if err != nil || !unique || !containsEqual(out, v) {
				break
			}
			if try == 8 {
				err = s.fail(st, line, "cannot find %d distinct items for uniqueItems", minItems)
				break
			}
		}
		if err != nil {
			if i >= minItems {
				break // the array may stop short of its optional item
			}
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func containsEqual(list []any, v any) bool {
	for _, x := range list {
		if jsonEqual(x, v) {
			return true
		}
	}
	return false
}

// genString builds a string honouring length, pattern and format.
func (s *synthesizer) genString(st site, atoms []*base.Schema) (any, error) {
	minLen, maxLen := 0, -1
	var minAt, maxAt *base.Schema
	type patternAt struct {
		pattern string
		at      *base.Schema
	}
	var patterns []patternAt
	var formats []string
	for _, a := range atoms {
		if a.MinLength != nil && int(*a.MinLength) > minLen {
			minLen, minAt = int(*a.MinLength), a
		}
		if a.MaxLength != nil && (maxLen < 0 || int(*a.MaxLength) < maxLen) {
			maxLen, maxAt = int(*a.MaxLength), a
		}
		if a.Pattern != "" && !slices.ContainsFunc(patterns, func(p patternAt) bool { return p.pattern == a.Pattern }) {
			patterns = append(patterns, patternAt{a.Pattern, a})
		}
		if a.Format != "" && !slices.Contains(formats, a.Format) {
			formats = append(formats, a.Format)
		}
	}
	if maxLen >= 0 && minLen > maxLen {
		return nil, s.fail(st, keywordLine(minAt, func(l *lowbase.Schema) *yaml.Node { return l.MinLength.KeyNode }), "minLength %d is greater than maxLength %d", minLen, maxLen)
	}
	fits := func(v string) bool {
		n := utf8.RuneCountInString(v)
		if n < minLen || (maxLen >= 0 && n > maxLen) {
			return false
		}
		for _, p := range patterns {
			if re := s.check.regexp(p.pattern); re == nil || !re.MatchString(v) {
				return false
			}
		}
		for _, f := range formats {
			if checkFormat(f, v) != formatValid {
				return false
			}
		}
		return true
	}

	for _, f := range formats {
		for range 4 {
			v, ok := s.formatString(f, minLen, maxLen)
			if !ok {
				break
			}
			if fits(v) {
				return v, nil
			}
		}
	}
	for _, p := range patterns {
		g, err := s.regexGen(p.pattern)
		if err != nil {
			return nil, s.fail(st, keywordLine(p.at, func(l *lowbase.Schema) *yaml.Node { return l.Pattern.KeyNode }), "pattern %q is not supported: %v", p.pattern, err)
		}
		for range 4 {
			v, err := g.generate(s.rng, minLen, maxLen)
			if err != nil {
				break
			}
			if fits(v) {
				return v, nil
			}
		}
	}
	if len(patterns) > 0 {
		p := patterns[0]
		what := fmt.Sprintf("pattern %q", p.pattern)
		if len(patterns) > 1 {
			what = fmt.Sprintf("patterns %q", slices.Collect(func(yield func(string) bool) {
				for _, p := range patterns {
					if !yield(p.pattern) {
						return
					}
				}
			}))
		}
		for _, f := range formats {
			if formatAsserted(f) {
				what += fmt.Sprintf(" with format %q", f)
			}
		}
		return nil, s.fail(st, keywordLine(p.at, func(l *lowbase.Schema) *yaml.Node { return l.Pattern.KeyNode }), "%s cannot produce a string of %s", what, lengthRange(minLen, maxLen))
	}
	for _, f := range formats {
		if formatAsserted(f) {
			at := maxAt
			if at == nil {
				at = minAt
			}
			return nil, s.fail(st, schemaLine(at), "format %q cannot produce a string of %s", f, lengthRange(minLen, maxLen))
		}
	}
	return s.plainString(minLen, maxLen), nil
}

func (s *synthesizer) regexGen(pattern string) (*regexGenerator, error) {
	if g, ok := s.regexes[pattern]; ok {
		return g, nil
	}
	g, err := newRegexGenerator(pattern)
	if err != nil {
		return nil, err
	}
	s.regexes[pattern] = g
	return g, nil
}

// plainString is a short lowercase word within the length bounds.
func (s *synthesizer) plainString(minLen, maxLen int) string {
	n := minLen + s.rng.IntN(5)
	if minLen == 0 {
		n = 6 + s.rng.IntN(7)
	}
	if maxLen >= 0 && n > maxLen {
		n = max(maxLen, minLen)
	}
	return s.word(n)
}

// word is n random lowercase letters and digits, starting with a letter.
func (s *synthesizer) word(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	const chars = letters + "0123456789"
	b := make([]byte, n)
	for i := range b {
		if i == 0 {
			b[i] = letters[s.rng.IntN(len(letters))]
		} else {
			b[i] = chars[s.rng.IntN(len(chars))]
		}
	}
	return string(b)
}

// formatString returns a random string in a format; ok is false for formats it does
// not know, which the validator does not assert either.
func (s *synthesizer) formatString(format string, minLen, maxLen int) (string, bool) {
	r := s.rng
	switch format {
	case "date-time":
		return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", 2020+r.IntN(6), 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60)), true
	case "date":
		return fmt.Sprintf("%04d-%02d-%02d", 2020+r.IntN(6), 1+r.IntN(12), 1+r.IntN(28)), true
	case "time":
		return fmt.Sprintf("%02d:%02d:%02dZ", r.IntN(24), r.IntN(60), r.IntN(60)), true
	case "email", "idn-email":
		return s.word(6) + "@example.com", true
	case "uuid":
		b := make([]byte, 16)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		b[6] = b[6]&0x0f | 0x40 // version 4
		b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), true
	case "uri", "iri", "uri-reference", "iri-reference", "url":
		return "https://example.com/" + s.word(6), true
	case "uri-template":
		return "https://example.com/" + s.word(4) + "/{id}", true
	case "hostname", "idn-hostname":
		return s.word(6) + ".example.com", true
	case "ipv4":
		return fmt.Sprintf("192.0.2.%d", 1+r.IntN(254)), true
	case "ipv6":
		return fmt.Sprintf("2001:db8::%x", 1+r.IntN(0xfffe)), true
	case "byte":
		// base64 comes in groups of 4 characters for every 3 bytes.
		groups := 2
		if minLen > 8 {
			groups = (minLen + 3) / 4
		}
		if maxLen >= 0 && groups*4 > maxLen {
			groups = maxLen / 4
		}
		if groups*4 < minLen {
			return "", false
		}
		b := make([]byte, 3*groups)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return base64.StdEncoding.EncodeToString(b), true
	case "regex":
		return "^[a-z0-9]+$", true
	case "json-pointer":
		return "/" + s.word(5), true
	case "relative-json-pointer":
		return "0/" + s.word(5), true
	case "duration":
		return fmt.Sprintf("P%dD", 1+r.IntN(30)), true
	case "semver":
		return fmt.Sprintf("%d.%d.%d", 1+r.IntN(3), r.IntN(10), r.IntN(10)), true
	}
	return "", false
}

// bound is one end of a numeric range.
type bound struct {
	val       *big.Rat
	exclusive bool
	at        *base.Schema
	line      int
}

func (b *bound) text() string {
	return ratText(b.val)
}

// ratText renders a rational number as a JSON number would read.
func ratText(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// schemaRat reads a numeric keyword exactly as written when the document node is at
// hand (so 9223372036854775807 stays exact), else from the parsed float.
func schemaRat(f float64, node *yaml.Node) *big.Rat {
	if node != nil && node.Kind == yaml.ScalarNode {
		if r, ok := new(big.Rat).SetString(node.Value); ok {
			return r
		}
	}
	r, _ := ratOf(f)
	return r
}

// ratOf converts a JSON-shaped number the way the validator reads one: from its
// shortest decimal text.
func ratOf(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case int:
		return new(big.Rat).SetInt64(int64(x)), true
	case int32:
		return new(big.Rat).SetInt64(int64(x)), true
	case int64:
		return new(big.Rat).SetInt64(x), true
	case uint64:
		return new(big.Rat).SetUint64(x), true
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, false
		}
		return new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
	case json.Number:
		return new(big.Rat).SetString(string(x))
	}
	return nil, false
}

// lowerBound is the tighter of minimum and exclusiveMinimum (3.0 flag or 3.1 number).
func lowerBound(a *base.Schema) (bound, bool) {
	return schemaBound(a, true)
}

func upperBound(a *base.Schema) (bound, bool) {
	return schemaBound(a, false)
}

func schemaBound(a *base.Schema, lower bool) (bound, bool) {
	limit, excl := a.Minimum, a.ExclusiveMinimum
	pickLimit := func(l *lowbase.Schema) (*yaml.Node, *yaml.Node) { return l.Minimum.KeyNode, l.Minimum.ValueNode }
	pickExcl := func(l *lowbase.Schema) (*yaml.Node, *yaml.Node) {
		return l.ExclusiveMinimum.KeyNode, l.ExclusiveMinimum.ValueNode
	}
	if !lower {
		limit, excl = a.Maximum, a.ExclusiveMaximum
		pickLimit = func(l *lowbase.Schema) (*yaml.Node, *yaml.Node) { return l.Maximum.KeyNode, l.Maximum.ValueNode }
		pickExcl = func(l *lowbase.Schema) (*yaml.Node, *yaml.Node) {
			return l.ExclusiveMaximum.KeyNode, l.ExclusiveMaximum.ValueNode
		}
	}
	nodes := func(pick func(*lowbase.Schema) (*yaml.Node, *yaml.Node)) (key, val *yaml.Node) {
		if low := a.GoLow(); low != nil {
			return pick(low)
		}
		return nil, nil
	}
	var out bound
	found := false
	if limit != nil {
		key, val := nodes(pickLimit)
		out = bound{val: schemaRat(*limit, val), at: a, line: lineOr(key, a)}
		found = true
		if excl != nil && excl.IsA() && excl.A {
			out.exclusive = true
		}
	}
	if excl != nil && excl.IsB() {
		key, val := nodes(pickExcl)
		e := bound{val: schemaRat(excl.B, val), exclusive: true, at: a, line: lineOr(key, a)}
		if !found || tighter(e, out, lower) {
			out = e
		}
		found = true
	}
	return out, found
}

func lineOr(n *yaml.Node, a *base.Schema) int {
	if n != nil && n.Line > 0 {
		return n.Line
	}
	return schemaLine(a)
}

// tighter reports whether bound a narrows the range more than b.
func tighter(a, b bound, lower bool) bool {
	c := a.val.Cmp(b.val)
	if c == 0 {
		return a.exclusive && !b.exclusive
	}
	if lower {
		return c > 0
	}
	return c < 0
}

// satisfiesBounds reports whether r lies within the bounds.
func satisfiesBounds(r *big.Rat, lo, hi *bound) bool {
	if lo != nil {
		c := r.Cmp(lo.val)
		if c < 0 || (c == 0 && lo.exclusive) {
			return false
		}
	}
	if hi != nil {
		c := r.Cmp(hi.val)
		if c > 0 || (c == 0 && hi.exclusive) {
			return false
		}
	}
	return true
}

// genNumber builds a number (an int64 when integer) within bounds and multipleOf.
func (s *synthesizer) genNumber(st site, atoms []*base.Schema, integer bool) (any, error) {
	var lo, hi *bound
	var steps []*big.Rat
	for _, a := range atoms {
		if b, ok := lowerBound(a); ok && (lo == nil || tighter(b, *lo, true)) {
			lo = &b
		}
		if b, ok := upperBound(a); ok && (hi == nil || tighter(b, *hi, false)) {
			hi = &b
		}
		if a.MultipleOf != nil && *a.MultipleOf > 0 {
			var node *yaml.Node
			if low := a.GoLow(); low != nil {
				node = low.MultipleOf.ValueNode
			}
			steps = append(steps, schemaRat(*a.MultipleOf, node))
		}
		// The validator asserts int32 and int64 on any number: whole and in range.
		switch a.Format {
		case "int32", "int64":
			integer = true
			bits := 63
			if a.Format == "int32" {
				bits = 31
			}
			line := keywordLine(a, func(l *lowbase.Schema) *yaml.Node { return l.Format.KeyNode })
			fmin := bound{val: new(big.Rat).SetInt(new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), uint(bits)))), at: a, line: line}
			fmax := bound{val: new(big.Rat).SetInt(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(bits)), big.NewInt(1))), at: a, line: line}
			if lo == nil || tighter(fmin, *lo, true) {
				lo = &fmin
			}
			if hi == nil || tighter(fmax, *hi, false) {
				hi = &fmax
			}
		}
	}
	if lo != nil && hi != nil {
		c := lo.val.Cmp(hi.val)
		if c > 0 {
			return nil, s.fail(st, lo.line, "minimum %s is greater than maximum %s", lo.text(), hi.text())
		}
		if c == 0 && (lo.exclusive || hi.exclusive) {
			return nil, s.fail(st, lo.line, "exclusive bounds leave no number between %s and %s", lo.text(), hi.text())
		}
	}

	step := big.NewRat(1, 1)
	if len(steps) > 0 {
		step = steps[0]
		for _, m := range steps[1:] {
			step = ratLCM(step, m)
		}
		if integer {
			step = ratLCM(step, big.NewRat(1, 1))
		}
	} else if !integer {
		step = big.NewRat(1, 100) // two decimals: a price, not an integer in disguise
	}

	kLo, kHi := stepRange(step, lo, hi)
	if kLo != nil && kHi != nil && kLo.Cmp(kHi) > 0 {
		if len(steps) == 0 && !integer {
			// A range narrower than a cent: its midpoint will do.
			mid := new(big.Rat).Add(lo.val, hi.val)
			mid.Quo(mid, big.NewRat(2, 1))
			f, _ := mid.Float64()
			if r, ok := ratOf(f); ok && satisfiesBounds(r, lo, hi) {
				return f, nil
			}
		}
		what := "integer"
		if len(steps) > 0 {
			what = "multiple of " + ratText(step)
		}
		return nil, s.fail(st, lo.line, "no %s lies between %s and %s", what, lo.text(), hi.text())
	}

	// Prefer values between 1 and 1000 when the bounds allow; they look like data.
	pLo := ratCeil(new(big.Rat).Quo(big.NewRat(1, 1), step))
	pHi := ratFloor(new(big.Rat).Quo(big.NewRat(1000, 1), step))
	if pHi.Cmp(pLo) < 0 {
		pHi = pLo // a step above 1000: its first multiple
	}
	wLo, wHi := pLo, pHi
	if kLo != nil && kLo.Cmp(wLo) > 0 {
		wLo = kLo
	}
	if kHi != nil && kHi.Cmp(wHi) < 0 {
		wHi = kHi
	}
	if wLo.Cmp(wHi) > 0 {
		// The range lies wholly above or below the preferred window: take the 1000
		// steps at its end nearest to the window.
		if kLo != nil && kLo.Cmp(pHi) > 0 {
			wLo, wHi = kLo, new(big.Int).Add(kLo, big.NewInt(1000))
			if kHi != nil && kHi.Cmp(wHi) < 0 {
				wHi = kHi
			}
		} else {
			wHi, wLo = kHi, new(big.Int).Sub(kHi, big.NewInt(1000))
			if kLo != nil && kLo.Cmp(wLo) > 0 {
				wLo = kLo
			}
		}
	}
	width := new(big.Int).Sub(wHi, wLo)
	for range 8 {
		k := new(big.Int).Set(wLo)
		if width.IsInt64() && width.Int64() < math.MaxInt64 {
			k.Add(k, big.NewInt(s.rng.Int64N(width.Int64()+1)))
		}
		val := new(big.Rat).Mul(new(big.Rat).SetInt(k), step)
		var out any
		if integer && val.IsInt() && val.Num().IsInt64() {
			out = val.Num().Int64()
		} else {
			f, _ := val.Float64()
			out = f
		}
		// Float rounding of huge or odd values can land outside; check as the
		// validator will read it.
		if r, ok := ratOf(out); ok && satisfiesBounds(r, lo, hi) && multipleOfAll(r, steps) && (!integer || r.IsInt()) {
			return out, nil
		}
	}
	return nil, s.fail(st, schemaLine(atoms[0]), "no number between the bounds survives conversion to float64 exactly")
}

func multipleOfAll(r *big.Rat, steps []*big.Rat) bool {
	for _, m := range steps {
		if !new(big.Rat).Quo(r, m).IsInt() {
			return false
		}
	}
	return true
}

// stepRange returns the smallest and largest k with k*step within the bounds; nil
// means unbounded on that side.
func stepRange(step *big.Rat, lo, hi *bound) (kLo, kHi *big.Int) {
	if lo != nil {
		q := new(big.Rat).Quo(lo.val, step)
		kLo = ratCeil(q)
		if lo.exclusive && q.IsInt() {
			kLo.Add(kLo, big.NewInt(1))
		}
	}
	if hi != nil {
		q := new(big.Rat).Quo(hi.val, step)
		kHi = ratFloor(q)
		if hi.exclusive && q.IsInt() {
			kHi.Sub(kHi, big.NewInt(1))
		}
	}
	return kLo, kHi
}

// ratFloor rounds down. DivMod divides Euclidean-style, which with the positive
// denominator of a big.Rat is the floor.
func ratFloor(r *big.Rat) *big.Int {
	q, _ := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int))
	return q
}

func ratCeil(r *big.Rat) *big.Int {
	q := ratFloor(r)
	if !r.IsInt() {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// ratLCM is the least common multiple of two positive rationals:
// lcm(a/b, c/d) = lcm(a, c) / gcd(b, d).
func ratLCM(x, y *big.Rat) *big.Rat {
	a, b, c, d := x.Num(), x.Denom(), y.Num(), y.Denom()
	g := new(big.Int).GCD(nil, nil, a, c)
	l := new(big.Int).Mul(a, c)
	l.Quo(l, g)
	return new(big.Rat).SetFrac(l, new(big.Int).GCD(nil, nil, b, d))
}

// checker answers whether a JSON-shaped value matches a schema, cheaply and without the
// validator. Asked loosely (strict false) it says true unless the value surely fails;
// asked strictly it says true only when the value surely passes. The difference lies in
// what it cannot decide: some formats, deep nesting, unevaluated keywords.
type checker struct {
	version  float32
	patterns map[string]*regexp.Regexp // nil for patterns Go cannot compile
	values   map[*yaml.Node]any
	// refSiblings caches the allOf view of 3.1 $refs with siblings; see schemaOf.
	refSiblings map[*base.SchemaProxy]*base.Schema
}

func newChecker(version float32) *checker {
	return &checker{
		version:     version,
		patterns:    map[string]*regexp.Regexp{},
		values:      map[*yaml.Node]any{},
		refSiblings: map[*base.SchemaProxy]*base.Schema{},
	}
}

// schemaOf builds the schema behind a proxy, once. An OpenAPI 3.1 $ref with sibling
// keywords is seen as what it means, allOf [siblings, target]: libopenapi's Schema()
// shows the siblings only.
func (c *checker) schemaOf(p *base.SchemaProxy) *base.Schema {
	if p == nil {
		return nil
	}
	if !p.IsTransformedRefWithSiblings() {
		return p.Schema()
	}
	if sch, ok := c.refSiblings[p]; ok {
		return sch
	}
	sch, err := p.BuildTransformedRefSemanticSchema(nil)
	if err != nil {
		sch = nil
	}
	c.refSiblings[p] = sch
	return sch
}

// checkDepth bounds how deep the checker follows schemas.
const checkDepth = 24

// regexp compiles a pattern once; nil when Go cannot compile it.
func (c *checker) regexp(pattern string) *regexp.Regexp {
	re, ok := c.patterns[pattern]
	if !ok {
		re, _ = regexp.Compile(pattern)
		c.patterns[pattern] = re
	}
	return re
}

// nodeValue converts a YAML node of the document to a JSON-shaped value, once.
func (c *checker) nodeValue(n *yaml.Node) any {
	if n == nil {
		return nil
	}
	if v, ok := c.values[n]; ok {
		return v
	}
	v := nodeToValue(n)
	c.values[n] = v
	return v
}

// nodeToValue converts YAML to JSON-shaped data: integers become int64, other
// numbers float64, timestamps and other scalars their text.
func nodeToValue(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return nodeToValue(n.Content[0])
		}
		return nil
	case yaml.AliasNode:
		if n.Alias != nil {
			return nodeToValue(n.Alias)
		}
		return nil
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nodeToValue(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			l = append(l, nodeToValue(item))
		}
		return l
	}
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		return strings.EqualFold(n.Value, "true")
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	}
	return n.Value
}

// types returns the types a schema admits and whether it declares any. In 3.0
// `nullable: true` admits null as well.
func (c *checker) types(sch *base.Schema) (typeMask, bool) {
	if len(sch.Type) == 0 {
		return typeAny, false
	}
	var m typeMask
	for _, t := range sch.Type {
		m |= typeBits(t)
	}
	if c.nullable(sch) {
		m |= typeNull
	}
	return m, true
}

func (c *checker) nullable(sch *base.Schema) bool {
	return c.version < 3.05 && sch.Nullable != nil && *sch.Nullable
}

// matches reports whether v matches sch: loosely (true unless v surely fails) or
// strictly (true only when v surely passes).
func (c *checker) matches(v any, sch *base.Schema, strict bool, depth int) bool {
	if sch == nil {
		return !strict
	}
	if sch.BooleanSchema != nil {
		return *sch.BooleanSchema
	}
	if depth > checkDepth {
		return !strict
	}
	sub := func(p *base.SchemaProxy, x any, strict bool) bool {
		s := c.schemaOf(p)
		if s == nil {
			return !strict
		}
		return c.matches(x, s, strict, depth+1)
	}

	vt := valueType(v)
	if mask, declared := c.types(sch); declared && vt&mask == 0 {
		return false
	}
	if sch.Const != nil && !jsonEqual(v, c.nodeValue(sch.Const)) {
		return false
	}
	if len(sch.Enum) > 0 && !(v == nil && c.nullable(sch)) {
		found := false
		for _, e := range sch.Enum {
			if jsonEqual(v, c.nodeValue(e)) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}

	// The validator's discriminator keyword demands the property on every instance,
	// so anything but an object carrying it fails.
	if d := sch.Discriminator; d != nil && d.PropertyName != "" {
		obj, _ := v.(map[string]any)
		if _, ok := obj[d.PropertyName]; !ok {
			return false
		}
	}

	switch vt {
	case typeInteger, typeNumber:
		if !c.numberMatches(v, sch) {
			return false
		}
	case typeString:
		str := v.(string)
		n := utf8.RuneCountInString(str)
		if sch.MinLength != nil && int64(n) < *sch.MinLength {
			return false
		}
		if sch.MaxLength != nil && int64(n) > *sch.MaxLength {
			return false
		}
		if sch.Pattern != "" {
			re := c.regexp(sch.Pattern)
			if re == nil {
				if strict {
					return false
				}
			} else if !re.MatchString(str) {
				return false
			}
		}
		if sch.Format != "" {
			switch checkFormat(sch.Format, str) {
			case formatInvalid:
				return false
			case formatUnsure:
				if strict {
					return false
				}
			}
		}
	case typeArray:
		if !c.arrayMatches(v.([]any), sch, strict, depth) {
			return false
		}
	case typeObject:
		if !c.objectMatches(v.(map[string]any), sch, strict, depth) {
			return false
		}
	}

	// In 3.0 a nullable allOf becomes oneOf: [allOf, null] for the validator, so null
	// does not meet the members.
	if !(v == nil && c.nullable(sch)) {
		for _, p := range sch.AllOf {
			if !sub(p, v, strict) {
				return false
			}
		}
	}
	if len(sch.AnyOf) > 0 {
		if !slices.ContainsFunc(sch.AnyOf, func(p *base.SchemaProxy) bool { return sub(p, v, strict) }) {
			return false
		}
	}
	if len(sch.OneOf) > 0 {
		loose, sure := 0, 0
		for _, p := range sch.OneOf {
			if sub(p, v, false) {
				loose++
				if sub(p, v, true) {
					sure++
				}
			}
		}
		if strict && !(sure == 1 && loose == 1) {
			return false
		}
		if !strict && (loose == 0 || sure > 1) {
			return false
		}
	}
	if sch.Not != nil && sub(sch.Not, v, !strict) {
		return false
	}
	if sch.If != nil {
		switch {
		case sub(sch.If, v, true):
			if sch.Then != nil && !sub(sch.Then, v, strict) {
				return false
			}
		case !sub(sch.If, v, false):
			if sch.Else != nil && !sub(sch.Else, v, strict) {
				return false
			}
		default:
			if strict {
				return false
			}
		}
	}
	return true
}

func (c *checker) numberMatches(v any, sch *base.Schema) bool {
	if sch.Minimum == nil && sch.Maximum == nil && sch.ExclusiveMinimum == nil && sch.ExclusiveMaximum == nil && sch.MultipleOf == nil && sch.Format != "int32" && sch.Format != "int64" {
		return true
	}
	r, ok := ratOf(v)
	if !ok {
		return false
	}
	var lo, hi *bound
	if b, ok := lowerBound(sch); ok {
		lo = &b
	}
	if b, ok := upperBound(sch); ok {
		hi = &b
	}
	if !satisfiesBounds(r, lo, hi) {
		return false
	}
	if sch.MultipleOf != nil && *sch.MultipleOf > 0 {
		var node *yaml.Node
		if low := sch.GoLow(); low != nil {
			node = low.MultipleOf.ValueNode
		}
		if !new(big.Rat).Quo(r, schemaRat(*sch.MultipleOf, node)).IsInt() {
			return false
		}
	}
	switch sch.Format {
	case "int32":
		return r.IsInt() && r.Num().IsInt64() && r.Num().Int64() >= math.MinInt32 && r.Num().Int64() <= math.MaxInt32
	case "int64":
		return r.IsInt() && r.Num().IsInt64()
	}
	return true
}

func (c *checker) arrayMatches(list []any, sch *base.Schema, strict bool, depth int) bool {
	if sch.MinItems != nil && int64(len(list)) < *sch.MinItems {
		return false
	}
	if sch.MaxItems != nil && int64(len(list)) > *sch.MaxItems {
		return false
	}
	if sch.UniqueItems != nil && *sch.UniqueItems {
		for i := range list {
			if containsEqual(list[:i], list[i]) {
				return false
			}
		}
	}
	for i, item := range list {
		var p *base.SchemaProxy
		switch {
		case i < len(sch.PrefixItems):
			p = sch.PrefixItems[i]
		case sch.Items != nil && sch.Items.IsA():
			p = sch.Items.A
		case sch.Items != nil && sch.Items.IsB() && !sch.Items.B:
			return false
		}
		if p == nil {
			continue
		}
		s := c.schemaOf(p)
		if s == nil {
			if strict {
				return false
			}
			continue
		}
		if !c.matches(item, s, strict, depth+1) {
			return false
		}
	}
	if sch.Contains != nil && (sch.MinContains == nil || *sch.MinContains > 0) {
		s := c.schemaOf(sch.Contains)
		if s != nil && !slices.ContainsFunc(list, func(x any) bool { return c.matches(x, s, strict, depth+1) }) {
			return false
		}
		if strict && (s == nil || sch.MinContains != nil || sch.MaxContains != nil) {
			return false
		}
	}
	if strict && sch.UnevaluatedItems != nil {
		return false
	}
	return true
}

func (c *checker) objectMatches(obj map[string]any, sch *base.Schema, strict bool, depth int) bool {
	for _, name := range sch.Required {
		if _, ok := obj[name]; !ok {
			return false
		}
	}
	if sch.MinProperties != nil && int64(len(obj)) < *sch.MinProperties {
		return false
	}
	if sch.MaxProperties != nil && int64(len(obj)) > *sch.MaxProperties {
		return false
	}
	check := func(p *base.SchemaProxy, x any) bool {
		s := c.schemaOf(p)
		if s == nil {
			return !strict
		}
		return c.matches(x, s, strict, depth+1)
	}
	// Keys are visited in sorted order so that the answer never depends on map order.
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, name := range keys {
		x := obj[name]
		p, declared := lookup(sch.Properties, name)
		if declared && !check(p, x) {
			return false
		}
		matched := false
		for pattern, pp := range sch.PatternProperties.FromOldest() {
			re := c.regexp(pattern)
			if re == nil {
				if strict {
					return false
				}
				continue
			}
			if re.MatchString(name) {
				matched = true
				if !check(pp, x) {
					return false
				}
			}
		}
		if !declared && !matched && sch.AdditionalProperties != nil {
			if sch.AdditionalProperties.IsB() {
				if !sch.AdditionalProperties.B {
					return false
				}
			} else if sch.AdditionalProperties.A != nil && !check(sch.AdditionalProperties.A, x) {
				return false
			}
		}
		if sch.PropertyNames != nil && !check(sch.PropertyNames, name) {
			return false
		}
		if deps, ok := lookup(sch.DependentRequired, name); ok {
			for _, d := range deps {
				if _, ok := obj[d]; !ok {
					return false
				}
			}
		}
		if ds, ok := lookup(sch.DependentSchemas, name); ok && !check(ds, obj) {
			return false
		}
	}
	if strict && sch.UnevaluatedProperties != nil {
		return false
	}
	return true
}

// lookup reads an ordered map that may be nil.
func lookup[V any](m *orderedmap.Map[string, V], key string) (V, bool) {
	if m == nil || m.OrderedMap == nil {
		var zero V
		return zero, false
	}
	return m.Get(key)
}

// jsonEqual compares JSON-shaped values, numbers by value whatever their Go type.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case string, bool, nil:
		return a == b
	}
	ra, ok := ratOf(a)
	if !ok {
		return false
	}
	rb, ok := ratOf(b)
	return ok && ra.Cmp(rb) == 0
}

// formatResult is what checkFormat knows about a string.
type formatResult int

const (
	formatValid formatResult = iota
	formatInvalid
	formatUnsure
)

// formatAsserted reports whether the validator checks a string format; it checks the
// JSON Schema formats and ignores OpenAPI's descriptive ones (byte, binary, password).
func formatAsserted(format string) bool {
	switch format {
	case "date-time", "date", "time", "duration", "period", "email", "hostname", "ipv4", "ipv6",
		"uri", "iri", "uri-reference", "iri-reference", "uri-template", "uuid", "json-pointer",
		"relative-json-pointer", "regex", "semver":
		return true
	}
	return false
}

// checkFormat decides a string format the way the validator does where the rules are
// simple, and says formatUnsure where they are not.
func checkFormat(format, s string) formatResult {
	if !formatAsserted(format) {
		return formatValid
	}
	verdict := func(ok bool) formatResult {
		if ok {
			return formatValid
		}
		return formatInvalid
	}
	switch format {
	case "date":
		_, err := time.Parse("2006-01-02", s)
		return verdict(err == nil)
	case "time":
		return checkTime(s)
	case "date-time":
		if len(s) < 20 || (s[10] != 'T' && s[10] != 't') {
			return formatInvalid
		}
		if _, err := time.Parse("2006-01-02", s[:10]); err != nil {
			return formatInvalid
		}
		return checkTime(s[11:])
	case "uuid":
		groups := strings.Split(s, "-")
		if len(groups) != 5 {
			return formatInvalid
		}
		for i, want := range []int{8, 4, 4, 4, 12} {
			if len(groups[i]) != want || strings.Trim(groups[i], "0123456789abcdefABCDEF") != "" {
				return formatInvalid
			}
		}
		return formatValid
	case "ipv4":
		return verdict(isIPv4(s))
	case "ipv6":
		addr, err := netip.ParseAddr(s)
		return verdict(strings.Contains(s, ":") && err == nil && addr.Zone() == "")
	case "hostname":
		return verdict(isHostname(s))
	case "email":
		at := strings.LastIndexByte(s, '@')
		if at < 0 {
			return formatInvalid
		}
		local, domain := s[:at], s[at+1:]
		simple := local != "" && len(local) <= 64 && len(s) <= 254 &&
			strings.Trim(local, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-") == "" &&
			isHostname(domain)
		if simple {
			return formatValid
		}
		return formatUnsure
	case "uri", "iri":
		u, err := url.Parse(s)
		if err == nil && !u.IsAbs() {
			return formatInvalid
		}
		if err == nil && !strings.Contains(u.Hostname(), ":") {
			return formatValid
		}
		return formatUnsure
	case "uri-reference", "iri-reference":
		if strings.Contains(s, `\`) {
			return formatInvalid
		}
		if u, err := url.Parse(s); err == nil && !strings.Contains(u.Hostname(), ":") {
			return formatValid
		}
		return formatUnsure
	case "json-pointer":
		return verdict(isJSONPointer(s))
	case "relative-json-pointer":
		digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
		if digits == 0 || (digits > 1 && s[0] == '0') {
			return formatInvalid
		}
		return verdict(s[digits:] == "#" || isJSONPointer(s[digits:]))
	case "uri-template":
		if _, err := url.Parse(s); err != nil {
			return formatUnsure
		}
		open := false
		for _, r := range s {
			switch r {
			case '{':
				if open {
					return formatUnsure
				}
				open = true
			case '}':
				if !open {
					return formatUnsure
				}
				open = false
			}
		}
		if open {
			return formatUnsure
		}
		return formatValid
	case "semver":
		core, _, _ := strings.Cut(s, "+")
		core, _, _ = strings.Cut(core, "-")
		if core != s {
			return formatUnsure // pre-release and build parts are left undecided
		}
		parts := strings.Split(s, ".")
		if len(parts) != 3 {
			return formatInvalid
		}
		for _, p := range parts {
			if p == "" || strings.Trim(p, "0123456789") != "" {
				return formatInvalid
			}
			if len(p) > 1 && p[0] == '0' {
				return formatInvalid
			}
		}
		return formatValid
	case "regex":
		_, err := regexp.Compile(s)
		return verdict(err == nil)
	case "duration":
		return verdict(isDuration(s))
	}
	return formatUnsure
}

// checkTime decides an RFC 3339 full-time: hh:mm:ss, optional fraction, then Z or an
// offset. Leap seconds are left undecided.
func checkTime(s string) formatResult {
	if len(s) < 9 || s[2] != ':' || s[5] != ':' {
		return formatInvalid
	}
	digits := func(t string) (int, bool) {
		if len(t) != 2 || t[0] < '0' || t[0] > '9' || t[1] < '0' || t[1] > '9' {
			return 0, false
		}
		return int(t[0]-'0')*10 + int(t[1]-'0'), true
	}
	h, ok1 := digits(s[0:2])
	m, ok2 := digits(s[3:5])
	sec, ok3 := digits(s[6:8])
	if !ok1 || !ok2 || !ok3 {
		return formatUnsure
	}
	if h > 23 || m > 59 || sec > 60 {
		return formatInvalid
	}
	if sec == 60 {
		return formatUnsure
	}
	rest := s[8:]
	if frac, ok := strings.CutPrefix(rest, "."); ok {
		n := len(frac) - len(strings.TrimLeft(frac, "0123456789"))
		if n == 0 {
			return formatInvalid
		}
		rest = frac[n:]
	}
	if rest == "Z" || rest == "z" {
		return formatValid
	}
	if len(rest) != 6 || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':' {
		return formatInvalid
	}
	oh, ok1 := digits(rest[1:3])
	om, ok2 := digits(rest[4:6])
	if !ok1 || !ok2 {
		return formatUnsure
	}
	if oh > 23 || om > 59 {
		return formatInvalid
	}
	return formatValid
}

func isIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || (len(p) > 1 && p[0] == '0') || strings.Trim(p, "0123456789") != "" {
			return false
		}
		if n, _ := strconv.Atoi(p); n > 255 {
			return false
		}
	}
	return true
}

func isHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		if strings.Trim(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			return false
		}
	}
	return true
}

func isJSONPointer(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != '/' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '~' && (i+1 >= len(s) || (s[i+1] != '0' && s[i+1] != '1')) {
			return false
		}
	}
	return true
}

// isDuration checks an ISO 8601 duration as RFC 3339 appendix A defines it: P, then
// weeks alone, or date units Y M D in order, then optionally T and time units H M S.
func isDuration(s string) bool {
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return false
	}
	if w, ok := strings.CutSuffix(rest, "W"); ok {
		return w != "" && strings.Trim(w, "0123456789") == ""
	}
	datePart, timePart, hasTime := strings.Cut(rest, "T")
	if hasTime && timePart == "" {
		return false
	}
	units := func(part, order string) bool {
		for part != "" {
			n := len(part) - len(strings.TrimLeft(part, "0123456789"))
			if n == 0 || n == len(part) {
				return false
			}
			i := strings.IndexByte(order, part[n])
			if i < 0 {
				return false
			}
			order = order[i+1:]
			part = part[n+1:]
		}
		return true
	}
	return units(datePart, "YMD") && (!hasTime || (!strings.Contains(timePart, "T") && units(timePart, "HMS")))
}

// emptyEnum reports a schema that declares `enum: []`, which no value
// satisfies (Discord's contract has one). libopenapi gives an empty slice for
// both a missing and an empty enum; the low-level key node tells them apart.
func emptyEnum(sch *base.Schema) bool {
	if sch == nil || len(sch.Enum) > 0 {
		return false
	}
	low := sch.GoLow()
	return low != nil && low.Enum.KeyNode != nil
}

// anyEmptyEnum reports whether any of the schemas declares an empty enum, so
// that an optional property held to one is left out rather than failing.
func anyEmptyEnum(proxies []*base.SchemaProxy) bool {
	for _, p := range proxies {
		if p != nil && emptyEnum(p.Schema()) {
			return true
		}
	}
	return false
}
