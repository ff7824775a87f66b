package drift_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/harness/drift"
	"github.com/tetherkit/tether/harness/manifest"
)

// crmContract is a small vendor contract of the tests' own: one list of
// deals, read with GET, and one create.
const crmContract = `openapi: 3.1.0
info: {title: crm, version: "1"}
webhooks:
  deal.updated:
    post:
      requestBody:
        content:
          application/json:
            schema: {type: object}
      responses:
        "200": {description: taken}
servers: [{url: "https://api.crm.example/v2"}]
paths:
  /deals/{id}:
    get:
      operationId: getDeal
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: a deal
          content:
            application/json:
              schema:
                type: object
                required: [id, amount]
                properties:
                  id: {type: string}
                  amount: {type: integer}
                  updated_at: {type: string}
                  request_id: {type: string}
                  next_cursor: {type: string}
  /deals/search:
    post:
      operationId: searchDeals
      x-tether-safe: true
      responses:
        "200": {description: found}
  /deals:
    post:
      operationId: createDeal
      responses:
        "201": {description: created}
`

// connectorDir writes a connector directory with the crm contract and the
// given cassettes, and returns its path.
func connectorDir(t *testing.T, cassettes map[string]*fixtures.Cassette) string {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "contracts", "crm.yaml"), crmContract)
	write(t, filepath.Join(dir, manifest.File), `name: dealnotify
version: 1.0.0
summary: drift tests
support: stable
vendors:
  crm: {contract: contracts/crm.yaml, secret: crm_token}
events: {contract: contracts/crm.yaml}
scopes: []
run: {webhook: /events}
`)
	if err := os.MkdirAll(filepath.Join(dir, "cassettes"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, c := range cassettes {
		if err := c.Save(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func interaction(method, url string, code int, body string) *fixtures.Interaction {
	return &fixtures.Interaction{
		Request:  fixtures.Request{Method: method, URL: url, Headers: http.Header{"Accept": {"application/json"}}},
		Response: fixtures.Response{Code: code, Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), Headers: http.Header{"Content-Type": {"application/json"}}, Body: body},
	}
}

func load(t *testing.T, dir string) *manifest.Connector {
	t.Helper()
	c, err := manifest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// volatileServer answers GET /v2/deals/4207 with the recorded shape but
// fresh ids, timestamps and request ids on every call, and a cursor on
// every other call only, as paging vendors do.
func volatileServer(t *testing.T, calls *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer live-token" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		body := map[string]any{
			"id":         fmt.Sprintf("deal_%d", n*7919),
			"amount":     100,
			"updated_at": time.Unix(1700000000+n, 0).UTC().Format(time.RFC3339),
			"request_id": fmt.Sprintf("req-%x", n*104729),
		}
		if n%2 == 0 {
			body["next_cursor"] = fmt.Sprintf("c%d", n)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", fmt.Sprintf("r%d", n))
		json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestDriftVolatileFieldsAreNoise: a vendor whose answers carry new ids,
// timestamps and request ids on every call, and a field present on every
// other call, has not drifted from a cassette of the same shape.
func TestDriftVolatileFieldsAreNoise(t *testing.T) {
	var calls atomic.Int64
	srv := volatileServer(t, &calls)
	cas := &fixtures.Cassette{Interactions: []*fixtures.Interaction{
		interaction("GET", "https://api.crm.example/v2/deals/4207", 200,
			`{"id":"deal_1","amount":5,"updated_at":"2020-01-01T00:00:00Z","request_id":"req-1","next_cursor":"c0"}`),
	}}
	dir := connectorDir(t, map[string]*fixtures.Cassette{"cassettes/deal.yaml": cas})
	before, _ := os.ReadFile(filepath.Join(dir, "cassettes/deal.yaml"))
	res, err := drift.Check(context.Background(), load(t, dir), "crm", srv.URL+"/v2", drift.WithCredential("live-token"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Checked != 1 || len(res.Findings) != 0 {
		t.Errorf("checked %d, findings %v; want 1 and none", res.Checked, res.Findings)
	}
	if calls.Load() != 2 {
		t.Errorf("%d live calls, want 2 (the second finds the noise)", calls.Load())
	}
	after, _ := os.ReadFile(filepath.Join(dir, "cassettes/deal.yaml"))
	if string(before) != string(after) {
		t.Error("the cassette changed without Rewrite")
	}
}

// TestDriftRealChangeIsFound: the same vendor, now with amount retyped
// and a field gone, has drifted, noise or not.
func TestDriftRealChangeIsFound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/deals/4207":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"deal_%d","amount":"100","extra":true}`, time.Now().UnixNano())
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cas := &fixtures.Cassette{Interactions: []*fixtures.Interaction{
		interaction("GET", "https://api.crm.example/v2/deals/4207", 200, `{"id":"deal_1","amount":5,"updated_at":"2020-01-01T00:00:00Z"}`),
		interaction("GET", "https://api.crm.example/v2/deals/4208", 200, `{"id":"deal_2","amount":5}`),
		interaction("POST", "https://api.crm.example/v2/deals", 201, `{}`),
	}}
	dir := connectorDir(t, map[string]*fixtures.Cassette{"cassettes/deal.yaml": cas})
	res, err := drift.Check(context.Background(), load(t, dir), "crm", srv.URL+"/v2", drift.WithCredential("x"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range res.Findings {
		got[f.ID+" "+f.Operation+" "+f.Path] = true
		if f.File != "cassettes/deal.yaml" || f.Line == 0 {
			t.Errorf("finding %v: position %v, want the cassette's interaction", f.ID, f.Position)
		}
	}
	for _, want := range []string{
		"cassette-drift getDeal $.amount",
		"cassette-drift getDeal $.updated_at",
		"cassette-drift getDeal $.extra",
		"live-contract-violation getDeal $.amount",
		"operation-gone getDeal ",
	} {
		if !got[want] {
			t.Errorf("missing %q in %v", want, got)
		}
	}
	if res.Checked != 2 || res.Skipped != 1 {
		t.Errorf("checked %d, skipped %d; want 2 and 1 (the POST is a write)", res.Checked, res.Skipped)
	}
}

// TestDriftBadInput: what stops a check says what and where.
func TestDriftBadInput(t *testing.T) {
	crm := &fixtures.Cassette{Interactions: []*fixtures.Interaction{interaction("GET", "https://api.crm.example/v2/deals/1", 200, `{}`)}}
	chat := &fixtures.Cassette{Interactions: []*fixtures.Interaction{interaction("POST", "https://chat.example/api/chat.postMessage", 200, `{}`)}}
	dir := connectorDir(t, map[string]*fixtures.Cassette{"cassettes/crm.yaml": crm, "cassettes/chat.yaml": chat})
	c := load(t, dir)

	// A port that was listening and is now closed.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	for _, tc := range []struct {
		reason string
		base   string
		opts   []drift.Option
		want   string
	}{
		{"nothing listens there", deadURL, nil, "cassettes/crm.yaml:"},
		{"nothing listens there, and the error says so", deadURL, nil, "unreachable"},
		{"a cassette of another vendor", "http://127.0.0.1:1", []drift.Option{drift.OnlyCassettes("cassettes/chat.yaml")}, "cassette of another vendor: its requests go to chat.example, vendor crm's hosts are api.crm.example"},
		{"a cassette the connector lacks", "http://127.0.0.1:1", []drift.Option{drift.OnlyCassettes("cassettes/none.yaml")}, "cassettes/none.yaml: not in the connector"},
		{"not an http URL", "ftp://x", nil, "want an http or https URL"},
	} {
		_, err := drift.Check(context.Background(), c, "crm", tc.base, tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one with %q", tc.reason, err, tc.want)
		}
	}
	if _, err := drift.Check(context.Background(), c, "billing", "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), `no vendor "billing"`) {
		t.Errorf("unknown vendor: %v", err)
	}
	only := connectorDir(t, map[string]*fixtures.Cassette{"cassettes/chat.yaml": chat})
	if _, err := drift.Check(context.Background(), load(t, only), "crm", "http://127.0.0.1:1"); !errors.Is(err, drift.ErrNoInteractions) {
		t.Errorf("no crm cassette: %v, want ErrNoInteractions", err)
	}
}

// TestDriftBounds: an answer over the size bound and one slower than the
// call timeout stop the check instead of being read on.
func TestDriftBounds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/deals/slow" {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		w.Write([]byte(`{"id":"` + strings.Repeat("x", 4096) + `"}`))
	}))
	defer srv.Close()
	big := &fixtures.Cassette{Interactions: []*fixtures.Interaction{interaction("GET", "https://api.crm.example/v2/deals/1", 200, `{}`)}}
	slow := &fixtures.Cassette{Interactions: []*fixtures.Interaction{interaction("GET", "https://api.crm.example/v2/deals/slow", 200, `{}`)}}
	c := load(t, connectorDir(t, map[string]*fixtures.Cassette{"cassettes/big.yaml": big, "cassettes/slow.yaml": slow}))
	_, err := drift.Check(context.Background(), c, "crm", srv.URL+"/v2", drift.MaxBody(1024), drift.OnlyCassettes("cassettes/big.yaml"))
	if err == nil || !strings.Contains(err.Error(), "over 1024 bytes") {
		t.Errorf("big answer: %v", err)
	}
	_, err = drift.Check(context.Background(), c, "crm", srv.URL+"/v2", drift.CallTimeout(50*time.Millisecond), drift.OnlyCassettes("cassettes/slow.yaml"))
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("slow answer: %v", err)
	}
}

// TestDriftRewrite: with Rewrite the drifted cassette is replaced by one
// with the live answer, redacted, and no temporary file is left.
func TestDriftRewrite(t *testing.T) {
	secret := "sk_live_" + strings.Repeat("a1B2", 6)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"deal_1","amount":"7","api_key":%q}`, secret)
	}))
	defer srv.Close()
	cas := &fixtures.Cassette{Interactions: []*fixtures.Interaction{interaction("GET", "https://api.crm.example/v2/deals/4207", 200, `{"id":"deal_1","amount":5}`)}}
	dir := connectorDir(t, map[string]*fixtures.Cassette{"cassettes/deal.yaml": cas})
	res, err := drift.Check(context.Background(), load(t, dir), "crm", srv.URL+"/v2", drift.Rewrite())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rewritten) != 1 || res.Rewritten[0] != "cassettes/deal.yaml" {
		t.Fatalf("rewritten %v", res.Rewritten)
	}
	data, err := os.ReadFile(filepath.Join(dir, "cassettes/deal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), secret) {
		t.Error("the rewritten cassette holds the secret in clear")
	}
	got, err := fixtures.Load(filepath.Join(dir, "cassettes/deal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Interactions[0].Response.Body, `"amount":"7"`) {
		t.Errorf("rewritten body %q, want the live one", got.Interactions[0].Response.Body)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "cassettes"))
	if len(entries) != 1 {
		t.Errorf("cassettes dir holds %d files, want 1 (no temporary left)", len(entries))
	}
	// Checked again, the rewritten cassette has no drift.
	res, err = drift.Check(context.Background(), load(t, dir), "crm", srv.URL+"/v2")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		if f.ID == drift.RuleCassetteDrift {
			t.Errorf("after rewrite: %v", f)
		}
	}
}

// TestDriftWrites: a POST the contract marks safe is replayed (twice, as
// a read); another POST only with AllowWrites, and then once.
func TestDriftWrites(t *testing.T) {
	calls := map[string]int{}
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.Method+" "+r.URL.Path]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v2/deals" {
			w.WriteHeader(http.StatusCreated)
		}
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	cas := &fixtures.Cassette{Interactions: []*fixtures.Interaction{
		interaction("POST", "https://api.crm.example/v2/deals/search", 200, `{}`),
		interaction("POST", "https://api.crm.example/v2/deals", 201, `{}`),
	}}
	c := load(t, connectorDir(t, map[string]*fixtures.Cassette{"cassettes/w.yaml": cas}))
	res, err := drift.Check(context.Background(), c, "crm", srv.URL+"/v2")
	if err != nil {
		t.Fatal(err)
	}
	if res.Checked != 1 || res.Skipped != 1 || calls["POST /v2/deals"] != 0 || calls["POST /v2/deals/search"] != 2 {
		t.Errorf("reads only: checked %d, skipped %d, calls %v", res.Checked, res.Skipped, calls)
	}
	clear(calls)
	if res, err = drift.Check(context.Background(), c, "crm", srv.URL+"/v2", drift.AllowWrites()); err != nil {
		t.Fatal(err)
	}
	if res.Checked != 2 || res.Skipped != 0 || calls["POST /v2/deals"] != 1 || len(res.Findings) != 0 {
		t.Errorf("with writes: checked %d, skipped %d, calls %v, findings %v", res.Checked, res.Skipped, calls, res.Findings)
	}
}
