package connectors

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestCorrelationID(t *testing.T) {
	if got := CorrelationID(context.Background()); got != "" {
		t.Errorf("CorrelationID of a bare context = %q, want \"\"", got)
	}
	ctx := WithCorrelationID(context.Background(), "corr-1")
	if got := CorrelationID(ctx); got != "corr-1" {
		t.Errorf("CorrelationID = %q, want corr-1", got)
	}
	a, b := NewCorrelationID(), NewCorrelationID()
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a) || a == b {
		t.Errorf("NewCorrelationID twice = %q, %q; want two different 32-hex-digit IDs", a, b)
	}
}

// recorder is a vendor that keeps the headers of every call.
type recorder struct {
	mu    sync.Mutex
	calls []http.Header
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.calls = append(rec.calls, r.Header.Clone())
	rec.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rec *recorder) headers() []http.Header {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]http.Header(nil), rec.calls...)
}

func TestCorrelatingTransport(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	vendor := NewVendor("crm", srv.URL+"/", nil)
	if vendor.BaseURL != srv.URL {
		t.Errorf("BaseURL = %q, want %q without the trailing slash", vendor.BaseURL, srv.URL)
	}

	sum := sha256.Sum256([]byte("corr-1"))
	wantTrace := hex.EncodeToString(sum[:16])
	traceparent := regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

	call := func(ctx context.Context, h http.Header) *http.Request {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, vendor.BaseURL+"/deals", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := vendor.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return req
	}
	ctx := WithCorrelationID(context.Background(), "corr-1")
	var sent []*http.Request
	for range 3 {
		sent = append(sent, call(ctx, nil))
	}
	call(context.Background(), nil)
	call(ctx, http.Header{"X-Correlation-Id": {"mine"}, "Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}})
	call(ctx, http.Header{"X-Correlation-Id": {"mine"}})

	got := rec.headers()
	if len(got) != 6 {
		t.Fatalf("the vendor saw %d calls, want 6", len(got))
	}
	spans := map[string]bool{}
	for i, h := range got[:3] {
		if id := h.Get("X-Correlation-ID"); id != "corr-1" {
			t.Errorf("call %d: X-Correlation-ID = %q, want corr-1", i, id)
		}
		m := traceparent.FindStringSubmatch(h.Get("traceparent"))
		if m == nil {
			t.Errorf("call %d: traceparent = %q, want 00-<32 hex>-<16 hex>-01", i, h.Get("traceparent"))
			continue
		}
		if m[1] != wantTrace {
			t.Errorf("call %d: trace-id %s, want %s (SHA-256 of the correlation ID)", i, m[1], wantTrace)
		}
		spans[m[2]] = true
	}
	if len(spans) != 3 {
		t.Errorf("span ids of three calls: %v, want three different ones", spans)
	}
	for i, r := range sent {
		if r.Header.Get("X-Correlation-ID") != "" || r.Header.Get("traceparent") != "" {
			t.Errorf("call %d: the transport changed the caller's request: %v", i, r.Header)
		}
	}

	tests := []struct {
		reason          string
		h               http.Header
		wantID, wantTP  string
		traceparentLike bool
	}{
		{"a context without an ID sends nothing", got[3], "", "", false},
		{"headers the caller set are kept", got[4], "mine", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", false},
		{"a missing traceparent is still added", got[5], "mine", "", true},
	}
	for _, tt := range tests {
		if id := tt.h.Get("X-Correlation-ID"); id != tt.wantID {
			t.Errorf("%s: X-Correlation-ID = %q, want %q", tt.reason, id, tt.wantID)
		}
		tp := tt.h.Get("traceparent")
		if tt.traceparentLike {
			if m := traceparent.FindStringSubmatch(tp); m == nil || m[1] != wantTrace {
				t.Errorf("%s: traceparent = %q, want one in trace %s", tt.reason, tp, wantTrace)
			}
		} else if tp != tt.wantTP {
			t.Errorf("%s: traceparent = %q, want %q", tt.reason, tp, tt.wantTP)
		}
	}
}

// logLines decodes the JSON lines of buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestCorrelatingHandler(t *testing.T) {
	ctx := WithCorrelationID(context.Background(), "corr-1")
	tests := []struct {
		reason string
		log    func(*slog.Logger)
		want   string // the line, less time and level
	}{
		{"a line logged with the context carries the ID",
			func(l *slog.Logger) { l.InfoContext(ctx, "hello", "k", 1) },
			`{"msg":"hello","k":1,"correlation_id":"corr-1"}`},
		{"a line logged without a context does not",
			func(l *slog.Logger) { l.Info("hello") },
			`{"msg":"hello"}`},
		{"a logger that has the ID from With does not get it twice",
			func(l *slog.Logger) { l.With(CorrelationAttr, "corr-1").InfoContext(ctx, "hello") },
			`{"msg":"hello","correlation_id":"corr-1"}`},
		{"a group that has the ID from With does not get it twice",
			func(l *slog.Logger) { l.WithGroup("g").With(CorrelationAttr, "x").InfoContext(ctx, "hello") },
			`{"msg":"hello","g":{"correlation_id":"x"}}`},
		{"a group opened after With gave the ID does not get it again",
			func(l *slog.Logger) { l.With(CorrelationAttr, "x").WithGroup("g").InfoContext(ctx, "hello", "k", 1) },
			`{"msg":"hello","correlation_id":"x","g":{"k":1}}`},
		{"a record that carries the ID itself does not get it twice",
			func(l *slog.Logger) { l.InfoContext(ctx, "hello", CorrelationAttr, "y") },
			`{"msg":"hello","correlation_id":"y"}`},
		{"a key With gave again keeps its first value",
			func(l *slog.Logger) { l.With("connector", "a").With("tenant", "t", "connector", "b").Info("hello") },
			`{"msg":"hello","connector":"a","tenant":"t"}`},
		{"a record's key that With gave keeps With's value",
			func(l *slog.Logger) { l.With("connector", "a").Info("hello", "connector", "b", "k", 1) },
			`{"msg":"hello","connector":"a","k":1}`},
		{"a record that repeats a key keeps its first",
			func(l *slog.Logger) { l.Info("hello", "k", 1, "k", 2, "j", 3) },
			`{"msg":"hello","k":1,"j":3}`},
		{"a key in a group is another key than the same at the top level",
			func(l *slog.Logger) { l.With("k", 1).WithGroup("g").With("k", 2).Info("hello", "k", 3) },
			`{"msg":"hello","k":1,"g":{"k":2}}`},
		{"siblings from one logger do not see each other's keys",
			func(l *slog.Logger) {
				base := l.With("a", 1)
				base.With("b", 2).Info("one")
				base.With("c", 3).Info("two", "b", 4)
			},
			`{"msg":"one","a":1,"b":2}` + "\n" + `{"msg":"two","a":1,"c":3,"b":4}`},
		{"attributes added with With are kept",
			func(l *slog.Logger) { l.With("tenant", "acme").WarnContext(ctx, "hello") },
			`{"msg":"hello","tenant":"acme","correlation_id":"corr-1"}`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		inner := slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{}
			}
			return a
		}})
		tt.log(slog.New(CorrelatingHandler(inner)))
		if got := strings.TrimSpace(buf.String()); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.reason, got, tt.want)
		}
	}
}

func TestCorrelatingHandlerEnabled(t *testing.T) {
	h := CorrelatingHandler(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Error("Enabled does not follow the wrapped handler's level")
	}
}
