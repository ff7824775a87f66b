package fleet_test

import (
	"bytes"
	"testing"

	"github.com/tetherkit/tether/harness/fleet"
	"github.com/tetherkit/tether/harness/release"
)

// A shard spec either parses to a shard that prints as itself, or is
// refused; never a panic.
func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"1/4", "4/4", "0/1", "1/1000", "1/1001", "a/b", "/", "1/", "-1/4", "1/4/5", "٣/4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := fleet.ParseShard(s)
		if err != nil {
			return
		}
		if sh.K < 1 || sh.K > sh.N || sh.N > fleet.MaxShards {
			t.Fatalf("%q parsed to %v", s, sh)
		}
		again, err := fleet.ParseShard(sh.String())
		if err != nil || again != sh {
			t.Fatalf("%q: %v does not parse back (%v)", s, sh, err)
		}
		if got := len(sh.Pick([]string{"a", "b", "c"}, nil)); got > 3 {
			t.Fatalf("%v picked %d of 3", sh, got)
		}
	})
}

// A timings file parses to non-negative times, whose JSON parses back the
// same; never a panic.
func FuzzParseTimings(f *testing.F) {
	for _, s := range []string{`{"connectors": {"a": 1.5}}`, `{"connectors": {}}`, `{"connectors": {"a": -1}}`, `{"connectors": {"a": 1e400}}`, `null`, `{}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tm, err := fleet.ParseTimings("t.json", data)
		if err != nil {
			return
		}
		out, err := tm.JSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := fleet.ParseTimings("t.json", out)
		if err != nil || len(back) != len(tm) {
			t.Fatalf("timings %s do not parse back: %v", out, err)
		}
		fleet.Assign([]string{"a", "b", "c"}, 2, tm)
	})
}

// Reports being merged are hostile: parsing and merging never panic, and
// a merged report parses back to the same bytes.
func FuzzMergeReports(f *testing.F) {
	all := []string{"a", "b"}
	one, _ := fleet.NewGateReport("fleet", all, &fleet.Shard{K: 1, N: 2}, []fleet.GateResult{result("a", "pass")}).JSON()
	two, _ := fleet.NewGateReport("fleet", all, &fleet.Shard{K: 2, N: 2}, []fleet.GateResult{result("b", "fail")}).JSON()
	f.Add(one, two)
	f.Add(one, one)
	f.Add([]byte(`{"version": 1, "fleet": "f", "connectors": ["a"], "results": [{"connector": "a", "status": "pass", "checks": 0, "failed": 0, "errors": 0, "warnings": 0}], "summary": {}}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ra, errA := fleet.ParseGateReport("a.json", a)
		rb, errB := fleet.ParseGateReport("b.json", b)
		if errA != nil || errB != nil {
			return
		}
		m, err := fleet.Merge(ra, rb)
		if err != nil {
			return
		}
		data, err := m.JSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := fleet.ParseGateReport("m.json", data)
		if err != nil {
			t.Fatalf("merged report does not parse: %v\n%s", err, data)
		}
		again, _ := back.JSON()
		if !bytes.Equal(again, data) {
			t.Fatalf("merged report changes on a round trip:\n%s\n---\n%s", data, again)
		}
	})
}

// A bundle's usage file parses or is refused; a parsed one gives a usage.
func FuzzParseUsage(f *testing.F) {
	f.Add([]byte(`{"vendor": "chat", "contract": "contracts/chat.openapi.yaml", "calls": [{"method": "POST", "url": "https://chat.example/api/chat.postMessage", "status": 200, "response": {"message": {"ts": null}}}], "events": [{"webhook": "deal.updated", "payload": {"id": null}}]}`))
	f.Add([]byte(`{"vendor": "x", "contract": "c", "calls": [{"method": "GET", "url": "%zz", "form": ["a[0]"]}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := release.ParseUsage("usage/x.json", data)
		if err != nil {
			return
		}
		u.Usage()
	})
}
