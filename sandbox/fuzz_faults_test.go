package sandbox

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func FuzzParseFaults(f *testing.F) {
	for _, doc := range []string{
		"seed: 42\nfaults:\n  - kind: status\n    status: 503\n    operation: CreateMessage\n    first: 2\n",
		"faults:\n  - {kind: rate-limit, limit: 2, per: 1s, retry-after: date}\n",
		"faults:\n  - {kind: latency, min: 10ms, max: 50ms, probability: 0.5}\n",
		`{"seed": 18446744073709551615, "faults": [{"kind": "hang", "for": "1h"}, {"kind": "reset", "vendor": "crm", "operation": "GET /a/{b}"}]}`,
		"faults:\n  - &a {kind: truncate}\n  - *a\n",
		"faults: &x [*x]\n",
		"seed: -1\n",
		"faults:\n  - kind: status\n    status: abc\n",
		"faults:\n  - kind: latency\n    latency: 5\n",
		"faults: [\n",
		"- a\n",
		"faults:\n  - {kind: malformed, probability: .nan}\n",
		"faults:\n  - {kind: reset, vendor: \"\\x7f\"}\n",
		"",
	} {
		f.Add([]byte(doc))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "faults", "*"))
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		plan, err := ParseFaults("fuzz.yaml", data)
		if err != nil {
			var fe *FaultError
			if !errors.As(err, &fe) || fe.File != "fuzz.yaml" || fe.Message == "" {
				t.Fatalf("ParseFaults error %v (%T) is not a *FaultError naming the file", err, err)
			}
			return
		}
		for i, f := range plan.Faults {
			if err := f.Validate(); err != nil {
				t.Fatalf("fault %d (%#v) was accepted but fails Validate: %v", i+1, f, err)
			}
		}
		j, err := json.Marshal(plan)
		if err != nil {
			t.Fatalf("marshal %#v: %v", plan, err)
		}
		back, err := ParseFaults("fuzz.json", j)
		if err != nil {
			t.Fatalf("the JSON of an accepted plan does not parse: %v\n%s", err, j)
		}
		if !reflect.DeepEqual(plan, back) {
			t.Fatalf("JSON round trip changed the plan:\n%#v\n%#v\n%s", plan, back, j)
		}
		var viaJSON FaultPlan
		if err := json.Unmarshal(j, &viaJSON); err != nil || !reflect.DeepEqual(plan, &viaJSON) {
			t.Fatalf("encoding/json reads the plan differently: %v\n%#v\n%#v", err, plan, &viaJSON)
		}
		// The table must take any accepted plan without trouble.
		tb := newFaultTable(plan.Seed, plan.Faults, nil)
		tb.decide("v", "Op", "GET", "/p")
	})
}
