package connectors

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testSecret = "s3cret"
	testBody   = `{"id":"evt_1","type":"deal.updated","deal":{"id":42}}`
)

// stepClock returns a clock that starts at start and moves one second on
// each reading, so latencies are whole seconds.
func stepClock(start time.Time) func() time.Time {
	var mu sync.Mutex
	now := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
}

// rig is a webhook handler around a connector, with everything it used
// kept for the test to read.
type rig struct {
	handler http.Handler
	env     *Env
	sink    *MemorySink
	logs    *bytes.Buffer
	calls   atomic.Int32
	events  chan Event
}

func newRig(t *testing.T, handle func(ctx context.Context, env *Env, ev Event) error, opts ...HandlerOption) *rig {
	t.Helper()
	r := &rig{sink: &MemorySink{}, logs: &bytes.Buffer{}, events: make(chan Event, 16)}
	r.env = NewEnv(slog.New(slog.NewJSONHandler(&lockedWriter{w: r.logs}, nil)))
	r.env.DeadLetters = r.sink
	c := ConnectorFunc(func(ctx context.Context, env *Env, ev Event) error {
		r.calls.Add(1)
		r.events <- ev
		if handle == nil {
			return nil
		}
		return handle(ctx, env, ev)
	})
	opts = append([]HandlerOption{
		WithName("dealnotify"),
		WithVerifier(VerifyHex("X-Sig", "sha256=", testSecret)),
		WithClock(stepClock(time.Unix(1709294400, 0))),
	}, opts...)
	r.handler = NewWebhookHandler(c, r.env, opts...)
	return r
}

// lockedWriter lets concurrent deliveries log into one buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func hexSig(body string) string {
	m := hmac.New(sha256.New, []byte(testSecret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// request is a signed delivery of body, changed by edit when not nil.
func request(body string, edit func(*http.Request)) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tenant-ID", "acme")
	req.Header.Set("X-Sig", hexSig(body))
	if edit != nil {
		edit(req)
	}
	return req
}

func (r *rig) deliver(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r.handler.ServeHTTP(w, req)
	return w
}

func outcomeOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var a answer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer %q: %v", w.Body.String(), err)
	}
	return a.Outcome
}

func TestWebhookHandler(t *testing.T) {
	permanent := func(context.Context, *Env, Event) error { return Permanent(errors.New("deal 42 is archived")) }
	retryLater := func(context.Context, *Env, Event) error {
		return Retryable(errors.New("chat answered 429"), 2500*time.Millisecond)
	}
	flaky := func(context.Context, *Env, Event) error { return errors.New("connection reset") }

	tests := []struct {
		reason         string
		handle         func(context.Context, *Env, Event) error
		opts           []HandlerOption
		noSink         bool
		requests       []*http.Request // the last one's answer is checked
		wantStatus     int
		wantOutcome    string
		wantRetryAfter string
		wantCalls      int32
		wantDead       []string // classes of the dead letters
	}{
		{reason: "a signed event is handled",
			requests: []*http.Request{request(testBody, nil)}, wantStatus: 200, wantOutcome: "handled", wantCalls: 1},
		{reason: "a second delivery of a handled event is not handled again",
			requests:   []*http.Request{request(testBody, nil), request(testBody, nil)},
			wantStatus: 200, wantOutcome: "duplicate", wantCalls: 1},
		{reason: "the same event ID for another tenant is another event",
			requests:   []*http.Request{request(testBody, nil), request(testBody, func(r *http.Request) { r.Header.Set("X-Tenant-ID", "globex") })},
			wantStatus: 200, wantOutcome: "handled", wantCalls: 2},
		{reason: "a header ID wins over the body's",
			requests:   []*http.Request{request(testBody, nil), request(testBody, func(r *http.Request) { r.Header.Set("X-Event-Id", "evt_2") })},
			wantStatus: 200, wantOutcome: "handled", wantCalls: 2},
		{reason: "a forged signature is refused",
			requests:   []*http.Request{request(testBody, func(r *http.Request) { r.Header.Set("X-Sig", hexSig("other")) })},
			wantStatus: 401, wantOutcome: "unauthorized"},
		{reason: "an unsigned delivery is refused",
			requests:   []*http.Request{request(testBody, func(r *http.Request) { r.Header.Del("X-Sig") })},
			wantStatus: 401, wantOutcome: "unauthorized"},
		{reason: "an expired timestamped signature is refused",
			opts: []HandlerOption{WithVerifier(VerifyTimestamped("X-Sig", testSecret, time.Minute))},
			requests: []*http.Request{request(testBody, func(r *http.Request) {
				m := hmac.New(sha256.New, []byte(testSecret))
				m.Write([]byte("1709290000." + testBody))
				r.Header.Set("X-Sig", "t=1709290000,v1="+hex.EncodeToString(m.Sum(nil)))
			})},
			wantStatus: 401, wantOutcome: "unauthorized"},
		{reason: "a JSON body that is not JSON is refused, though signed",
			requests: []*http.Request{request(`{"id":"evt_1",`, nil)}, wantStatus: 400, wantOutcome: "invalid"},
		{reason: "a body of another type need not be JSON",
			requests: []*http.Request{request(`id=evt_1`, func(r *http.Request) {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("X-Event-Id", "evt_1")
			})},
			wantStatus: 200, wantOutcome: "handled", wantCalls: 1},
		{reason: "an event without an ID cannot be de-duplicated",
			requests: []*http.Request{request(`{"type":"deal.updated"}`, nil)}, wantStatus: 400, wantOutcome: "invalid"},
		{reason: "a delivery must be a POST",
			requests:   []*http.Request{httptest.NewRequest(http.MethodGet, "/events", nil)},
			wantStatus: 405, wantOutcome: "invalid"},
		{reason: "a body over the limit is refused",
			opts:     []HandlerOption{WithMaxBody(10)},
			requests: []*http.Request{request(testBody, nil)}, wantStatus: 413, wantOutcome: "invalid"},
		{reason: "a permanent error is a 422 and a dead letter",
			handle:   permanent,
			requests: []*http.Request{request(testBody, nil)}, wantStatus: 422, wantOutcome: "rejected", wantCalls: 1,
			wantDead: []string{"permanent"}},
		{reason: "a dead-lettered event is not handled again",
			handle:   permanent,
			requests: []*http.Request{request(testBody, nil), request(testBody, nil)}, wantStatus: 200, wantOutcome: "duplicate", wantCalls: 1,
			wantDead: []string{"permanent"}},
		{reason: "a permanent error that cannot be dead-lettered asks the sender to keep the event",
			handle: permanent, noSink: true,
			requests: []*http.Request{request(testBody, nil), request(testBody, nil)}, wantStatus: 500, wantOutcome: "failed", wantCalls: 2},
		{reason: "a retryable error is a 503 with the error's delay, rounded up",
			handle:   retryLater,
			requests: []*http.Request{request(testBody, nil)}, wantStatus: 503, wantOutcome: "retry", wantRetryAfter: "3", wantCalls: 1},
		{reason: "an error of no class is retryable, without a delay",
			handle:   flaky,
			requests: []*http.Request{request(testBody, nil)}, wantStatus: 503, wantOutcome: "retry", wantCalls: 1},
		{reason: "a retryable failure is handled again on the next delivery",
			handle:   flaky,
			requests: []*http.Request{request(testBody, nil), request(testBody, nil)}, wantStatus: 503, wantOutcome: "retry", wantCalls: 2},
		{reason: "with WithDeadLetterExhausted, a failure after the last attempt is dead-lettered and accepted",
			handle: flaky, opts: []HandlerOption{WithRetry(testRetryPolicy(3)), WithDeadLetterExhausted()},
			requests: []*http.Request{request(testBody, nil), request(testBody, nil)}, wantStatus: 200, wantOutcome: "duplicate", wantCalls: 3,
			wantDead: []string{"retryable"}},
		{reason: "the retry policy retries a retryable error before answering",
			handle: flaky, opts: []HandlerOption{WithRetry(testRetryPolicy(3))},
			requests: []*http.Request{request(testBody, nil)}, wantStatus: 503, wantOutcome: "retry", wantCalls: 3},
		{reason: "the retry policy does not retry a permanent error",
			handle: permanent, opts: []HandlerOption{WithRetry(testRetryPolicy(3))},
			requests: []*http.Request{request(testBody, nil)}, wantStatus: 422, wantOutcome: "rejected", wantCalls: 1,
			wantDead: []string{"permanent"}},
	}
	for _, tt := range tests {
		r := newRig(t, tt.handle, tt.opts...)
		if tt.noSink {
			r.env.DeadLetters = nil
		}
		var w *httptest.ResponseRecorder
		for _, req := range tt.requests {
			w = r.deliver(req)
		}
		if w.Code != tt.wantStatus {
			t.Errorf("%s: status %d, want %d (body %s)", tt.reason, w.Code, tt.wantStatus, w.Body)
		}
		if got := outcomeOf(t, w); got != tt.wantOutcome {
			t.Errorf("%s: outcome %q, want %q", tt.reason, got, tt.wantOutcome)
		}
		if got := w.Header().Get("Retry-After"); got != tt.wantRetryAfter {
			t.Errorf("%s: Retry-After %q, want %q", tt.reason, got, tt.wantRetryAfter)
		}
		if got := r.calls.Load(); got != tt.wantCalls {
			t.Errorf("%s: the connector ran %d times, want %d", tt.reason, got, tt.wantCalls)
		}
		var dead []string
		for _, d := range r.sink.Letters() {
			dead = append(dead, d.Class)
		}
		if strings.Join(dead, ",") != strings.Join(tt.wantDead, ",") {
			t.Errorf("%s: dead letters of classes %q, want %q", tt.reason, dead, tt.wantDead)
		}
		if w.Header().Get(CorrelationHeader) == "" {
			t.Errorf("%s: no %s in the answer", tt.reason, CorrelationHeader)
		}
		if strings.Contains(w.Body.String(), "archived") || strings.Contains(w.Body.String(), "reset") {
			t.Errorf("%s: the answer %s shows the connector's error", tt.reason, w.Body)
		}
	}
}

func TestWebhookEvent(t *testing.T) {
	r := newRig(t, nil)
	w := r.deliver(request(testBody, func(req *http.Request) { req.Header.Set("X-Correlation-ID", "corr-7") }))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	ev := <-r.events
	want := Event{ID: "evt_1", Type: "deal.updated", Tenant: "acme", Body: []byte(testBody), Received: time.Unix(1709294401, 0)}
	if ev.ID != want.ID || ev.Type != want.Type || ev.Tenant != want.Tenant || string(ev.Body) != testBody || !ev.Received.Equal(want.Received) {
		t.Errorf("event %+v, want %+v", ev, want)
	}
	if ev.Header.Get("X-Sig") == "" {
		t.Error("the event lost the delivery's headers")
	}

	dl := newRig(t, func(context.Context, *Env, Event) error { return Permanent(errors.New("no such deal")) })
	dl.deliver(request(testBody, func(req *http.Request) { req.Header.Set("X-Correlation-ID", "corr-8") }))
	got := dl.sink.Letters()
	if len(got) != 1 {
		t.Fatalf("%d dead letters, want 1", len(got))
	}
	d := got[0]
	if d.Event.ID != "evt_1" || d.Error != "no such deal" || d.Class != "permanent" || d.Attempts != 1 || d.CorrelationID != "corr-8" || d.Time.IsZero() {
		t.Errorf("dead letter %+v: want event evt_1, error, class permanent, 1 attempt, correlation ID corr-8, a time", d)
	}
}

func TestWebhookEventDefaults(t *testing.T) {
	tests := []struct {
		reason       string
		header       http.Header
		body         string
		wantID, want string
	}{
		{"headers first", http.Header{"Webhook-Id": {"msg_1"}, "X-Event-Id": {"evt_h"}, "X-Event-Type": {"a.b"}}, `{"id":"evt_b","type":"c.d"}`, "msg_1", "a.b"},
		{"X-Event-Id", http.Header{"X-Event-Id": {"evt_h"}}, `{"id":"evt_b","type":"c.d"}`, "evt_h", "c.d"},
		{"a numeric id", http.Header{}, `{"id":1234567890123,"type":"c.d"}`, "1234567890123", "c.d"},
		{"an id of another type", http.Header{}, `{"id":{"x":1}}`, "", ""},
		{"not an object", http.Header{}, `[1]`, "", ""},
	}
	for _, tt := range tests {
		ev := Event{Header: tt.header, Body: []byte(tt.body)}
		if id, typ := defaultEventID(ev), defaultEventType(ev); id != tt.wantID || typ != tt.want {
			t.Errorf("%s: id %q type %q, want %q %q", tt.reason, id, typ, tt.wantID, tt.want)
		}
	}
}

func TestWebhookConcurrentDuplicate(t *testing.T) {
	release := make(chan struct{})
	r := newRig(t, func(context.Context, *Env, Event) error { <-release; return nil })
	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- r.deliver(request(testBody, nil)) }()
	<-r.events // the first delivery is being handled

	w := r.deliver(request(testBody, nil))
	if w.Code != http.StatusConflict || outcomeOf(t, w) != "in-progress" || w.Header().Get("Retry-After") == "" {
		t.Errorf("a delivery during another of the same event: %d %s Retry-After %q; want 409 in-progress with Retry-After",
			w.Code, w.Body, w.Header().Get("Retry-After"))
	}
	close(release)
	if w := <-first; w.Code != 200 {
		t.Errorf("the first delivery: %d %s, want 200", w.Code, w.Body)
	}
	if n := r.calls.Load(); n != 1 {
		t.Errorf("the connector ran %d times, want 1", n)
	}
}

// TestWebhookCorrelation checks that one correlation ID reaches the
// answer, every outbound call and every log line of a delivery.
func TestWebhookCorrelation(t *testing.T) {
	vendor := &recorder{}
	srv := httptest.NewServer(vendor)
	defer srv.Close()

	connector := func(ctx context.Context, env *Env, ev Event) error {
		env.Logger.Info("fetching deal") // no context: the logger still carries the ID
		crm := env.Vendor("crm")
		for _, path := range []string{"/deals/42", "/deals/42/owner"} {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, crm.BaseURL+path, nil)
			resp, err := crm.Client.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
		}
		env.Logger.InfoContext(ctx, "posted")
		return Retryable(errors.New("chat is down"), 0)
	}

	tests := []struct {
		reason, inbound string
	}{
		{"an ID the sender gives is kept", "corr-from-sender"},
		{"without one, the handler makes one", ""},
		{"an ID with a space is replaced", "bad id"},
	}
	for _, tt := range tests {
		r := newRig(t, connector)
		r.env.Vendors["crm"] = NewVendor("crm", srv.URL, nil)
		vendor.mu.Lock()
		vendor.calls = nil
		vendor.mu.Unlock()

		w := r.deliver(request(testBody, func(req *http.Request) {
			if tt.inbound != "" {
				req.Header.Set("X-Correlation-ID", tt.inbound)
			}
		}))
		id := w.Header().Get(CorrelationHeader)
		switch {
		case tt.inbound == "corr-from-sender" && id != tt.inbound:
			t.Errorf("%s: answered %s %q, want %q", tt.reason, CorrelationHeader, id, tt.inbound)
		case id == "" || id == "bad id":
			t.Errorf("%s: answered %s %q, want a new ID", tt.reason, CorrelationHeader, id)
		}
		var a answer
		json.Unmarshal(w.Body.Bytes(), &a)
		if a.CorrelationID != id {
			t.Errorf("%s: the answer's body has correlation ID %q, its header %q", tt.reason, a.CorrelationID, id)
		}

		calls := vendor.headers()
		if len(calls) != 2 {
			t.Errorf("%s: the vendor saw %d calls, want 2", tt.reason, len(calls))
		}
		for i, h := range calls {
			if got := h.Get("X-Correlation-ID"); got != id {
				t.Errorf("%s: call %d carried X-Correlation-ID %q, want %q", tt.reason, i, got, id)
			}
			if h.Get("traceparent") == "" {
				t.Errorf("%s: call %d carried no traceparent", tt.reason, i)
			}
		}

		lines := logLines(t, r.logs)
		if len(lines) < 3 {
			t.Errorf("%s: %d log lines, want the connector's two and the handler's", tt.reason, len(lines))
		}
		for _, line := range lines {
			if line[CorrelationAttr] != id {
				t.Errorf("%s: log line %v has correlation_id %v, want %q", tt.reason, line, line[CorrelationAttr], id)
			}
		}
	}
}

func TestWebhookMetrics(t *testing.T) {
	outcomes := map[string]error{
		"evt_ok":   nil,
		"evt_perm": Permanent(errors.New("archived")),
		"evt_busy": Retryable(errors.New("429"), time.Second),
	}
	r := newRig(t, func(_ context.Context, _ *Env, ev Event) error { return outcomes[ev.ID] },
		WithVerifier(VerifyTimestamped("X-Sig", testSecret, time.Hour)),
		WithRetry(testRetryPolicy(2)))
	// Signed 30 seconds before the handler's clock first reads 1709294401.
	sign := func(body string) func(*http.Request) {
		return func(req *http.Request) {
			m := hmac.New(sha256.New, []byte(testSecret))
			m.Write([]byte("1709294371." + body))
			req.Header.Set("X-Sig", "t=1709294371,v1="+hex.EncodeToString(m.Sum(nil)))
		}
	}
	deliver := func(body, tenant string) {
		r.deliver(request(body, func(req *http.Request) {
			sign(body)(req)
			req.Header.Set("X-Tenant-ID", tenant)
		}))
	}
	ok, perm, busy := `{"id":"evt_ok"}`, `{"id":"evt_perm"}`, `{"id":"evt_busy"}`
	deliver(ok, "acme")
	deliver(ok, "acme")
	deliver(perm, "acme")
	deliver(busy, "globex")
	r.deliver(request(ok, func(req *http.Request) { req.Header.Set("X-Tenant-ID", "globex"); req.Header.Set("X-Sig", "t=1,v1=00") }))

	got := r.env.Metrics.Snapshot()
	// Lag is measured at receipt, which the stepping clock puts 30 s and
	// more after the signature; latency is one step of the clock.
	want := []MetricsRow{
		{Connector: "dealnotify", Tenant: "acme", Handled: 1, Failed: 1, Duplicates: 1, DeadLetters: 1,
			Errors:  map[string]int64{"permanent": 1},
			Latency: DurationStats{Count: 2, Sum: 2 * time.Second, Min: time.Second, Max: time.Second},
			Lag:     DurationStats{Count: 3, Sum: 30*time.Second + 32*time.Second + 33*time.Second, Min: 30 * time.Second, Max: 33 * time.Second}},
		{Connector: "dealnotify", Tenant: "globex", Failed: 2, Retries: 1,
			Errors:  map[string]int64{"retryable": 1, "signature": 1},
			Latency: DurationStats{Count: 1, Sum: time.Second, Min: time.Second, Max: time.Second},
			Lag:     DurationStats{Count: 1, Sum: 36 * time.Second, Min: 36 * time.Second, Max: 36 * time.Second}},
	}
	gotJSON, _ := json.MarshalIndent(got, "", "  ")
	wantJSON, _ := json.MarshalIndent(want, "", "  ")
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("Snapshot:\n%s\nwant\n%s", gotJSON, wantJSON)
	}
}

func TestNewWebhookHandlerPanics(t *testing.T) {
	defer func() {
		if p, _ := recover().(string); !strings.Contains(p, "pass the connector") {
			t.Errorf("panic %q, want one that says what to pass", p)
		}
	}()
	NewWebhookHandler(nil, &Env{})
}

// testRetryPolicy makes attempts attempts without waiting.
func testRetryPolicy(attempts int) RetryPolicy {
	return RetryPolicy{Attempts: attempts, Seed: 1, sleep: func(context.Context, time.Duration) error { return nil }}
}
