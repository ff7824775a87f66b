package connectors

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestNewEnv(t *testing.T) {
	var buf bytes.Buffer
	crm := NewVendor("crm", "http://crm.test/v1/", nil)
	env := NewEnv(slog.New(slog.NewTextHandler(&buf, nil)), crm)

	tests := []struct {
		reason string
		ok     bool
	}{
		{"vendors are found by name", env.Vendor("crm") == crm},
		{"the base URL has no trailing slash", crm.BaseURL == "http://crm.test/v1"},
		{"the vendor client times out", crm.Client.Timeout == VendorTimeout},
		{"the vendor client correlates", isCorrelating(crm.Client.Transport)},
		{"configuration and secrets are empty, not nil", env.Config != nil && env.Secrets != nil},
		{"there is an idempotency store", env.Idempotency != nil},
		{"there are metrics", env.Metrics != nil},
		{"there is no dead-letter sink until one is set", env.DeadLetters == nil},
		{"a nil logger discards", NewEnv(nil).Logger != nil},
	}
	for _, tt := range tests {
		if !tt.ok {
			t.Error(tt.reason)
		}
	}

	env.Logger.InfoContext(WithCorrelationID(context.Background(), "corr-1"), "hello")
	NewEnv(env.Logger).Logger.InfoContext(WithCorrelationID(context.Background(), "corr-2"), "again")
	if got := buf.String(); !strings.Contains(got, "correlation_id=corr-1") || strings.Count(got, "correlation_id=corr-2") != 1 {
		t.Errorf("log %q: want correlation_id on each line, once", got)
	}
}

func isCorrelating(rt http.RoundTripper) bool {
	_, ok := rt.(*correlatingTransport)
	return ok
}

func TestEnvVendorPanics(t *testing.T) {
	defer func() {
		if p, _ := recover().(string); !strings.Contains(p, `no vendor "chat"`) {
			t.Errorf("panic %q, want one naming the vendor", p)
		}
	}()
	NewEnv(nil).Vendor("chat")
}
