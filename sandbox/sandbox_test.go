package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
)

func loadContract(t testing.TB, name string) *contracts.Contract {
	t.Helper()
	c, err := contracts.Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func loadCassette(t testing.TB, name string) *fixtures.Cassette {
	t.Helper()
	c, err := fixtures.Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startCRM starts a sandbox of the CRM contract and closes it after t.
func startCRM(t testing.TB, opts ...Option) *Sandbox {
	t.Helper()
	return startVendors(t, []Vendor{{Name: "crm", Contract: loadContract(t, "crm.yaml")}}, opts...)
}

func startVendors(t testing.TB, vs []Vendor, opts ...Option) *Sandbox {
	t.Helper()
	s, err := Start(vs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// call makes one request with a plain client; headers are name, value
// pairs.
func call(t testing.TB, method, url, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func lastEntry(t testing.TB, s *Sandbox) Entry {
	t.Helper()
	p := s.Journal(JournalFilter{})
	if len(p.Entries) == 0 {
		t.Fatal("the journal is empty")
	}
	return p.Entries[len(p.Entries)-1]
}

func TestVendorURLIncludesBasePath(t *testing.T) {
	s := startCRM(t)
	if got, want := s.VendorURL("crm"), s.URL()+"/crm/v2"; got != want {
		t.Errorf("VendorURL = %q, want %q", got, want)
	}
	resp, body := call(t, "GET", s.VendorURL("crm")+"/ping", "")
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("GET /ping = %d %s, want 204", resp.StatusCode, body)
	}
}

func TestRouting(t *testing.T) {
	s := startCRM(t)
	tests := []struct {
		reason, method, path string
		status               int
		rule                 string
		allow                string
	}{
		{"an unknown path is answered 404 and journaled", "GET", "/crm/v2/invoices", 404, contracts.RuleOperationNotFound, ""},
		{"a known path with another method is 405 with Allow", "DELETE", "/crm/v2/deals", 405, contracts.RuleMethodNotAllowed, "GET, POST"},
		{"an unknown vendor is 404", "GET", "/erp/v2/deals", 404, RuleVendorUnknown, ""},
	}
	for _, tc := range tests {
		resp, body := call(t, tc.method, s.URL()+tc.path, "", "Authorization", "Bearer t")
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %s %s = %d, want %d (%s)", tc.reason, tc.method, tc.path, resp.StatusCode, tc.status, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: Content-Type %q, want problem+json", tc.reason, ct)
		}
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s: Allow %q, want %q", tc.reason, got, tc.allow)
		}
		e := lastEntry(t, s)
		if len(e.Findings) == 0 || e.Findings[0].ID != tc.rule {
			t.Errorf("%s: journal findings %v, want rule %s", tc.reason, e.Findings, tc.rule)
		}
		if e.Source != SourceRoute || e.Status != tc.status {
			t.Errorf("%s: journaled source %q status %d", tc.reason, e.Source, e.Status)
		}
	}
}

func TestValidation(t *testing.T) {
	bad := `{"name":"","amount":-1,"colour":"red"}`
	t.Run("lenient journals violations and answers", func(t *testing.T) {
		s := startCRM(t)
		resp, body := call(t, "POST", s.VendorURL("crm")+"/deals", bad, "Authorization", "Bearer t", "Content-Type", "application/json")
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("status %d %s, want 201", resp.StatusCode, body)
		}
		e := lastEntry(t, s)
		if len(e.Findings) == 0 {
			t.Fatal("no findings journaled for an invalid body")
		}
		for _, f := range e.Findings {
			if f.ID != contracts.RuleRequestBodyInvalid {
				t.Errorf("finding %s, want %s", f.ID, contracts.RuleRequestBodyInvalid)
			}
		}
	})
	t.Run("strict answers 400 naming each violation", func(t *testing.T) {
		s := startCRM(t, Strict())
		resp, body := call(t, "POST", s.VendorURL("crm")+"/deals?x=1", bad, "Authorization", "Bearer t", "Content-Type", "application/json")
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
		var p problem
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		paths := map[string]bool{}
		for _, v := range p.Violations {
			paths[v.Path] = true
			if v.Rule == "" || v.Message == "" {
				t.Errorf("violation without rule or message: %+v", v)
			}
		}
		for _, want := range []string{"$.name", "$.amount"} {
			if !paths[want] {
				t.Errorf("violations %v do not name %s", p.Violations, want)
			}
		}
		if e := lastEntry(t, s); e.Source != SourceValidation {
			t.Errorf("journaled source %q, want %q", e.Source, SourceValidation)
		}
	})
	t.Run("strict passes a valid request", func(t *testing.T) {
		s := startCRM(t, Strict())
		resp, body := call(t, "POST", s.VendorURL("crm")+"/deals", `{"name":"Initech","amount":10}`, "Authorization", "Bearer t", "Content-Type", "application/json")
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("status %d %s, want 201", resp.StatusCode, body)
		}
		if e := lastEntry(t, s); len(e.Findings) > 0 {
			t.Errorf("findings for a valid request: %v", e.Findings)
		}
	})
}

// TestAnswerSources runs without state, where each call is answered on its
// own; TestStateAnswers covers answers built from state.
func TestAnswerSources(t *testing.T) {
	c := loadContract(t, "crm.yaml")
	s := startVendors(t, []Vendor{{Name: "crm", Contract: c, Cassettes: []*fixtures.Cassette{loadCassette(t, "crm_deals.yaml")}, Stateless: true}})
	base := s.VendorURL("crm")
	auth := []string{"Authorization", "Bearer t"}
	tests := []struct {
		reason, path string
		headers      []string
		status       int
		source       string
		contains     string
	}{
		{"the contract's own example", "/deals", nil, 200, SourceExample, "Acme renewal"},
		{"a recording, first in order", "/deals/d_7", nil, 200, SourceCassette, `"stage":"open"`},
		{"a recording, second in order", "/deals/d_7", nil, 200, SourceCassette, `"stage":"won"`},
		{"a synthesised answer once the recordings are used", "/deals/d_7", nil, 200, SourceSynthesised, `"id":"d_`},
		{"a declared status on request", "/deals/d_1", []string{"Prefer", "code=404"}, 404, SourceExample, "no such deal"},
		{"an undeclared status on request", "/deals/d_1", []string{"Prefer", "code=418"}, 400, SourceRoute, "declares"},
		{"a non-JSON example", "/reports?api_key=k", nil, 200, SourceExample, "stage,count"},
	}
	for _, tc := range tests {
		resp, body := call(t, "GET", base+tc.path, "", append(auth, tc.headers...)...)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.contains) {
			t.Errorf("%s: GET %s = %d %s, want %d containing %q", tc.reason, tc.path, resp.StatusCode, body, tc.status, tc.contains)
		}
		if e := lastEntry(t, s); e.Source != tc.source {
			t.Errorf("%s: source %q, want %q", tc.reason, e.Source, tc.source)
		}
		if tc.status < 400 {
			req, _ := http.NewRequest("GET", "https://api.crm.example.com/v2"+tc.path, nil)
			resp.Body = io.NopCloser(strings.NewReader(body))
			if ps := c.ValidateResponse(req, resp); len(ps) > 0 {
				t.Errorf("%s: the answer breaks the contract: %v", tc.reason, ps)
			}
		}
	}
}

func TestJournal(t *testing.T) {
	s := startCRM(t, WithJournalCap(3))
	for i := 0; i < 5; i++ {
		call(t, "GET", s.VendorURL("crm")+"/ping", "", "X-Request-Id", "req-"+string(rune('a'+i)))
	}
	p := s.Journal(JournalFilter{})
	if len(p.Entries) != 3 || p.Dropped != 2 || p.Last != 5 || p.Cap != 3 {
		t.Fatalf("journal kept %d entries, dropped %d, last %d, cap %d; want 3, 2, 5, 3", len(p.Entries), p.Dropped, p.Last, p.Cap)
	}
	if p.Entries[0].Seq != 3 || p.Entries[0].CorrelationID != "req-c" {
		t.Errorf("oldest kept entry is %d %q, want 3 req-c", p.Entries[0].Seq, p.Entries[0].CorrelationID)
	}
	e := p.Entries[2]
	if e.Vendor != "crm" || e.Operation != "ping" || e.Method != "GET" || e.Path != "/v2/ping" || e.Status != 204 || e.Tenant != DefaultTenant || e.Took <= 0 {
		t.Errorf("entry %+v lacks what was called", e)
	}
	if got := s.Journal(JournalFilter{After: 4}); len(got.Entries) != 1 || got.Entries[0].Seq != 5 {
		t.Errorf("After 4 gave %d entries", len(got.Entries))
	}
	if got := s.Journal(JournalFilter{CorrelationID: "req-d"}); len(got.Entries) != 1 {
		t.Errorf("CorrelationID filter gave %d entries, want 1", len(got.Entries))
	}
	resp, _ := call(t, "GET", s.VendorURL("crm")+"/ping", "")
	if !strings.HasPrefix(resp.Header.Get("X-Correlation-Id"), "tether-") {
		t.Errorf("a call without a correlation ID got %q, want one made up", resp.Header.Get("X-Correlation-Id"))
	}
	s.Reset()
	if p := s.Journal(JournalFilter{}); len(p.Entries) != 0 || p.Dropped != 0 || p.Last != 0 {
		t.Errorf("after Reset the journal holds %d entries", len(p.Entries))
	}
}

func TestJournalEntriesAreTheCallersOwn(t *testing.T) {
	s := startCRM(t)
	call(t, "GET", s.VendorURL("crm")+"/deals", "", "Authorization", "Bearer t")
	e := lastEntry(t, s)
	e.ResponseHeader.Set("X-Changed", "1")
	e.RequestHeader.Set("X-Changed", "1")
	resp, _ := call(t, "GET", s.VendorURL("crm")+"/deals", "", "Authorization", "Bearer t")
	if resp.Header.Get("X-Changed") != "" {
		t.Error("changing a journaled entry's headers changed the next answer")
	}
	if first := s.Journal(JournalFilter{}).Entries[0]; first.RequestHeader.Get("X-Changed") != "" {
		t.Error("changing a journaled entry changed the journal")
	}
}

func TestHeadIsAnsweredAsGet(t *testing.T) {
	s := startCRM(t)
	resp, body := call(t, "HEAD", s.VendorURL("crm")+"/deals", "", "Authorization", "Bearer t")
	if resp.StatusCode != 200 || body != "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD /deals = %d %q %v, want 200 with GET's headers and no body", resp.StatusCode, body, resp.Header)
	}
	if e := lastEntry(t, s); e.Operation != "listDeals" {
		t.Errorf("HEAD journaled as %q, want listDeals", e.Operation)
	}
}

func TestStartErrors(t *testing.T) {
	c := loadContract(t, "crm.yaml")
	tests := []struct {
		reason  string
		vendors []Vendor
		opts    []Option
		want    string
	}{
		{"no vendors", nil, nil, "no vendors"},
		{"no contract", []Vendor{{Name: "crm"}}, nil, "has no contract"},
		{"a name clash", []Vendor{{Name: "crm", Contract: c}, {Name: "crm", Contract: c}}, nil, "two vendors are called"},
		{"a name that is not a path segment", []Vendor{{Name: "a/b", Contract: c}}, nil, "must be letters"},
		{"a shared credential", []Vendor{{Contract: c}}, []Option{WithTenant("a", Bearer("x")), WithTenant("b", Bearer("x"))}, "share a bearer credential"},
		{"a tenant without credentials", []Vendor{{Contract: c}}, []Option{WithTenant("a")}, "at least one credential"},
		{"a zero option", []Vendor{{Contract: c}}, []Option{{}}, "zero sandbox.Option"},
		{"a fault for an unknown vendor", []Vendor{{Contract: c}}, []Option{WithFault(Status(503).ForVendor("erp"))}, `no vendor "erp"`},
		{"a bad journal cap", []Vendor{{Contract: c}}, []Option{WithJournalCap(0)}, "at least 1"},
		{"a fault for a misspelt operation", []Vendor{{Contract: c}}, []Option{WithFault(Status(503).On("createDeel"))}, `no operation "createDeel"; name one by its operationId or as "METHOD /path/template" (did you mean "createDeal"?)`},
	}
	for _, tc := range tests {
		s, err := Start(tc.vendors, tc.opts...)
		if err == nil {
			s.Close()
			t.Errorf("%s: Start succeeded", tc.reason)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not say %q", tc.reason, err, tc.want)
		}
	}
}

// TestMemoryBoundedByTheJournalRing: the journal is a ring, so a long run
// keeps a fixed number of entries and the heap stops growing; and it keeps
// the head of a large body only, not the whole.
func TestMemoryBoundedByTheJournalRing(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 47,000 calls")
	}
	// State is off: its own cap bounds it (TestStateCap); this test is of
	// the journal's.
	s, err := newSandbox([]Vendor{{Name: "crm", Contract: loadContract(t, "crm.yaml")}}, []Option{WithJournalCap(500), Stateless()})
	if err != nil {
		t.Fatal(err)
	}
	big := `{"name":"` + strings.Repeat("x", 1<<20) + `","amount":1}`
	run := func(n int, bigEvery int) {
		for i := 0; i < n; i++ {
			req := httptest.NewRequest("GET", "/crm/v2/deals?limit=5", nil)
			if bigEvery > 0 && i%bigEvery == 0 {
				req = httptest.NewRequest("POST", "/crm/v2/deals", strings.NewReader(big))
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("Authorization", "Bearer t")
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != 200 && rec.Code != 201 {
				t.Fatalf("call %d: %d %s", i, rec.Code, rec.Body)
			}
		}
	}
	heap := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	run(5000, 0)
	before := heap()
	run(40000, 0)
	after := heap()
	p := s.Journal(JournalFilter{})
	if len(p.Entries) != 500 || p.Dropped != 44500 {
		t.Errorf("journal holds %d entries and dropped %d, want 500 and 44500", len(p.Entries), p.Dropped)
	}
	// 40,000 kept entries would take tens of megabytes.
	if grew := after - before; grew > 4<<20 {
		t.Errorf("the heap grew by %d bytes over 40,000 calls with a ring of 500", grew)
	}

	// A ring of 500 holding 50 bodies of 1 MiB keeps 50 heads of 64 KiB
	// (3.2 MiB), not 50 MiB.
	run(2000, 10)
	full := heap()
	s.Reset()
	if kept := full - heap(); kept > 12<<20 {
		t.Errorf("the journal of 500 entries kept %d bytes; large bodies are kept whole", kept)
	}
}

// A cassette recorded through a sandbox has the vendor's name first in its
// paths; it answers as one recorded against the vendor does.
func TestCassetteRecordedThroughASandbox(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "crm_deals.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	through := strings.ReplaceAll(string(data), "https://api.crm.example.com/v2/", "http://127.0.0.1:18080/crm/v2/")
	if through == string(data) {
		t.Fatal("testdata/crm_deals.yaml no longer records https://api.crm.example.com/v2/ URLs; update this test")
	}
	cas, err := fixtures.Parse("crm_deals.yaml", []byte(through))
	if err != nil {
		t.Fatal(err)
	}
	s := startVendors(t, []Vendor{{Name: "crm", Contract: loadContract(t, "crm.yaml"), Cassettes: []*fixtures.Cassette{cas}}})
	resp, body := call(t, "GET", s.VendorURL("crm")+"/deals/d_7", "", "Authorization", "Bearer t")
	if resp.StatusCode != 200 || !strings.Contains(body, `"stage":"open"`) {
		t.Errorf("GET /deals/d_7 = %d %s, want the recorded answer", resp.StatusCode, body)
	}
	if e := lastEntry(t, s); e.Source != SourceCassette {
		t.Errorf("source %q, want %q", e.Source, SourceCassette)
	}
}
