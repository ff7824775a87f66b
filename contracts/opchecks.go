package contracts

import (
	"fmt"
	"hash/maphash"
	"sort"
	"strings"
)

// opChecks finds what is wrong between a contract's operations: repeated
// operationIds, and path templates no request can tell apart. It keeps
// about a hundred bytes per operation, none of them pointers, so that a
// contract of 600,000 operations checked in segments ([Lint]) is checked
// across all of them in 60 MB that the garbage collector need not scan.
type opChecks struct {
	file     string
	seed     maphash.Seed
	arena    []byte            // every ID and path, back to back
	methods  []string          // every method met: "GET", "POST"...
	marks    []opMark          // every operation, in the order met
	ids      map[uint64]int32  // the hash of an ID -> the operation known by it
	routes   map[uint64]int32  // the hash of a route key -> its first operation
	spill    map[string]int32  // IDs and route keys whose hash another one has
	clashes  map[int32][]int32 // per first operation, the others of its route and method
	warnings []Finding         // repeated operationIds, in the order met
}

// opMark is what the checks remember of an operation: its ID and path as
// offsets into the arena.
type opMark struct {
	id, path  [2]uint32 // [start, end) in the arena
	line, col int32
	method    uint16 // an index into methods
	route     int32  // the first operation of its route
	sameRoute int32  // the next first-of-its-method on its route; -1 for none
}

func newOpChecks(file string) *opChecks {
	return &opChecks{file: file, seed: maphash.MakeSeed(), ids: map[uint64]int32{}, routes: map[uint64]int32{},
		spill: map[string]int32{}, clashes: map[int32][]int32{}}
}

func (k *opChecks) text(s [2]uint32) string { return string(k.arena[s[0]:s[1]]) }

func (k *opChecks) keep(s string) [2]uint32 {
	start := uint32(len(k.arena))
	k.arena = append(k.arena, s...)
	return [2]uint32{start, uint32(len(k.arena))}
}

// lookup finds the operation stored under key in table, whose keys are
// hashes; text says which key an operation was stored under.
func (k *opChecks) lookup(table map[uint64]int32, prefix byte, key string, text func(int32) string) (int32, bool) {
	if i, ok := k.spill[string(prefix)+key]; ok {
		return i, true
	}
	i, ok := table[maphash.String(k.seed, key)]
	if ok && text(i) != key {
		return -1, false // another key with the same hash
	}
	return i, ok
}

func (k *opChecks) store(table map[uint64]int32, prefix byte, key string, i int32) {
	h := maphash.String(k.seed, key)
	if _, taken := table[h]; taken {
		k.spill[string(prefix)+key] = i
		return
	}
	table[h] = i
}

// add checks one more operation, in document order, and returns the ID it
// is known by: its operationId, or "METHOD /template" when it has none,
// made unique when another operation has it already.
func (k *opChecks) add(operationID, method, path string, line, col int) string {
	id := operationID
	if id == "" {
		id = method + " " + path
	}
	idText := func(i int32) string { return k.text(k.marks[i].id) }
	if first, dup := k.lookup(k.ids, 'i', id, idText); dup {
		// Duplicate operationIds break lookups by ID; keep both
		// reachable by making the later one unique.
		f := k.marks[first]
		renamed := id + "#" + method + " " + path
		w := newFinding(RuleOperationIDRepeated, fmt.Sprintf("%q is also the ID of %s %s (line %d); this one is known as %q",
			id, k.methods[f.method], k.text(f.path), f.line, renamed))
		w.File, w.Line, w.Column = k.file, line, col
		k.warnings = append(k.warnings, w)
		id = renamed
	}
	i := int32(len(k.marks))
	k.marks = append(k.marks, opMark{id: k.keep(id), path: k.keep(path), line: int32(line), col: int32(col), method: k.method(method), sameRoute: -1})
	if _, taken := k.lookup(k.ids, 'i', id, idText); taken {
		k.spill["i"+id] = i // a renamed ID that was taken too: the later wins, as in a map
	} else {
		k.store(k.ids, 'i', id, i)
	}
	key := routeKey(path)
	routeText := func(j int32) string { return routeKey(k.text(k.marks[j].path)) }
	first, ok := k.lookup(k.routes, 'r', key, routeText)
	if !ok {
		k.store(k.routes, 'r', key, i)
		k.marks[i].route = i
		return id
	}
	k.marks[i].route = first
	for j := first; ; j = k.marks[j].sameRoute {
		if k.methods[k.marks[j].method] == method {
			k.clashes[j] = append(k.clashes[j], i)
			return id
		}
		if k.marks[j].sameRoute < 0 {
			k.marks[j].sameRoute = i
			return id
		}
	}
}

// method returns the index of m in k.methods, adding it when new.
func (k *opChecks) method(m string) uint16 {
	for i, have := range k.methods {
		if have == m {
			return uint16(i)
		}
	}
	k.methods = append(k.methods, m)
	return uint16(len(k.methods) - 1)
}

// routeKey is what the router tells templates apart by: literal segments
// as written, templated ones with their parameter names blanked.
func routeKey(path string) string {
	var b strings.Builder
	for _, part := range splitPath(path) {
		b.WriteByte('/')
		if seg := parseSegment(part); seg.literal {
			b.WriteByte('=')
			b.WriteString(part)
		} else {
			b.WriteByte('~')
			b.WriteString(seg.shape())
		}
	}
	return b.String()
}

// findings returns the warnings: repeated operationIds, then the clashing
// templates, route by route in the order met and method by method.
func (k *opChecks) findings() []Finding {
	out := append([]Finding(nil), k.warnings...)
	type clash struct {
		route  int32 // the route's first operation
		method string
		ops    []int32
	}
	var all []clash
	for first, others := range k.clashes {
		all = append(all, clash{route: k.marks[first].route, method: k.methods[k.marks[first].method], ops: append([]int32{first}, others...)})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].route != all[j].route {
			return all[i].route < all[j].route
		}
		return all[i].method < all[j].method
	})
	for _, c := range all {
		names := make([]string, len(c.ops))
		for i, op := range c.ops {
			names[i] = k.text(k.marks[op].path)
		}
		last := k.marks[c.ops[len(c.ops)-1]]
		w := newFinding(RulePathsClash, fmt.Sprintf("%s %s: a request matching one matches all", c.method, strings.Join(names, " and ")))
		w.File, w.Line, w.Column = k.file, int(last.line), int(last.col)
		w.Operation = k.text(last.id)
		out = append(out, w)
	}
	return out
}
