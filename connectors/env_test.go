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

func TestDecodeConfigAndRequireSecrets(t *testing.T) {
	var cfg struct {
		Channel string   `json:"channel"`
		Stages  []string `json:"stages"`
	}
	if err := DecodeConfig(map[string]any{"channel": "C1", "stages": []any{"won"}}, &cfg); err != nil || cfg.Channel != "C1" || len(cfg.Stages) != 1 {
		t.Errorf("decoded %+v, %v", cfg, err)
	}
	if err := DecodeConfig(map[string]any{"chanel": "C1"}, &cfg); err == nil || !strings.Contains(err.Error(), `unknown field "chanel"`) {
		t.Errorf("a misspelt field: %v", err)
	}
	if err := DecodeConfig(map[string]any{"stages": "won"}, &cfg); err == nil {
		t.Error("a string for a list was accepted")
	}
	env := NewEnv(nil)
	env.Secrets["a"] = "x"
	if err := env.RequireSecrets("a"); err != nil {
		t.Error(err)
	}
	if err := env.RequireSecrets("a", "b"); err == nil || !strings.Contains(err.Error(), "secret b is not set") {
		t.Errorf("a missing secret: %v", err)
	}
}
