package replay

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/internal/buildcheck"
)

// TestOptionsCheckedByCompiler compiles testdata/misuse, where each marked
// line gives an option to an entry point it does not apply to, and
// testdata/ok, where every option goes to every entry point it applies to.
// It takes under a second with a warm build cache.
func TestOptionsCheckedByCompiler(t *testing.T) {
	for _, dir := range []string{"misuse", "ok"} {
		for _, v := range buildcheck.Check(t.Context(), filepath.Join("testdata", dir)) {
			t.Errorf("testdata/%s: %s", dir, v)
		}
	}
}

// TestOptionsApplyOnlyWhereDocumented holds each option's dynamic type to
// the entry points its doc comment names: not even a type assertion makes
// an option apply where it does not.
func TestOptionsApplyOnlyWhereDocumented(t *testing.T) {
	type applies struct{ transport, capture, compare, hmac, timestamp bool }
	tests := []struct {
		name   string
		opt    any
		want   applies
		reason string
	}{
		{"IgnoreHeader", IgnoreHeader("Date"), applies{transport: true, compare: true}, "volatile for matching and comparing alike"},
		{"IgnoreQuery", IgnoreQuery("cb"), applies{transport: true, compare: true}, "volatile for matching and comparing alike"},
		{"IgnoreField", IgnoreField("$.ts"), applies{transport: true, compare: true}, "volatile for matching and comparing alike"},
		{"MatchHeader", MatchHeader("Authorization"), applies{transport: true}, "only the transport matches"},
		{"MatchOn", MatchOn("path"), applies{transport: true}, "only the transport matches"},
		{"Repeatable", Repeatable(), applies{transport: true}, "only the transport answers"},
		{"WithRecordedLatency", WithRecordedLatency(), applies{transport: true}, "only the transport answers"},
		{"RedactWith", RedactWith(fixtures.DefaultRedactor()), applies{transport: true, capture: true}, "both see live requests"},
		{"SignaturePrefix", SignaturePrefix("sha256="), applies{hmac: true}, "only the bare HMAC has a free header format"},
		{"SignedAt", SignedAt(time.Now), applies{timestamp: true}, "only timestamped signers read a clock"},
	}
	for _, tt := range tests {
		var got applies
		_, got.transport = tt.opt.(TransportOption)
		_, got.capture = tt.opt.(CaptureOption)
		_, got.compare = tt.opt.(CompareOption)
		_, got.hmac = tt.opt.(HMACOption)
		_, got.timestamp = tt.opt.(TimestampOption)
		if got != tt.want {
			t.Errorf("%s applies to %+v, want %+v (%s)", tt.name, got, tt.want, tt.reason)
		}
	}
}
