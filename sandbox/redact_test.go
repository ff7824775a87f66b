package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestJournalRedactsCredentials is the regression test of credentials in
// the journal: before, they were kept and printed in clear, failed guesses
// among them.
func TestJournalRedactsCredentials(t *testing.T) {
	var mu sync.Mutex
	var seen []Entry
	s := startCRM(t,
		WithTenant("acme", Bearer("acme-token-1234", "deals:read", "deals:write"), APIKey("acme-key-12345"), Basic("acme-user", "acme-pass")),
		WithTenant("globex", Bearer("globex-token-1234", "deals:read"), Bearer("globex-token-5678", "deals:read")),
		OnCall(func(e Entry) { mu.Lock(); seen = append(seen, e); mu.Unlock() }))
	base := s.VendorURL("crm")
	secrets := []string{"acme-token-1234", "acme-key-12345", "acme-pass", "globex-token-5678", "hunter2-guess", "cookie-secret-1", "undeclared-secret-9"}
	calls := []struct {
		path, body string
		headers    []string
	}{
		{"/deals", "", []string{"Authorization", "Bearer acme-token-1234"}},
		{"/reports?api_key=acme-key-12345&format=csv", "", nil},
		{"/reports?api_key=hunter2-guess", "", nil},
		{"/reports?api_key=hunter2-guess", "", nil},
		{"/reports", "", []string{"Authorization", basic("acme-user", "acme-pass")}},
		{"/deals/d_1", "", []string{"X-Api-Key", "acme-key-12345"}},
		{"/deals/d_1", "", []string{"Authorization", "Bearer globex-token-5678", "Cookie", "session=cookie-secret-1; theme=dark"}},
		// A body that echoes the token it was sent with.
		{"/deals", `{"name":"acme-token-1234","amount":1}`, []string{"Authorization", "Bearer acme-token-1234", "Content-Type", "application/json"}},
		// A parameter named like a credential that the contract does not
		// declare is redacted all the same.
		{"/deals?access_token=undeclared-secret-9&limit=5", "", []string{"Authorization", "Bearer acme-token-1234"}},
	}
	for _, c := range calls {
		method := "GET"
		if c.body != "" {
			method = "POST"
		}
		resp, _ := call(t, method, base+c.path, c.body, c.headers...)
		resp.Body.Close()
	}

	page := s.Journal(JournalFilter{})
	raw, _ := json.Marshal(page)
	mu.Lock()
	printed, _ := json.Marshal(seen)
	mu.Unlock()
	for _, where := range []struct {
		name string
		text string
	}{{"the journal", string(raw)}, {"what OnCall saw", string(printed)}} {
		for _, sec := range secrets {
			for _, enc := range []string{sec, url.QueryEscape(sec), base64.StdEncoding.EncodeToString([]byte("acme-user:" + sec))} {
				if strings.Contains(where.text, enc) {
					t.Errorf("%s holds %q in clear", where.name, enc)
				}
			}
			// An unkeyed digest would let a guess be confirmed offline.
			sum := sha256.Sum256([]byte(sec))
			if strings.Contains(where.text, hex.EncodeToString(sum[:])[:8]) {
				t.Errorf("%s holds an unkeyed digest of %q", where.name, sec)
			}
		}
	}

	es := page.Entries
	ph := regexp.MustCompile(`REDACTED-[0-9a-f]{12}(\([^)]*\))?`)
	label := func(s string) string {
		m := ph.FindStringSubmatch(s)
		if m == nil {
			return "none"
		}
		return strings.Trim(m[1], "()")
	}
	checks := []struct {
		reason, got, want string
	}{
		{"a bearer token names its tenant and kind", label(es[0].RequestHeader.Get("Authorization")), "acme/bearer"},
		{"the scheme of Authorization stays", strings.Fields(es[0].RequestHeader.Get("Authorization"))[0], "Bearer"},
		{"an API key in the query names its tenant", label(es[1].Query), "acme/api-key"},
		{"the other parameters stay", fmt.Sprint(strings.Contains(es[1].Query, "&format=csv") && strings.HasPrefix(es[1].Query, "api_key=")), "true"},
		{"a guess has no label", label(es[2].Query), ""},
		{"a basic credential names its tenant", label(es[4].RequestHeader.Get("Authorization")), "acme/basic"},
		{"an API key header names its tenant", label(es[5].RequestHeader.Get("X-Api-Key")), "acme/api-key"},
		{"a tenant's second token is told from its first", label(es[6].RequestHeader.Get("Authorization")), "globex/bearer-2"},
		{"cookie names stay", fmt.Sprint(strings.HasPrefix(es[6].RequestHeader.Get("Cookie"), "session=REDACTED-") && strings.Contains(es[6].RequestHeader.Get("Cookie"), "theme=REDACTED-")), "true"},
		{"an echoed token in the body", label(es[7].RequestBody), "acme/bearer"},
		{"the same guess twice gives the same placeholder", ph.FindString(es[2].Query), ph.FindString(es[3].Query)},
		{"the same token twice gives the same placeholder", ph.FindString(es[0].RequestHeader.Get("Authorization")), ph.FindString(es[7].RequestHeader.Get("Authorization"))},
		{"the tenant is still journaled", es[0].Tenant, "acme"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.reason, c.got, c.want)
		}
	}
	if es[2].Status != 401 {
		t.Errorf("the guess was answered %d, want 401", es[2].Status)
	}

	// Another sandbox draws another key: the placeholder of a guess in one
	// journal says nothing about the guess elsewhere.
	other := startCRM(t, WithTenant("acme", APIKey("acme-key-12345")))
	resp, _ := call(t, "GET", other.VendorURL("crm")+"/reports?api_key=hunter2-guess", "")
	resp.Body.Close()
	if a, b := ph.FindString(es[2].Query), ph.FindString(lastEntry(t, other).Query); a == b {
		t.Errorf("two sandboxes gave the guess the same placeholder %s", a)
	}
}

// TestReveal: whoever registered a tenant's credentials gets them back
// from the journal as they were sent, and nothing else: not another
// tenant's, not a guess.
func TestReveal(t *testing.T) {
	acme := []Credential{Bearer("acme-token-1234", "deals:read", "deals:write"), APIKey("acme-key-12345"), Basic("acme-user", "acme-pass"), Bearer("acme-token-5678", "deals:read")}
	s := startCRM(t, WithTenant("acme", acme...), WithTenant("globex", Bearer("globex-token-1234", "deals:read")))
	base := s.VendorURL("crm")
	calls := []struct {
		path, body string
		headers    []string
	}{
		{"/deals", "", []string{"Authorization", "Bearer acme-token-5678"}},
		{"/reports?api_key=acme-key-12345&format=csv", "", nil},
		{"/reports", "", []string{"Authorization", basic("acme-user", "acme-pass")}},
		{"/deals", `{"name":"acme-token-1234","amount":1}`, []string{"Authorization", "Bearer acme-token-1234", "Content-Type", "application/json"}},
		{"/deals", "", []string{"Authorization", "Bearer globex-token-1234"}},
		{"/reports?api_key=hunter2-guess", "", nil},
	}
	for _, c := range calls {
		method := "GET"
		if c.body != "" {
			method = "POST"
		}
		resp, _ := call(t, method, base+c.path, c.body, c.headers...)
		resp.Body.Close()
	}
	es := s.Journal(JournalFilter{}).Entries
	var got []Entry
	for _, e := range es {
		got = append(got, Reveal(e, "acme", acme...))
	}
	checks := []struct{ reason, got, want string }{
		{"a second bearer token", got[0].RequestHeader.Get("Authorization"), "Bearer acme-token-5678"},
		{"an API key in the query, escaped as a query is", got[1].Query, "api_key=acme-key-12345&format=csv"},
		{"a basic credential, encoded as it was sent", got[2].RequestHeader.Get("Authorization"), basic("acme-user", "acme-pass")},
		{"a token the body echoes", got[3].RequestBody, `{"name":"acme-token-1234","amount":1}`},
		{"another tenant's token stays hidden", fmt.Sprint(strings.Contains(got[4].RequestHeader.Get("Authorization"), "globex-token")), "false"},
		{"a guess stays hidden", fmt.Sprint(strings.Contains(got[5].Query, "hunter2")), "false"},
		{"the journal itself is unchanged", fmt.Sprint(strings.Contains(s.Journal(JournalFilter{}).Entries[0].RequestHeader.Get("Authorization"), "acme-token")), "false"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.reason, c.got, c.want)
		}
	}
}
