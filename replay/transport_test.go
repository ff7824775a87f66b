package replay_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/replay"
)

const (
	ordersCassette   = "testdata/transport/orders.yaml"
	redactedCassette = "testdata/transport/redacted.yaml"
	// The secrets whose placeholders redacted.yaml holds.
	liveToken  = "tok_9f8e7d6c5b4a39281706f5e4"
	liveAPIKey = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
)

func loadCassettes(t testing.TB, paths ...string) []*fixtures.Cassette {
	t.Helper()
	var out []*fixtures.Cassette
	for _, p := range paths {
		c, err := fixtures.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func newTransport(t testing.TB, cassettes []*fixtures.Cassette, opts ...replay.TransportOption) *replay.Transport {
	t.Helper()
	tr, err := replay.NewTransport(cassettes, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// request is a live request as a test sends it.
type request struct {
	method, url, body string
	header            http.Header
}

func (r request) send(ctx context.Context, tr http.RoundTripper) (*http.Response, error) {
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.url, body)
	if err != nil {
		return nil, err
	}
	for name, values := range r.header {
		req.Header[name] = values
	}
	return tr.RoundTrip(req)
}

// answer sends r and returns the response body, failing the test on an error.
func answer(t testing.TB, tr http.RoundTripper, r request) string {
	t.Helper()
	body, err := r.answer(tr)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// answer sends r and returns the response body; it is safe to call from
// any goroutine.
func (r request) answer(tr http.RoundTripper) (string, error) {
	resp, err := r.send(context.Background(), tr)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", r.method, r.url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return string(data), err
}

func TestTransportAnswersIdenticalRequestsInRecordedOrder(t *testing.T) {
	tr := newTransport(t, loadCassettes(t, ordersCassette))
	get := request{url: "https://api.example.com/v1/orders/1"}
	for _, want := range []string{`{"id":1,"status":"pending"}`, `{"id":1,"status":"paid"}`} {
		if got := answer(t, tr, get); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	_, err := get.send(context.Background(), tr)
	var miss *replay.MissError
	if !errors.As(err, &miss) {
		t.Fatalf("third request: got %v, want a *MissError", err)
	}
	if len(miss.Closest) != 2 || miss.Closest[0].Interaction != 0 || miss.Closest[1].Interaction != 1 || len(miss.Closest[0].Differences) != 0 {
		t.Errorf("Closest = %+v, want interactions 0 and 1 with no differences", miss.Closest)
	}
	if msg := err.Error(); !strings.Contains(msg, "already given") || !strings.Contains(msg, "Repeatable()") {
		t.Errorf("message does not say the answers were given, or what to do:\n%s", msg)
	}
}

func TestTransportRepeatableRepeatsTheLastAnswer(t *testing.T) {
	tr := newTransport(t, loadCassettes(t, ordersCassette), replay.Repeatable())
	get := request{url: "https://api.example.com/v1/orders/1"}
	for i, want := range []string{"pending", "paid", "paid", "paid"} {
		if got := answer(t, tr, get); !strings.Contains(got, want) {
			t.Errorf("request %d: got %s, want status %s", i, got, want)
		}
	}
}

func TestTransportMatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason string
		files  []string
		opts   []replay.TransportOption
		req    request
		want   string
	}{{
		name:   "json-key-order",
		reason: "JSON bodies match whatever their key order, spacing, string escapes and number spelling",
		req: request{method: "POST", url: "https://api.example.com/v1/charges",
			body:   `{"meta":{"source":"web","sent_at":"2026-01-02T03:04:05Z"}, "currency":"\u0075sd","amount":1.0e2}`,
			header: http.Header{"Content-Type": {"application/json"}}},
		want: `{"id":"ch_1","amount":100}`,
	}, {
		name:   "query-order",
		reason: "query parameters match in any order, and the host in any case",
		req:    request{url: "https://API.EXAMPLE.com/v1/search?cb=1700000000&limit=10&q=shoes"},
		want:   `{"results":["red shoes"]}`,
	}, {
		name:   "ignore-query",
		reason: "IgnoreQuery leaves a cache buster out of matching",
		opts:   []replay.TransportOption{replay.IgnoreQuery("cb")},
		req:    request{url: "https://api.example.com/v1/search?q=shoes&limit=10&cb=1800000000"},
		want:   `{"results":["red shoes"]}`,
	}, {
		name:   "ignore-field",
		reason: "IgnoreField leaves a timestamp out of matching",
		opts:   []replay.TransportOption{replay.IgnoreField("$.meta.sent_at")},
		req: request{method: "POST", url: "https://api.example.com/v1/charges",
			body:   `{"amount":100,"currency":"usd","meta":{"sent_at":"2027-12-31T00:00:00Z","source":"web"}}`,
			header: http.Header{"Content-Type": {"application/json"}}},
		want: `{"id":"ch_1","amount":100}`,
	}, {
		name:   "form-order",
		reason: "form fields match in any order",
		req: request{method: "POST", url: "https://api.example.com/v1/customers", body: "plan=pro&name=Ada",
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}},
		want: `{"id":"cus_1"}`,
	}, {
		name:   "after-redaction",
		reason: "a live request with the real secrets matches the recording of their placeholders",
		files:  []string{redactedCassette},
		opts:   []replay.TransportOption{replay.MatchHeader("Authorization")},
		req: request{url: "https://api.example.com/v1/me?expand=team&api_key=" + liveAPIKey,
			header: http.Header{"Authorization": {"Bearer " + liveToken}}},
		want: `{"name":"Ada"}`,
	}, {
		name:   "ignore-header",
		reason: "IgnoreHeader takes back a header MatchHeader named",
		files:  []string{redactedCassette},
		opts:   []replay.TransportOption{replay.MatchHeader("Authorization"), replay.IgnoreHeader("authorization")},
		req:    request{url: "https://api.example.com/v1/me?expand=team&api_key=" + liveAPIKey},
		want:   `{"name":"Ada"}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			files := tc.files
			if files == nil {
				files = []string{ordersCassette}
			}
			tr := newTransport(t, loadCassettes(t, files...), tc.opts...)
			if got := answer(t, tr, tc.req); got != tc.want {
				t.Errorf("got %s, want %s (%s)", got, tc.want, tc.reason)
			}
		})
	}
}

func TestTransportExplainsAMiss(t *testing.T) {
	for _, tc := range []struct {
		name        string
		reason      string
		file        string
		opts        []replay.TransportOption
		req         request
		interaction int
		part, field string
		recorded    string
		sent        string
	}{{
		name:   "json-value",
		reason: "a JSON body that differs names the first differing path",
		file:   ordersCassette,
		req: request{method: "POST", url: "https://api.example.com/v1/charges",
			body:   `{"amount":250,"currency":"usd","meta":{"sent_at":"2026-01-02T03:04:05Z","source":"web"}}`,
			header: http.Header{"Content-Type": {"application/json"}}},
		interaction: 2, part: "body", field: "$.amount", recorded: "100", sent: "250",
	}, {
		name:   "volatile-field",
		reason: "without IgnoreField a changed timestamp is a miss",
		file:   ordersCassette,
		req: request{method: "POST", url: "https://api.example.com/v1/charges",
			body:   `{"amount":100,"currency":"usd","meta":{"sent_at":"2027-12-31T00:00:00Z","source":"web"}}`,
			header: http.Header{"Content-Type": {"application/json"}}},
		interaction: 2, part: "body", field: "$.meta.sent_at", recorded: `"2026-01-02T03:04:05Z"`, sent: `"2027-12-31T00:00:00Z"`,
	}, {
		name:        "query",
		reason:      "without IgnoreQuery a changed parameter is a miss that names it",
		file:        ordersCassette,
		req:         request{url: "https://api.example.com/v1/search?q=shoes&limit=10&cb=1800000000"},
		interaction: 3, part: "query", field: "cb", recorded: `"1700000000"`, sent: `"1800000000"`,
	}, {
		name:   "other-token",
		reason: "with MatchHeader a different token redacts to a different placeholder and misses",
		file:   redactedCassette,
		opts:   []replay.TransportOption{replay.MatchHeader("Authorization")},
		req: request{url: "https://api.example.com/v1/me?expand=team&api_key=" + liveAPIKey,
			header: http.Header{"Authorization": {"Bearer tok_0a1b2c3d4e5f60718293a4b5"}}},
		interaction: 0, part: "header", field: "Authorization", recorded: `"Bearer REDACTED-cdd606c5"`,
	}, {
		name:        "method",
		reason:      "the same endpoint with another method is nearer than another endpoint",
		file:        ordersCassette,
		req:         request{method: "DELETE", url: "https://api.example.com/v1/customers", body: "name=Ada&plan=pro", header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}},
		interaction: 4, part: "method", recorded: `"POST"`, sent: `"DELETE"`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t, loadCassettes(t, tc.file), tc.opts...)
			_, err := tc.req.send(context.Background(), tr)
			var miss *replay.MissError
			if !errors.As(err, &miss) {
				t.Fatalf("got %v, want a *MissError (%s)", err, tc.reason)
			}
			if len(miss.Closest) == 0 {
				t.Fatalf("no closest interaction (%s)", tc.reason)
			}
			c := miss.Closest[0]
			if c.File != tc.file || c.Interaction != tc.interaction || c.Line == 0 {
				t.Errorf("closest = %s interaction %d line %d, want %s interaction %d (%s)", c.File, c.Interaction, c.Line, tc.file, tc.interaction, tc.reason)
			}
			if len(c.Differences) != 1 {
				t.Fatalf("differences = %+v, want one (%s)", c.Differences, tc.reason)
			}
			d := c.Differences[0]
			if d.Part != tc.part || d.Name != tc.field || d.Recorded != tc.recorded || (tc.sent != "" && d.Sent != tc.sent) {
				t.Errorf("difference = %+v, want part %q name %q recorded %s sent %s (%s)", d, tc.part, tc.field, tc.recorded, tc.sent, tc.reason)
			}
			if strings.Contains(miss.URL, liveAPIKey) {
				t.Errorf("MissError.URL holds the secret: %s", miss.URL)
			}
			msg := err.Error()
			for _, want := range []string{miss.Method, miss.URL, fmt.Sprintf("%s:%d", c.File, c.Line), d.String()} {
				if !strings.Contains(msg, want) {
					t.Errorf("message does not contain %q:\n%s", want, msg)
				}
			}
			if strings.Contains(msg, liveToken) || strings.Contains(msg, "tok_0a1b2c3d4e5f60718293a4b5") {
				t.Errorf("message holds a secret:\n%s", msg)
			}
		})
	}
}

func TestTransportMissRanksClosest(t *testing.T) {
	tr := newTransport(t, loadCassettes(t, ordersCassette))
	_, err := request{url: "https://api.example.com/v1/orders/2"}.send(context.Background(), tr)
	var miss *replay.MissError
	if !errors.As(err, &miss) {
		t.Fatalf("got %v, want a *MissError", err)
	}
	if len(miss.Closest) != 3 {
		t.Fatalf("got %d candidates, want 3 (at most three are listed)", len(miss.Closest))
	}
	if d := miss.Closest[0].Differences; len(d) != 1 || d[0].Part != "path" || d[0].Recorded != `"/v1/orders/1"` {
		t.Errorf("closest differs by %+v, want the path /v1/orders/1", d)
	}
}

func TestTransportResponse(t *testing.T) {
	tr := newTransport(t, loadCassettes(t, ordersCassette), replay.Repeatable())
	req, err := http.NewRequest(http.MethodPost, "https://api.example.com/v1/charges",
		strings.NewReader(`{"amount":100,"currency":"usd","meta":{"sent_at":"2026-01-02T03:04:05Z","source":"web"}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 || resp.Status != "201 Created" || resp.ContentLength != int64(len(`{"id":"ch_1","amount":100}`)) || resp.Request != req || resp.ProtoMajor != 1 {
		t.Errorf("response = %d %q length %d request %p proto %s, want 201 Created, the body's length and the request", resp.StatusCode, resp.Status, resp.ContentLength, resp.Request, resp.Proto)
	}
	resp.Header.Set("Content-Type", "text/plain")
	again := answer(t, tr, request{method: "POST", url: req.URL.String(), body: `{"amount":100,"currency":"usd","meta":{"sent_at":"2026-01-02T03:04:05Z","source":"web"}}`,
		header: http.Header{"Content-Type": {"application/json"}}})
	if again != `{"id":"ch_1","amount":100}` {
		t.Errorf("second answer = %s", again)
	}
	resp2, err := request{url: "https://api.example.com/v1/orders/1"}.send(context.Background(), tr)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp2.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q: a caller's change to one response's headers leaked into the cassette", got)
	}
}

// memoryCassette holds n interactions GET /items/<i>, each answered "item <i>"
// after d.
func memoryCassette(n int, d time.Duration) *fixtures.Cassette {
	c := &fixtures.Cassette{Version: fixtures.FormatVersion}
	for i := range n {
		c.Interactions = append(c.Interactions, &fixtures.Interaction{
			ID:       i,
			Request:  fixtures.Request{Method: "GET", URL: fmt.Sprintf("https://api.example.com/items/%d", i)},
			Response: fixtures.Response{Code: 200, Body: fmt.Sprintf("item %d", i), Duration: d},
		})
	}
	return c
}

func TestTransportConcurrentReplay(t *testing.T) {
	const n = 400
	c := memoryCassette(n, 0)
	// Twenty identical requests, answered once each.
	for i := range 20 {
		c.Interactions = append(c.Interactions, &fixtures.Interaction{
			Request:  fixtures.Request{Method: "GET", URL: "https://api.example.com/poll"},
			Response: fixtures.Response{Code: 200, Body: fmt.Sprintf("poll %d", i)},
		})
	}
	tr := newTransport(t, []*fixtures.Cassette{c})
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		polls = map[string]int{}
	)
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < n; i += 8 {
				got, err := request{url: fmt.Sprintf("https://api.example.com/items/%d", i)}.answer(tr)
				if want := fmt.Sprintf("item %d", i); err != nil || got != want {
					t.Errorf("got %q, %v, want %q", got, err, want)
				}
			}
			for range 20 / 4 {
				if g >= 4 {
					return
				}
				got, err := request{url: "https://api.example.com/poll"}.answer(tr)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				polls[got]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(polls) != 20 {
		t.Errorf("20 identical requests got %d distinct answers, want each recorded answer once: %v", len(polls), polls)
	}
}

func TestTransportLatency(t *testing.T) {
	t.Parallel()
	t.Run("replayed", func(t *testing.T) {
		t.Parallel()
		const recorded = 300 * time.Millisecond
		tr := newTransport(t, []*fixtures.Cassette{memoryCassette(1, recorded)}, replay.WithRecordedLatency())
		start := time.Now()
		answer(t, tr, request{url: "https://api.example.com/items/0"})
		if elapsed := time.Since(start); elapsed < recorded {
			t.Errorf("answered in %v, want at least the recorded %v", elapsed, recorded)
		}
	})
	t.Run("not-replayed", func(t *testing.T) {
		t.Parallel()
		tr := newTransport(t, []*fixtures.Cassette{memoryCassette(1, 5*time.Second)})
		start := time.Now()
		answer(t, tr, request{url: "https://api.example.com/items/0"})
		if elapsed := time.Since(start); elapsed >= time.Second {
			t.Errorf("answered in %v; without WithRecordedLatency a 5s recording is answered at once", elapsed)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		tr := newTransport(t, []*fixtures.Cassette{memoryCassette(1, 5*time.Second)}, replay.WithRecordedLatency())
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := request{url: "https://api.example.com/items/0"}.send(ctx, tr)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the context's error", err)
		}
		if elapsed := time.Since(start); elapsed >= time.Second {
			t.Errorf("returned after %v; a cancelled request must not wait out the recorded latency", elapsed)
		}
	})
}

func TestNewTransportOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reason    string
		cassettes []*fixtures.Cassette
		opts      []replay.TransportOption
		want      string
	}{{
		name:   "nil-redactor",
		reason: "RedactWith(nil) would leave live requests unredacted",
		opts:   []replay.TransportOption{replay.RedactWith(nil)},
		want:   "RedactWith(nil)",
	}, {
		name:   "path-without-root",
		reason: "a JSON path starts at $",
		opts:   []replay.TransportOption{replay.IgnoreField("meta.ts")},
		want:   `IgnoreField("meta.ts")`,
	}, {
		name:   "whole-body",
		reason: "ignoring the whole body is not a field",
		opts:   []replay.TransportOption{replay.IgnoreField("$")},
		want:   `IgnoreField("$")`,
	}, {
		name:   "bad-step",
		reason: "an index is a number or *",
		opts:   []replay.TransportOption{replay.IgnoreField("$.items[x].id")},
		want:   `[x].id`,
	}, {
		name:      "nil-cassette",
		reason:    "a nil cassette is a caller's mistake",
		cassettes: []*fixtures.Cassette{nil},
		want:      "cassette 0 is nil",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := replay.NewTransport(tc.cassettes, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "new transport: ") {
				t.Errorf("got error %v, want one starting %q and naming %q (%s)", err, "new transport: ", tc.want, tc.reason)
			}
		})
	}
}

// TestTransportCorpus replays every cassette of the shared corpus: each
// recorded request, sent again in recorded order, gets its recorded answer.
func TestTransportCorpus(t *testing.T) {
	dir := os.Getenv("TETHER_CORPUS")
	if dir == "" {
		t.Skip("TETHER_CORPUS is not set; it points at the shared corpus (.ci/run sets it)")
	}
	paths, err := filepath.Glob(filepath.Join(dir, "cassettes", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no cassettes in %s/cassettes/*/", dir)
	}
	for _, path := range paths {
		t.Run(filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), func(t *testing.T) {
			cassettes := loadCassettes(t, path)
			tr := newTransport(t, cassettes)
			for i, in := range cassettes[0].Interactions {
				resp, err := request{method: in.Request.Method, url: in.Request.URL, body: in.Request.Body, header: in.Request.Headers}.send(context.Background(), tr)
				if err != nil {
					t.Fatalf("interaction %d: %v", i, err)
				}
				data, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != in.Response.Code || string(data) != in.Response.Body {
					t.Errorf("interaction %d (line %d): got %d with %d bytes, want %d with %d bytes", i, in.Line, resp.StatusCode, len(data), in.Response.Code, len(in.Response.Body))
				}
			}
		})
	}
}

func ExampleNewTransport() {
	cassette, err := fixtures.Load("testdata/transport/orders.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	tr, err := replay.NewTransport([]*fixtures.Cassette{cassette}, replay.IgnoreQuery("cb"))
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: tr}
	for range 3 {
		resp, err := client.Get("https://api.example.com/v1/orders/1")
		if err != nil {
			var miss *replay.MissError
			fmt.Println("miss:", errors.As(err, &miss), len(miss.Closest), "matching interactions already answered")
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.Status, string(body))
	}
	// Output:
	// 200 OK {"id":1,"status":"pending"}
	// 200 OK {"id":1,"status":"paid"}
	// miss: true 2 matching interactions already answered
}

// TestTransportBodyEdges holds the canonical body to its promise at the
// edges a review found: numbers past 64 bits stay distinct, trailing bytes
// after JSON are not ignored, JSON scalars are JSON too, and a recording
// that kept only a form's fields still matches the posted body.
func TestTransportBodyEdges(t *testing.T) {
	rec := func(body string, form url.Values) *fixtures.Interaction {
		return &fixtures.Interaction{
			Request: fixtures.Request{Method: "POST", URL: "https://api.example.com/v1/x", Body: body, Form: form,
				Headers: http.Header{"Content-Type": {"application/json"}}},
			Response: fixtures.Response{Code: 200, Body: "ok:" + body + form.Encode()},
		}
	}
	formRec := rec("", url.Values{"b": {"2"}, "a": {"1"}})
	formRec.Request.Headers = http.Header{}
	c := &fixtures.Cassette{File: "edges.yaml", Interactions: []*fixtures.Interaction{
		rec(`{"id":12345678901234567890}`, nil),
		rec(`{"a":1}`, nil),
		rec(`"abc"`, nil),
		formRec,
	}}
	for _, tc := range []struct {
		body, contentType string
		match             bool
		reason            string
	}{
		{`{"id":12345678901234567890}`, "application/json", true, "the same big integer"},
		{`{"id":12345678901234567891}`, "application/json", false, "a different big integer, equal as float64"},
		{`{"a":1}}`, "application/json", false, "trailing bytes after the JSON"},
		{` "abc" `, "application/json", true, "a JSON string with spacing"},
		{"b=2&a=1", "application/x-www-form-urlencoded", true, "a form post recorded as fields only"},
	} {
		tr := newTransport(t, []*fixtures.Cassette{c}, replay.Repeatable())
		_, err := request{method: "POST", url: "https://api.example.com/v1/x", body: tc.body,
			header: http.Header{"Content-Type": {tc.contentType}}}.answer(tr)
		if (err == nil) != tc.match {
			t.Errorf("%s: matched = %v, want %v (%s)", tc.body, err == nil, tc.match, tc.reason)
		}
	}
}

func TestTransportMatchOn(t *testing.T) {
	c := &fixtures.Cassette{File: "search.yaml", Interactions: []*fixtures.Interaction{{
		Request:  fixtures.Request{Method: "POST", URL: "https://api.example.com/v1/search?q=shoes", Body: `{"page":1}`, Headers: http.Header{}},
		Response: fixtures.Response{Code: 200, Body: "results"},
	}}}
	live := request{method: "POST", url: "https://api.example.com/v1/search?q=boots", body: `{"page":2}`}
	if _, err := live.answer(newTransport(t, []*fixtures.Cassette{c})); err == nil {
		t.Errorf("another query and body matched by default; they should not")
	}
	tr := newTransport(t, []*fixtures.Cassette{c}, replay.MatchOn("method", "host", "path"))
	if got, err := live.answer(tr); err != nil || got != "results" {
		t.Errorf("MatchOn(method, host, path) = %q, %v; want the recorded answer whatever the query and body", got, err)
	}
	if _, err := replay.NewTransport([]*fixtures.Cassette{c}, replay.MatchOn("verb")); err == nil || !strings.Contains(err.Error(), `MatchOn("verb")`) {
		t.Errorf("MatchOn with an unknown part = %v, want an error naming it", err)
	}
}
