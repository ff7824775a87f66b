package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tetherkit/tether/internal/jsonvalue"
)

// Document is one vendor's state as a state file and the admin API carry
// it: each resource's items, under the resource's name as `tether sandbox
// model` prints it ("customers", "issues").
type Document map[string][]Entry

// Entry is one stored item.
type Entry struct {
	// Keys are the parent path parameters a sub-collection's items live
	// under ({"owner": "octo", "repo": "hello"} for GitHub's issues);
	// empty for a top-level resource.
	Keys map[string]string `json:"keys,omitempty" yaml:"keys,omitempty"`
	// Object is the item as the vendor answers it; it must carry the
	// resource's identifier field.
	Object map[string]any `json:"object" yaml:"object"`
}

// objects turns a document into objects of this store's model, or says
// which entry does not fit and why.
func (s *Store) objects(d Document) ([]*object, error) {
	var out []*object
	for _, name := range slices.Sorted(maps.Keys(d)) {
		r := s.model.Resource(name)
		if r == nil {
			return nil, &EntryError{Resource: name, Err: fmt.Errorf("the contract has no such resource; `tether sandbox model` lists them (%s)", s.resourceNames())}
		}
		if r.IDField == "" {
			return nil, &EntryError{Resource: name, Err: errors.New("its identifier field is unknown, so its items cannot be stored; set id.field in the model's overrides file")}
		}
		for i, e := range d[name] {
			o, part, err := s.entryObject(r, e)
			if err != nil {
				return nil, &EntryError{Resource: name, Item: i + 1, Part: part, Err: err}
			}
			out = append(out, o)
		}
	}
	return out, nil
}

func (s *Store) resourceNames() string {
	var names []string
	for _, r := range s.model.Resources {
		if r.IDField != "" {
			names = append(names, r.Name)
		}
	}
	if len(names) > 12 {
		names = append(names[:12], fmt.Sprintf("and %d more", len(names)-12))
	}
	if len(names) == 0 {
		return "none has an identifier field"
	}
	return strings.Join(names, ", ")
}

// entryObject makes the object of e, or says what is wrong with it and in
// which part of the entry ("keys", "object", or "" for the whole).
func (s *Store) entryObject(r *Resource, e Entry) (*object, string, error) {
	if e.Object == nil {
		return nil, "", fmt.Errorf("no object")
	}
	id, ok := idText(e.Object[r.IDField])
	if !ok {
		return nil, "object", fmt.Errorf("the object has no identifier field %q (a string or a number)", r.IDField)
	}
	var keys []string
	for _, k := range r.Keys {
		v, ok := e.Keys[k]
		if !ok || v == "" {
			part := "keys"
			if e.Keys == nil {
				part = ""
			}
			return nil, part, fmt.Errorf("keys: %q is missing; items of %s live under %s", k, r.Name, strings.Join(r.Keys, ", "))
		}
		keys = append(keys, v)
	}
	for _, k := range slices.Sorted(maps.Keys(e.Keys)) {
		if !slices.Contains(r.Keys, k) {
			if len(r.Keys) == 0 {
				return nil, "keys", fmt.Errorf("keys: %q is not a parent key; %s has none", k, r.Name)
			}
			return nil, "keys", fmt.Errorf("keys: %q is not a parent key of %s (its keys are %s)", k, r.Name, strings.Join(r.Keys, ", "))
		}
	}
	// Numbers as a file decodes them become JSON numbers, as answers hold.
	b, err := json.Marshal(e.Object)
	if err != nil {
		return nil, "object", fmt.Errorf("the object cannot be written as JSON: %w", err)
	}
	var v map[string]any
	if err := decode(b, &v); err != nil {
		return nil, "object", err
	}
	return newObject(r, keys, id, v), "", nil
}

// EntryError is a part of a [Document] that does not fit the store's
// model, as [Store.Seed] and [Store.Replace] report it, so that a caller
// who read the document from a file can say where.
type EntryError struct {
	Resource string
	// Item is the entry's place in the resource's list, from 1; 0 means
	// the resource itself (a name the model does not have, or one whose
	// items cannot be stored).
	Item int
	// Part is the part of the entry at fault: "keys", "object", or "" for
	// the entry as a whole.
	Part string
	Err  error
}

func (e *EntryError) Error() string {
	if e.Item == 0 {
		return fmt.Sprintf("resource %q: %v", e.Resource, e.Err)
	}
	return fmt.Sprintf("resource %q, item %d: %v", e.Resource, e.Item, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }

// Seeded is how many objects a tenant starts with: the seeds, after later
// ones replaced earlier ones of the same identifier and the cap evicted
// the oldest.
func (s *Store) Seeded() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.freshTenant().fifo)
}

// Seed adds objects every tenant starts with, and that a reset returns to.
// Tenants already in use keep their state.
func (s *Store) Seed(d Document) error {
	objs, err := s.objects(d)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.seeds = append(s.seeds, objs...)
	s.mu.Unlock()
	return nil
}

// SeedAnswer adds the items of a recorded answer to the seeds: the object
// a read, create or update answered, or the items of a list. Answers of
// other operations, failures and bodies that are not JSON are left out.
// It reports how many objects it added.
func (s *Store) SeedAnswer(method, target string, status int, body []byte) int {
	if status < 200 || status > 299 || len(body) == 0 {
		return 0
	}
	m, err := s.c.Find(method, target)
	if err != nil {
		return 0
	}
	ref, ok := s.ops[m.Operation.Method+" "+m.Operation.Path]
	if !ok || ref.r.IDField == "" {
		return 0
	}
	var v any
	if decode(body, &v) != nil {
		return 0
	}
	keys, _ := s.pathKeys(ref, m.Params)
	var found []map[string]any
	switch ref.op.Kind {
	case Read, Create, Update:
		if obj, _ := itemIn(v, ref.r.IDField); obj != nil {
			found = append(found, obj)
		}
	case List:
		var arr []any
		switch t := v.(type) {
		case []any:
			arr = t
		case map[string]any:
			f := ""
			if ref.op.Pagination != nil {
				f = ref.op.Pagination.ItemsField
			}
			if f == "" {
				f = arrayField(t)
			}
			arr, _ = t[f].([]any)
		}
		for _, e := range arr {
			if m, ok := e.(map[string]any); ok {
				found = append(found, m)
			}
		}
	}
	n := 0
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, obj := range found {
		if id, ok := idText(obj[ref.r.IDField]); ok {
			s.seeds = append(s.seeds, newObject(ref.r, keys, id, obj))
			n++
		}
	}
	return n
}

// Snapshot is a copy of one tenant's state, oldest item first within each
// parent. A tenant not seen yet is its seeds.
func (s *Store) Snapshot(tenant string) Document {
	tn := s.tenant(tenant)
	tn.mu.Lock()
	defer tn.mu.Unlock()
	d := Document{}
	keys := make([]string, 0, len(tn.buckets))
	for k := range tn.buckets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, o := range tn.buckets[k].order {
			e := Entry{Object: jsonvalue.Clone(o.value()).(map[string]any)}
			if len(o.keys) > 0 {
				e.Keys = map[string]string{}
				for i, name := range o.res.Keys {
					e.Keys[name] = o.keys[i]
				}
			}
			d[o.res.Name] = append(d[o.res.Name], e)
		}
	}
	return d
}

// Replace makes d the whole state of one tenant. Idempotency keys and
// deletions it remembered are forgotten; identifiers it generates go on
// from where they were.
func (s *Store) Replace(tenant string, d Document) error {
	objs, err := s.objects(d)
	if err != nil {
		return err
	}
	tn := s.tenant(tenant)
	tn.mu.Lock()
	defer tn.mu.Unlock()
	tn.buckets, tn.fifo, tn.size = map[string]*bucket{}, nil, 0
	tn.pages.clear()
	tn.idem, tn.idemFIF = map[string]idemEntry{}, nil
	for _, o := range objs {
		tn.put(s.cfg.Cap, o)
	}
	return nil
}

// Reset returns one tenant to the seeds; with no tenant named, every
// tenant.
func (s *Store) Reset(tenants ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(tenants) == 0 {
		s.tenants = map[string]*tenant{}
		return
	}
	for _, t := range tenants {
		delete(s.tenants, t)
	}
}

// Usage is what one tenant's state holds, as its cap counts it.
type Usage struct {
	Bytes           int64 // what the cap counts: objects' JSON, tombstones, buckets, idempotency answers
	Buckets         int   // resources' collections, one per parent
	Objects         int
	Tombstones      int // deleted identifiers, remembered so that a read is not found
	IdempotencyKeys int
}

// Usage is what tenant's state holds now; a tenant not seen yet holds its
// seeds.
func (s *Store) Usage(tenant string) Usage {
	tn := s.tenant(tenant)
	tn.mu.RLock()
	defer tn.mu.RUnlock()
	u := Usage{Bytes: tn.size, Buckets: len(tn.buckets), IdempotencyKeys: len(tn.idem)}
	for _, b := range tn.buckets {
		u.Objects += len(b.objs)
		u.Tombstones += len(b.deleted)
	}
	return u
}
