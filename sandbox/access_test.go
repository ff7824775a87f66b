package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/sandbox"
)

// startTenants starts the CRM sandbox with two tenants, acme (a bearer
// token) and globex (a bearer token and a user and password), and makes
// one call as each.
func startTenants(t *testing.T, opts ...sandbox.Option) *sandbox.Sandbox {
	t.Helper()
	c, err := contracts.Load("testdata/crm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]sandbox.Option{
		sandbox.WithTenant("acme", sandbox.Bearer("acme-token-1234", "deals:read")),
		sandbox.WithTenant("globex", sandbox.Bearer("globex-token-1234", "deals:read"), sandbox.Basic("globex-user", "globex-pass")),
	}, opts...)
	s, err := sandbox.Start([]sandbox.Vendor{{Name: "crm", Contract: c}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, tok := range []string{"acme-token-1234", "globex-token-1234"} {
		if st, _, _ := send(t, s, "GET", "/crm/v2/deals/d_1", "", "Authorization", "Bearer "+tok); st != 200 {
			t.Fatalf("a call with %s answered %d", tok, st)
		}
	}
	return s
}

// send makes one request to the sandbox; headers are name, value pairs,
// and "Host" sets the request's Host.
func send(t *testing.T, s *sandbox.Sandbox, method, path, body string, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestAdminAccess is the regression test of the admin API's checks: before
// them, anyone who reached the port read every tenant's journal, set
// faults and reset, from any Host, Origin and content type.
func TestAdminAccess(t *testing.T) {
	s := startTenants(t, sandbox.WithAdminHost("sandbox.internal"))
	port := s.URL()[strings.LastIndex(s.URL(), ":")+1:]
	admin := "Bearer " + s.AdminToken()
	tests := []struct {
		reason, method, path, body string
		headers                    []string
		status                     int
		contains                   string
	}{
		{"no credential", "GET", "/__tether/journal", "", nil, 401, "admin token"},
		{"a wrong token", "GET", "/__tether/journal", "", []string{"Authorization", "Bearer nope-nope-nope-nope"}, 401, "admin token"},
		{"the admin token with one more character", "GET", "/__tether/journal", "", []string{"Authorization", admin + "x"}, 401, ""},
		{"a wrong user and password", "GET", "/__tether/journal", "", []string{"Authorization", basicAuth("globex-user", "nope")}, 401, ""},
		{"the admin token", "GET", "/__tether/journal", "", []string{"Authorization", admin}, 200, `"tenant":"globex"`},
		{"a foreign Host, as DNS rebinding sends", "GET", "/__tether/journal", "", []string{"Authorization", admin, "Host", "evil.example:" + port}, 421, "evil.example"},
		{"a foreign Host without a port", "GET", "/__tether/health", "", []string{"Authorization", admin, "Host", "evil.example"}, 421, ""},
		{"localhost", "GET", "/__tether/health", "", []string{"Authorization", admin, "Host", "localhost:" + port}, 200, ""},
		{"an IPv6 literal", "GET", "/__tether/health", "", []string{"Authorization", admin, "Host", "[::1]:" + port}, 200, ""},
		{"a name given at start", "GET", "/__tether/health", "", []string{"Authorization", admin, "Host", "Sandbox.Internal:" + port}, 200, ""},
		{"a subdomain of localhost is not localhost", "GET", "/__tether/health", "", []string{"Authorization", admin, "Host", "evil.localhost:" + port}, 421, ""},
		{"a cross-site Origin", "POST", "/__tether/reset", "", []string{"Authorization", admin, "Origin", "https://evil.example"}, 403, "cross-site"},
		{"a cross-site read", "GET", "/__tether/journal", "", []string{"Authorization", admin, "Sec-Fetch-Site", "cross-site"}, 403, "cross-site"},
		{"a same-site page is another origin", "GET", "/__tether/journal", "", []string{"Authorization", admin, "Sec-Fetch-Site", "same-site"}, 403, ""},
		{"Origin null", "POST", "/__tether/reset", "", []string{"Authorization", admin, "Origin", "null"}, 403, ""},
		{"the sandbox's own origin", "DELETE", "/__tether/faults", "", []string{"Authorization", admin, "Origin", s.URL(), "Sec-Fetch-Site", "same-origin"}, 204, ""},
		{"a text/plain post, as a form may send anywhere", "POST", "/__tether/faults", `{"faults":[{"kind":"reset"}]}`, []string{"Authorization", admin, "Content-Type", "text/plain"}, 415, "JSON or YAML"},
		{"an empty text/plain post", "POST", "/__tether/reset", "", []string{"Authorization", admin, "Content-Type", "text/plain"}, 415, ""},
		{"a form post", "POST", "/__tether/reset", "a=b", []string{"Authorization", admin, "Content-Type", "application/x-www-form-urlencoded"}, 415, ""},
		{"a body without a content type", "PUT", "/__tether/faults", "faults: []", []string{"Authorization", admin}, 415, ""},
		{"YAML", "PUT", "/__tether/faults", "faults: []", []string{"Authorization", admin, "Content-Type", "application/yaml"}, 200, ""},
		{"JSON with a charset", "PUT", "/__tether/faults", `{"faults":[]}`, []string{"Authorization", admin, "Content-Type", "application/json; charset=utf-8"}, 200, ""},
		{"a tenant reads its own journal", "GET", "/__tether/journal", "", []string{"Authorization", "Bearer acme-token-1234"}, 200, `"tenant":"acme"`},
		{"a tenant asks for another's journal", "GET", "/__tether/journal?tenant=globex", "", []string{"Authorization", "Bearer acme-token-1234"}, 403, `tenant \"globex\"`},
		{"a tenant's health names only itself", "GET", "/__tether/health", "", []string{"Authorization", "Bearer acme-token-1234"}, 200, `"tenants":["acme"]`},
		{"a tenant cannot set faults", "PUT", "/__tether/faults", `{"faults":[]}`, []string{"Authorization", "Bearer acme-token-1234", "Content-Type", "application/json"}, 403, "admin token"},
		{"a tenant cannot read faults", "GET", "/__tether/faults", "", []string{"Authorization", "Bearer acme-token-1234"}, 403, ""},
		{"a tenant cannot reset", "POST", "/__tether/reset", "", []string{"Authorization", "Bearer acme-token-1234"}, 403, ""},
		{"a tenant cannot deliver", "POST", "/__tether/deliver", `{}`, []string{"Authorization", "Bearer acme-token-1234", "Content-Type", "application/json"}, 403, ""},
		{"a tenant with a user and password", "GET", "/__tether/journal", "", []string{"Authorization", basicAuth("globex-user", "globex-pass")}, 200, `"tenant":"globex"`},
	}
	for _, tc := range tests {
		st, h, body := send(t, s, tc.method, tc.path, tc.body, tc.headers...)
		if st != tc.status || !strings.Contains(body, tc.contains) {
			t.Errorf("%s: %s %s = %d %s, want %d containing %q", tc.reason, tc.method, tc.path, st, body, tc.status, tc.contains)
		}
		if st == 401 && !strings.Contains(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: a 401 without a Bearer challenge: %q", tc.reason, h.Get("WWW-Authenticate"))
		}
		if strings.Contains(body, s.AdminToken()) || strings.Contains(body, "acme-token-1234") || strings.Contains(body, "globex-token-1234") {
			t.Errorf("%s: the answer holds a credential in clear: %s", tc.reason, body)
		}
	}

	// Tenant isolation, entry by entry.
	for _, tok := range []string{"acme-token-1234", "globex-token-1234"} {
		tenant := strings.TrimSuffix(tok, "-token-1234")
		st, _, body := send(t, s, "GET", "/__tether/journal", "", "Authorization", "Bearer "+tok)
		var page sandbox.JournalPage
		if err := json.Unmarshal([]byte(body), &page); err != nil || st != 200 {
			t.Fatalf("%s's journal: %d %s", tenant, st, body)
		}
		if len(page.Entries) == 0 {
			t.Errorf("%s's journal is empty; want its own call", tenant)
		}
		for _, e := range page.Entries {
			if e.Tenant != tenant {
				t.Errorf("%s's credential read an entry of tenant %q", tenant, e.Tenant)
			}
		}
	}
}

func basicAuth(user, pass string) string {
	r, _ := http.NewRequest("GET", "http://x/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

func TestAdminToken(t *testing.T) {
	c, err := contracts.Load("testdata/crm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	vendors := []sandbox.Vendor{{Name: "crm", Contract: c}}
	a, b := startCRM(t), startCRM(t)
	if a.AdminToken() == b.AdminToken() || len(a.AdminToken()) < sandbox.MinAdminTokenLen {
		t.Errorf("two sandboxes made the admin tokens %q and %q; want two long random ones", a.AdminToken(), b.AdminToken())
	}
	s, err := sandbox.Start(vendors, sandbox.WithAdminToken("a-token-of-my-own-choosing"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.AdminToken() != "a-token-of-my-own-choosing" {
		t.Errorf("AdminToken() = %q, want the one given", s.AdminToken())
	}
	if _, err := s.Client().Health(t.Context()); err != nil {
		t.Errorf("the sandbox's own client: %v", err)
	}
	for _, tc := range []struct {
		reason string
		opts   []sandbox.Option
		want   string
	}{
		{"a short token", []sandbox.Option{sandbox.WithAdminToken("short")}, "at least 16"},
		{"a token that is a tenant's credential", []sandbox.Option{sandbox.WithAdminToken("shared-secret-123456"),
			sandbox.WithTenant("acme", sandbox.APIKey("shared-secret-123456"))}, `tenant "acme"`},
		{"a host with a port", []sandbox.Option{sandbox.WithAdminHost("sandbox.internal:80")}, "without port"},
	} {
		s, err := sandbox.Start(vendors, tc.opts...)
		if err == nil {
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Start = %v, want an error containing %q", tc.reason, err, tc.want)
		}
	}
}
