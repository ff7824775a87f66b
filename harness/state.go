package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-cmp/cmp"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
	"github.com/tetherkit/tether/internal/jsonpath"
	"github.com/tetherkit/tether/sandbox"
	"github.com/tetherkit/tether/sandbox/state"
)

// stateful is a running sandbox whose state can be read and set: both of
// this package's and the container's.
type stateful interface {
	State(ctx context.Context) (map[string]state.Document, error)
	SetState(ctx context.Context, docs map[string]state.Document) error
}

func (s inProcessSandbox) State(context.Context) (map[string]state.Document, error) {
	return s.sb.State(s.tenant)
}

func (s inProcessSandbox) SetState(_ context.Context, docs map[string]state.Document) error {
	return s.sb.SetState(s.tenant, docs)
}

// models are the resource models of the contracts in use, inferred once.
var models sync.Map // *contracts.Contract -> *state.Model

func modelOf(ct *contracts.Contract) *state.Model {
	if m, ok := models.Load(ct); ok {
		return m.(*state.Model)
	}
	m, err := state.Infer(ct)
	if err != nil {
		m = &state.Model{}
	}
	got, _ := models.LoadOrStore(ct, m)
	return got.(*state.Model)
}

// checkScenarioState makes sure a scenario's state: and expect.state name
// vendors with state and resources their contracts have, and that the
// seeds are items the sandbox can keep, at the scenario's line.
func checkScenarioState(c *manifest.Connector, sc *manifest.Scenario) error {
	check := func(docs map[string]state.Document, line int, what string, seed bool) error {
		for _, vendor := range slices.Sorted(maps.Keys(docs)) {
			v, ok := c.Manifest.Vendors[vendor]
			if !ok {
				return &contracts.Error{File: sc.File, Line: line, Msg: fmt.Sprintf("%s: %q is not a vendor of the manifest (%s)", what, vendor, strings.Join(slices.Sorted(maps.Keys(c.Manifest.Vendors)), ", "))}
			}
			if v.Stateless {
				return &contracts.Error{File: sc.File, Line: line, Msg: fmt.Sprintf("%s: vendor %q is stateless in the manifest", what, vendor)}
			}
			ct := c.Contracts[vendor]
			m := modelOf(ct)
			doc := docs[vendor]
			if !seed {
				// Expected items may leave out any field, the identifier too.
				doc = state.Document{}
				for name := range docs[vendor] {
					doc[name] = nil
				}
			}
			if err := state.NewStore(ct, m, state.StoreConfig{}).Seed(doc); err != nil {
				return &contracts.Error{File: sc.File, Line: line, Msg: fmt.Sprintf("%s.%s: %v", what, vendor, err)}
			}
		}
		return nil
	}
	if err := check(sc.State, sc.StateLine, "state", true); err != nil {
		return err
	}
	return check(sc.Expect.State, sc.ExpectStateLine, "expect.state", false)
}

// judgeState compares what the vendors hold at the end with expect.state.
func judgeState(c *manifest.Connector, sc *manifest.Scenario, got map[string]state.Document) []report.Finding {
	var out []report.Finding
	ignore := stateIgnores(sc)
	for _, vendor := range slices.Sorted(maps.Keys(sc.Expect.State)) {
		m := modelOf(c.Contracts[vendor])
		for _, name := range slices.Sorted(maps.Keys(sc.Expect.State[vendor])) {
			want := sc.Expect.State[vendor][name]
			have := got[vendor][name]
			idField := ""
			if r := m.Resource(name); r != nil {
				idField = r.IDField
			}
			if msg := compareItems(want, have, idField, ignore); msg != "" {
				f := newFinding(RuleStateMismatch, contracts.Position{File: sc.File, Line: sc.ExpectStateLine},
					fmt.Sprintf("%s's %s at the end: %s", vendor, name, msg))
				f.Check = CheckOutcome
				out = append(out, f)
			}
		}
	}
	return out
}

// stateIgnores are the "state $.path" rules of expect.ignore.
func stateIgnores(sc *manifest.Scenario) []jsonpath.Path {
	var out []jsonpath.Path
	for _, pat := range sc.Expect.Ignore {
		if p, ok := strings.CutPrefix(pat, "state "); ok {
			if steps, err := jsonpath.Parse(p); err == nil {
				out = append(out, steps)
			}
		}
	}
	return out
}

// compareItems says how the held items differ from the expected ones, or
// "" when each expected item matches a held one in the fields it gives and
// there are as many.
func compareItems(want, have []state.Entry, idField string, ignore []jsonpath.Path) string {
	norm := func(e state.Entry) map[string]any {
		v, _ := normal(map[string]any{"keys": e.Keys, "object": e.Object}).(map[string]any)
		if obj, ok := v["object"].(map[string]any); ok {
			for _, steps := range ignore {
				jsonpath.Remove(obj, steps)
			}
		}
		return v
	}
	haves := make([]map[string]any, len(have))
	for i, h := range have {
		haves[i] = norm(h)
	}
	used := make([]bool, len(have))
	var diffs []string
	for i, w := range want {
		wv := norm(w)
		best, bestDiff := -1, ""
		for j, hv := range haves {
			if used[j] {
				continue
			}
			if idField != "" {
				wid, hasID := wv["object"].(map[string]any)[idField]
				if hasID && fmt.Sprint(wid) != fmt.Sprint(hv["object"].(map[string]any)[idField]) {
					continue
				}
			}
			d := cmp.Diff(wv, project(hv, wv))
			if d == "" {
				best, bestDiff = j, ""
				break
			}
			if best < 0 {
				best, bestDiff = j, d
			}
		}
		switch {
		case best < 0:
			diffs = append(diffs, fmt.Sprintf("item %d is not held (%s)", i+1, compact(w.Object)))
		case bestDiff != "":
			diffs = append(diffs, fmt.Sprintf("item %d differs (-want +got):\n%s", i+1, bestDiff))
			used[best] = true
		default:
			used[best] = true
		}
	}
	if len(want) != len(have) {
		diffs = append([]string{fmt.Sprintf("%d items held, %d expected", len(have), len(want))}, diffs...)
	}
	return strings.Join(diffs, "; ")
}

// project keeps of got only the fields want gives, at every depth of
// objects; arrays and values are kept whole.
func project(got, want any) any {
	gm, ok1 := got.(map[string]any)
	wm, ok2 := want.(map[string]any)
	if !ok1 || !ok2 {
		return got
	}
	out := map[string]any{}
	for k, wv := range wm {
		if gv, ok := gm[k]; ok {
			out[k] = project(gv, wv)
		}
	}
	return out
}

// normal is v as JSON decodes it, so that a YAML int and a JSON number
// compare equal.
func normal(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// stateDiff compares two runs' final state: per vendor, resource and
// parent, the held objects without their identifiers (which depend on the
// order of creation), as sorted multisets. It returns "" when they are the
// same, and ok false when either run has no state to compare.
func stateDiff(c *manifest.Connector, base, r *ScenarioResult) (diff string, ok bool) {
	if base.State == nil || r.State == nil {
		return "", false
	}
	canon := func(all map[string]state.Document) map[string][]string {
		out := map[string][]string{}
		for vendor, doc := range all {
			m := modelOf(c.Contracts[vendor])
			for name, entries := range doc {
				idField := ""
				if res := m.Resource(name); res != nil {
					idField = res.IDField
				}
				for _, e := range entries {
					obj := map[string]any{}
					for k, v := range e.Object {
						if k != idField {
							obj[k] = v
						}
					}
					b, _ := json.Marshal(obj)
					k, _ := json.Marshal(e.Keys)
					key := vendor + " " + name + " " + string(k)
					out[key] = append(out[key], string(b))
				}
			}
		}
		for k := range out {
			slices.Sort(out[k])
		}
		return out
	}
	return cmp.Diff(canon(base.State), canon(r.State)), true
}

// answeredFromState says whether a journaled call was answered from state,
// so that its effect shows in the final state.
func answeredFromState(e sandbox.Entry) bool { return e.Source == sandbox.SourceState }
