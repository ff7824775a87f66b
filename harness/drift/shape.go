package drift

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/tetherkit/tether/internal/jsonpath"
)

// maxDepth bounds how deep a body's shape is walked; deeper members are
// not compared.
const maxDepth = 64

// leaf is what a body holds at one path: its JSON type, and its value
// when it is a scalar (elements of an array merge, so a path under [*]
// holds every type seen there).
type leaf struct {
	types  []string
	value  string
	parent string // the path one step up; "" for the root
}

func (l leaf) typ() string {
	s := slices.Clone(l.types)
	slices.Sort(s)
	return fmt.Sprint(s)
}

func (l leaf) null() bool { return slices.Contains(l.types, "null") }

type shapeDiff struct{ path, message string }

// compareShapes compares the recorded body with the live one. second is a
// second live answer to the same request, or nil: a path whose presence
// or type differs between the two live answers is noise, and so is one
// whose value differs between them where either side is null. Bodies that
// are not JSON are not compared.
func compareShapes(recorded, live, second []byte) []shapeDiff {
	rec, ok1 := shapeOf(recorded)
	now, ok2 := shapeOf(live)
	if !ok1 || !ok2 {
		return nil
	}
	var again map[string]leaf
	if second != nil {
		if s, ok := shapeOf(second); ok {
			again = s
		}
	}
	noise := func(p string) bool {
		if again == nil {
			return false
		}
		a, inA := now[p]
		b, inB := again[p]
		return inA != inB || a.typ() != b.typ() || (a.value != b.value && (a.null() || b.null()))
	}
	var out []shapeDiff
	for _, p := range sortedKeys(rec) {
		if hidden(p, rec, now, noise) {
			continue
		}
		r := rec[p]
		l, ok := now[p]
		switch {
		case !ok:
			out = append(out, shapeDiff{p, "field removed"})
		case r.typ() != l.typ():
			if (r.null() || l.null()) && volatile(p, now, again) {
				continue
			}
			out = append(out, shapeDiff{p, fmt.Sprintf("type %s in the cassette, %s live", names(r), names(l))})
		}
	}
	for _, p := range sortedKeys(now) {
		if _, ok := rec[p]; !ok && !hidden(p, now, rec, noise) {
			out = append(out, shapeDiff{p, "field added: " + names(now[p])})
		}
	}
	return out
}

// hidden reports whether a difference at p should not be reported: p is
// noise, or its parent is missing from other (the parent's own finding
// says so) or is noise.
func hidden(p string, own, other map[string]leaf, noise func(string) bool) bool {
	if noise(p) {
		return true
	}
	for q := own[p].parent; q != ""; q = own[q].parent {
		if noise(q) {
			return true
		}
		if _, ok := other[q]; !ok {
			return true
		}
	}
	return false
}

func volatile(p string, now, again map[string]leaf) bool {
	return again != nil && now[p].value != again[p].value
}

func names(l leaf) string {
	s := slices.Clone(l.types)
	slices.Sort(s)
	out := ""
	for i, t := range s {
		if i > 0 {
			out += " or "
		}
		out += t
	}
	return out
}

func sortedKeys(m map[string]leaf) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// shapeOf flattens a JSON body into its paths; false when it is not JSON.
func shapeOf(body []byte) (map[string]leaf, bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	out := map[string]leaf{}
	walk(out, "$", "", v, 0)
	return out, true
}

func walk(out map[string]leaf, p, up string, v any, depth int) {
	add := func(t, val string) {
		l := out[p]
		l.parent = up
		if !slices.Contains(l.types, t) {
			l.types = append(l.types, t)
		}
		if l.value != "" {
			l.value += "\x00"
		}
		l.value += val
		out[p] = l
	}
	switch x := v.(type) {
	case nil:
		add("null", "null")
	case bool:
		add("boolean", strconv.FormatBool(x))
	case json.Number:
		add("number", x.String())
	case string:
		add("string", x)
	case []any:
		add("array", strconv.Itoa(len(x)))
		if depth < maxDepth {
			for _, e := range x {
				walk(out, p+"[*]", p, e, depth+1)
			}
		}
	case map[string]any:
		add("object", "")
		if depth < maxDepth {
			for k, e := range x {
				walk(out, p+jsonpath.Key(k), p, e, depth+1)
			}
		}
	}
}
