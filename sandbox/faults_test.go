package sandbox_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tetherkit/tether/sandbox"
)

func ExampleStatus() {
	f := sandbox.Status(503).On("CreateMessage").FirstN(2)
	fmt.Println(f)
	fmt.Println(f.Validate())
	// Output:
	// 503 on CreateMessage, first 2 calls
	// <nil>
}

func ExampleRateLimit() {
	fmt.Println(sandbox.RateLimit(2, time.Second).ForVendor("crm"))
	fmt.Println(sandbox.RateLimit(10, time.Minute).RetryAfterDate().On("POST /messages"))
	// Output:
	// rate limit 2 per 1s on every crm operation
	// rate limit 10 per 1m (Retry-After as a date) on POST /messages
}

func ExampleFault_Validate() {
	f := sandbox.Latency(time.Second)
	f.Status = 503
	fmt.Println(f.Validate())
	// Output:
	// status does not apply to a latency fault, which uses latency, or min and max; remove it
}

func TestValidate(t *testing.T) {
	cases := []struct {
		fault  sandbox.Fault
		want   string // fragment of the error; "" for valid
		reason string
	}{
		{sandbox.Status(503), "", "an error status is valid"},
		{sandbox.Status(599).On("GET /deals/{id}").ForVendor("crm"), "", "METHOD /path operations are valid"},
		{sandbox.RateLimit(2, time.Second).RetryAfterDate(), "", "a rate limit with a window is valid"},
		{sandbox.RateLimit(0, 0), "", "limit 0 limits every call and needs no window"},
		{sandbox.Latency(time.Millisecond).WithProbability(0.5), "", "a probable latency is valid"},
		{sandbox.LatencyBetween(0, time.Second), "", "a range from 0 is valid"},
		{sandbox.Hang(0), "", "a hang without a duration holds for the default"},
		{sandbox.Reset().FirstN(3), "", "reset takes only common fields"},
		{sandbox.Truncate(), "", "truncate is valid"},
		{sandbox.Malformed().WithProbability(1), "", "probability 1 is always"},

		{sandbox.Fault{}, "kind is missing; set it to one of status, rate-limit", "a missing kind lists the kinds"},
		{sandbox.Fault{Kind: "staus"}, `unknown kind "staus" (did you mean "status"?); the kinds are status, rate-limit, latency, hang, reset, truncate, malformed`, "a misspelt kind suggests the nearest"},
		{sandbox.Fault{Kind: "explode"}, `unknown kind "explode"; the kinds are`, "an unknown kind lists the kinds"},
		{sandbox.Status(200), "status 200 is not an error; use a code from 400 to 599", "a success status is not a fault"},
		{sandbox.Status(600), "status 600 is not an error", "above 599"},
		{sandbox.Fault{Kind: "status"}, "a status fault needs a status", "status missing"},
		{sandbox.RateLimit(-1, time.Second), "limit -1 is negative", "negative limit"},
		{sandbox.RateLimit(2, 0), "a rate limit of 2 calls needs a window; set per", "limit without window"},
		{sandbox.RateLimit(2, -time.Second), "per -1s is negative", "negative window"},
		{sandbox.Fault{Kind: "rate-limit", Limit: 1, Per: sandbox.Duration(time.Second), RetryAfter: "http"}, `retry-after "http" is not a form of Retry-After; use "seconds"`, "unknown Retry-After form"},
		{sandbox.Latency(-time.Second), "latency -1s is negative", "negative latency"},
		{sandbox.LatencyBetween(time.Second, time.Millisecond), "min 1s is more than max 1ms; swap them", "min above max"},
		{sandbox.Fault{Kind: "latency"}, "a latency fault needs a delay", "latency with no delay"},
		{sandbox.Fault{Kind: "latency", Latency: 1, Max: 2}, "set either latency (a fixed delay) or min and max (a range), not both", "latency and range"},
		{sandbox.Hang(-time.Second), "for -1s is negative", "negative hang"},
		{sandbox.Reset().FirstN(-1), "first -1 is negative", "negative first"},
		{sandbox.Reset().WithProbability(1.5), "probability 1.5 is not between 0 and 1", "probability above 1"},
		{sandbox.Reset().WithProbability(-0.1), "probability -0.1 is not between 0 and 1", "negative probability"},
		{sandbox.Reset().WithProbability(math.NaN()), "probability NaN is not between 0 and 1", "NaN is no probability"},
		{func() sandbox.Fault { f := sandbox.Latency(time.Second); f.Status = 503; return f }(), "status does not apply to a latency fault", "a field of another kind is refused"},
		{func() sandbox.Fault { f := sandbox.Status(503); f.Per = sandbox.Duration(time.Second); return f }(), "per does not apply to a status fault, which uses status; remove it", "window on a status fault"},
		{func() sandbox.Fault { f := sandbox.Reset(); f.For = sandbox.Duration(time.Second); return f }(), "for does not apply to a reset fault, which uses no other field", "for on a reset fault"},
		{sandbox.Status(503).RetryAfterDate(), "retry-after does not apply to a status fault", "RetryAfterDate on a status fault"},
		{sandbox.Reset().On("POST messages"), `operation "POST messages" is neither an operationId nor "METHOD /path/template"`, "a path must start with /"},
		{sandbox.Reset().On("POST /a b"), "is neither an operationId", "a path has no spaces"},
		{sandbox.Reset().ForVendor("crm\x00"), "holds characters a vendor name cannot have", "control characters"},
		{sandbox.Fault{Kind: "status", Status: 200, First: -2}, "status 200 is not an error; use a code from 400 to 599, such as 503; first -2 is negative", "every problem is reported at once"},
	}
	for _, tc := range cases {
		err := tc.fault.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%#v.Validate() = %v; want nil (%s)", tc.fault, err, tc.reason)
		case tc.want != "" && err == nil:
			t.Errorf("%#v.Validate() = nil; want %q (%s)", tc.fault, tc.want, tc.reason)
		case tc.want != "" && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%#v.Validate() = %q; want it to contain %q (%s)", tc.fault, err, tc.want, tc.reason)
		}
	}
}

func TestFaultString(t *testing.T) {
	cases := []struct {
		fault  sandbox.Fault
		want   string
		reason string
	}{
		{sandbox.Status(503).On("CreateMessage").FirstN(2), "503 on CreateMessage, first 2 calls", "the model sentence"},
		{sandbox.Status(500).On("GetDeal").ForVendor("crm").FirstN(1), "500 on GetDeal of crm, first call", "vendor and operation, one call"},
		{sandbox.LatencyBetween(10*time.Millisecond, 50*time.Millisecond).WithProbability(0.25), "latency 10ms to 50ms, 25% of calls", "a range with a probability"},
		{sandbox.Latency(1500 * time.Millisecond), "latency 1.5s", "fixed latency"},
		{sandbox.Hang(0), "hang 1m", "the default hang"},
		{sandbox.Hang(90 * time.Minute), "hang 1h30m", "no zero trailing units"},
		{sandbox.Reset(), "connection reset", "reset"},
		{sandbox.Truncate(), "truncated body", "truncate"},
		{sandbox.Malformed(), "malformed body", "malformed"},
		{sandbox.Fault{Kind: "boom"}, `fault of kind "boom"`, "an unknown kind still prints"},
	}
	for _, tc := range cases {
		if got := tc.fault.String(); got != tc.want {
			t.Errorf("String() = %q; want %q (%s)", got, tc.want, tc.reason)
		}
	}
}

func TestConstructorsReturnCopies(t *testing.T) {
	base := sandbox.Status(503)
	_ = base.On("X").ForVendor("v").FirstN(2).WithProbability(0.5)
	if base != sandbox.Status(503) {
		t.Errorf("modifiers changed their receiver: %#v", base)
	}
}

func TestDurationText(t *testing.T) {
	cases := []struct {
		text   string
		want   time.Duration
		err    string
		reason string
	}{
		{"250ms", 250 * time.Millisecond, "", "milliseconds"},
		{"1m", time.Minute, "", "minutes"},
		{"1h30m", 90 * time.Minute, "", "compound"},
		{"0", 0, "", "zero needs no unit"},
		{"5", 0, `duration "5" has no unit; write 5s for seconds or 5ms for milliseconds`, "a bare number is ambiguous"},
		{"1.5", 0, "has no unit", "a bare fraction is ambiguous"},
		{"fast", 0, `"fast" is not a duration; write a number with a unit (ns, us, ms, s, m, h)`, "text that is no duration"},
	}
	for _, tc := range cases {
		var d sandbox.Duration
		err := d.UnmarshalText([]byte(tc.text))
		switch {
		case tc.err == "" && (err != nil || time.Duration(d) != tc.want):
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v (%s)", tc.text, time.Duration(d), err, tc.want, tc.reason)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("UnmarshalText(%q) error = %v; want %q (%s)", tc.text, err, tc.err, tc.reason)
		}
	}
}

func TestFaultMarshalsAlikeInJSONAndYAML(t *testing.T) {
	f := sandbox.RateLimit(2, time.Second).RetryAfterDate().On("CreateMessage").FirstN(3)
	j, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"kind":"rate-limit","operation":"CreateMessage","limit":2,"per":"1s","retry-after":"date","first":3}`; string(j) != want {
		t.Errorf("JSON = %s; want %s", j, want)
	}
	y, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := "kind: rate-limit\noperation: CreateMessage\nlimit: 2\nper: 1s\nretry-after: date\nfirst: 3\n"; string(y) != want {
		t.Errorf("YAML = %q; want %q", y, want)
	}
	var back sandbox.Fault
	if err := json.Unmarshal(j, &back); err != nil || back != f {
		t.Errorf("JSON round trip = %#v, %v; want %#v", back, err, f)
	}
	back = sandbox.Fault{}
	if err := yaml.Unmarshal(y, &back); err != nil || back != f {
		t.Errorf("YAML round trip = %#v, %v; want %#v", back, err, f)
	}
}
