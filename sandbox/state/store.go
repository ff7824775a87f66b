package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetherkit/tether/contracts"
)

// DefaultCap is how many bytes one tenant's state holds unless
// [StoreConfig.Cap] says otherwise. The cap counts each object (four
// times its JSON, for its decoded form), each bucket (the items of one
// resource under one parent), each tombstone (an identifier deleted) and
// each remembered idempotency key with its answer. Past the cap the
// oldest of these go first, whatever their kind, until the tenant is a
// 64th below it, and each answer that evicted objects says so
// (state-evicted). Beside the cap, a tenant keeps at most
// 1 MiB (an eighth of a smaller cap) of written list pages, which any
// change of their bucket makes stale.
const DefaultCap = 64 << 20

// DefaultIdempotencyKeys is how many idempotency keys one tenant's state
// remembers; the oldest is forgotten first.
const DefaultIdempotencyKeys = 10000

// MaxIdempotencyKey is the longest idempotency key, in bytes, the state
// takes; a longer one is refused with the operation's error answer
// ([Call.Refuse]), as vendors refuse it (Stripe's limit is 255
// characters), rather than hashed: a connector that sends one would fail
// against the vendor, and the sandbox should say so.
const MaxIdempotencyKey = 255

// StoreConfig configures a [Store].
type StoreConfig struct {
	// Seed makes generated identifiers the same from run to run; each
	// tenant's generators start from it.
	Seed uint64
	// Cap bounds what one tenant's state holds, in bytes as
	// [DefaultCap] counts them; 0 means [DefaultCap].
	Cap int64
	// Strict answers a read of an identifier the state has never seen as
	// not found, instead of synthesising the object and keeping it.
	Strict bool
	// IdempotencyKeys bounds the keys remembered per tenant; 0 means
	// [DefaultIdempotencyKeys].
	IdempotencyKeys int
}

// Store is what one vendor's resources hold, per tenant: every tenant
// starts from the same seed objects (cassettes' answers, the contract's
// examples, a state file) and sees only its own changes. It is safe for
// concurrent use.
type Store struct {
	model *Model
	c     *contracts.Contract
	cfg   StoreConfig
	ops   map[string]opRef               // by "METHOD /template"
	byOp  map[*contracts.Operation]opRef // the same, by the contract's operation; read only
	cops  map[string]*contracts.Operation
	tmpls sync.Map // *contracts.Operation -> *decodedTemplate
	items sync.Map // *contracts.Operation -> answerItem
	// defaults are each resource's default list filters, which new items
	// take; their values are never changed.
	defaults sync.Map // *Resource -> []filter
	// filterable are the resources a list may filter by a field, whose
	// objects keep their decoded form; read only.
	filterable map[*Resource]bool

	mu      sync.RWMutex // every call looks its tenant up; few add one
	tenants map[string]*tenant
	seeds   []*object // in the order they were given; later ones win
}

type opRef struct {
	r      *Resource
	op     Op
	params []string // the path's parameter names, in order
}

// NewStore makes the state of the vendor whose contract is c, with the
// model inferred from it.
func NewStore(c *contracts.Contract, m *Model, cfg StoreConfig) *Store {
	if cfg.Cap <= 0 {
		cfg.Cap = DefaultCap
	}
	if cfg.IdempotencyKeys <= 0 {
		cfg.IdempotencyKeys = DefaultIdempotencyKeys
	}
	s := &Store{model: m, c: c, cfg: cfg, ops: map[string]opRef{}, cops: map[string]*contracts.Operation{}, tenants: map[string]*tenant{}}
	for _, op := range c.Operations() {
		s.cops[op.Method+" "+op.Path] = op
	}
	s.byOp = map[*contracts.Operation]opRef{}
	s.filterable = map[*Resource]bool{}
	for _, r := range m.Resources {
		for _, op := range r.Ops {
			s.ops[op.Method+" "+op.Path] = opRef{r, op, paramsOf(shapeOf(op.Path).segs)}
			if cop := s.cops[op.Method+" "+op.Path]; cop != nil {
				s.byOp[cop] = s.ops[op.Method+" "+op.Path]
			}
			if op.Kind != List || s.cops[op.Method+" "+op.Path] == nil {
				continue
			}
			for _, p := range s.cops[op.Method+" "+op.Path].Parameters() {
				if fs := property(r.item, p.Name); p.In == "query" && fs != nil && scalar(fs) {
					s.filterable[r] = true
				}
			}
		}
	}
	return s
}

// operation is the contract's operation of a model's Op.
func (s *Store) operation(o *Op) *contracts.Operation { return s.cops[o.Method+" "+o.Path] }

// Model is the resource model the store answers by.
func (s *Store) Model() *Model { return s.model }

// object is one stored item, or the tombstone of a deleted one. Its value
// is never changed once stored: an update stores a new object.
type object struct {
	res  *Resource
	keys []string // the parent key values, in the resource's Keys order
	id   string   // the identifier as text
	v    map[string]any
	raw  []byte // v as JSON, written once: answers carry it as it is
	size int64
	seq  uint64
	gone bool // a tombstone: the identifier was deleted, and a read is not found
}

// value is the object decoded: v, or (for an object that keeps only its
// JSON) a fresh decoding of raw, which the caller may change.
func (o *object) value() map[string]any {
	if o.v != nil || o.raw == nil {
		return o.v
	}
	var v map[string]any
	if decode(o.raw, &v) != nil || v == nil {
		return map[string]any{}
	}
	return v
}

// bucket is the items of one resource under one parent.
type bucket struct {
	key     string
	ver     uint64 // the tenant's count of changes when the bucket last changed
	objs    map[string]*object
	order   []*object          // oldest first; deleted objects are removed
	deleted map[string]*object // tombstones of identifiers deleted, so a later read is not found
}

// What the cap counts beside objects' JSON: a bucket, a tombstone and a
// remembered idempotency key each hold maps and slices of their own, so
// that reads, deletes and keys under ever new names cannot grow a tenant's
// memory past its cap.
const (
	bucketCost    = 256
	tombstoneCost = 96
	idemKeyCost   = 192
)

type tenant struct {
	mu      sync.RWMutex       // reads of stored objects and lists share it
	buckets map[string]*bucket // by resource name and parent keys
	fifo    []*object          // every stored object and tombstone, oldest first, for eviction
	size    int64              // what the cap counts: objects, tombstones, buckets, idempotency keys
	seq     uint64
	gens    map[string]*Generator
	idem    map[string]idemEntry
	idemFIF []string // the keys, oldest first
	pages   *pageCache
	changes uint64 // every change of a bucket counts one, for its version
}

// changed marks b changed, so that no page written before is sent again.
func (tn *tenant) changed(b *bucket) {
	tn.changes++
	b.ver = tn.changes
}

type idemEntry struct {
	sum    [32]byte
	result Result
	seq    uint64
	size   int64
}

func bucketKey(r *Resource, keys []string) string {
	return r.Name + "\x00" + strings.Join(keys, "\x00")
}

// tenant returns the state of tenant t, made from the seeds on first use.
func (s *Store) tenant(t string) *tenant {
	s.mu.RLock()
	tn := s.tenants[t]
	s.mu.RUnlock()
	if tn != nil {
		return tn
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if tn := s.tenants[t]; tn != nil {
		return tn
	}
	tn = s.freshTenant()
	s.tenants[t] = tn
	return tn
}

func (s *Store) freshTenant() *tenant {
	tn := &tenant{buckets: map[string]*bucket{}, gens: map[string]*Generator{}, idem: map[string]idemEntry{}, pages: newPageCache(s.cfg.Cap)}
	for _, o := range s.seeds {
		tn.put(s.cfg.Cap, o)
	}
	return tn
}

// peek is the bucket of r under keys, or an empty one, which is not kept:
// for readers, and for writers that may change nothing.
func (tn *tenant) peek(r *Resource, keys []string) *bucket {
	if b := tn.buckets[bucketKey(r, keys)]; b != nil {
		return b
	}
	return &bucket{}
}

// bucket is the bucket of r under keys, made (and counted) when there is
// none.
func (tn *tenant) bucket(r *Resource, keys []string) *bucket {
	k := bucketKey(r, keys)
	b := tn.buckets[k]
	if b == nil {
		b = &bucket{key: k, objs: map[string]*object{}, deleted: map[string]*object{}}
		tn.buckets[k] = b
		tn.size += bucketCost + int64(len(k))
	}
	return b
}

// drop forgets b once it holds neither objects nor tombstones.
func (tn *tenant) drop(b *bucket) {
	if len(b.objs) == 0 && len(b.deleted) == 0 && tn.buckets[b.key] == b {
		delete(tn.buckets, b.key)
		tn.size -= bucketCost + int64(len(b.key))
	}
}

// put stores o (a copy with the tenant's sequence number), replacing any
// object with its identifier, and evicts the oldest objects while the
// tenant is over capacity. It returns how many it evicted.
func (tn *tenant) put(capacity int64, o *object) int {
	tn.seq++
	c := *o
	c.seq = tn.seq
	b := tn.bucket(o.res, o.keys)
	if old := b.objs[o.id]; old != nil {
		// An update keeps the item's place in its list.
		tn.size -= old.size
		c.seq = old.seq
		i := slices.Index(b.order, old)
		b.order[i] = &c
		if j := slices.Index(tn.fifo, old); j >= 0 {
			tn.fifo[j] = &c
		}
	} else {
		b.order = append(b.order, &c)
		tn.fifo = append(tn.fifo, &c)
	}
	if t := b.deleted[o.id]; t != nil {
		delete(b.deleted, o.id)
		tn.unqueue(t)
		tn.size -= t.size
	}
	b.objs[o.id] = &c
	tn.changed(b)
	tn.size += c.size
	return tn.trim(capacity, &c)
}

// bury remembers that id was deleted from b, counted in the cap.
func (tn *tenant) bury(capacity int64, b *bucket, r *Resource, keys []string, id string) int {
	if b.deleted[id] != nil {
		return 0
	}
	tn.seq++
	t := &object{res: r, keys: keys, id: id, gone: true, seq: tn.seq, size: tombstoneCost + int64(len(id))}
	b.deleted[id] = t
	tn.fifo = append(tn.fifo, t)
	tn.size += t.size
	return tn.trim(capacity, t)
}

// trim forgets the oldest of what the tenant holds (objects, tombstones,
// idempotency keys) once it is over capacity, all but keep, until it is a
// 64th below: a tenant at its cap then makes room every so many calls,
// not on every call. It returns how many objects it forgot.
func (tn *tenant) trim(capacity int64, keep *object) int {
	if tn.size <= capacity {
		return 0
	}
	evicted := 0
	for tn.size > capacity-capacity/64 {
		var oldest *object
		for _, o := range tn.fifo[:min(len(tn.fifo), 2)] {
			if o != keep {
				oldest = o
				break
			}
		}
		if len(tn.idemFIF) > 0 && (oldest == nil || tn.idem[tn.idemFIF[0]].seq < oldest.seq) {
			tn.forgetKey()
			continue
		}
		if oldest == nil {
			break
		}
		if oldest.gone {
			b := tn.buckets[bucketKey(oldest.res, oldest.keys)]
			tn.unqueue(oldest)
			tn.size -= oldest.size
			if b != nil && b.deleted[oldest.id] == oldest {
				delete(b.deleted, oldest.id)
				tn.drop(b)
			}
			continue
		}
		tn.remove(oldest, false)
		evicted++
	}
	return evicted
}

// forgetKey forgets the oldest idempotency key.
func (tn *tenant) forgetKey() {
	k := tn.idemFIF[0]
	tn.idemFIF[0] = ""
	tn.idemFIF = tn.idemFIF[1:]
	tn.size -= tn.idem[k].size
	delete(tn.idem, k)
}

// unqueue takes o out of the eviction queue: at once when it is the
// oldest, as eviction takes it.
func (tn *tenant) unqueue(o *object) {
	if len(tn.fifo) > 0 && tn.fifo[0] == o {
		tn.fifo[0] = nil
		tn.fifo = tn.fifo[1:]
		return
	}
	if i := slices.Index(tn.fifo, o); i >= 0 {
		tn.fifo = slices.Delete(tn.fifo, i, i+1)
	}
}

// remove takes o out of its bucket and the eviction queue; a deletion is
// remembered so that a later read is not found, an eviction is not.
func (tn *tenant) remove(o *object, deleted bool) {
	b := tn.buckets[bucketKey(o.res, o.keys)]
	if b == nil {
		return
	}
	if cur := b.objs[o.id]; cur == o {
		delete(b.objs, o.id)
		if len(b.order) > 0 && b.order[0] == o {
			// The oldest goes first at the cap: no copy of the list.
			b.order[0] = nil
			b.order = b.order[1:]
		} else if i := slices.Index(b.order, o); i >= 0 {
			b.order = slices.Delete(b.order, i, i+1)
		}
		tn.unqueue(o)
		tn.size -= o.size
		tn.changed(b)
	}
	if !deleted {
		tn.drop(b)
	}
}

func (tn *tenant) generator(r *Resource, seed uint64) *Generator {
	g := tn.gens[r.Name]
	if g == nil {
		g = r.ID.Generator(seed ^ hashString(r.Name))
		tn.gens[r.Name] = g
	}
	return g
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// newObject makes an object of r from v, its size counted. like, when
// not nil, is the template v was made from.
func newObject(r *Resource, keys []string, id string, v map[string]any, like ...*itemEncoding) *object {
	var b []byte
	var err error
	if len(like) > 0 {
		b, err = encodeObject(v, like[0])
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		b = nil
	}
	return &object{res: r, keys: keys, id: id, v: v, raw: b, size: objectSize(b)}
}

// objectSize is what the cap counts of an object written as raw: the
// decoded form takes several times its JSON, and is counted so, with the
// JSON kept beside it.
func objectSize(raw []byte) int64 { return int64(len(raw))*4 + 128 }

// idText is an identifier's value as a key.
func idText(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, t != ""
	case json.Number:
		return t.String(), true
	case float64:
		return strings.TrimSuffix(fmt.Sprintf("%f", t), ".000000"), true
	case int64:
		return fmt.Sprint(t), true
	case int:
		return fmt.Sprint(t), true
	}
	return "", false
}

// Call is one request the sandbox has routed, validated and authenticated,
// with what it would answer without state.
type Call struct {
	Tenant string
	Op     *contracts.Operation
	Params map[string]string // the path parameters, unescaped
	Query  url.Values
	Header http.Header
	Body   []byte
	// URL is the request's URL as the client sees the sandbox, for the
	// links of the next page.
	URL *url.URL
	// Status and Template are the declared success answer: its status and
	// its JSON body, which answers built from state take their shape from.
	Status   int
	Template []byte
	// Valid says whether an answer body with the status is one the
	// contract allows; nil means every answer is taken as valid.
	Valid func(status int, body []byte) []contracts.Finding
	// Refuse is the status the operation declares for a request it
	// refuses (400, else 404, else a default answer's 400); 0 when it
	// declares none, and then a list asked for a page after an item it
	// does not hold answers an empty last page.
	Refuse int
}

// Result is an answer built from state.
type Result struct {
	Status int
	Header http.Header
	Body   []byte
	// NotFound asks the caller to answer the vendor's not-found answer.
	NotFound bool
	// Conflict asks the caller to answer the vendor's error for an
	// idempotency key used again with another request.
	Conflict bool
	// Replayed is set when the answer is the first one for the call's
	// idempotency key.
	Replayed bool
	// Refused, when not empty, asks the caller to answer the vendor's
	// error with status Status ([Call.Refuse]), and says why: a page
	// cursor naming no item of the list, an idempotency key too long.
	Refused string
	// Notes say what the journal should record of this answer.
	Notes []Finding

	value any       // the body before it is written: see encode
	items []*object // a list's items, written where value holds itemsMark
	// env is the list's envelope written already; else, once value is
	// written, it is kept under envKey in envOf.
	env    *envelope
	envKey string
	envOf  *decodedTemplate
}

// itemsMark stands for a list's items in a body until it is written.
const itemsMark = "\x00tether:items\x00"

// encode writes the body held as a value. A list's items, stored objects
// already written as JSON, are copied in as they are: encoding/json would
// check and compact each again.
func (r *Result) encode() error {
	if r.env != nil {
		b, err := r.env.wrapItems(r.items)
		if err != nil {
			return err
		}
		r.Body, r.items, r.env = b, nil, nil
		return nil
	}
	if r.value == nil {
		return nil
	}
	if raw, ok := r.value.(json.RawMessage); ok && r.items == nil {
		// A stored object answered as it is: its JSON is never changed.
		r.Body, r.value = raw, nil
		return nil
	}
	b, err := json.Marshal(r.value)
	if err != nil {
		return err
	}
	if r.items != nil {
		mark, _ := json.Marshal(itemsMark)
		i := bytes.Index(b, mark)
		if i < 0 {
			return fmt.Errorf("the list's body has no place for its items")
		}
		e := &envelope{prefix: b[:i], suffix: b[i+len(mark):]}
		if r.envOf != nil {
			r.envOf.keepEnvelope(r.envKey, e)
		}
		b, err = e.wrapItems(r.items)
		if err != nil {
			return err
		}
	}
	r.Body, r.value, r.items, r.envOf = b, nil, nil, nil
	return nil
}

// envelope is a list answer written around its items: prefix, then the
// items as an array, then suffix. It is never changed once written.
type envelope struct{ prefix, suffix []byte }

// wrapItems writes each item once, into a body of its final size.
func (e *envelope) wrapItems(items []*object) ([]byte, error) {
	enc := make([][]byte, len(items))
	n := len(e.prefix) + len(e.suffix) + 2 + len(items)
	for j, it := range items {
		raw := it.raw
		if raw == nil {
			w, err := json.Marshal(it.v)
			if err != nil {
				return nil, err
			}
			raw = w
		}
		enc[j] = raw
		n += len(raw)
	}
	out := make([]byte, 0, n)
	out = append(append(out, e.prefix...), '[')
	for j, w := range enc {
		if j > 0 {
			out = append(out, ',')
		}
		out = append(out, w...)
	}
	return append(append(out, ']'), e.suffix...), nil
}

// maxEnvelopes bounds the envelopes kept per operation: a next-page URL
// in an envelope carries the request's query, which clients choose.
const maxEnvelopes = 64

// envelope is the envelope kept under key, or nil.
func (t *decodedTemplate) envelope(key string) *envelope {
	if t == nil {
		return nil
	}
	if e, ok := t.envelopes.Load(key); ok {
		return e.(*envelope)
	}
	return nil
}

func (t *decodedTemplate) keepEnvelope(key string, e *envelope) {
	if t.envCount.Load() >= maxEnvelopes {
		return
	}
	if _, loaded := t.envelopes.LoadOrStore(key, e); !loaded {
		t.envCount.Add(1)
	}
}

// Finding is something the store noticed while answering, for the journal.
type Finding struct {
	Rule    string
	Message string
}

// The rules of the store's findings.
const (
	// RuleStateMergeInvalid: the request's fields merged into the object
	// would break the contract; the answer holds the nearest valid object.
	RuleStateMergeInvalid = "state-merge-invalid"
	// RuleStateIDUnfit: a path names an identifier the answer's schema
	// does not admit; the object is answered as synthesised, not kept.
	RuleStateIDUnfit = "state-id-unfit"
	// RuleStateEvicted: the tenant's state reached its cap and the oldest
	// objects were forgotten.
	RuleStateEvicted = "state-evicted"
	// RuleIdempotentReplay: an idempotency key came again with the same
	// request; the first answer was given again.
	RuleIdempotentReplay = "idempotency-replayed"
	// RuleIdempotencyConflict: an idempotency key came again with another
	// request.
	RuleIdempotencyConflict = "idempotency-key-reused"
	// RuleIdempotencyKeyLong: an idempotency key is longer than
	// [MaxIdempotencyKey]; the request is refused.
	RuleIdempotencyKeyLong = "idempotency-key-too-long"
	// RuleCursorUnknown: a list was asked for the page after (or before)
	// an item it does not hold, or with a page token it did not give.
	RuleCursorUnknown = "page-cursor-unknown"
)

// ref is the resource and kind of op: looked up by the operation itself
// where it is the contract's own, else by its method and path.
func (s *Store) ref(op *contracts.Operation) (opRef, bool) {
	if r, ok := s.byOp[op]; ok {
		return r, true
	}
	r, ok := s.ops[op.Method+" "+op.Path]
	return r, ok
}

// Stateful says whether the store answers op: an operation of a resource
// whose items have an identifier field.
func (s *Store) Stateful(op *contracts.Operation) bool {
	ref, ok := s.ref(op)
	if !ok || ref.r.IDField == "" {
		return false
	}
	switch ref.op.Kind {
	case Create, Read, Update, Delete, List:
		return true
	}
	return false
}

// Serve answers c from state. ok is false when the operation is not one
// the store answers ([Store.Stateful]) or its declared answer is not JSON
// the store can shape; the caller answers it as it would without state.
func (s *Store) Serve(c Call) (res *Result, ok bool) {
	ref, found := s.ref(c.Op)
	if !found || !s.Stateful(c.Op) {
		return nil, false
	}
	dt, err := s.template(c, ref.r.IDField)
	if err != nil {
		return nil, false
	}
	var tmpl any
	var like *itemEncoding
	if dt != nil {
		tmpl, like = dt.v, dt.item
	}
	if _, isObject := tmpl.(map[string]any); tmpl != nil && !isObject && ref.op.Kind != List {
		// An item answered as an array (GitHub's POST .../labels answers
		// the labels) is not one the store can shape.
		return nil, false
	}
	keys, id := s.pathKeys(ref, c.Params)
	tn := s.tenant(c.Tenant)
	a := &answering{s: s, tn: tn, r: ref.r, op: ref.op, c: c, dt: dt, tmpl: tmpl, like: like, keys: keys, id: id}
	if ref.op.Kind == List && c.Op.Method == http.MethodGet {
		// A list changes nothing and shares the lock; a page asked again
		// before its bucket changed is sent as it was written.
		key := c.Op.Method + " " + c.Op.Path + "\x00" + bucketKey(ref.r, keys) + "\x00" + c.URL.String() + "\x00" + c.Query.Encode()
		tn.mu.RLock()
		ver := tn.peek(ref.r, keys).ver
		if p, hit := tn.pages.get(key, ver, dt); hit {
			tn.mu.RUnlock()
			return &Result{Status: p.status, Header: p.header.Clone(), Body: p.body}, true
		}
		res = a.list()
		tn.mu.RUnlock()
		if res == nil || res.encode() != nil {
			return nil, false
		}
		if len(res.Notes) == 0 {
			tn.pages.put(key, cachedPage{ver: ver, tmpl: dt, status: res.Status, header: res.Header.Clone(), body: res.Body})
		}
		return res, true
	}
	if ref.op.Kind == Read && c.Op.Method == http.MethodGet {
		// Reads of stored items change nothing and share the lock; a read
		// of an item not stored takes it alone below.
		tn.mu.RLock()
		res = a.peekAnswer()
		tn.mu.RUnlock()
		if res != nil {
			if res.encode() != nil {
				return nil, false
			}
			return res, true
		}
		a.notes = nil
	}
	var pre *prepared
	if ref.op.Kind == Create && id == "" && c.Header.Get(s.idempotencyHeader(ref)) == "" {
		// A create without an idempotency key makes and checks its item
		// before it takes the lock; with one, it waits for the key.
		tn.mu.RLock()
		g := tn.gens[ref.r.Name]
		tn.mu.RUnlock()
		if g == nil {
			tn.mu.Lock()
			g = tn.generator(ref.r, s.cfg.Seed)
			tn.mu.Unlock()
		}
		pre = a.prepareCreate(g)
	}
	tn.mu.Lock()
	locked := true
	defer func() {
		if locked {
			tn.mu.Unlock()
		}
	}()

	idemKey := ""
	if c.Op.Method != http.MethodGet && c.Op.Method != http.MethodHead && ref.op.Kind != List && ref.op.Kind != Read {
		idemKey = c.Header.Get(s.idempotencyHeader(ref))
	}
	if len(idemKey) > MaxIdempotencyKey {
		return &Result{Status: refusal(c.Refuse), Refused: fmt.Sprintf("the idempotency key is %d bytes long; the vendor takes at most %d", len(idemKey), MaxIdempotencyKey),
			Notes: []Finding{{RuleIdempotencyKeyLong, fmt.Sprintf("the idempotency key is %d bytes long, past the %d the vendor takes; the request is refused", len(idemKey), MaxIdempotencyKey)}}}, true
	}
	var sum [32]byte
	if idemKey != "" {
		h := sha256.New()
		fmt.Fprintf(h, "%s %s?%s\n", c.Op.Method, c.URL.Path, c.Query.Encode())
		h.Write(c.Body)
		copy(sum[:], h.Sum(nil))
		if prev, seen := tn.idem[idemKey]; seen {
			if prev.sum != sum {
				return &Result{Conflict: true, Notes: []Finding{{RuleIdempotencyConflict,
					fmt.Sprintf("the idempotency key %q was first used with another request; the vendor refuses it", idemKey)}}}, true
			}
			r := prev.result
			r.Header = r.Header.Clone()
			r.Replayed = true
			r.Notes = []Finding{{RuleIdempotentReplay, fmt.Sprintf("the idempotency key %q came again with the same request; the first answer is given again", idemKey)}}
			return &r, true
		}
	}

	switch ref.op.Kind {
	case Create:
		if pre != nil {
			res = a.commit(pre)
		} else {
			res = a.create()
		}
	case Read:
		res = a.read()
	case Update:
		res = a.update()
	case Delete:
		res = a.delete()
	case List:
		res = a.list()
	}
	if res == nil {
		return nil, false
	}
	if idemKey == "" {
		// The body is written outside the lock: the objects it holds are
		// never changed once stored.
		tn.mu.Unlock()
		locked = false
		if res.encode() != nil {
			return nil, false
		}
		return res, true
	}
	if res.encode() != nil {
		return nil, false
	}
	if !res.NotFound && res.Status < 300 {
		for len(tn.idemFIF) >= s.cfg.IdempotencyKeys {
			tn.forgetKey()
		}
		kept := *res
		kept.Notes = nil
		size := idemKeyCost + int64(len(idemKey)+len(res.Body))
		for k, vs := range res.Header {
			size += int64(len(k))
			for _, v := range vs {
				size += int64(len(v))
			}
		}
		tn.seq++
		tn.idem[idemKey] = idemEntry{sum: sum, result: kept, seq: tn.seq, size: size}
		tn.idemFIF = append(tn.idemFIF, idemKey)
		tn.size += size
		if n := tn.trim(s.cfg.Cap, nil); n > 0 {
			res.Notes = append(res.Notes, evictedNote(s.cfg.Cap, n))
		}
	}
	return res, true
}

// refusal is the status of a refused request: the declared one, else 400.
func refusal(declared int) int {
	if declared == 0 {
		return http.StatusBadRequest
	}
	return declared
}

// template is the call's declared success body, decoded once per
// operation (nil when it declares none); callers copy what they change.
func (s *Store) template(c Call, idField string) (*decodedTemplate, error) {
	if len(c.Template) == 0 {
		return nil, nil
	}
	if t, ok := s.tmpls.Load(c.Op); ok {
		if t := t.(*decodedTemplate); bytes.Equal(t.src, c.Template) {
			return t, nil
		}
	}
	var v any
	if err := decode(c.Template, &v); err != nil {
		return nil, err
	}
	t := &decodedTemplate{src: c.Template, v: v}
	if obj, _ := itemIn(v, idField); obj != nil {
		t.item = &itemEncoding{src: obj, idField: idField}
	}
	s.tmpls.Store(c.Op, t)
	return t, nil
}

type decodedTemplate struct {
	src  []byte
	v    any
	item *itemEncoding // the item v holds, for writing new items like it
	// envelopes are list answers written around their items, by the
	// values set in them; at most maxEnvelopes.
	envelopes sync.Map // string -> *envelope
	envCount  atomic.Int32
}

// idempotencyHeader is the header the operation, else its resource,
// declares for idempotent retries, else Idempotency-Key.
func (s *Store) idempotencyHeader(ref opRef) string {
	switch {
	case ref.op.Idempotency != "":
		return ref.op.Idempotency
	case ref.r.Idempotency != "":
		return ref.r.Idempotency
	}
	return "Idempotency-Key"
}

// pathKeys reads the parent keys and, for an item path, the identifier
// from the request's path parameters, by position: the operation's own
// names may differ from the resource's.
func (s *Store) pathKeys(ref opRef, params map[string]string) (keys []string, id string) {
	n := len(ref.r.Keys)
	for i, name := range ref.params {
		switch {
		case i < n:
			keys = append(keys, params[name])
		case i == n:
			id = params[name]
		}
	}
	for len(keys) < n {
		keys = append(keys, "")
	}
	return keys, id
}

func decode(b []byte, v any) error {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	return d.Decode(v)
}
