package contracts

import (
	"fmt"
	"sort"
	"strings"
)

// opChecks finds what is wrong between a contract's operations: repeated
// operationIds, and path templates no request can tell apart. It keeps a
// few strings per operation and not the operations themselves, so that a
// contract checked in segments ([Lint]) is checked across all of them.
type opChecks struct {
	file     string
	ids      map[string]opMark
	routes   map[string]*routeMark
	warnings []Finding // repeated operationIds, in the order met
}

// opMark is what the checks remember of an operation.
type opMark struct {
	id, method, path string
	line, col        int
}

// routeMark is one path template, up to the names of its parameters:
// "/a/{id}" and "/a/{name}/" are the same route.
type routeMark struct {
	seq     int
	first   []opMark            // the first operation of each method
	clashes map[string][]opMark // per method, when more than one template has it
}

func newOpChecks(file string) *opChecks {
	return &opChecks{file: file, ids: map[string]opMark{}, routes: map[string]*routeMark{}}
}

// add checks one more operation, in document order, and returns the ID it
// is known by: its operationId, or "METHOD /template" when it has none,
// made unique when another operation has it already.
func (k *opChecks) add(operationID, method, path string, line, col int) string {
	o := opMark{id: operationID, method: method, path: path, line: line, col: col}
	if o.id == "" {
		o.id = method + " " + path
	}
	if first, dup := k.ids[o.id]; dup {
		// Duplicate operationIds break lookups by ID; keep both
		// reachable by making the later one unique.
		renamed := o.id + "#" + method + " " + path
		w := newFinding(RuleOperationIDRepeated, fmt.Sprintf("%q is also the ID of %s %s (line %d); this one is known as %q",
			o.id, first.method, first.path, first.line, renamed))
		w.File, w.Line, w.Column = k.file, line, col
		k.warnings = append(k.warnings, w)
		o.id = renamed
	}
	k.ids[o.id] = o
	key := routeKey(path)
	r := k.routes[key]
	if r == nil {
		r = &routeMark{seq: len(k.routes)}
		k.routes[key] = r
	}
	for _, f := range r.first {
		if f.method != method {
			continue
		}
		if r.clashes == nil {
			r.clashes = map[string][]opMark{}
		}
		if len(r.clashes[method]) == 0 {
			r.clashes[method] = []opMark{f}
		}
		r.clashes[method] = append(r.clashes[method], o)
		return o.id
	}
	r.first = append(r.first, o)
	return o.id
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
	var clashing []*routeMark
	for _, r := range k.routes {
		if len(r.clashes) > 0 {
			clashing = append(clashing, r)
		}
	}
	sort.Slice(clashing, func(i, j int) bool { return clashing[i].seq < clashing[j].seq })
	for _, r := range clashing {
		methods := make([]string, 0, len(r.clashes))
		for m := range r.clashes {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, method := range methods {
			ops := r.clashes[method]
			names := make([]string, len(ops))
			for i, op := range ops {
				names[i] = op.path
			}
			last := ops[len(ops)-1]
			w := newFinding(RulePathsClash, fmt.Sprintf("%s %s: a request matching one matches all", method, strings.Join(names, " and ")))
			w.File, w.Line, w.Column = k.file, last.line, last.col
			w.Operation = last.id
			out = append(out, w)
		}
	}
	return out
}
