package state

import (
	"fmt"
	"mime"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"

	"github.com/tetherkit/tether/contracts"
)

// role is where an operation's path stands in its resource.
type role int

const (
	onCollection role = iota
	onItem
)

// placed is an operation with its resource and role, before the kind is
// decided.
type placed struct {
	op   *contracts.Operation
	res  *Resource
	role role
}

var (
	deleteWord = regexp.MustCompile(`(?i)(delete|remove|destroy|archive)`)
	idemWord   = regexp.MustCompile(`(?i)idempot`)
	rpcMethod  = regexp.MustCompile(`^[a-zA-Z]+(?:\.[a-zA-Z]+)+$`)
)

// classify decides every operation's resource and kind, folds paths that
// are only actions into the resource they act on, and drops groups that
// turned out not to be resources.
func (inf *inferrer) classify() {
	var all []placed
	for _, op := range inf.c.Operations() {
		ps := shapeOf(op.Path)
		n := len(ps.segs)
		if f, ok := inf.forced[op.Path]; ok {
			all = append(all, placed{op, inf.byKey["name:"+f.name], f.role})
			continue
		}
		switch {
		case n >= 2 && isItem(ps.segs):
			all = append(all, placed{op, inf.byKey[key(ps.segs[:n-1])], onItem})
		case n >= 1 && isLiteral(ps.segs[n-1]) && inf.byKey[key(ps.segs)] != nil:
			all = append(all, placed{op, inf.byKey[key(ps.segs)], onCollection})
		default:
			reason := "its path ends in a parameter that follows another parameter, so it names no collection"
			if n == 0 {
				reason = "it is the API's root path, which names no collection"
			} else if n == 1 {
				reason = "its only segment is a parameter, so it names no collection"
			} else if _, ok := param(ps.segs[n-1]); !ok && !isLiteral(ps.segs[n-1]) {
				reason = fmt.Sprintf("its last segment %q mixes text and parameters, so it names no collection", ps.segs[n-1])
			}
			inf.note(op, reason)
		}
	}
	// Creates first, so that PUT on an item knows whether something else creates.
	hasPostCreate := map[*Resource]bool{}
	for _, p := range all {
		if p.role == onCollection && p.op.Method == "POST" {
			hasPostCreate[p.res] = true
		}
	}
	for _, p := range all {
		op := Op{OperationID: p.op.ID, Method: p.op.Method, Path: p.op.Path, Line: p.op.Line, Column: p.op.Column}
		if p.role == onItem {
			switch p.op.Method {
			case "GET":
				op.Kind, op.Inferred = Read, "GET on the item path"
			case "DELETE":
				op.Kind, op.Inferred = Delete, "DELETE on the item path"
			case "PATCH":
				op.Kind, op.Inferred = Update, "PATCH on the item path"
			case "PUT":
				if hasPostCreate[p.res] {
					op.Kind, op.Inferred = Update, "PUT on the item path, which the collection's POST creates"
				} else {
					op.Kind, op.Inferred = Create, "PUT on the item path, and nothing else creates"
					hasPostCreate[p.res] = true
				}
			case "POST":
				if deleteWord.MatchString(p.op.ID) {
					op.Kind, op.Inferred = Delete, "POST on the item path, operation id "+strconv.Quote(p.op.ID)
				} else {
					op.Kind, op.Inferred = Update, "POST on the item path"
				}
			default:
				op.Kind, op.Action, op.Inferred = Action, strings.ToLower(p.op.Method), p.op.Method+" on the item path"
			}
		} else {
			switch p.op.Method {
			case "GET":
				if _, field, ok := listItems(responseSchema(p.op)); ok {
					op.Kind, op.Inferred = List, "GET on the collection, answering a list"
					if field != "" {
						op.Inferred += " in " + strconv.Quote(field)
					}
					if p.res.list == "" {
						p.res.list = field
					}
				} else {
					op.Kind, op.Action, op.Inferred = Action, "get", "GET on the collection path, answering one object, not a list"
				}
			case "POST":
				op.Kind, op.Inferred = Create, "POST on the collection"
			case "DELETE":
				op.Kind, op.Action, op.Inferred = Action, "delete-all", "DELETE on the collection"
			default:
				op.Kind, op.Action, op.Inferred = Action, strings.ToLower(p.op.Method), p.op.Method+" on the collection"
			}
		}
		op.Idempotency = idempotencyHeader(p.op)
		if op.Kind == List {
			op.Pagination = paginationOf(p.op)
		}
		p.res.Ops = append(p.res.Ops, op)
		if op.Kind == Create && op.Idempotency != "" && p.res.Idempotency == "" {
			p.res.Idempotency = op.Idempotency
		}
	}
	for _, r := range inf.m.Resources {
		{
			// A read's answer is the best view of the item; a create's next.
			for _, k := range []Kind{Read, Create, Update, List} {
				if o := r.Op(k); o != nil {
					if op, ok := inf.c.Operation(o.OperationID); ok {
						if s, name := inf.itemSchemaOf(op, k); s != nil {
							r.item, r.Schema = s, name
							break
						}
					}
				}
			}
		}
	}
	inf.fold()
}

// isItem reports whether a path's last segment is a lone parameter after
// a literal one: /customers/{customer}.
func isItem(segs []string) bool {
	n := len(segs)
	_, ok := param(segs[n-1])
	return ok && isLiteral(segs[n-2])
}

// fold turns groups that have no item path into what they are: actions on
// the item or collection above them (/charges/{charge}/capture,
// /customers/search), sub-resources that only list or create
// (/incidents/{id}/notes), or nothing a resource can be (/balance).
func (inf *inferrer) fold() {
	keep := inf.m.Resources[:0:0]
	dropped := map[*Resource]bool{}
	for _, r := range inf.m.Resources {
		if r.Item != "" || r.Name != "" || r.Collection == "" {
			keep = append(keep, r) // an item path, or grouped by the overrides
			continue
		}
		ps := shapeOf(r.Collection)
		up := ps.segs[:len(ps.segs)-1]
		last := ps.segs[len(ps.segs)-1]
		var above *Resource
		onItem := false
		if n := len(up); n >= 2 && isItem(up) {
			above, onItem = inf.byKey[key(up[:n-1])], true
		} else if n >= 1 && isLiteral(up[n-1]) {
			above = inf.byKey[key(up)]
			if above != nil && above.Collection == "" {
				above = nil
			}
		}
		if dropped[above] {
			above = nil
		}
		lists, creates := r.Op(List) != nil, r.Op(Create) != nil
		dropped[r] = true
		switch {
		case above != nil && onItem && (lists || (creates && plural(last) && !sameSchema(r, above))):
			keep = append(keep, r) // a sub-collection of the item above
			delete(dropped, r)
		case above != nil:
			for _, o := range r.Ops {
				// A search below a collection still pages; nothing else does.
				o.Action = strings.ToLower(last)
				if o.Kind != List {
					o.Pagination = nil
				}
				where := "the collection"
				if onItem {
					where = "the item"
				}
				o.Inferred = fmt.Sprintf("%s on %s, below %s", o.Method, last, where)
				o.Kind = Action
				above.Ops = append(above.Ops, o)
			}
		case rpcMethod.MatchString(last):
			for _, o := range r.Ops {
				inf.noteOp(o, fmt.Sprintf("%q is an RPC-style method name (noun.verb), not a collection", last))
			}
		case !lists && (r.item == nil || idField(r) == ""):
			for _, o := range r.Ops {
				inf.noteOp(o, "nothing lists or reads what it answers, which carries no identifier, so it is an RPC-style method rather than a collection")
			}
		case lists || creates:
			keep = append(keep, r) // a collection whose items have no path of their own
			delete(dropped, r)
		default:
			for _, o := range r.Ops {
				inf.noteOp(o, "it answers one object at a path that has no item path below it and lists nothing, so it is not a collection (a singleton, or an RPC-style method)")
			}
		}
	}
	inf.m.Resources = keep
	for _, r := range inf.m.Resources {
		slices.SortStableFunc(r.Ops, func(a, b Op) int { return a.Line - b.Line })
	}
}

func plural(s string) bool {
	s = strings.ToLower(s)
	return strings.HasSuffix(s, "s") && !strings.HasSuffix(s, "ss")
}

func sameSchema(a, b *Resource) bool {
	return a.item != nil && (a.item == b.item || (a.Schema != "" && a.Schema == b.Schema))
}

// name gives every resource its Name and Parent.
func (inf *inferrer) name() {
	count := map[string]int{}
	for _, r := range inf.m.Resources {
		ls := inf.lits[r]
		if len(ls) > 0 {
			count[ls[len(ls)-1]]++
		}
	}
	for _, r := range inf.m.Resources {
		ls := inf.lits[r]
		switch {
		case r.Name != "":
			continue // named by the overrides
		case len(ls) == 0:
			r.Name = strings.Trim(r.Collection+r.Item, "/")
		case count[ls[len(ls)-1]] == 1:
			r.Name = ls[len(ls)-1]
		default:
			r.Name = strings.Join(ls, "/")
		}
		ps := shapeOf(r.Collection)
		if r.Collection == "" {
			ps = shapeOf(r.Item)
			ps.segs = ps.segs[:len(ps.segs)-1]
		}
		up := ps.segs[:len(ps.segs)-1]
		if n := len(up); n >= 2 && isItem(up) {
			if p := inf.byKey[key(up[:n-1])]; p != nil && p.Item != "" && slices.Contains(inf.m.Resources, p) {
				r.Parent = p.Name
			}
		}
	}
	// Parents are named first above only when they sort first; fix the rest.
	for _, r := range inf.m.Resources {
		if r.Parent == "" || inf.byKey["name:"+r.Name] == r {
			continue
		}
		ps := shapeOf(r.Collection)
		if r.Collection == "" {
			ps = shapeOf(r.Item)
			ps.segs = ps.segs[:len(ps.segs)-1]
		}
		up := ps.segs[:len(ps.segs)-1]
		r.Parent = inf.byKey[key(up[:len(up)-1])].Name
	}
}

func (inf *inferrer) note(op *contracts.Operation, reason string) {
	inf.m.Notes = append(inf.m.Notes, Note{OperationID: op.ID, Method: op.Method, Path: op.Path, Line: op.Line, Column: op.Column, Reason: reason})
}

func (inf *inferrer) noteOp(o Op, reason string) {
	inf.m.Notes = append(inf.m.Notes, Note{OperationID: o.OperationID, Method: o.Method, Path: o.Path, Line: o.Line, Column: o.Column, Reason: reason})
}

// successResponse is the operation's first 2xx response, else its default.
func successResponse(op *contracts.Operation) *v3.Response {
	_, o := op.Model()
	if o == nil || o.Responses == nil {
		return nil
	}
	var best *v3.Response
	bestCode := 1000
	for code, r := range o.Responses.Codes.FromOldest() {
		n, err := strconv.Atoi(code)
		if code == "2XX" || code == "2xx" {
			n, err = 299, nil
		}
		if err == nil && n >= 200 && n < 300 && n < bestCode && r != nil {
			best, bestCode = r, n
		}
	}
	if best == nil {
		best = o.Responses.Default
	}
	return best
}

// jsonMedia is the response's JSON content, else its first content.
func jsonMedia(content *orderedmap.Map[string, *v3.MediaType]) *v3.MediaType {
	var first *v3.MediaType
	for mt, m := range content.FromOldest() {
		if m == nil {
			continue
		}
		if first == nil {
			first = m
		}
		t, _, err := mime.ParseMediaType(mt)
		if err == nil && (t == "application/json" || strings.HasSuffix(t, "+json") || t == "text/json") {
			return m
		}
	}
	return first
}

// responseMedia is the success response's media, or nil.
func responseMedia(op *contracts.Operation) *v3.MediaType {
	r := successResponse(op)
	if r == nil || r.Content == nil {
		return nil
	}
	return jsonMedia(r.Content)
}

// responseSchema is the schema of the success response's body, or nil.
func responseSchema(op *contracts.Operation) *base.SchemaProxy {
	m := responseMedia(op)
	if m == nil {
		return nil
	}
	return m.Schema
}

func build(p *base.SchemaProxy) *base.Schema {
	if p == nil {
		return nil
	}
	return p.Schema()
}

func hasType(s *base.Schema, t string) bool { return slices.Contains(s.Type, t) }

// property returns the schema of property name, looking through allOf.
func property(s *base.Schema, name string) *base.Schema {
	for _, v := range objectProps(s) {
		if v.name == name {
			return build(v.proxy)
		}
	}
	return nil
}

type prop struct {
	name  string
	proxy *base.SchemaProxy
}

// objectProps lists an object schema's properties, those of its allOf
// members included, bounded so a cyclic allOf cannot loop.
func objectProps(s *base.Schema) []prop {
	if s == nil {
		return nil
	}
	if v, ok := propsCache.Load(s); ok {
		return v.([]prop)
	}
	out := walkProps(s)
	if propsCached.Add(1) <= maxPropsCached {
		propsCache.Store(s, out)
	}
	return out
}

// The properties of the schemas answers are built from are looked up on
// every stateful call; a built schema does not change, so they are kept,
// up to a bound.
var (
	propsCache  sync.Map // *base.Schema -> []prop
	propsCached atomic.Int64
)

const maxPropsCached = 1 << 16

func walkProps(s *base.Schema) []prop {
	var out []prop
	seen := map[string]bool{}
	var walk func(s *base.Schema, depth int)
	walk = func(s *base.Schema, depth int) {
		if s == nil || depth > 4 {
			return
		}
		for k, v := range s.Properties.FromOldest() {
			if !seen[k] {
				seen[k] = true
				out = append(out, prop{k, v})
			}
		}
		for _, a := range s.AllOf {
			walk(build(a), depth+1)
		}
	}
	walk(s, 0)
	return out
}

// objectOf picks the object an answer holds: the schema itself, or among
// anyOf/oneOf branches the one with most properties that is not a
// "deleted" stand-in (Stripe answers customer or deleted_customer).
func objectOf(p *base.SchemaProxy) (*base.Schema, string) {
	s := build(p)
	if s == nil {
		return nil, ""
	}
	name := refName(p)
	branches := append(append([]*base.SchemaProxy(nil), s.AnyOf...), s.OneOf...)
	if len(objectProps(s)) > 0 || len(branches) == 0 {
		return s, name
	}
	var best *base.Schema
	bestName, most := "", -1
	for _, b := range branches {
		bs := build(b)
		if bs == nil || strings.Contains(strings.ToLower(refName(b)+bs.Title), "deleted") {
			continue
		}
		if n := len(objectProps(bs)); n > most {
			best, bestName, most = bs, refName(b), n
		}
	}
	return best, bestName
}

func refName(p *base.SchemaProxy) string {
	if p == nil || !p.IsReference() {
		return ""
	}
	return p.GetReference()
}

var listFields = []string{"data", "items", "results", "records", "entries", "values", "elements", "objects"}

// listItems finds the items of a list answer: a bare array, or the array
// property of a page object (Stripe's data, Twilio's calls). field is the
// property, "" for a bare array.
func listItems(p *base.SchemaProxy) (items *base.SchemaProxy, field string, ok bool) {
	s := build(p)
	if s == nil {
		return nil, "", false
	}
	if hasType(s, "array") || (len(s.Type) == 0 && s.Items != nil) {
		if s.Items != nil && s.Items.IsA() {
			return s.Items.A, "", true
		}
		return nil, "", true
	}
	var arrays []prop
	for _, pr := range objectProps(s) {
		ps := build(pr.proxy)
		if ps != nil && hasType(ps, "array") {
			arrays = append(arrays, pr)
		}
	}
	pick := func(pr prop) (*base.SchemaProxy, string, bool) {
		ps := build(pr.proxy)
		if ps.Items != nil && ps.Items.IsA() {
			return ps.Items.A, pr.name, true
		}
		return nil, pr.name, true
	}
	for _, f := range listFields {
		for _, pr := range arrays {
			if pr.name == f {
				return pick(pr)
			}
		}
	}
	if len(arrays) == 1 {
		return pick(arrays[0])
	}
	return nil, "", false
}

// itemSchemaOf is the item's schema as the operation shows it.
func (inf *inferrer) itemSchemaOf(op *contracts.Operation, k Kind) (*base.Schema, string) {
	switch k {
	case Read, Create, Update:
		s, name := objectOf(responseSchema(op))
		if s != nil && len(objectProps(s)) > 0 {
			return s, name
		}
	case List:
		if items, _, ok := listItems(responseSchema(op)); ok && items != nil {
			s, name := objectOf(items)
			if s != nil && len(objectProps(s)) > 0 {
				return s, name
			}
		}
	}
	return nil, ""
}

// idempotencyHeader is the header parameter the operation declares for
// idempotent retries, or "".
func idempotencyHeader(op *contracts.Operation) string {
	for _, p := range op.Parameters() {
		if p.In == "header" && idemWord.MatchString(p.Name) {
			return p.Name
		}
	}
	return ""
}
