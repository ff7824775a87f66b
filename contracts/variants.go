package contracts

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/tetherkit/tether/internal/jsonvalue"
)

// Variant is an invalid instance derived from a valid one, labelled with the rule it breaks.
type Variant struct {
	Rule   string // stable kebab-case ID, one of the variant rule constants
	Path   string // JSON path of the changed value, "$.customer.email"
	Value  any    // the whole invalid instance (a deep copy; never mutate the input)
	Reason string // e.g. "removes required property \"email\""
}

// Variant rule IDs. They are stable: reports and tests key on them.
const (
	VariantRequiredMissing    = "required-missing"
	VariantTypeMismatch       = "type-mismatch"
	VariantEnumMismatch       = "enum-mismatch"
	VariantConstMismatch      = "const-mismatch"
	VariantMinimumViolated    = "minimum-violated"
	VariantMaximumViolated    = "maximum-violated"
	VariantMinLengthViolated  = "min-length-violated"
	VariantMaxLengthViolated  = "max-length-violated"
	VariantMinItemsViolated   = "min-items-violated"
	VariantMaxItemsViolated   = "max-items-violated"
	VariantPatternMismatch    = "pattern-mismatch"
	VariantAdditionalProperty = "additional-property"
)

// Bounds that keep the variants of a big payload few and cheap.
const (
	maxVariants     = 50
	maxVariantDepth = 8
	// maxPadding skips length and item-count variants that would build huge values.
	maxPadding = 100000
	// itemsVisited is how many prefixItems positions the walk descends into; items
	// sharing one schema show its rules on the first item alone.
	itemsVisited = 3
)

// invalidVariants derives invalid instances from valid, an instance of schema, one per
// rule it can break: a required property missing, a wrong type, a value outside an enum
// or const, a number, string or array out of bounds, a broken pattern, an unexpected
// property where additionalProperties is false (or a discriminator is missing). It
// walks nested objects and the first item of arrays present in valid, through $ref and
// allOf, at most maxVariantDepth deep, and returns at most maxVariants variants in
// document order; the result is deterministic.
//
// A variant is kept only when the changed value fails the keyword it breaks for sure,
// and, below a oneOf or anyOf, when the changed value fits none of the branches for
// sure; the checker decides without the validator, conservatively. A rule that cannot
// produce such a value is skipped (a pattern that matches everything, a type mismatch on
// a schema without a type). valid is never modified; each Value is a fresh deep copy.
func invalidVariants(schema *base.Schema, valid any, version float32) []Variant {
	w := &variantWalker{check: newChecker(version), root: valid, seen: map[string]bool{}}
	w.walk(w.expand([]atomAt{{sch: schema}}, valid, nil, 0), valid, nil, 0)
	return w.out
}

// step is one segment of a path into an instance: an object key or an array index.
type step struct {
	key   string // the object key, when isIdx is false
	index int    // the array index, when isIdx is true
	isIdx bool
}

func renderPath(path []step) string {
	var b strings.Builder
	b.WriteString("$")
	for _, s := range path {
		if s.isIdx {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		} else {
			b.WriteString(pathKey(s.key))
		}
	}
	return b.String()
}

// guard is the outermost oneOf or anyOf above a schema: a change below it makes the
// instance invalid only if the changed value at the guard fits none of its branches.
type guard struct {
	path     []step
	branches []*base.Schema
}

// atomAt is a schema that applies at the walked value, and the guard above it, if any.
type atomAt struct {
	sch   *base.Schema
	guard *guard
}

type variantWalker struct {
	check *checker
	root  any
	out   []Variant
	seen  map[string]bool
}

func (w *variantWalker) full() bool { return len(w.out) >= maxVariants }

// expand adds the allOf members of the schemas, and for each oneOf or anyOf the first
// branch that v may match, under a guard for that choice.
func (w *variantWalker) expand(in []atomAt, v any, path []step, depth int) []atomAt {
	var out []atomAt
	seen := map[*base.Schema]bool{}
	var add func(a atomAt, depth int)
	add = func(a atomAt, depth int) {
		if a.sch == nil || seen[a.sch] || depth > 16 || a.sch.BooleanSchema != nil {
			return
		}
		seen[a.sch] = true
		out = append(out, a)
		for _, p := range a.sch.AllOf {
			add(atomAt{sch: w.check.schemaOf(p), guard: a.guard}, depth+1)
		}
		for _, branches := range [][]*base.SchemaProxy{a.sch.OneOf, a.sch.AnyOf} {
			if len(branches) == 0 {
				continue
			}
			resolved := make([]*base.Schema, 0, len(branches))
			for _, p := range branches {
				if b := w.check.schemaOf(p); b != nil {
					resolved = append(resolved, b)
				}
			}
			g := a.guard
			if g == nil {
				g = &guard{path: slices.Clone(path), branches: resolved}
			}
			for _, b := range resolved {
				if w.check.matches(v, b, false, 0) {
					add(atomAt{sch: b, guard: g}, depth+1)
					break
				}
			}
		}
	}
	for _, a := range in {
		add(a, depth)
	}
	return out
}

// walk emits the variants of the value v at path, then descends into its children.
func (w *variantWalker) walk(atoms []atomAt, v any, path []step, depth int) {
	if depth > maxVariantDepth || w.full() {
		return
	}
	for _, a := range atoms {
		w.scalarRules(a, v, path)
		if obj, ok := v.(map[string]any); ok {
			w.objectRules(a, obj, path)
		}
		if list, ok := v.([]any); ok {
			w.arrayRules(a, list, path)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		for _, key := range childOrder(atoms, x) {
			if w.full() {
				return
			}
			child := append(slices.Clone(path), step{key: key})
			var childAtoms []atomAt
			for _, a := range atoms {
				for _, p := range w.propertySchemas(a.sch, key) {
					childAtoms = append(childAtoms, atomAt{sch: w.check.schemaOf(p), guard: a.guard})
				}
			}
			if len(childAtoms) == 0 {
				continue // no schema speaks about this property
			}
			w.walk(w.expand(childAtoms, x[key], child, 0), x[key], child, depth+1)
		}
	case []any:
		for i := 0; i < len(x) && i < itemsVisited; i++ {
			if w.full() {
				return
			}
			child := append(slices.Clone(path), step{index: i, isIdx: true})
			var childAtoms []atomAt
			distinct := false
			for _, a := range atoms {
				if i < len(a.sch.PrefixItems) {
					childAtoms = append(childAtoms, atomAt{sch: w.check.schemaOf(a.sch.PrefixItems[i]), guard: a.guard})
					distinct = true
				} else if a.sch.Items != nil && a.sch.Items.IsA() && a.sch.Items.A != nil {
					childAtoms = append(childAtoms, atomAt{sch: w.check.schemaOf(a.sch.Items.A), guard: a.guard})
				}
			}
			// Items after the first share one schema; one of them shows its rules.
			if i > 0 && !distinct {
				break
			}
			w.walk(w.expand(childAtoms, x[i], child, 0), x[i], child, depth+1)
		}
	}
}

// childOrder lists the keys of obj to descend into: declared properties in document
// order, then the others sorted.
func childOrder(atoms []atomAt, obj map[string]any) []string {
	var keys []string
	for _, a := range atoms {
		for name := range a.sch.Properties.FromOldest() {
			if _, ok := obj[name]; ok && !slices.Contains(keys, name) {
				keys = append(keys, name)
			}
		}
	}
	var rest []string
	for k := range obj {
		if !slices.Contains(keys, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(keys, rest...)
}

// propertySchemas returns the schemas sch applies to the property key.
func (w *variantWalker) propertySchemas(sch *base.Schema, key string) []*base.SchemaProxy {
	var out []*base.SchemaProxy
	p, declared := lookup(sch.Properties, key)
	if declared {
		out = append(out, p)
	}
	matched := false
	for pattern, pp := range sch.PatternProperties.FromOldest() {
		if re := w.check.regexp(pattern); re != nil && re.MatchString(key) {
			out = append(out, pp)
			matched = true
		}
	}
	if !declared && !matched && sch.AdditionalProperties != nil && sch.AdditionalProperties.IsA() && sch.AdditionalProperties.A != nil {
		out = append(out, sch.AdditionalProperties.A)
	}
	return out
}

// emit records a variant that replaces the value at path with changed, provided changed
// surely fails the atom and, below a guard, fits none of the guard's branches.
func (w *variantWalker) emit(a atomAt, rule string, path []step, changed any, reportPath []step, reason string) {
	if w.full() {
		return
	}
	if w.check.matches(changed, a.sch, false, 0) {
		return
	}
	instance := replaceAt(w.root, path, changed)
	if g := a.guard; g != nil {
		at, ok := valueAt(instance, g.path)
		if !ok {
			return
		}
		for _, b := range g.branches {
			if w.check.matches(at, b, false, 0) {
				return
			}
		}
	}
	p := renderPath(reportPath)
	key := rule + " " + p + " " + reason
	if w.seen[key] {
		return
	}
	w.seen[key] = true
	w.out = append(w.out, Variant{Rule: rule, Path: p, Value: instance, Reason: reason})
}

// replaceAt returns a deep copy of root with the value at path replaced.
func replaceAt(root any, path []step, value any) any {
	if len(path) == 0 {
		return jsonvalue.Clone(value)
	}
	out := jsonvalue.Clone(root)
	parent, ok := valueAt(out, path[:len(path)-1])
	if !ok {
		return out
	}
	last := path[len(path)-1]
	switch x := parent.(type) {
	case map[string]any:
		x[last.key] = jsonvalue.Clone(value)
	case []any:
		if last.index < len(x) {
			x[last.index] = jsonvalue.Clone(value)
		}
	}
	return out
}

// valueAt follows path into v.
func valueAt(v any, path []step) (any, bool) {
	for _, s := range path {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[s.key]
			if !ok || s.isIdx {
				return nil, false
			}
			v = next
		case []any:
			if !s.isIdx || s.index >= len(x) {
				return nil, false
			}
			v = x[s.index]
		default:
			return nil, false
		}
	}
	return v, true
}

// jsonTypeName names the JSON type of a value for reasons.
func jsonTypeName(v any) string {
	switch valueType(v) {
	case typeNull:
		return "null"
	case typeBoolean:
		return "boolean"
	case typeObject:
		return "object"
	case typeArray:
		return "array"
	case typeInteger:
		return "integer"
	case typeNumber:
		return "number"
	}
	return "string"
}

// numberValue turns a rational into the JSON-shaped number the synthesiser uses.
func numberValue(r *big.Rat) any {
	if r.IsInt() && r.Num().IsInt64() {
		return r.Num().Int64()
	}
	f, _ := r.Float64()
	return f
}

func (w *variantWalker) scalarRules(a atomAt, v any, path []step) {
	sch := a.sch
	where := renderPath(path)
	if mask, declared := w.check.types(sch); declared {
		for _, c := range []any{"mismatched-type", int64(12345), true, map[string]any{}, []any{}} {
			if valueType(c)&mask == 0 {
				w.emit(a, VariantTypeMismatch, path, c, path, fmt.Sprintf("replaces the %s at %s with %s %s", jsonTypeName(v), where, articleFor(jsonTypeName(c)), jsonTypeName(c)))
				break
			}
		}
	}
	if sch.Const != nil {
		if c := outsideValues(v, []any{w.check.nodeValue(sch.Const)}); c != nil {
			w.emit(a, VariantConstMismatch, path, c, path, fmt.Sprintf("sets %s to %s instead of the const %s", where, short(c), short(w.check.nodeValue(sch.Const))))
		}
	}
	if len(sch.Enum) > 0 {
		values := make([]any, 0, len(sch.Enum))
		for _, n := range sch.Enum {
			values = append(values, w.check.nodeValue(n))
		}
		if c := outsideValues(v, values); c != nil {
			w.emit(a, VariantEnumMismatch, path, c, path, fmt.Sprintf("sets %s to %s, outside the enum", where, short(c)))
		}
	}
	switch x := v.(type) {
	case string:
		w.stringRules(a, x, path)
	case bool, nil, map[string]any, []any:
	default:
		if _, ok := ratOf(v); !ok {
			return
		}
		if lb, ok := lowerBound(sch); ok {
			r := new(big.Rat).Set(lb.val)
			if !lb.exclusive {
				r.Sub(r, big.NewRat(1, 1))
			}
			kind := "minimum"
			if lb.exclusive {
				kind = "exclusive minimum"
			}
			w.emit(a, VariantMinimumViolated, path, numberValue(r), path, fmt.Sprintf("sets %s to %s, below the %s %s", where, ratText(r), kind, lb.text()))
		}
		if ub, ok := upperBound(sch); ok {
			r := new(big.Rat).Set(ub.val)
			if !ub.exclusive {
				r.Add(r, big.NewRat(1, 1))
			}
			kind := "maximum"
			if ub.exclusive {
				kind = "exclusive maximum"
			}
			w.emit(a, VariantMaximumViolated, path, numberValue(r), path, fmt.Sprintf("sets %s to %s, above the %s %s", where, ratText(r), kind, ub.text()))
		}
	}
}

func articleFor(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// outsideValues returns a value of v's type that is none of values, nil if it finds none.
func outsideValues(v any, values []any) any {
	in := func(c any) bool { return slices.ContainsFunc(values, func(e any) bool { return jsonEqual(e, c) }) }
	var candidates []any
	switch x := v.(type) {
	case string:
		for _, suffix := range []string{"-invalid", "-not-listed", "~"} {
			candidates = append(candidates, x+suffix)
		}
		candidates = append(candidates, "not-in-enum")
	case bool:
		candidates = []any{!x}
	case nil, map[string]any, []any:
		candidates = []any{"not-in-enum", int64(987654321)}
	default:
		if r, ok := ratOf(v); ok {
			// One above the largest listed number is outside the list.
			top := new(big.Rat).Set(r)
			for _, e := range values {
				if er, ok := ratOf(e); ok && er.Cmp(top) > 0 {
					top = er
				}
			}
			candidates = append(candidates, numberValue(top.Add(top, big.NewRat(1, 1))))
		}
	}
	for _, c := range candidates {
		if !in(c) {
			return c
		}
	}
	return nil
}

func (w *variantWalker) stringRules(a atomAt, s string, path []step) {
	sch := a.sch
	where := renderPath(path)
	n := utf8.RuneCountInString(s)
	if sch.MinLength != nil && *sch.MinLength > 0 && int64(n) >= *sch.MinLength {
		short := string([]rune(s)[:*sch.MinLength-1])
		w.emit(a, VariantMinLengthViolated, path, short, path, fmt.Sprintf("shortens %s to %d characters, below minLength %d", where, *sch.MinLength-1, *sch.MinLength))
	}
	if sch.MaxLength != nil && *sch.MaxLength < maxPadding && int64(n) <= *sch.MaxLength {
		long := s + strings.Repeat("x", int(*sch.MaxLength)+1-n)
		w.emit(a, VariantMaxLengthViolated, path, long, path, fmt.Sprintf("lengthens %s to %d characters, above maxLength %d", where, *sch.MaxLength+1, *sch.MaxLength))
	}
	if sch.Pattern != "" {
		re := w.check.regexp(sch.Pattern)
		if re == nil {
			return
		}
		// Prefer a string of the same length that only the pattern rejects.
		size := max(n, 1)
		if sch.MinLength != nil && int64(size) < *sch.MinLength {
			size = int(*sch.MinLength)
		}
		if sch.MaxLength != nil && int64(size) > *sch.MaxLength {
			size = int(*sch.MaxLength)
		}
		var candidates []string
		if size < maxPadding {
			for _, c := range []string{"!", " ", "~", "-", "0", "a", "Z"} {
				candidates = append(candidates, strings.Repeat(c, size))
			}
		}
		candidates = append(candidates, "", "!"+s, s+"!", s+"\n!")
		for _, c := range candidates {
			if !re.MatchString(c) {
				w.emit(a, VariantPatternMismatch, path, c, path, fmt.Sprintf("sets %s to %q, which does not match the pattern %q", where, c, sch.Pattern))
				break
			}
		}
	}
}

func (w *variantWalker) arrayRules(a atomAt, list []any, path []step) {
	sch := a.sch
	where := renderPath(path)
	if sch.MinItems != nil && *sch.MinItems > 0 && int64(len(list)) >= *sch.MinItems {
		short := slices.Clone(list[:*sch.MinItems-1])
		w.emit(a, VariantMinItemsViolated, path, short, path, fmt.Sprintf("cuts %s to %d items, below minItems %d", where, len(short), *sch.MinItems))
	}
	if sch.MaxItems != nil && *sch.MaxItems < maxPadding && len(list) > 0 && int64(len(list)) <= *sch.MaxItems {
		long := slices.Clone(list)
		for int64(len(long)) <= *sch.MaxItems {
			long = append(long, list[len(list)-1])
		}
		w.emit(a, VariantMaxItemsViolated, path, long, path, fmt.Sprintf("grows %s to %d items, above maxItems %d", where, len(long), *sch.MaxItems))
	}
}

func (w *variantWalker) objectRules(a atomAt, obj map[string]any, path []step) {
	sch := a.sch
	required := slices.Clone(sch.Required)
	// The validator demands the discriminating property as if it were required.
	if d := sch.Discriminator; d != nil && d.PropertyName != "" && !slices.Contains(required, d.PropertyName) {
		required = append(required, d.PropertyName)
	}
	for _, name := range required {
		if _, ok := obj[name]; !ok {
			continue
		}
		without := make(map[string]any, len(obj))
		for k, v := range obj {
			if k != name {
				without[k] = v
			}
		}
		w.emit(a, VariantRequiredMissing, path, without, append(slices.Clone(path), step{key: name}), fmt.Sprintf("removes required property %q", name))
	}
	if ap := sch.AdditionalProperties; ap != nil && ap.IsB() && !ap.B {
		name := "unexpectedProperty"
		for i := 2; ; i++ {
			_, declared := lookup(sch.Properties, name)
			_, present := obj[name]
			matched := false
			for pattern := range sch.PatternProperties.FromOldest() {
				if re := w.check.regexp(pattern); re == nil || re.MatchString(name) {
					matched = true
				}
			}
			if !declared && !present && !matched {
				break
			}
			if i > 20 {
				return
			}
			name = "unexpectedProperty" + strconv.Itoa(i)
		}
		with := make(map[string]any, len(obj)+1)
		for k, v := range obj {
			with[k] = v
		}
		with[name] = "unexpected"
		w.emit(a, VariantAdditionalProperty, path, with, append(slices.Clone(path), step{key: name}), fmt.Sprintf("adds property %q, which additionalProperties: false forbids", name))
	}
}
