package harness

import (
	"net/http"
	"testing"

	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/sandbox"
)

// A retried write with a changing key is an error; one that never carries
// a key is a warning, since some vendors deduplicate by the body; one
// with the same key throughout is fine.
func TestRetriedWriteIdempotencyKey(t *testing.T) {
	call := func(key string, status int) sandbox.Entry {
		e := sandbox.Entry{Vendor: "v", Operation: "send", Method: http.MethodPost, Status: status, CorrelationID: "d1", RequestHeader: http.Header{}}
		if key != "" {
			e.RequestHeader.Set("Idempotency-Key", key)
		}
		return e
	}
	tests := []struct {
		keys []string
		want string
	}{
		{[]string{"k", "k", "k"}, ""},
		{[]string{"k", "j"}, RuleIdempotencyKeyChanged},
		{[]string{"", "k"}, RuleIdempotencyKeyChanged},
		{[]string{"k", ""}, RuleIdempotencyKeyChanged},
		{[]string{"", "", ""}, RuleIdempotencyKeyMissing},
	}
	for _, tc := range tests {
		r := &ScenarioResult{Scenario: &manifest.Scenario{File: "scenarios/s.yaml"}}
		for i, k := range tc.keys {
			status := http.StatusServiceUnavailable
			if i == len(tc.keys)-1 {
				status = http.StatusAccepted
			}
			r.Journal = append(r.Journal, call(k, status))
		}
		var got string
		for _, f := range judgeErrorStatus(r, "v", "send", http.StatusServiceUnavailable) {
			if f.ID == RuleIdempotencyKeyChanged || f.ID == RuleIdempotencyKeyMissing {
				got = f.ID
			}
		}
		if got != tc.want {
			t.Errorf("keys %q: finding %q, want %q", tc.keys, got, tc.want)
		}
	}
}
