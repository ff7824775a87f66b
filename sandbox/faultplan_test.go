package sandbox

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseFaultsValid(t *testing.T) {
	cases := []struct {
		doc    string
		want   *FaultPlan
		reason string
	}{
		{
			"seed: 42\nfaults:\n  - kind: status\n    status: 503\n    operation: CreateMessage\n    first: 2\n  - kind: rate-limit\n    limit: 2\n    per: 1s\n  - kind: latency\n    min: 10ms\n    max: 50ms\n    probability: 0.5\n",
			&FaultPlan{Seed: 42, Faults: []Fault{
				Status(503).On("CreateMessage").FirstN(2),
				RateLimit(2, time.Second),
				LatencyBetween(10*time.Millisecond, 50*time.Millisecond).WithProbability(0.5),
			}},
			"the documented layout",
		},
		{`{"seed": 7, "faults": [{"kind": "hang", "for": "30s", "vendor": "crm"}]}`, &FaultPlan{Seed: 7, Faults: []Fault{Hang(30 * time.Second).ForVendor("crm")}}, "JSON, as the admin API sends it"},
		{"faults:\n", &FaultPlan{}, "no faults clears the plan"},
		{"faults: []\nseed: 0\n", &FaultPlan{}, "an empty list clears the plan"},
		{"seed: 1\n", &FaultPlan{Seed: 1}, "faults may be left out"},
		{"faults:\n  - kind: reset\n    vendor:\n    probability: 1\n", &FaultPlan{Faults: []Fault{Reset().WithProbability(1)}}, "empty values are zero"},
		{"faults:\n  - &f {kind: malformed, vendor: crm}\n  - *f\n", &FaultPlan{Faults: []Fault{Malformed().ForVendor("crm"), Malformed().ForVendor("crm")}}, "aliases are followed"},
	}
	for _, tc := range cases {
		got, err := ParseFaults("plan.yaml", []byte(tc.doc))
		if err != nil {
			t.Errorf("ParseFaults(%q): %v (%s)", tc.doc, err, tc.reason)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseFaults(%q) = %+v; want %+v (%s)", tc.doc, got, tc.want, tc.reason)
		}
	}
}

func TestParseFaultsErrors(t *testing.T) {
	cases := []struct {
		doc          string
		line, column int
		want         string
		reason       string
	}{
		{"", 1, 0, "the file is empty", "an empty file"},
		{"  \n\t\n", 1, 0, "the file is empty", "only blanks"},
		{"# just a comment\n", 1, 0, "the file holds no document", "only a comment"},
		{"seed: 1\nfaults: [\n  {kind: reset}\n", 2, 0, "invalid YAML", "an unclosed flow list is named where it opens"},
		{"seed: 1\nfaults:\n  - kind: reset\n   vendor: crm\n", 3, 0, "invalid YAML: did not find expected '-' indicator; an item of the list that starts on this line is indented differently", "bad indentation is named where its list starts"},
		{"a:\n  - b\n c: d\n", 3, 0, "check the indentation of the fields on and around this line", "bad indentation in a mapping"},
		{"- kind: reset\n", 1, 1, "the top level is a list; it must be a mapping with faults:", "a bare list"},
		{"hello\n", 1, 1, `the top level is "hello"; it must be a mapping`, "a scalar"},
		{"seed: 1\nfault:\n  - kind: reset\n", 2, 1, `unknown field "fault" in the plan (did you mean "faults"?); the fields are seed, faults`, "a misspelt top-level field"},
		{"seed: -1\n", 1, 7, "seed is \"-1\"; it must be a whole number from 0 to 18446744073709551615", "a negative seed"},
		{"seed: x\n", 1, 7, "seed is \"x\"", "a seed that is no number"},
		{"faults: {kind: reset}\n", 1, 9, "faults is a mapping; it must be a list of faults", "faults not a list"},
		{"faults:\n  - reset\n", 2, 5, `fault 1 is "reset"; it must be a mapping such as {kind: status, status: 503}`, "an item that is not a mapping"},
		{"faults:\n  - kind: status\n    staus: 503\n", 3, 5, `unknown field "staus" in fault 1 (did you mean "status"?); the fields are kind, vendor, operation, status, limit, per, retry-after, latency, min, max, for, scope, first, probability`, "a misspelt field names it and lists the fields"},
		{"faults:\n  - kind: rate-limit\n    retry_after: date\n", 3, 5, `did you mean "retry-after"?`, "snake case is not the spelling"},
		{"faults:\n  - kind: status\n    status: abc\n", 3, 13, `fault 1: status is "abc"; it must be a whole number, such as 503`, "a status that is no number"},
		{"faults:\n  - kind: status\n    status: \"503\"\n", 3, 13, "such as 503, without quotes", "a quoted number"},
		{"faults:\n  - kind: status\n    status: 503.5\n", 3, 13, "must be a whole number", "a fraction"},
		{"faults:\n  - kind: rate-limit\n    limit: 5\n    per: fast\n", 4, 10, `fault 1: per: "fast" is not a duration; write a number with a unit (ns, us, ms, s, m, h), such as 250ms`, "a window that is no duration"},
		{"faults:\n  - kind: latency\n    latency: 5\n", 3, 14, `fault 1: latency: duration "5" has no unit; write 5s for seconds or 5ms for milliseconds`, "a bare number is not a duration"},
		{"faults:\n  - kind: latency\n    latency: [1s]\n", 3, 14, "fault 1: latency is a list; it must be a single value", "a list where a value belongs"},
		{"faults:\n  - kind: reset\n    probability: half\n", 3, 18, `probability is "half"; it must be a number from 0 to 1`, "a probability that is no number"},
		{"faults:\n  - kind: reset\n  - kind: status\n    status: 200\n", 3, 5, "fault 2 (200): status 200 is not an error; use a code from 400 to 599", "a fault failing Validate is named at its item"},
		{"faults:\n  - kind: reset\n    kind: hang\n", 3, 5, `field "kind" is set twice in fault 1, first on line 2; keep one`, "a repeated field"},
		{"faults:\n  - {kind: latency, status: 503, latency: 1s}\n", 2, 5, "status does not apply to a latency fault", "a field of another kind"},
		{"faults:\n  - kind: explode\n", 2, 5, `unknown kind "explode"; the kinds are status, rate-limit`, "an unknown kind lists the kinds"},
		{"faults:\n  - {[kind]: reset}\n", 2, 6, "a field name in fault 1 must be plain text", "a key that is a list"},
	}
	for _, tc := range cases {
		_, err := ParseFaults("plan.yaml", []byte(tc.doc))
		var fe *FaultError
		if !errors.As(err, &fe) {
			t.Errorf("ParseFaults(%q) = %v; want a *FaultError (%s)", tc.doc, err, tc.reason)
			continue
		}
		if fe.File != "plan.yaml" || fe.Line != tc.line || fe.Column != tc.column || !strings.Contains(fe.Message, tc.want) {
			t.Errorf("ParseFaults(%q) = %s:%d:%d %q; want plan.yaml:%d:%d containing %q (%s)", tc.doc, fe.File, fe.Line, fe.Column, fe.Message, tc.line, tc.column, tc.want, tc.reason)
		}
	}
}

func TestFaultErrorText(t *testing.T) {
	cases := []struct {
		err    FaultError
		want   string
		reason string
	}{
		{FaultError{File: "f.yaml", Line: 3, Column: 5, Message: "m"}, "f.yaml:3:5: m", "line and column"},
		{FaultError{File: "f.yaml", Line: 3, Message: "m"}, "f.yaml:3: m", "no column from the YAML parser"},
		{FaultError{File: "f.yaml", Message: "m"}, "f.yaml: m", "no position"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q; want %q (%s)", got, tc.want, tc.reason)
		}
	}
}

func TestLoadFaultsTestdata(t *testing.T) {
	cases := []struct {
		file   string
		faults int
		err    string // "file:line[:col]: fragment" prefix and fragment, "" for valid
		reason string
	}{
		{"flaky_create.yaml", 2, "", "a status on one operation and a probable latency"},
		{"rate_limited.yaml", 1, "", "a rate limit with Retry-After as a date"},
		{"wire_faults.json", 4, "", "the wire faults, in JSON"},
		{"bad_status.yaml", 0, "bad_status.yaml:6:5: fault 2 (200): status 200 is not an error", "the line of the failing item"},
		{"unknown_field.yaml", 0, `unknown_field.yaml:3:5: unknown field "staus"`, "the line of the unknown field"},
		{"bad_duration.yaml", 0, `bad_duration.yaml:4:10: fault 1: per: "fast" is not a duration`, "the line of the bad value"},
	}
	for _, tc := range cases {
		path := filepath.Join("testdata", "faults", tc.file)
		plan, err := LoadFaults(path)
		if tc.err == "" {
			if err != nil || len(plan.Faults) != tc.faults {
				t.Errorf("LoadFaults(%s) = %v, %v; want %d faults (%s)", tc.file, plan, err, tc.faults, tc.reason)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("LoadFaults(%s) error = %v; want it to contain %q (%s)", tc.file, err, tc.err, tc.reason)
		}
	}
	if _, err := LoadFaults(filepath.Join("testdata", "faults", "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFaults(missing) = %v; want an error wrapping os.ErrNotExist", err)
	}
}

func TestDecideNoFaults(t *testing.T) {
	for _, tb := range []*faultTable{nil, newFaultTable(1, nil, nil)} {
		if d := tb.decide("crm", "GetDeal", "GET", "/deals/{id}"); d != (decision{}) {
			t.Errorf("decide with no faults = %+v; want nothing", d)
		}
	}
}

func TestDecideMatching(t *testing.T) {
	cases := []struct {
		fault  Fault
		vendor string
		opID   string
		method string
		path   string
		want   bool
		reason string
	}{
		{Reset(), "crm", "GetDeal", "GET", "/deals/{id}", true, "no vendor nor operation matches everything"},
		{Reset().ForVendor("crm"), "crm", "GetDeal", "GET", "/deals/{id}", true, "the vendor"},
		{Reset().ForVendor("chat"), "crm", "GetDeal", "GET", "/deals/{id}", false, "another vendor"},
		{Reset().On("GetDeal"), "crm", "GetDeal", "GET", "/deals/{id}", true, "the operationId"},
		{Reset().On("getdeal"), "crm", "GetDeal", "GET", "/deals/{id}", false, "operationIds are case-sensitive"},
		{Reset().On("get /deals/{id}"), "crm", "GetDeal", "GET", "/deals/{id}", true, "METHOD /path, the method in any case"},
		{Reset().On("GET /deals/{id}"), "crm", "GetDeal", "get", "/deals/{id}", true, "the call's method in any case"},
		{Reset().On("POST /deals/{id}"), "crm", "GetDeal", "GET", "/deals/{id}", false, "another method"},
		{Reset().On("GET /deals"), "crm", "GetDeal", "GET", "/deals/{id}", false, "another path"},
		{Reset().On("GET /deals/{id}").ForVendor("chat"), "crm", "GetDeal", "GET", "/deals/{id}", false, "the operation of another vendor"},
	}
	for _, tc := range cases {
		tb := newFaultTable(1, []Fault{tc.fault}, nil)
		d := tb.decide(tc.vendor, tc.opID, tc.method, tc.path)
		if got := d.fault != nil; got != tc.want {
			t.Errorf("%s applies to %s %s %s %s = %v; want %v (%s)", tc.fault, tc.vendor, tc.opID, tc.method, tc.path, got, tc.want, tc.reason)
		}
	}
}

// sequence runs n calls of GetDeal and renders which faults fired.
func sequence(tb *faultTable, n int) string {
	var b strings.Builder
	for range n {
		d := tb.decide("crm", "GetDeal", "GET", "/deals/{id}")
		switch {
		case d.fault != nil:
			b.WriteString(d.fault.Kind[:1])
		case d.delay > 0:
			b.WriteString("l")
		default:
			b.WriteString(".")
		}
	}
	return b.String()
}

func TestDecideDeterministic(t *testing.T) {
	faults := []Fault{Status(503).WithProbability(0.5)}
	a := sequence(newFaultTable(42, faults, nil), 100)
	b := sequence(newFaultTable(42, faults, nil), 100)
	c := sequence(newFaultTable(43, faults, nil), 100)
	if a != b {
		t.Errorf("the same seed gave\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("seeds 42 and 43 gave the same 100 calls: %s", a)
	}
	if n := strings.Count(a, "s"); n < 30 || n > 70 {
		t.Errorf("probability 0.5 fired %d times in 100 calls: %s", n, a)
	}

	lat := []Fault{LatencyBetween(10*time.Millisecond, 50*time.Millisecond)}
	t1, t2 := newFaultTable(9, lat, nil), newFaultTable(9, lat, nil)
	distinct := map[time.Duration]bool{}
	for range 50 {
		d1 := t1.decide("crm", "GetDeal", "GET", "/deals/{id}").delay
		d2 := t2.decide("crm", "GetDeal", "GET", "/deals/{id}").delay
		if d1 != d2 || d1 < 10*time.Millisecond || d1 > 50*time.Millisecond {
			t.Fatalf("latency draws %v and %v; want equal and within 10ms to 50ms", d1, d2)
		}
		distinct[d1] = true
	}
	if len(distinct) < 40 {
		t.Errorf("50 latency draws gave only %d distinct delays", len(distinct))
	}
}

func TestDecideFirstN(t *testing.T) {
	tb := newFaultTable(1, []Fault{Status(503).On("GetDeal").FirstN(2)}, nil)
	if got := sequence(tb, 5); got != "ss..." {
		t.Errorf("first 2 calls = %s; want ss...", got)
	}
	// Calls to other operations do not use up the count.
	tb = newFaultTable(1, []Fault{Status(503).On("GetDeal").FirstN(1)}, nil)
	tb.decide("crm", "ListDeals", "GET", "/deals")
	if got := sequence(tb, 2); got != "s." {
		t.Errorf("first call after another operation = %s; want s.", got)
	}
}

func TestDecideOrder(t *testing.T) {
	tb := newFaultTable(1, []Fault{
		Latency(10 * time.Millisecond),
		Status(500).FirstN(1),
		Reset(),
		Latency(5 * time.Millisecond),
	}, nil)
	d := tb.decide("crm", "GetDeal", "GET", "/deals/{id}")
	if d.delay != 15*time.Millisecond || d.fault == nil || d.fault.Kind != "status" {
		t.Errorf("first call = %+v; want 15ms and the status fault", d)
	}
	d = tb.decide("crm", "GetDeal", "GET", "/deals/{id}")
	if d.delay != 15*time.Millisecond || d.fault == nil || d.fault.Kind != "reset" {
		t.Errorf("second call = %+v; want 15ms and the reset", d)
	}
	tb = newFaultTable(1, []Fault{Hang(0)}, nil)
	if d := tb.decide("crm", "GetDeal", "GET", "/x"); d.fault == nil || time.Duration(d.fault.For) != time.Minute {
		t.Errorf("a hang without a duration = %+v; want it to hold a minute", d.fault)
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestDecideRateLimit(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: start}
	tb := newFaultTable(1, []Fault{RateLimit(2, 10*time.Second)}, clock.now)
	call := func() decision { return tb.decide("crm", "GetDeal", "GET", "/deals/{id}") }
	steps := []struct {
		advance    time.Duration
		retryAfter string // "" = not limited
		reason     string
	}{
		{0, "", "the first call opens the window"},
		{time.Second, "", "the second is within the limit"},
		{1500 * time.Millisecond, "8", "the third is limited; 7.5s left rounds up to 8"},
		{7 * time.Second, "1", "0.5s left rounds up to 1"},
		{500 * time.Millisecond, "", "a new window at 10s"},
		{9 * time.Second, "", "the second call of the second window"},
		{999 * time.Millisecond, "1", "1ms left is at least 1 second"},
		{25*time.Second + time.Millisecond, "", "windows stay aligned to the first call: 45s is in the window from 40s"},
		{0, "", "second call of that window"},
		{0, "5", "third call at 45s: 5s left"},
	}
	for i, s := range steps {
		clock.advance(s.advance)
		d := call()
		got := ""
		if d.fault != nil {
			got = d.retryAfter
		}
		if got != s.retryAfter {
			t.Errorf("step %d: Retry-After %q; want %q (%s)", i, got, s.retryAfter, s.reason)
		}
	}

	clock = &fakeClock{t: start}
	tb = newFaultTable(1, []Fault{RateLimit(1, 10*time.Second).RetryAfterDate()}, clock.now)
	tb.decide("crm", "GetDeal", "GET", "/x")
	clock.advance(2500 * time.Millisecond)
	d := tb.decide("crm", "GetDeal", "GET", "/x")
	if want := "Sat, 01 Mar 2025 12:00:10 GMT"; d.retryAfter != want {
		t.Errorf("Retry-After as a date = %q; want %q, the end of the window", d.retryAfter, want)
	}

	tb = newFaultTable(1, []Fault{RateLimit(0, 0)}, clock.now)
	if d := tb.decide("crm", "GetDeal", "GET", "/x"); d.fault == nil || d.retryAfter != "1" {
		t.Errorf("limit 0 = %+v; want every call limited with Retry-After 1", d)
	}
}

func TestRetryAfterValue(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 250e6, time.UTC)
	cases := []struct {
		left   time.Duration
		date   bool
		want   string
		reason string
	}{
		{0, false, "1", "at least one second"},
		{time.Second, false, "1", "whole seconds stay"},
		{1001 * time.Millisecond, false, "2", "a part second rounds up"},
		{time.Hour, false, "3600", "large values"},
		{time.Second, true, "Sat, 01 Mar 2025 12:00:02 GMT", "a date rounds the window end up to the second"},
		{750 * time.Millisecond, true, "Sat, 01 Mar 2025 12:00:01 GMT", "an end on the second stays"},
	}
	for _, tc := range cases {
		if got := retryAfterValue(tc.left, tc.date, now); got != tc.want {
			t.Errorf("retryAfterValue(%v, %v) = %q; want %q (%s)", tc.left, tc.date, got, tc.want, tc.reason)
		}
	}
	if _, err := http.ParseTime(retryAfterValue(time.Second, true, now)); err != nil {
		t.Errorf("the date form does not parse as an HTTP date: %v", err)
	}
}

func TestDecideConcurrent(t *testing.T) {
	tb := newFaultTable(5, []Fault{
		Status(503).FirstN(100),
		RateLimit(50, time.Hour),
		LatencyBetween(time.Millisecond, 2*time.Millisecond).WithProbability(0.5),
	}, nil)
	const workers, calls = 8, 500
	var mu sync.Mutex
	statuses, limited := 0, 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, l := 0, 0
			for range calls {
				d := tb.decide("crm", "GetDeal", "GET", "/deals/{id}")
				switch {
				case d.fault == nil:
				case d.fault.Kind == "status":
					s++
				case d.fault.Kind == "rate-limit":
					l++
				}
			}
			mu.Lock()
			statuses, limited = statuses+s, limited+l
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses != 100 {
		t.Errorf("first 100 calls answered 503 %d times under concurrency; want 100", statuses)
	}
	// Calls 1..100 are 503 and also counted by the window: 50 allowed, so
	// every call after the 50th is limited, shown where no 503 came first.
	if want := workers*calls - 100; limited != want {
		t.Errorf("rate limited %d calls; want %d", limited, want)
	}
}

func BenchmarkDecide(b *testing.B) {
	b.Run("no faults", func(b *testing.B) {
		tb := newFaultTable(1, nil, nil)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				tb.decide("crm", "GetDeal", "GET", "/deals/{id}")
			}
		})
	})
	b.Run("3 faults", func(b *testing.B) {
		tb := newFaultTable(1, []Fault{
			Status(503).On("CreateMessage"),
			LatencyBetween(time.Millisecond, 5*time.Millisecond).WithProbability(0.1),
			RateLimit(1<<30, time.Hour).On("GET /deals/{id}"),
		}, nil)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				tb.decide("crm", "GetDeal", "GET", "/deals/{id}")
			}
		})
	})
}

// DecodeFaults reads the faults inside a larger document, as a list or as
// a plan, and places errors at lines of that document.
func TestDecodeFaults(t *testing.T) {
	const doc = `name: rate limited
faults:
  - kind: rate-limit
    limit: 0
    per: 1s
    first: 1
plan:
  seed: 7
  faults: [{kind: status, status: 503}]
broken:
  - kind: status
    status: 99
`
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatal(err)
	}
	field := func(name string) *yaml.Node {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == name {
				return m.Content[i+1]
			}
		}
		t.Fatalf("no %s in the document", name)
		return nil
	}
	list, err := DecodeFaults("s.yaml", field("faults"))
	if err != nil || len(list.Faults) != 1 || list.Faults[0].Kind != "rate-limit" || list.Faults[0].First != 1 || list.Seed != 0 {
		t.Errorf("list: %+v, %v", list, err)
	}
	plan, err := DecodeFaults("s.yaml", field("plan"))
	if err != nil || plan.Seed != 7 || len(plan.Faults) != 1 || plan.Faults[0].Status != 503 {
		t.Errorf("plan: %+v, %v", plan, err)
	}
	_, err = DecodeFaults("s.yaml", field("broken"))
	var fe *FaultError
	if !errors.As(err, &fe) || fe.File != "s.yaml" || fe.Line != 11 {
		t.Errorf("broken: %v, want a FaultError at s.yaml:11, the fault's line", err)
	}
	if none, err := DecodeFaults("s.yaml", nil); err != nil || len(none.Faults) != 0 {
		t.Errorf("nil node: %+v, %v", none, err)
	}
}
