package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/tetherkit/tether/fixtures"
)

// Sample is one object the vendor is known to answer with.
type Sample struct {
	Source string         // where it was found: "fixtures.json at $.resources.customer"
	Object map[string]any // the object, decoded from JSON
}

// maxSamples bounds what [SamplesFromJSON] keeps of one document.
const maxSamples = 100000

// SamplesFromJSON collects every JSON object in data, a fixture file or
// an answer's body, as samples named source. Nesting beyond 64 levels and
// objects beyond 100,000 are not collected.
func SamplesFromJSON(source string, data []byte) ([]Sample, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("read samples from %s: %w", source, err)
	}
	var out []Sample
	var walk func(v any, path string, depth int)
	walk = func(v any, path string, depth int) {
		if depth > 64 || len(out) >= maxSamples {
			return
		}
		switch t := v.(type) {
		case map[string]any:
			out = append(out, Sample{Source: source + " at " + path, Object: t})
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(t[k], path+"."+k, depth+1)
			}
		case []any:
			for i, e := range t {
				walk(e, fmt.Sprintf("%s[%d]", path, i), depth+1)
			}
		}
	}
	walk(v, "$", 0)
	return out, nil
}

// sample lets samples decide the id shape of resources whose schema gives
// no pattern or format. A sample belongs to the resources whose schema it
// fits best: it must carry the id field, agree with every one-value enum
// the schema has (Stripe's object: customer), and hold few keys the schema
// lacks.
func (inf *inferrer) sample(samples []Sample) {
	if len(samples) == 0 {
		return
	}
	seen := map[*Resource][]any{}
	source := map[*Resource]string{}
	for _, s := range samples {
		best, bestScore := []*Resource(nil), 0
		for _, r := range inf.m.Resources {
			score := fit(r, s.Object)
			switch {
			case score > bestScore:
				best, bestScore = []*Resource{r}, score
			case score == bestScore && score > 0:
				best = append(best, r)
			}
		}
		for _, r := range best {
			if len(seen[r]) < 64 {
				seen[r] = append(seen[r], jsonValue(s.Object[r.IDField]))
				if source[r] == "" {
					source[r] = s.Source
				}
			}
		}
	}
	for r, vals := range seen {
		if r.ID.Pattern != "" || r.ID.Format != "" {
			continue
		}
		r.ID.fromValues(vals, "samples, first "+source[r])
	}
}

// fit scores how well an object fits a resource's schema; 0 is no fit.
func fit(r *Resource, obj map[string]any) int {
	if r.item == nil || r.IDField == "" {
		return 0
	}
	if _, ok := obj[r.IDField]; !ok {
		return 0
	}
	props := objectProps(r.item)
	known := map[string]bool{}
	score := 0
	for _, p := range props {
		known[p.name] = true
		ps := build(p.proxy)
		if ps == nil || len(ps.Enum) != 1 {
			continue
		}
		v, ok := obj[p.name]
		if !ok {
			continue
		}
		var want any
		if err := ps.Enum[0].Decode(&want); err != nil || fmt.Sprint(want) != fmt.Sprint(v) {
			return 0
		}
		score += 1000 // a constant the schema fixes is the strongest sign
	}
	matched := 0
	for k := range obj {
		if known[k] {
			matched++
		}
	}
	// Three shared keys, or all of a smaller schema's, and few the schema lacks.
	if matched < min(3, len(props)) || matched*10 < len(obj)*9 {
		return 0
	}
	return score + matched
}

// jsonValue turns a json.Number into an int64 or a float64.
func jsonValue(v any) any {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
		f, _ := n.Float64()
		return f
	}
	return v
}

// SamplesFromCassette collects the objects in a cassette's successful
// JSON answers: what the vendor really returned. Each sample's Source
// names the cassette and the interaction's line. Bodies that are not JSON,
// and answers outside 2xx, are skipped.
func SamplesFromCassette(c *fixtures.Cassette) []Sample {
	var out []Sample
	for _, it := range c.Interactions {
		if it == nil || it.Response.Code < 200 || it.Response.Code > 299 {
			continue
		}
		body := strings.TrimSpace(it.Response.Body)
		if body == "" || (body[0] != '{' && body[0] != '[') {
			continue
		}
		s, err := SamplesFromJSON(fmt.Sprintf("%s:%d", c.File, it.Line), []byte(body))
		if err == nil {
			out = append(out, s...)
		}
		if len(out) >= maxSamples {
			break
		}
	}
	return out
}
