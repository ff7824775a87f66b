package fleet_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tetherkit/tether/harness/fleet"
)

func names(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("c%03d", (i*37)%n)) // not in order
	}
	return out
}

// Every split covers each connector exactly once, with and without
// timings, and every job computes the same split.
func TestAssignCoversEachOnce(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 17, 100} {
		all := names(n)
		timed := fleet.Timings{}
		for i, c := range all {
			if i%3 != 0 { // some unknown: they count as the mean
				timed[c] = float64((i * 7) % 11)
			}
		}
		for _, tm := range []fleet.Timings{nil, timed} {
			seen := map[string]int{}
			for k := 1; k <= 4; k++ {
				s, err := fleet.ParseShard(fmt.Sprintf("%d/4", k))
				if err != nil {
					t.Fatal(err)
				}
				got := s.Pick(all, tm)
				if !slices.IsSorted(got) || !slices.Equal(got, s.Pick(slices.Clone(all), tm)) {
					t.Errorf("%d connectors, shard %s: %v not sorted or not the same twice", n, s, got)
				}
				for _, c := range got {
					seen[c]++
				}
			}
			if len(seen) != n {
				t.Errorf("%d connectors: the shards cover %d", n, len(seen))
			}
			for c, k := range seen {
				if k != 1 {
					t.Errorf("%d connectors: %s is in %d shards", n, c, k)
				}
			}
		}
	}
}

// With timings the shards' loads are balanced: one long connector gets a
// shard to itself.
func TestAssignBalancesByTimings(t *testing.T) {
	all := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	tm := fleet.Timings{"a": 70, "b": 10, "c": 10, "d": 10, "e": 10, "f": 10, "g": 10, "h": 10}
	split := fleet.Assign(all, 2, tm)
	if !slices.Equal(split[0], []string{"a"}) && !slices.Equal(split[1], []string{"a"}) {
		t.Errorf("split %v: want the 70 s connector alone against seven of 10 s", split)
	}
	if plain := fleet.Assign(all, 2, nil); len(plain[0]) != 4 || len(plain[1]) != 4 {
		t.Errorf("split without timings %v: want four each", plain)
	}
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"1/4", ""}, {"4/4", ""}, {"1/1", ""},
		{"0/4", "K must be"}, {"5/4", "K must be"}, {"1/0", "N must be"}, {"1/1001", "N must be"},
		{"", "write K/N"}, {"1", "write K/N"}, {"a/b", "write K/N"}, {"+1/4", "write K/N"}, {"1/-4", "write K/N"},
	} {
		_, err := fleet.ParseShard(tc.in)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("ParseShard(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

// result is a connector's result with status, carrying a report that says
// the same, as ResultOf makes them; an error result carries none.
func result(c, status string) fleet.GateResult {
	if status == fleet.StatusError {
		return fleet.ErrorResult(c, errors.New("could not run"))
	}
	failed := 0
	if status == "fail" {
		failed = 1
	}
	return fleet.GateResult{Connector: c, Status: status, Name: c, Version: "1.0.0", Checks: 3, Failed: failed, Errors: failed,
		Report: json.RawMessage(fmt.Sprintf(`{"connector": {"name": %q, "version": "1.0.0"}, "summary": {"status": %q, "checks": 3, "failed": %d, "errors": %d}, "x": "<&>"}`,
			c, status, failed, failed))}
}

// Shard reports merge to the bytes of the unsharded report, whatever
// their order, after a round trip through their files.
func TestMergeEqualsUnsharded(t *testing.T) {
	all := names(9)
	var results []fleet.GateResult
	for i, c := range all {
		results = append(results, result(c, []string{"pass", "fail", "pass", "error"}[i%4]))
	}
	whole, err := fleet.NewGateReport("fleet", all, nil, results).JSON()
	if err != nil {
		t.Fatal(err)
	}
	var shards []*fleet.GateReport
	for k := 4; k >= 1; k-- {
		s := fleet.Shard{K: k, N: 4}
		var mine []fleet.GateResult
		for _, r := range results {
			if slices.Contains(s.Pick(all, nil), r.Connector) {
				mine = append(mine, r)
			}
		}
		data, err := fleet.NewGateReport("fleet", all, &s, mine).JSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := fleet.ParseGateReport("shard.json", data)
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, back)
	}
	merged, err := fleet.Merge(shards...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := merged.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, whole) {
		t.Errorf("merged report differs from the unsharded one:\n%s\n---\n%s", got, whole)
	}
	if merged.Summary.Status != fleet.StatusError || merged.Summary.Connectors != 9 {
		t.Errorf("summary %+v", merged.Summary)
	}
	// Missing, doubled and foreign shards are refused.
	if _, err := fleet.Merge(shards[1:]...); err == nil || !strings.Contains(err.Error(), "no report holds") {
		t.Errorf("merge without a shard: %v", err)
	}
	if _, err := fleet.Merge(append(shards, shards[0])...); err == nil || !strings.Contains(err.Error(), "both shard") {
		t.Errorf("merge with a shard twice: %v", err)
	}
	other := *shards[0]
	other.Fleet = "elsewhere"
	if _, err := fleet.Merge(shards[1], &other); err == nil || !strings.Contains(err.Error(), "another fleet") {
		t.Errorf("merge across fleets: %v", err)
	}
}

func TestParseTimings(t *testing.T) {
	tm, err := fleet.ParseTimings("t.json", []byte(`{"connectors": {"a": 1.5, "b": 0}}`))
	if err != nil || tm["a"] != 1.5 || len(tm) != 2 {
		t.Errorf("timings %v, %v", tm, err)
	}
	for _, bad := range []string{`{"connectors": {"a": -1}}`, `{"other": 1}`, `[]`, `{"connectors": {}} {}`, ``} {
		if _, err := fleet.ParseTimings("t.json", []byte(bad)); err == nil {
			t.Errorf("ParseTimings(%q) accepted", bad)
		}
	}
	data, err := fleet.MergeTimings(fleet.Timings{"b": 2}, fleet.Timings{"a": 1}).JSON()
	if err != nil || string(data) != "{\n  \"connectors\": {\n    \"a\": 1,\n    \"b\": 2\n  }\n}\n" {
		t.Errorf("merged timings %q, %v", data, err)
	}
}

// A shard's report is an input: a result edited to say other than the
// report it carries, shards of two different splits, and an empty fleet
// are refused.
func TestMergeRefusesEditedShards(t *testing.T) {
	all := names(4)
	good := result(all[0], "fail")
	edited := good
	edited.Status, edited.Failed, edited.Errors = "pass", 0, 0
	r := fleet.NewGateReport("fleet", all, &fleet.Shard{K: 1, N: 2}, []fleet.GateResult{edited})
	data, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fleet.ParseGateReport("shard.json", data); err == nil || !strings.Contains(err.Error(), "disagrees with the report it carries") {
		t.Errorf("a result edited to pass: %v", err)
	}
	a := fleet.NewGateReport("fleet", all, &fleet.Shard{K: 1, N: 2}, []fleet.GateResult{result(all[0], "pass"), result(all[1], "pass")})
	b := fleet.NewGateReport("fleet", all, &fleet.Shard{K: 2, N: 3}, []fleet.GateResult{result(all[2], "pass"), result(all[3], "pass")})
	if _, err := fleet.Merge(a, b); err == nil || !strings.Contains(err.Error(), "another split") {
		t.Errorf("shards 1/2 and 2/3 merged: %v", err)
	}
	if _, err := fleet.Merge(fleet.NewGateReport("fleet", nil, nil, nil)); err == nil {
		t.Error("an empty fleet merged")
	}
}
