package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/internal/jsonvalue"
)

// answering is the work of one stateful answer, under the tenant's lock.
type answering struct {
	s    *Store
	tn   *tenant
	r    *Resource
	op   Op
	c    Call
	dt   *decodedTemplate
	tmpl any           // the declared success body, decoded
	like *itemEncoding // the item tmpl holds, written field by field
	keys []string
	id   string
	// notes gathered on the way
	notes []Finding
}

// itemIn finds the item an answer body holds: the body itself when it
// carries the identifier field or is no wrapper, else the one object a
// wrapper holds ({"incident": {...}}). wrap is the wrapper's property.
func itemIn(v any, idField string) (obj map[string]any, wrap string) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, ""
	}
	if _, has := m[idField]; has || len(m) != 1 {
		return m, ""
	}
	for k, inner := range m {
		if im, ok := inner.(map[string]any); ok {
			return im, k
		}
	}
	return m, ""
}

// base is a fresh copy of the item the template holds, and the wrapper
// it sits in.
//
// The copy is of the item's fields only: what they hold is shared with
// the template, and no answer changes a value within a field, only sets
// fields.
func (a *answering) base() (map[string]any, string) {
	obj, wrap := itemIn(a.tmpl, a.r.IDField)
	if obj == nil {
		return map[string]any{}, wrap
	}
	return maps.Clone(obj), wrap
}

// render puts an item in the operation's template.
func (a *answering) render(obj map[string]any) *Result { return a.renderJSON(obj) }

// renderObject puts a stored object in the operation's template, as the
// JSON it was stored with.
func (a *answering) renderObject(o *object) *Result {
	if o.raw != nil {
		return a.renderJSON(json.RawMessage(o.raw))
	}
	return a.render(o.v)
}

// renderJSON puts an item in the operation's template; enc is the item
// as it is to be written (the item, or its JSON).
func (a *answering) renderJSON(enc any) *Result {
	if a.tmpl == nil {
		return &Result{Status: a.c.Status, Notes: a.notes}
	}
	var body any = enc
	if t, ok := a.tmpl.(map[string]any); ok {
		if _, wrap := itemIn(t, a.r.IDField); wrap != "" {
			t = maps.Clone(t)
			t[wrap] = enc
			body = t
		}
	}
	return a.result(a.c.Status, body)
}

// result is an answer whose body is written later, outside the tenant's
// lock: what it holds is stored objects, never changed, or copies.
func (a *answering) result(status int, body any) *Result {
	return &Result{Status: status, Notes: a.notes, value: body}
}

// idValue is the identifier text as the item's id field holds it: a
// number where the schema or the template says so.
func (a *answering) idValue(text string, like any) any {
	integer := a.r.ID.Type == "integer"
	switch like.(type) {
	case json.Number, float64, int64:
		integer = true
	}
	if integer {
		if _, err := strconv.ParseInt(text, 10, 64); err == nil {
			return json.Number(text)
		}
	}
	return text
}

// store validates obj as the operation's answer and keeps it. When it
// breaks the contract, the request's fields that break it take their prior
// values again; failing that, the operation's own synthesised item with
// obj's identifier is kept; failing that too (the identifier does not fit
// the answer's schema), the synthesised item is answered and nothing kept.
func (a *answering) store(obj, prior map[string]any, merged []string) *object {
	o, keep := a.settle(obj, prior, merged)
	if keep {
		a.keep(o)
	}
	return o
}

// settle is the work of [answering.store] that needs no lock: the nearest
// valid object, and whether it is to be kept.
func (a *answering) settle(obj, prior map[string]any, merged []string) (o *object, keep bool) {
	want := obj[a.r.IDField]
	obj = a.nearestValid(obj, prior, merged)
	if obj[a.r.IDField] != want {
		return &object{res: a.r, keys: a.keys, id: a.idOf(obj), v: obj}, false
	}
	return a.lean(newObject(a.r, a.keys, a.idOf(obj), obj, a.like)), true
}

// lean lets a new object keep only its JSON where no list filters its
// resource by a field: its decoded form is read again from the JSON on the
// rare calls that need it (an update, a snapshot), and the heap holds
// bytes instead of a map per object, which a collection would scan.
func (a *answering) lean(o *object) *object {
	if o.raw != nil && !a.s.filterable[a.r] {
		o.v = nil
	}
	return o
}

// keep stores o in the tenant's state, under the tenant's lock.
func (a *answering) keep(o *object) {
	if n := a.tn.put(a.s.cfg.Cap, o); n > 0 {
		a.notes = append(a.notes, evictedNote(a.s.cfg.Cap, n))
	}
}

func evictedNote(capacity int64, n int) Finding {
	return Finding{RuleStateEvicted, fmt.Sprintf("the tenant's state reached its cap of %d bytes; the %d oldest objects were forgotten", capacity, n)}
}

func (a *answering) idOf(obj map[string]any) string {
	t, _ := idText(obj[a.r.IDField])
	return t
}

func (a *answering) invalid(obj map[string]any) []string {
	if a.c.Valid == nil {
		return nil
	}
	r := a.render(obj)
	if r == nil || r.encode() != nil {
		return []string{"$"}
	}
	var bad []string
	for _, f := range a.c.Valid(r.Status, r.Body) {
		if f.Level == contracts.LevelError {
			bad = append(bad, f.Path)
		}
	}
	return bad
}

func (a *answering) nearestValid(obj, prior map[string]any, merged []string) map[string]any {
	bad := a.invalid(obj)
	if len(bad) == 0 {
		return obj
	}
	var dropped []string
	for _, field := range merged {
		if touches(bad, field, a.wrapPath()) {
			if v, ok := prior[field]; ok {
				obj[field] = v
			} else {
				delete(obj, field)
			}
			dropped = append(dropped, field)
		}
	}
	if len(dropped) > 0 && len(a.invalid(obj)) == 0 {
		a.notes = append(a.notes, Finding{RuleStateMergeInvalid, fmt.Sprintf(
			"the request's %s has another shape in the answer's schema (%s); the stored object keeps its prior value", quoteList(dropped), strings.Join(bad, ", "))})
		return obj
	}
	id := obj[a.r.IDField]
	plain, _ := a.base()
	plain[a.r.IDField] = id
	if len(a.invalid(plain)) == 0 {
		a.notes = append(a.notes, Finding{RuleStateMergeInvalid, fmt.Sprintf(
			"the stored object does not fit this operation's answer (%s); it is answered as synthesised, with its identifier", strings.Join(bad, ", "))})
		return plain
	}
	a.notes = append(a.notes, Finding{RuleStateIDUnfit, fmt.Sprintf(
		"the identifier %v does not fit the answer's schema (%s); the object is answered as synthesised and not kept", id, strings.Join(bad, ", "))})
	plain, _ = a.base()
	return plain
}

func (a *answering) wrapPath() string {
	if _, wrap := itemIn(a.tmpl, a.r.IDField); wrap != "" {
		return "$." + wrap
	}
	return "$"
}

// touches says whether a finding's path is within field of the item.
func touches(paths []string, field, root string) bool {
	p := root + "." + field
	for _, b := range paths {
		if b == p || strings.HasPrefix(b, p+".") || strings.HasPrefix(b, p+"[") || b == root || b == "" {
			return true
		}
	}
	return false
}

func quoteList(fs []string) string {
	q := make([]string, len(fs))
	for i, f := range fs {
		q[i] = strconv.Quote(f)
	}
	if len(q) == 1 {
		return "field " + q[0]
	}
	return "fields " + strings.Join(q, ", ")
}

func (a *answering) create() *Result {
	obj, _ := a.base()
	for _, f := range a.defaultFilters() {
		obj[f.field] = f.value
	}
	base := maps.Clone(obj)
	merged := a.merge(obj)
	b := a.tn.peek(a.r, a.keys)
	var id any
	if a.id != "" { // PUT on an item creates it under the path's identifier
		id = a.idValue(a.id, obj[a.r.IDField])
	} else {
		g := a.tn.generator(a.r, a.s.cfg.Seed)
		for range 1000 {
			id = g.Next()
			if t, _ := idText(id); b.objs[t] == nil {
				break
			}
		}
		if n, ok := id.(int64); ok {
			id = json.Number(strconv.FormatInt(n, 10))
		}
	}
	obj[a.r.IDField] = id
	base[a.r.IDField] = id
	for k, v := range a.refsFor(id) {
		if !slices.Contains(merged, k) {
			obj[k] = v
		}
		base[k] = v
	}
	o := a.store(obj, base, merged)
	return a.renderObject(o)
}

// refsFor is each field of the template's item that refers to the
// template's identifier (a url, links), rewritten to refer to id; nil when
// none does or id cannot stand in a URL as it is.
func (a *answering) refsFor(id any) map[string]any {
	if a.like == nil {
		return nil
	}
	return a.like.refs.refsOf(a.like.src, a.r.IDField).rewrite(a.like.src, id)
}

// refsFree says whether the rewritten fields need no validation: each is
// a property whose schema admits any identifier in its strings.
func (a *answering) refsFree(refs *idRefs) bool {
	if refs == nil || refs.id == "" {
		return true
	}
	_, wrap := itemIn(a.tmpl, a.r.IDField)
	item := a.s.answerItem(a.c.Op, wrap)
	for _, k := range refs.fields {
		ps := property(item, k)
		if v, ok := freeSchemas.Load(ps); ok {
			if !v.(bool) {
				return false
			}
			continue
		}
		free := freeForID(ps, 0)
		if ps != nil && propsCached.Add(1) <= maxPropsCached {
			freeSchemas.Store(ps, free)
		}
		if !free {
			return false
		}
	}
	return true
}

// freeSchemas keeps freeForID's answer per property schema.
var freeSchemas sync.Map // *base.Schema -> bool

// prepared is a create's new item, made and checked against the contract
// before the tenant's lock is taken, so that creates do their costliest
// work side by side.
type prepared struct {
	o    *object
	keep bool
}

// prepareCreate makes a POST's new item with an identifier from g. Its
// notes are kept in a; the caller commits it with [answering.commit].
func (a *answering) prepareCreate(g *Generator) *prepared {
	// What the new item sets on the template's: the list's defaults, the
	// request's fields and the identifier.
	set := make(map[string]any, 4)
	for _, f := range a.defaultFilters() {
		set[f.field] = f.value
	}
	merged := a.merge(set)
	id := g.Next()
	if n, ok := id.(int64); ok {
		id = json.Number(strconv.FormatInt(n, 10))
	}
	set[a.r.IDField] = id
	var refs *idRefs
	if a.like != nil {
		refs = a.like.refs.refsOf(a.like.src, a.r.IDField)
	}
	plain := a.plainCreate(set, merged, g) && a.refsFree(refs)
	if plain && !a.s.filterable[a.r] {
		// Kept as JSON only (see lean): written from the template's
		// fields and set, and its references to its identifier, without
		// a copy of the template.
		if raw, ok := encodeSet(set, a.like, a.idOf(set)); ok {
			return &prepared{&object{res: a.r, keys: a.keys, id: a.idOf(set), raw: raw, size: objectSize(raw)}, true}
		}
	}
	if refs != nil {
		for k, v := range refs.rewrite(a.like.src, id) {
			if _, sent := set[k]; !sent {
				set[k] = v
			}
		}
	}
	obj, _ := a.base()
	maps.Copy(obj, set)
	if plain {
		return &prepared{a.lean(newObject(a.r, a.keys, a.idOf(obj), obj, a.like)), true}
	}
	// The item before the request's fields, for those that break the
	// contract to take again.
	base, _ := a.base()
	for _, f := range a.defaultFilters() {
		base[f.field] = f.value
	}
	base[a.r.IDField] = id
	maps.Copy(base, a.refsFor(id))
	o, keep := a.settle(obj, base, merged)
	return &prepared{o, keep}
}

// answerItem is the item schema of an operation's answer, for
// [answering.plainCreate]; nil where the answer's schema chooses between
// shapes (oneOf), so that any field may decide which one it is.
type answerItem struct{ s *base.Schema }

func (s *Store) answerItem(op *contracts.Operation, wrap string) *base.Schema {
	if v, ok := s.items.Load(op); ok {
		return v.(answerItem).s
	}
	var item *base.Schema
	if top := build(responseSchema(op)); top != nil && len(top.OneOf) == 0 {
		item, _ = objectOf(responseSchema(op))
		if item != nil && wrap != "" {
			item = property(item, wrap)
		}
		if item != nil && len(item.OneOf) > 0 {
			item = nil
		}
	}
	s.items.Store(op, answerItem{item})
	return item
}

// plainCreate says whether a new item is valid on its face, so that its
// validation can be skipped: the declared answer's own item (valid, as
// the sandbox answers only valid examples and synthesis), an identifier
// the generator drew from the id's schema, defaults from the list's
// enums, and request fields each a plain value of a property without
// constraints (a string for a plain string, Stripe's metadata of strings).
// Anything else is validated.
func (a *answering) plainCreate(obj map[string]any, merged []string, g *Generator) bool {
	if a.c.Valid == nil {
		return false
	}
	_, wrap := itemIn(a.tmpl, a.r.IDField)
	item := a.s.answerItem(a.c.Op, wrap)
	if item == nil {
		return false
	}
	for _, f := range merged {
		if !plainValue(obj[f], property(item, f), 0) {
			return false
		}
	}
	for _, f := range a.defaultFilters() {
		fs := property(item, f.field)
		if fs == nil || !(plainValue(f.value, fs, 0) || len(fs.Enum) > 0 && fits(f.value, fs)) {
			return false
		}
	}
	ids := property(item, a.r.IDField)
	id := obj[a.r.IDField]
	switch {
	case ids == nil:
		return false
	case plainValue(id, ids, 0):
		return true
	}
	// An identifier of a pattern: the pattern and the length bounds are
	// all its schema may say.
	str, ok := id.(string)
	if !ok || g == nil || g.pat == nil || ids.Format != "" || len(ids.Enum) > 0 || len(ids.AllOf)+len(ids.AnyOf)+len(ids.OneOf) > 0 || !g.matches(str) {
		return false
	}
	n := utf8.RuneCountInString(str)
	return (ids.MinLength == nil || int64(n) >= *ids.MinLength) && (ids.MaxLength == nil || int64(n) <= *ids.MaxLength)
}

// plainValue says whether v is a value s admits on its face: s has one
// type, v's, and no constraint beyond it; or s is an object of such values
// under additionalProperties only.
func plainValue(v any, s *base.Schema, depth int) bool {
	if s == nil || depth > 4 || len(s.Type) != 1 || len(s.OneOf)+len(s.AnyOf)+len(s.AllOf) > 0 || s.Not != nil || len(s.Enum) > 0 || s.Const != nil {
		return false
	}
	switch t := v.(type) {
	case string:
		return s.Type[0] == "string" && s.Pattern == "" && s.Format == "" && s.MaxLength == nil && s.MinLength == nil
	case bool:
		return s.Type[0] == "boolean"
	case json.Number:
		if s.Minimum != nil || s.Maximum != nil || s.ExclusiveMinimum != nil || s.ExclusiveMaximum != nil || s.MultipleOf != nil {
			return false
		}
		if s.Type[0] == "integer" {
			_, err := t.Int64()
			return err == nil
		}
		_, err := t.Float64()
		return s.Type[0] == "number" && err == nil
	case map[string]any:
		if s.Type[0] != "object" || s.Properties != nil && s.Properties.Len() > 0 || len(s.Required) > 0 || s.MaxProperties != nil || s.MinProperties != nil ||
			s.PatternProperties != nil && s.PatternProperties.Len() > 0 || s.PropertyNames != nil || s.AdditionalProperties == nil || !s.AdditionalProperties.IsA() {
			return false
		}
		extra := build(s.AdditionalProperties.A)
		for _, e := range t {
			if !plainValue(e, extra, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// commit keeps a prepared item, under the tenant's lock. An identifier
// taken meanwhile (by a seed or a PUT) is made again, as create does.
func (a *answering) commit(p *prepared) *Result {
	if p.keep && a.tn.peek(a.r, a.keys).objs[p.o.id] != nil {
		a.notes = nil
		return a.create()
	}
	if p.keep {
		a.keep(p.o)
	}
	return a.renderObject(p.o)
}

// existing is the stored item the path names, or one synthesised for an
// identifier the state has not seen (nil when strict, or deleted).
func (a *answering) existing() *object {
	// Only a kept object makes a bucket: a read of an unknown parent
	// leaves nothing behind.
	b := a.tn.peek(a.r, a.keys)
	if o := b.objs[a.id]; o != nil {
		return o
	}
	if b.deleted[a.id] != nil || a.s.cfg.Strict || a.id == "" {
		return nil
	}
	obj, _ := a.base()
	base := maps.Clone(obj)
	obj[a.r.IDField] = a.idValue(a.id, obj[a.r.IDField])
	maps.Copy(obj, a.refsFor(obj[a.r.IDField]))
	if bad := a.invalid(obj); len(bad) > 0 {
		// The identifier does not fit the schema: the object cannot be
		// kept under it, and is answered as synthesised.
		a.notes = append(a.notes, Finding{RuleStateIDUnfit, fmt.Sprintf(
			"the identifier %q does not fit the answer's schema (%s); the object is answered as synthesised and not kept", a.id, strings.Join(bad, ", "))})
		return &object{res: a.r, keys: a.keys, id: a.id, v: base}
	}
	return a.store(obj, base, nil)
}

// peekAnswer answers a list, or a read of a stored item, without
// changing the tenant: nil when the read needs more.
func (a *answering) peekAnswer() *Result {
	if a.op.Kind == List {
		return a.list()
	}
	if o := a.tn.peek(a.r, a.keys).objs[a.id]; o != nil {
		return a.renderObject(o)
	}
	return nil
}

func (a *answering) read() *Result {
	o := a.existing()
	if o == nil {
		return &Result{NotFound: true, Notes: a.notes}
	}
	return a.renderObject(o)
}

func (a *answering) update() *Result {
	o := a.existing()
	if o == nil {
		return &Result{NotFound: true, Notes: a.notes}
	}
	prior := o.value()
	obj := jsonvalue.Clone(prior).(map[string]any)
	merged := a.merge(obj)
	obj[a.r.IDField] = prior[a.r.IDField]
	kept := a.store(obj, prior, merged)
	return a.renderObject(kept)
}

func (a *answering) delete() *Result {
	b := a.tn.peek(a.r, a.keys)
	o := b.objs[a.id]
	if o == nil && (b.deleted[a.id] != nil || a.s.cfg.Strict) {
		return &Result{NotFound: true}
	}
	if o != nil {
		a.tn.remove(o, true)
	}
	// The tombstone is counted in the cap, and goes at it as objects do.
	if n := a.tn.bury(a.s.cfg.Cap, a.tn.bucket(a.r, a.keys), a.r, a.keys, a.id); n > 0 {
		a.notes = append(a.notes, evictedNote(a.s.cfg.Cap, n))
	}
	if a.tmpl == nil {
		return &Result{Status: a.c.Status}
	}
	body := jsonvalue.Clone(a.tmpl)
	if m, ok := body.(map[string]any); ok {
		if _, has := m[a.r.IDField]; has {
			m[a.r.IDField] = a.idValue(a.id, m[a.r.IDField])
		}
	}
	return a.result(a.c.Status, body)
}

// merge copies the request's fields that the item's schema declares into
// obj, converted to the schema's types, and returns their names. The
// identifier is never taken from a body.
func (a *answering) merge(obj map[string]any) []string {
	fields := a.requestFields()
	if fields == nil {
		return nil
	}
	// A request wrapped like the answer ({"incident": {...}}) is unwrapped.
	if _, wrap := itemIn(a.tmpl, a.r.IDField); wrap != "" {
		if inner, ok := fields[wrap].(map[string]any); ok && len(fields) == 1 {
			fields = inner
		}
	}
	props := objectProps(a.r.item)
	idx := propIndexOf(a.r.item, props)
	// Each property taken, by its index, and the request's name for it.
	type take struct {
		i    int
		name string
	}
	takes := make([]take, 0, len(fields))
	for name := range fields {
		i, ok := idx.exact[name]
		if !ok {
			// Twilio takes FriendlyName and answers friendly_name: a
			// field the item names only in another case or with
			// underscores is the same field, where one property alone
			// reads so and the request does not also send it by name.
			if i, ok = idx.loose[looseName(name)]; !ok || i < 0 {
				continue
			}
			if _, both := fields[props[i].name]; both {
				continue
			}
		}
		if props[i].name != a.r.IDField {
			takes = append(takes, take{i, name})
		}
	}
	// In the item's order; two loose spellings of one property (and no
	// exact one) take neither.
	slices.SortFunc(takes, func(x, y take) int { return x.i - y.i })
	merged := make([]string, 0, len(takes))
	for j, t := range takes {
		if j > 0 && takes[j-1].i == t.i || j+1 < len(takes) && takes[j+1].i == t.i {
			continue
		}
		p := props[t.i]
		obj[p.name] = coerce(fields[t.name], build(p.proxy), 0)
		merged = append(merged, p.name)
	}
	return merged
}

// propIndex finds an item's properties by name, and by their loose name
// (see looseName); a loose name that two properties share is -1.
type propIndex struct {
	exact map[string]int
	loose map[string]int
}

var propIndexes sync.Map // *base.Schema -> *propIndex

func propIndexOf(s *base.Schema, props []prop) *propIndex {
	if v, ok := propIndexes.Load(s); ok {
		return v.(*propIndex)
	}
	idx := &propIndex{exact: make(map[string]int, len(props)), loose: make(map[string]int, len(props))}
	for i, p := range props {
		idx.exact[p.name] = i
		l := looseName(p.name)
		if _, dup := idx.loose[l]; dup {
			idx.loose[l] = -1
		} else {
			idx.loose[l] = i
		}
	}
	if s != nil && propsCached.Add(1) <= maxPropsCached {
		propIndexes.Store(s, idx)
	}
	return idx
}

// looseName is a field's name in lower case without underscores and
// dashes: FriendlyName, friendly_name and friendly-name read the same.
func looseName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_' || c == '-':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// requestFields decodes the request body: JSON, or a form with Stripe's
// bracketed names (metadata[plan]=pro, items[0][price]=p).
func (a *answering) requestFields() map[string]any {
	if len(a.c.Body) == 0 {
		return nil
	}
	ct := a.c.Header.Get("Content-Type")
	if ct != "application/x-www-form-urlencoded" && ct != "application/json" {
		ct, _, _ = mime.ParseMediaType(ct)
	}
	if ct == "application/x-www-form-urlencoded" {
		if out, ok := plainForm(a.c.Body); ok {
			return out
		}
		vals, err := url.ParseQuery(string(a.c.Body))
		if err != nil {
			return nil
		}
		return formFields(vals)
	}
	var m map[string]any
	if decode(a.c.Body, &m) != nil {
		return nil
	}
	return m
}

// plainForm reads a form whose names are all plain (no brackets), as
// formFields reads it: each name takes its last value. ok is false for
// any other form, and for one url.ParseQuery refuses, which the caller
// reads the general way.
func plainForm(body []byte) (out map[string]any, ok bool) {
	if bytes.IndexByte(body, '[') >= 0 || bytes.IndexByte(body, ';') >= 0 {
		return nil, false
	}
	// The size hint is bounded: a hostile body may be all separators.
	out = make(map[string]any, min(bytes.Count(body, []byte("&"))+1, 64))
	for rest := string(body); rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil || strings.IndexByte(k, '[') >= 0 {
			return nil, false
		}
		if v, err = url.QueryUnescape(v); err != nil {
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

// formFields nests bracketed form names into maps; a map whose keys are
// all indexes becomes an array in [coerce].
func formFields(vals url.Values) map[string]any {
	out := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		if strings.IndexByte(name, '[') < 0 {
			// A plain name takes its last value.
			if v := vals[name]; len(v) > 0 {
				out[name] = v[len(v)-1]
			}
			continue
		}
		path := splitBrackets(name)
		if len(path) == 0 || len(path) > 16 {
			continue
		}
		cur := out
		for i, seg := range path {
			if seg == "" { // tags[]=a appends
				seg = strconv.Itoa(len(cur))
			}
			if i == len(path)-1 {
				v := vals[name]
				if len(v) == 1 || strings.HasSuffix(name, "[]") {
					if strings.HasSuffix(name, "[]") {
						for j, e := range v {
							cur[strconv.Itoa(j)] = e
						}
					} else {
						cur[seg] = v[0]
					}
				} else {
					cur[seg] = v[len(v)-1]
				}
				break
			}
			next, ok := cur[seg].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[seg] = next
			}
			cur = next
		}
	}
	return out
}

// splitBrackets splits "a[b][0]" into a, b, 0; "tags[]" into tags and ""
// handled by its caller.
func splitBrackets(name string) []string {
	i := strings.IndexByte(name, '[')
	if i < 0 {
		return []string{name}
	}
	out := []string{name[:i]}
	rest := name[i:]
	for strings.HasPrefix(rest, "[") {
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return nil
		}
		if rest[1:j] != "" {
			out = append(out, rest[1:j])
		}
		rest = rest[j+1:]
	}
	if rest != "" {
		return nil
	}
	return out
}

// coerce converts a decoded request value to the schema's type where a
// form leaves it a string or a map of indexes.
func coerce(v any, s *base.Schema, depth int) any {
	if s == nil || depth > 16 {
		return v
	}
	switch t := v.(type) {
	case string:
		switch {
		case hasType(s, "integer"):
			if _, err := strconv.ParseInt(t, 10, 64); err == nil {
				return json.Number(t)
			}
		case hasType(s, "number"):
			if _, err := strconv.ParseFloat(t, 64); err == nil {
				return json.Number(t)
			}
		case hasType(s, "boolean"):
			if b, err := strconv.ParseBool(t); err == nil {
				return b
			}
		}
		if t == "" && (hasType(s, "object") || hasType(s, "null") || s.Nullable != nil && *s.Nullable) {
			// Stripe's way of clearing a field: metadata= or description=.
			if hasType(s, "null") || s.Nullable != nil && *s.Nullable {
				return nil
			}
		}
		return t
	case map[string]any:
		if hasType(s, "array") {
			idx := make([]int, 0, len(t))
			for k := range t {
				n, err := strconv.Atoi(k)
				if err != nil || n < 0 {
					return v
				}
				idx = append(idx, n)
			}
			slices.Sort(idx)
			var items *base.Schema
			if s.Items != nil && s.Items.IsA() {
				items = build(s.Items.A)
			}
			arr := make([]any, 0, len(idx))
			for _, n := range idx {
				arr = append(arr, coerce(t[strconv.Itoa(n)], items, depth+1))
			}
			return arr
		}
		out := make(map[string]any, len(t))
		var extra *base.Schema
		if s.AdditionalProperties != nil && s.AdditionalProperties.IsA() {
			extra = build(s.AdditionalProperties.A)
		}
		for k, e := range t {
			ps := property(s, k)
			if ps == nil {
				ps = extra
			}
			out[k] = coerce(e, ps, depth+1)
		}
		return out
	case []any:
		var items *base.Schema
		if s.Items != nil && s.Items.IsA() {
			items = build(s.Items.A)
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = coerce(e, items, depth+1)
		}
		return out
	}
	return v
}
