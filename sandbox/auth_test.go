package sandbox

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tetherkit/tether/fixtures"
)

func TestAuthenticationPerScheme(t *testing.T) {
	s := startCRM(t,
		WithTenant("acme", Bearer("acme-token", "deals:read"), APIKey("acme-key"), Basic("acme", "pw")),
		WithTenant("globex", Bearer("globex-token", "deals:read", "deals:write")),
	)
	base := s.VendorURL("crm")
	tests := []struct {
		reason, method, path, body string
		headers                    []string
		status                     int
		tenant                     string
		contains                   string // in the body
	}{
		{"oauth2: no token is 401 with the declared body", "GET", "/deals", "", nil, 401, "", "unauthorized"},
		{"oauth2: an unknown token is 401", "GET", "/deals", "", []string{"Authorization", "Bearer nobody"}, 401, "", "unauthorized"},
		{"oauth2: a token with the scope passes", "GET", "/deals", "", []string{"Authorization", "Bearer acme-token"}, 200, "acme", "data"},
		{"oauth2: a token without the scope is 403 with the declared body", "POST", "/deals", `{"name":"n","amount":1}`, []string{"Authorization", "Bearer acme-token", "Content-Type", "application/json"}, 403, "acme", "forbidden"},
		{"oauth2: another tenant's token with the scope passes", "POST", "/deals", `{"name":"n","amount":1}`, []string{"Authorization", "Bearer globex-token", "Content-Type", "application/json"}, 201, "globex", "d_"},
		{"bearer: a known token passes", "GET", "/deals/d_1", "", []string{"Authorization", "Bearer acme-token"}, 200, "acme", "d_"},
		{"api key in a header passes (the other alternative)", "GET", "/deals/d_1", "", []string{"X-Api-Key", "acme-key"}, 200, "acme", "d_"},
		{"api key in a header, wrong key, is 401", "GET", "/deals/d_1", "", []string{"X-Api-Key", "globex-key"}, 401, "", "unauthorized"},
		{"api key in the query passes", "GET", "/reports?api_key=acme-key", "", nil, 200, "acme", "stage"},
		{"api key in the query, missing, is 401 with a problem body", "GET", "/reports", "", nil, 401, "", "api_key"},
		{"basic: right password passes", "GET", "/reports", "", []string{"Authorization", basic("acme", "pw")}, 200, "acme", "stage"},
		{"basic: wrong password is 401", "GET", "/reports", "", []string{"Authorization", basic("acme", "nope")}, 401, "", ""},
		{"no security: anyone passes", "GET", "/ping", "", nil, 204, DefaultTenant, ""},
	}
	for _, tc := range tests {
		resp, body := call(t, tc.method, base+tc.path, tc.body, tc.headers...)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.contains) {
			t.Errorf("%s: %d %s, want %d containing %q", tc.reason, resp.StatusCode, body, tc.status, tc.contains)
			continue
		}
		e := lastEntry(t, s)
		if e.Tenant != tc.tenant {
			t.Errorf("%s: journaled tenant %q, want %q", tc.reason, e.Tenant, tc.tenant)
		}
		if tc.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: a 401 without WWW-Authenticate", tc.reason)
		}
		if tc.status >= 401 && tc.status <= 403 && e.Source != SourceAuth {
			t.Errorf("%s: journaled source %q, want %q", tc.reason, e.Source, SourceAuth)
		}
	}
}

func TestOpenAuthenticationStillNeedsACredential(t *testing.T) {
	s := startCRM(t)
	resp, _ := call(t, "GET", s.VendorURL("crm")+"/deals", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no credential: %d, want 401", resp.StatusCode)
	}
	resp, _ = call(t, "POST", s.VendorURL("crm")+"/deals", `{"name":"n","amount":1}`, "Authorization", "Bearer anything", "Content-Type", "application/json")
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("any token with no tenant registered: %d, want 201", resp.StatusCode)
	}
}

// TestTenantIsolation: each tenant has its own place in the recordings and
// its own journal; one tenant's credential never gets another's answers.
func TestTenantIsolation(t *testing.T) {
	s := startVendors(t, []Vendor{{Name: "crm", Contract: loadContract(t, "crm.yaml"), Cassettes: []*fixtures.Cassette{loadCassette(t, "crm_deals.yaml")}}},
		WithTenant("acme", Bearer("acme-token")), WithTenant("globex", Bearer("globex-token")))
	url := s.VendorURL("crm") + "/deals/d_7"
	get := func(token string) string {
		_, body := call(t, "GET", url, "", "Authorization", "Bearer "+token)
		return body
	}
	// acme takes the first recording; globex must still get it too, not the second.
	if b := get("acme-token"); !strings.Contains(b, `"open"`) {
		t.Fatalf("acme's first call got %s", b)
	}
	if b := get("globex-token"); !strings.Contains(b, `"open"`) {
		t.Errorf("globex's first call got %s: acme's call consumed globex's recording", b)
	}
	if b := get("acme-token"); !strings.Contains(b, `"won"`) {
		t.Errorf("acme's second call got %s", b)
	}
	for tenant, want := range map[string]int{"acme": 2, "globex": 1} {
		p := s.Journal(JournalFilter{Tenant: tenant})
		if len(p.Entries) != want {
			t.Errorf("journal of %s has %d entries, want %d", tenant, len(p.Entries), want)
		}
		for _, e := range p.Entries {
			if e.Tenant != tenant || !strings.Contains(e.RequestHeader.Get("Authorization"), tenant) {
				t.Errorf("journal of %s holds an entry of %s", tenant, e.Tenant)
			}
		}
	}
}

func TestCredentialForScheme(t *testing.T) {
	s := startCRM(t, WithTenant("acme", Bearer("tok").For("bearer")))
	resp, _ := call(t, "GET", s.VendorURL("crm")+"/deals/d_1", "", "Authorization", "Bearer tok")
	if resp.StatusCode != 200 {
		t.Errorf("a token for the bearer scheme on a bearer operation: %d", resp.StatusCode)
	}
	resp, _ = call(t, "GET", s.VendorURL("crm")+"/deals", "", "Authorization", "Bearer tok")
	if resp.StatusCode != 401 {
		t.Errorf("a token for the bearer scheme on an oauth operation: %d, want 401", resp.StatusCode)
	}
	if got := Bearer("secret", "a", "b").For("oauth").String(); strings.Contains(got, "secret") {
		t.Errorf("String() shows the secret: %s", got)
	}
}
