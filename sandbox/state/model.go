// Package state holds what the sandbox knows of a vendor's resources: the
// model inferred from its contract, and (as the sandbox grows stateful)
// the per-tenant objects a call creates and a later call sees.
//
// The model comes from the contract alone, by REST conventions, with an
// overrides file for what the conventions get wrong:
//
//   - A collection path and its item path (/v1/customers and
//     /v1/customers/{customer}) form a [Resource], keyed by the path
//     parameters before the item's own (owner and repo for
//     /repos/{owner}/{repo}/issues). A suffix such as Twilio's .json
//     (/Calls/{Sid}.json) is kept apart from the names.
//   - Each operation on those paths gets a [Kind]: create (POST on the
//     collection, or PUT on an item when nothing else creates), read,
//     list, update (PATCH, PUT or POST on the item), delete, and actions
//     (POST /charges/{charge}/capture). A path under an item that has a
//     collection of its own is a sub-resource, with [Resource.Parent] set.
//   - The identifier field comes from the item's schema (the property
//     named like the item's path parameter, as number for issue_number,
//     else id), and its [IDShape] from the schema's type, pattern and
//     format, the contract's examples, and samples of real objects
//     ([WithSamples]: cassettes' answers, fixture files), else a plain
//     unique string. [IDShape.Generator] makes ids of that shape.
//   - Each list's [Pagination] style comes from its parameters, response
//     headers and response schema; each create's idempotency header from
//     its declared header parameters.
//
// What could not be inferred is part of the model: each [Note] names the
// operation and says why. Inference never fails on a loaded contract; only
// an overrides file that names what the contract lacks is an error.
package state

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/tetherkit/tether/contracts"
)

// Kind is what an operation does to a resource.
type Kind string

// The kinds of operation on a resource.
const (
	Create Kind = "create" // adds an item: POST on the collection, or PUT on an item
	Read   Kind = "read"   // one item: GET on the item path
	List   Kind = "list"   // the items, a page at a time: GET on the collection
	Update Kind = "update" // changes an item: PATCH, PUT or POST on the item path
	Delete Kind = "delete" // removes an item
	Action Kind = "action" // anything else on an item or a collection, named by Op.Action
)

// Model is the resources inferred from one contract.
type Model struct {
	Contract  string      `json:"contract,omitempty"`  // the contract's file name
	Resources []*Resource `json:"resources,omitempty"` // sorted by collection path
	// Notes say, per operation, what could not be inferred and why, and
	// which operations belong to no resource.
	Notes []Note `json:"notes,omitempty"`
}

// Resource is one kind of vendor object with a collection and items.
type Resource struct {
	// Name is how the model, its printout and the overrides file call the
	// resource: the collection's last path segment ("customers"), with the
	// parent's name before it for a sub-resource ("customers/sources"), or
	// every literal segment where the last one is not unique.
	Name       string   `json:"name,omitempty"`
	Collection string   `json:"collection,omitempty"` // the collection path template; "" when the contract has none
	Item       string   `json:"item,omitempty"`       // the item path template; "" when the contract has none
	Suffix     string   `json:"suffix,omitempty"`     // a suffix every path of the resource carries, such as ".json"
	Keys       []string `json:"keys,omitempty"`       // the path parameters before the item's own: the parent key
	IDParam    string   `json:"id_param,omitempty"`   // the item path's own parameter ("customer", "issue_number")
	IDField    string   `json:"id_field,omitempty"`   // the item's identifier property ("id", "number"); "" when unknown
	ID         IDShape  `json:"id,omitempty"`         // what its identifiers look like
	Schema     string   `json:"schema,omitempty"`     // the item schema's name, "#/components/schemas/customer"; "" when inline
	Parent     string   `json:"parent,omitempty"`     // the parent resource's Name, for a sub-resource
	Ops        []Op     `json:"ops,omitempty"`        // in contract order
	// Idempotency is the request header the resource's creates declare for
	// idempotent retries ("Idempotency-Key"); "" when none declares one.
	Idempotency string `json:"idempotency,omitempty"`

	item *base.Schema // the item's schema, for later synthesis
	list string       // the items' property of a list answer, for IDField lookups
}

// Op is one operation of a resource.
type Op struct {
	Kind        Kind        `json:"kind,omitempty"`
	Action      string      `json:"action,omitempty"` // the action's name (the path segment or operation id), for Kind Action
	OperationID string      `json:"operation_id,omitempty"`
	Method      string      `json:"method,omitempty"`
	Path        string      `json:"path,omitempty"`
	Line        int         `json:"line,omitempty"` // where the contract declares it
	Column      int         `json:"column,omitempty"`
	Pagination  *Pagination `json:"pagination,omitempty"` // for Kind List
	// Idempotency is the idempotency header this operation declares; "" for none.
	Idempotency string `json:"idempotency,omitempty"`
	// Inferred says how the kind was decided, for the printout.
	Inferred string `json:"inferred,omitempty"`
}

// Note is what inference could not decide about one operation, and why.
type Note struct {
	OperationID string `json:"operation_id,omitempty"`
	Method      string `json:"method,omitempty"`
	Path        string `json:"path,omitempty"`
	Line        int    `json:"line,omitempty"`
	Column      int    `json:"column,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

func (n Note) String() string {
	return fmt.Sprintf("%s %s (%s, line %d): %s", n.Method, n.Path, n.OperationID, n.Line, n.Reason)
}

// Option configures [Infer].
type Option func(*inferOptions)

type inferOptions struct {
	samples   []Sample
	overrides *Overrides
}

// WithSamples gives objects the vendor is known to answer with (from
// cassettes, fixture files): their identifiers decide an [IDShape] the
// contract leaves open, as Stripe's fixtures show cus_ before a customer's
// id. A sample belongs to the resource whose schema it fits best.
func WithSamples(samples ...Sample) Option {
	return func(o *inferOptions) { o.samples = append(o.samples, samples...) }
}

// WithOverrides corrects the inferred model with what an overrides file
// says ([ParseOverrides]).
func WithOverrides(ov *Overrides) Option { return func(o *inferOptions) { o.overrides = ov } }

// Infer builds the resource model of a loaded contract. It never fails and
// never panics on a contract [contracts.Load] accepted; an error comes only
// from overrides that name paths or resources the contract lacks.
func Infer(c *contracts.Contract, opts ...Option) (m *Model, err error) {
	// The schemas come from libopenapi, which takes untrusted input; a
	// panic in it must become an error naming the contract.
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, &contracts.Error{File: c.File(), Msg: fmt.Sprintf("resource inference failed on this contract: %v", r),
				Hint: "please report it with the contract attached"}
		}
	}()
	var o inferOptions
	for _, opt := range opts {
		opt(&o)
	}
	inf := &inferrer{c: c, m: &Model{Contract: c.File()}, byKey: map[string]*Resource{}}
	if o.overrides != nil {
		f, err := o.overrides.forcedPaths(c)
		if err != nil {
			return nil, err
		}
		inf.forced = f
	}
	inf.group()
	inf.classify()
	inf.name()
	for _, r := range inf.m.Resources {
		inf.identify(r)
	}
	inf.sample(o.samples)
	if o.overrides != nil {
		err = o.overrides.apply(inf)
	}
	slices.SortStableFunc(inf.m.Notes, func(a, b Note) int { return cmp.Compare(a.Line, b.Line) })
	return inf.m, err
}

// Resource returns the resource called name, or nil.
func (m *Model) Resource(name string) *Resource {
	for _, r := range m.Resources {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Op returns the resource's first operation of kind k, or nil.
func (r *Resource) Op(k Kind) *Op {
	for i := range r.Ops {
		if r.Ops[i].Kind == k {
			return &r.Ops[i]
		}
	}
	return nil
}

// inferrer holds the work of one [Infer].
type inferrer struct {
	c     *contracts.Contract
	m     *Model
	byKey map[string]*Resource // by the collection's shape
	// placed operations, by path template and method
	ops map[*contracts.Operation]*Resource
	// literal segments of each resource's collection, for naming
	lits map[*Resource][]string
	// paths the overrides place in named resources
	forced map[string]forced
}

// pathShape is a template split into segments, the suffix of its last
// segment kept apart.
type pathShape struct {
	segs   []string // as written, the suffix removed from the last one
	suffix string   // ".json"
}

var suffixRE = regexp.MustCompile(`^(.*[^.])(\.(?:json|xml|csv))$`)

func shapeOf(template string) pathShape {
	parts := strings.Split(strings.Trim(template, "/"), "/")
	if len(parts) == 1 && parts[0] == "" {
		parts = nil
	}
	ps := pathShape{segs: parts}
	if n := len(parts); n > 0 {
		if m := suffixRE.FindStringSubmatch(parts[n-1]); m != nil {
			ps.segs = append(parts[:n-1:n-1], m[1])
			ps.suffix = m[2]
		}
	}
	return ps
}

// param returns the parameter name of a segment that is exactly one
// parameter, "{customer}".
func param(seg string) (string, bool) {
	if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' && !strings.ContainsAny(seg[1:len(seg)-1], "{}") {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}

func isLiteral(seg string) bool { return !strings.ContainsAny(seg, "{}") }

// key is a path's segments with parameter names blanked, so /a/{x}/b and
// /a/{y}/b are the same collection.
func key(segs []string) string {
	out := make([]string, len(segs))
	for i, s := range segs {
		if _, ok := param(s); ok {
			out[i] = "{}"
		} else {
			out[i] = s
		}
	}
	return "/" + strings.Join(out, "/")
}

// group finds the resources: every literal segment that a collection path
// ends with, or that an item path's parameter follows.
func (inf *inferrer) group() {
	inf.ops = map[*contracts.Operation]*Resource{}
	inf.lits = map[*Resource][]string{}
	ensure := func(coll []string, suffix string) *Resource {
		k := key(coll)
		r := inf.byKey[k]
		if r == nil {
			r = &Resource{}
			inf.byKey[k] = r
			inf.m.Resources = append(inf.m.Resources, r)
			for _, s := range coll {
				if isLiteral(s) && !versionSeg.MatchString(s) {
					inf.lits[r] = append(inf.lits[r], s)
				}
			}
		}
		if r.Suffix == "" {
			r.Suffix = suffix
		}
		return r
	}
	for _, op := range inf.c.Operations() {
		ps := shapeOf(op.Path)
		n := len(ps.segs)
		if f, ok := inf.forced[op.Path]; ok {
			r := inf.byKey["name:"+f.name]
			if r == nil {
				r = &Resource{Name: f.name}
				inf.byKey["name:"+f.name] = r
				inf.m.Resources = append(inf.m.Resources, r)
			}
			if f.role == onItem && r.Item == "" {
				r.Item, r.Suffix = op.Path, ps.suffix
				if all := paramsOf(ps.segs); len(all) > 0 {
					r.IDParam, r.Keys = all[len(all)-1], all[:len(all)-1]
				}
			}
			if f.role == onCollection && r.Collection == "" {
				r.Collection = op.Path
				if r.Item == "" {
					r.Keys = paramsOf(ps.segs)
				}
			}
			continue
		}
		if n >= 2 {
			if p, ok := param(ps.segs[n-1]); ok && isLiteral(ps.segs[n-2]) {
				r := ensure(ps.segs[:n-1], ps.suffix)
				if r.Item == "" {
					r.Item, r.IDParam = op.Path, p
					r.Keys = paramsOf(ps.segs[:n-1])
				}
				continue
			}
		}
		if n >= 1 && isLiteral(ps.segs[n-1]) {
			r := ensure(ps.segs, ps.suffix)
			if r.Collection == "" {
				r.Collection = op.Path
				if r.Item == "" {
					r.Keys = paramsOf(ps.segs)
				}
			}
		}
	}
	slices.SortStableFunc(inf.m.Resources, func(a, b *Resource) int {
		return cmp.Compare(a.Collection+"\x00"+a.Item, b.Collection+"\x00"+b.Item)
	})
}

var versionSeg = regexp.MustCompile(`^(?:v\d+(?:\.\d+)*(?:beta|alpha)?\d*|\d{4}-\d{2}-\d{2}|api)$`)

func paramsOf(segs []string) []string {
	var out []string
	for _, s := range segs {
		for rest := s; ; {
			i := strings.IndexByte(rest, '{')
			j := strings.IndexByte(rest, '}')
			if i < 0 || j < i {
				break
			}
			out = append(out, rest[i+1:j])
			rest = rest[j+1:]
		}
	}
	return out
}
