package sandbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/sandbox"
)

// clock is a settable clock for WithClock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// widgetsAuth serves testdata/widgets_oauth.yaml as "widgets" (and as
// "gadgets" too when two is set), with the OAuth2 clients of acme and
// globex, and acme's API key, on an injected clock.
func widgetsAuth(t *testing.T, two bool, opts ...sandbox.Option) (*sandbox.Sandbox, *clock) {
	t.Helper()
	c, err := contracts.Load("testdata/widgets_oauth.yaml", contracts.IgnoreSecurity())
	if err != nil {
		t.Fatal(err)
	}
	vs := []sandbox.Vendor{{Name: "widgets", Contract: c, Stateless: true}}
	if two {
		vs = append(vs, sandbox.Vendor{Name: "gadgets", Contract: c, Stateless: true})
	}
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	opts = append([]sandbox.Option{
		sandbox.WithClock(clk.Now), sandbox.WithTokenTTL(time.Minute),
		sandbox.WithTenant("acme", sandbox.OAuth2Client("acme-app", "acme-secret-1", "widgets:read", "widgets:write"), sandbox.APIKey("acme-key-0001")),
		sandbox.WithTenant("globex", sandbox.OAuth2Client("globex-app", "globex-secret-1", "widgets:read")),
	}, opts...)
	s, err := sandbox.Start(vs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk
}

// tokenAnswer is a token endpoint's answer.
type tokenAnswer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (a tokenAnswer) str(k string) string { s, _ := a.body[k].(string); return s }

// postToken posts form to the token endpoint of vendor; with user set,
// the client authenticates with HTTP basic.
func postToken(t *testing.T, s *sandbox.Sandbox, vendor string, form url.Values, user, pass string) tokenAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/"+vendor+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return doToken(t, req)
}

func doToken(t *testing.T, req *http.Request) tokenAnswer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	a := tokenAnswer{status: resp.StatusCode, header: resp.Header, raw: b.String()}
	json.Unmarshal([]byte(a.raw), &a.body)
	return a
}

func clientCredentials(t *testing.T, s *sandbox.Sandbox, vendor, id, secret string, scopes ...string) tokenAnswer {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	return postToken(t, s, vendor, form, id, secret)
}

// mustToken is an access token of a successful grant.
func mustToken(t *testing.T, a tokenAnswer) string {
	t.Helper()
	if a.status != http.StatusOK || a.str("access_token") == "" {
		t.Fatalf("token request: %d %s, want 200 with an access token", a.status, a.raw)
	}
	return a.str("access_token")
}

// listWidgets calls GET /widgets with token and returns status, the
// WWW-Authenticate header and the body.
func listWidgets(t *testing.T, s *sandbox.Sandbox, vendor, token string) (int, string, string) {
	t.Helper()
	st, h, body := send(t, s, "GET", "/"+vendor+"/v1/widgets", "", "Authorization", "Bearer "+token)
	return st, h.Get("WWW-Authenticate"), body
}

func TestOAuthEndpointsFromContract(t *testing.T) {
	s, _ := widgetsAuth(t, false)
	got := s.Health().Vendors[0].OAuth2
	want := []sandbox.OAuthEndpoint{
		{Kind: "token", Path: "/widgets/oauth/token", URL: "/oauth/token"},
		{Kind: "authorize", Path: "/widgets/authorize", URL: "https://auth.widgets.example/authorize"},
	}
	if len(got) != len(want) {
		t.Fatalf("endpoints %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("endpoint %d is %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestOAuthClientCredentialsGrantAndErrors(t *testing.T) {
	s, _ := widgetsAuth(t, false)
	// Basic authentication, every scope of the client when none is asked.
	a := clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1")
	tok := mustToken(t, a)
	if a.str("scope") != "widgets:read widgets:write" || a.body["expires_in"] != float64(60) || !strings.EqualFold(a.str("token_type"), "bearer") {
		t.Errorf("token answer %s: want both scopes, expires_in 60 and a bearer token", a.raw)
	}
	if _, ok := a.body["refresh_token"]; ok {
		t.Errorf("client credentials gave a refresh token: %s", a.raw)
	}
	if st, _, _ := listWidgets(t, s, "widgets", tok); st != http.StatusOK {
		t.Fatalf("GET /widgets with the token: %d", st)
	}
	// The secret as form fields works as well.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"globex-app"}, "client_secret": {"globex-secret-1"}, "scope": {"widgets:read"}}
	mustToken(t, postToken(t, s, "widgets", form, "", ""))

	for _, tc := range []struct {
		name       string
		form       url.Values
		user, pass string
		status     int
		code       string
	}{
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}}, "acme-app", "nope", 401, "invalid_client"},
		{"unknown client", url.Values{"grant_type": {"client_credentials"}}, "nobody", "acme-secret-1", 401, "invalid_client"},
		{"another tenant's secret", url.Values{"grant_type": {"client_credentials"}}, "globex-app", "acme-secret-1", 401, "invalid_client"},
		{"scope the client lacks", url.Values{"grant_type": {"client_credentials"}, "scope": {"widgets:write"}}, "globex-app", "globex-secret-1", 400, "invalid_scope"},
		{"unsupported grant", url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}, "acme-app", "acme-secret-1", 400, "unsupported_grant_type"},
		{"no grant type", url.Values{}, "acme-app", "acme-secret-1", 400, "invalid_request"},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope.nope"}}, "acme-app", "acme-secret-1", 400, "invalid_grant"},
		{"unknown code", url.Values{"grant_type": {"authorization_code"}, "code": {"nope.nope"}, "redirect_uri": {"http://127.0.0.1/cb"}}, "acme-app", "acme-secret-1", 400, "invalid_grant"},
	} {
		a := postToken(t, s, "widgets", tc.form, tc.user, tc.pass)
		if a.status != tc.status || a.str("error") != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, a.status, a.raw, tc.status, tc.code)
		}
	}
}

func TestOAuthExpiryByClock(t *testing.T) {
	s, clk := widgetsAuth(t, false)
	tok := mustToken(t, clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1"))
	clk.Add(59 * time.Second)
	if st, _, _ := listWidgets(t, s, "widgets", tok); st != http.StatusOK {
		t.Fatalf("a second before expiry: %d, want 200", st)
	}
	clk.Add(time.Second)
	st, challenge, body := listWidgets(t, s, "widgets", tok)
	if st != http.StatusUnauthorized || !strings.Contains(challenge, `error="invalid_token"`) {
		t.Fatalf("at expiry: %d %q, want 401 with error=\"invalid_token\"", st, challenge)
	}
	if !strings.Contains(body, `"code":"unauthorized"`) {
		t.Errorf("at expiry the body is %s; want the contract's declared 401 body", body)
	}
	// A token never issued is refused the same way.
	st, challenge, _ = listWidgets(t, s, "widgets", "made-up-token")
	if st != http.StatusUnauthorized || !strings.Contains(challenge, `error="invalid_token"`) {
		t.Fatalf("an unknown token: %d %q, want 401 invalid_token", st, challenge)
	}
	// No token at all has a challenge without an error (RFC 6750 3.1).
	st, h, _ := send(t, s, "GET", "/widgets/v1/widgets", "")
	if st != http.StatusUnauthorized || strings.Contains(h.Get("WWW-Authenticate"), "error=") {
		t.Errorf("no token: %d %q, want 401 without an error code", st, h.Get("WWW-Authenticate"))
	}
}

func TestOAuthInsufficientScope(t *testing.T) {
	s, _ := widgetsAuth(t, false)
	tok := mustToken(t, clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1", "widgets:read"))
	st, h, body := send(t, s, "POST", "/widgets/v1/widgets", `{"name":"w"}`, "Authorization", "Bearer "+tok, "Content-Type", "application/json")
	if st != http.StatusForbidden || !strings.Contains(h.Get("WWW-Authenticate"), `error="insufficient_scope"`) || !strings.Contains(h.Get("WWW-Authenticate"), `scope="widgets:write"`) {
		t.Fatalf("a write with a read token: %d %q %s, want 403 insufficient_scope naming widgets:write", st, h.Get("WWW-Authenticate"), body)
	}
}

// codeFlow runs the authorization endpoint for acme-app and returns the
// code; challenge is PKCE's, "" for none.
func codeFlow(t *testing.T, s *sandbox.Sandbox, challenge string, scopes ...string) string {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {"acme-app"}, "redirect_uri": {"https://app.example/cb"}, "state": {"state-0123456789"}}
	if len(scopes) > 0 {
		q.Set("scope", strings.Join(scopes, " "))
	}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(s.URL() + "/widgets/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode/100 != 3 || loc == nil || loc.Host != "app.example" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d to %q, want a redirect to the client with a code", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func exchange(t *testing.T, s *sandbox.Sandbox, code, verifier string) tokenAnswer {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example/cb"}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return postToken(t, s, "widgets", form, "acme-app", "acme-secret-1")
}

func challengeOf(verifier string) string {
	d := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(d[:])
}

func TestOAuthAuthorizationCodePKCEByClock(t *testing.T) {
	s, _ := widgetsAuth(t, false)
	verifier := strings.Repeat("v", 50)

	// A wrong verifier fails, and so does none.
	if a := exchange(t, s, codeFlow(t, s, challengeOf(verifier)), strings.Repeat("w", 50)); a.status != 400 || a.str("error") != "invalid_grant" {
		t.Errorf("a wrong verifier: %d %s, want 400 invalid_grant", a.status, a.raw)
	}
	if a := exchange(t, s, codeFlow(t, s, challengeOf(verifier)), ""); a.status != 400 || a.str("error") != "invalid_grant" {
		t.Errorf("no verifier for a challenged code: %d %s, want 400 invalid_grant", a.status, a.raw)
	}
	code := codeFlow(t, s, challengeOf(verifier), "widgets:read")
	a := exchange(t, s, code, verifier)
	tok := mustToken(t, a)
	if a.str("refresh_token") == "" || a.str("scope") != "widgets:read" {
		t.Errorf("code exchange: %s, want a refresh token and scope widgets:read", a.raw)
	}
	if st, _, _ := listWidgets(t, s, "widgets", tok); st != http.StatusOK {
		t.Errorf("GET /widgets with the code's token: %d", st)
	}
	// A code is good once.
	if a := exchange(t, s, code, verifier); a.status != 400 || a.str("error") != "invalid_grant" {
		t.Errorf("a code used twice: %d %s, want 400 invalid_grant", a.status, a.raw)
	}
	// An authorization asking a scope the client lacks is refused, back
	// at the client's redirect.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(s.URL() + "/widgets/authorize?" + url.Values{"response_type": {"code"}, "client_id": {"globex-app"}, "redirect_uri": {"https://app.example/cb"}, "state": {"state-0123456789"}, "scope": {"widgets:write"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "invalid_scope" {
		t.Errorf("authorize with a scope the client lacks: %d %q, want a redirect with error=invalid_scope", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func refresh(t *testing.T, s *sandbox.Sandbox, rt string) tokenAnswer {
	t.Helper()
	return postToken(t, s, "widgets", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "acme-app", "acme-secret-1")
}

func TestOAuthRefreshWithoutRotation(t *testing.T) {
	s, clk := widgetsAuth(t, false)
	a := exchange(t, s, codeFlow(t, s, ""), "")
	old := a.str("refresh_token")
	clk.Add(2 * time.Minute)
	if st, _, _ := listWidgets(t, s, "widgets", a.str("access_token")); st != http.StatusUnauthorized {
		t.Fatalf("expired token: %d, want 401", st)
	}
	first := refresh(t, s, old)
	if st, _, _ := listWidgets(t, s, "widgets", mustToken(t, first)); st != http.StatusOK {
		t.Fatalf("refreshed token: %d, want 200", st)
	}
	// Without rotation the old refresh token still works.
	mustToken(t, refresh(t, s, old))
}

func TestOAuthRefreshWithRotation(t *testing.T) {
	s, _ := widgetsAuth(t, false, sandbox.WithRefreshRotation())
	old := exchange(t, s, codeFlow(t, s, ""), "").str("refresh_token")
	next := refresh(t, s, old)
	mustToken(t, next)
	if next.str("refresh_token") == "" || next.str("refresh_token") == old {
		t.Fatalf("rotation gave refresh token %q; want a new one", next.str("refresh_token"))
	}
	if a := refresh(t, s, old); a.status != 400 || a.str("error") != "invalid_grant" {
		t.Fatalf("the rotated-out refresh token: %d %s, want 400 invalid_grant", a.status, a.raw)
	}
}

func TestOAuthTenantIsolation(t *testing.T) {
	s, _ := widgetsAuth(t, true)
	acme := mustToken(t, clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1"))
	globex := mustToken(t, clientCredentials(t, s, "widgets", "globex-app", "globex-secret-1"))
	// A token of one vendor is nobody's at another.
	if st, ch, _ := listWidgets(t, s, "gadgets", acme); st != http.StatusUnauthorized || !strings.Contains(ch, "invalid_token") {
		t.Errorf("widgets' token at gadgets: %d %q, want 401 invalid_token", st, ch)
	}
	for tenant, tok := range map[string]string{"acme": acme, "globex": globex} {
		if st, _, _ := listWidgets(t, s, "widgets", tok); st != http.StatusOK {
			t.Fatalf("%s's token: %d", tenant, st)
		}
		p := s.Journal(sandbox.JournalFilter{Tenant: tenant, Operation: "listWidgets"})
		if len(p.Entries) != 1 {
			t.Errorf("the journal has %d listWidgets calls of %s, want 1", len(p.Entries), tenant)
		}
	}
	// Expiring one tenant's tokens leaves the other's.
	if n := s.ExpireTokens("acme"); n != 1 {
		t.Errorf("ExpireTokens(acme) = %d, want 1", n)
	}
	if st, _, _ := listWidgets(t, s, "widgets", acme); st != http.StatusUnauthorized {
		t.Errorf("acme's expired token: %d, want 401", st)
	}
	if st, _, _ := listWidgets(t, s, "widgets", globex); st != http.StatusOK {
		t.Errorf("globex's token after acme's expired: %d, want 200", st)
	}
}

func TestOAuthClientsShareNoID(t *testing.T) {
	c, err := contracts.Load("testdata/widgets_oauth.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts []sandbox.Option
		want string
	}{
		{[]sandbox.Option{sandbox.WithTenant("a", sandbox.OAuth2Client("app", "s1")), sandbox.WithTenant("b", sandbox.OAuth2Client("app", "s2"))}, "both register OAuth2 client"},
		{[]sandbox.Option{sandbox.WithTenant("a", sandbox.OAuth2Client("", "s1"))}, "needs an ID"},
		{[]sandbox.Option{sandbox.WithTenant("a", sandbox.OAuth2Client("a:b", "s1"))}, "without colons"},
		{[]sandbox.Option{sandbox.WithTenant("a", sandbox.OAuth2Client("app", ""))}, "is empty"},
		{[]sandbox.Option{sandbox.WithTokenTTL(time.Millisecond)}, "at least a second"},
	} {
		_, err := sandbox.Start([]sandbox.Vendor{{Contract: c}}, tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("start: %v, want an error containing %q", err, tc.want)
		}
	}
}

func TestOAuthAdminOperations(t *testing.T) {
	s, _ := widgetsAuth(t, false)
	ctx := context.Background()
	cl := s.Client()

	// Expire access tokens, through the admin API.
	a := exchange(t, s, codeFlow(t, s, ""), "")
	if err := cl.ExpireTokens(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if st, ch, _ := listWidgets(t, s, "widgets", a.str("access_token")); st != 401 || !strings.Contains(ch, "invalid_token") {
		t.Errorf("after ExpireTokens: %d %q, want 401 invalid_token", st, ch)
	}
	// Revoke refresh tokens.
	if err := cl.RevokeRefreshTokens(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if r := refresh(t, s, a.str("refresh_token")); r.status != 400 || r.str("error") != "invalid_grant" {
		t.Errorf("refresh after RevokeRefreshTokens: %d %s, want 400 invalid_grant", r.status, r.raw)
	}

	// Remove a scope: the token loses it, and so does the client.
	tok := mustToken(t, clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1"))
	if err := cl.RemoveScope(ctx, "acme", "widgets:read"); err != nil {
		t.Fatal(err)
	}
	if st, ch, _ := listWidgets(t, s, "widgets", tok); st != 403 || !strings.Contains(ch, "insufficient_scope") {
		t.Errorf("after RemoveScope: %d %q, want 403 insufficient_scope", st, ch)
	}
	if r := clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1", "widgets:read"); r.status != 400 || r.str("error") != "invalid_scope" {
		t.Errorf("asking for the removed scope: %d %s, want 400 invalid_scope", r.status, r.raw)
	}
	if r := clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1"); r.str("scope") != "widgets:write" {
		t.Errorf("a token asking no scope after the removal: %s, want only widgets:write", r.raw)
	}
	if err := cl.RemoveScope(ctx, "acme", "no-such-scope"); err == nil {
		t.Error("removing a scope the tenant never had succeeded")
	}

	// Rotate the API key: the old one is refused, the new one works.
	if st, _, _ := send(t, s, "GET", "/widgets/v1/widgets", "", "X-Api-Key", "acme-key-0001"); st != 200 {
		t.Fatalf("the API key before rotation: %d", st)
	}
	if err := cl.RotateKey(ctx, "acme", "acme-key-0001", "acme-key-0002"); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := send(t, s, "GET", "/widgets/v1/widgets", "", "X-Api-Key", "acme-key-0001"); st != 401 {
		t.Errorf("the old API key after rotation: %d, want 401", st)
	}
	if st, _, _ := send(t, s, "GET", "/widgets/v1/widgets", "", "X-Api-Key", "acme-key-0002"); st != 200 {
		t.Errorf("the new API key: %d, want 200", st)
	}
	// Rotate the client secret.
	if err := s.RotateKey("acme", "acme-secret-1", "acme-secret-2"); err != nil {
		t.Fatal(err)
	}
	if r := clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1"); r.status != 401 || r.str("error") != "invalid_client" {
		t.Errorf("the old client secret: %d %s, want 401 invalid_client", r.status, r.raw)
	}
	mustToken(t, clientCredentials(t, s, "widgets", "acme-app", "acme-secret-2"))
	// Another tenant's secret cannot be taken, nor a secret it does not have.
	if err := s.RotateKey("globex", "globex-secret-1", "acme-secret-2"); err == nil {
		t.Error("rotating globex's secret to acme's succeeded")
	}
	if err := s.RotateKey("globex", "acme-key-0002", "x-0123456789"); err == nil {
		t.Error("globex rotated acme's key")
	}

	// The admin API makes a key when none is given, and answers it.
	st, _, body := send(t, s, "POST", "/__tether/credentials/rotate", `{"tenant":"acme","old":"acme-key-0002"}`, "Authorization", "Bearer "+s.AdminToken(), "Content-Type", "application/json")
	var res sandbox.CredentialResult
	if st != 200 || json.Unmarshal([]byte(body), &res) != nil || res.New == "" {
		t.Fatalf("rotate without a new key: %d %s, want 200 with the new key", st, body)
	}
	if st, _, _ := send(t, s, "GET", "/widgets/v1/widgets", "", "X-Api-Key", res.New); st != 200 {
		t.Errorf("the key the sandbox made: %d, want 200", st)
	}
	// Only the admin may: a tenant's credential is refused.
	tenantClient := sandbox.NewClient(s.URL(), nil, sandbox.UseToken(res.New))
	var ae *sandbox.AdminError
	if err := tenantClient.ExpireTokens(ctx, "acme"); !errors.As(err, &ae) || ae.Status != 403 {
		t.Errorf("ExpireTokens with a tenant's key: %v, want 403", err)
	}
	if err := cl.ExpireTokens(ctx, "nobody"); !errors.As(err, &ae) || ae.Status != 404 {
		t.Errorf("ExpireTokens of an unknown tenant: %v, want 404", err)
	}
}

// The journal shows no client secret, code, verifier or token in clear,
// in requests or in answers, and the same token has the same placeholder
// where it was issued and where it was used.
func TestOAuthJournalRedaction(t *testing.T) {
	s, _ := widgetsAuth(t, false)
	verifier := strings.Repeat("q", 60)
	code := codeFlow(t, s, challengeOf(verifier))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example/cb"},
		"code_verifier": {verifier}, "client_id": {"acme-app"}, "client_secret": {"acme-secret-1"}}
	a := postToken(t, s, "widgets", form, "", "")
	tok := mustToken(t, a)
	r := refresh(t, s, a.str("refresh_token"))
	listWidgets(t, s, "widgets", tok)
	b, err := json.Marshal(s.Journal(sandbox.JournalFilter{}))
	if err != nil {
		t.Fatal(err)
	}
	journal := string(b)
	for name, secret := range map[string]string{"client secret": "acme-secret-1", "code": code, "verifier": verifier,
		"access token": tok, "refresh token": a.str("refresh_token"), "second access token": r.str("access_token"), "second refresh token": r.str("refresh_token")} {
		if secret == "" {
			t.Fatalf("no %s to look for", name)
		}
		if strings.Contains(journal, secret) || strings.Contains(journal, url.QueryEscape(secret)) {
			t.Errorf("the journal holds the %s in clear", name)
		}
	}
	if !strings.Contains(journal, "(acme/oauth2-client)") {
		t.Error("the client secret's placeholder does not name its tenant")
	}
	p := s.Journal(sandbox.JournalFilter{Tenant: "acme"})
	var issuedAs, usedAs string
	for _, e := range p.Entries {
		var body map[string]any
		if e.Source == sandbox.SourceOAuth2 && json.Unmarshal([]byte(e.ResponseBody), &body) == nil && issuedAs == "" {
			issuedAs, _ = body["access_token"].(string)
		}
		if e.Operation == "listWidgets" {
			usedAs = strings.TrimPrefix(e.RequestHeader.Get("Authorization"), "Bearer ")
		}
	}
	if issuedAs == "" || !strings.HasPrefix(issuedAs, sandbox.PlaceholderPrefix) || issuedAs != usedAs {
		t.Errorf("the token was journaled as %q where issued and %q where used; want the same placeholder", issuedAs, usedAs)
	}
}

// Slack's token URL is an operation of its contract (oauth.access); the
// answer keeps that operation's shape and validates against it.
func TestOAuthSlackTokenOperationShape(t *testing.T) {
	c, err := contracts.Load(corpusSpec(t, "slack-web-openapi-v2.json"), contracts.IgnoreSecurity())
	if err != nil {
		t.Fatal(err)
	}
	s, err := sandbox.Start([]sandbox.Vendor{{Name: "slack", Contract: c, Stateless: true}},
		sandbox.WithTenant("acme", sandbox.OAuth2Client("acme-app", "acme-secret-1", "chat:write", "channels:read")))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var tokenPath string
	for _, ep := range s.Health().Vendors[0].OAuth2 {
		if ep.Kind == "token" {
			tokenPath = ep.Path
			if ep.Operation != "oauth_access" {
				t.Errorf("Slack's token endpoint %s is operation %q; want oauth_access", ep.Path, ep.Operation)
			}
		}
	}
	if tokenPath != "/slack/api/oauth.access" {
		t.Fatalf("Slack's token endpoint is %q; want /slack/api/oauth.access", tokenPath)
	}
	for _, tc := range []struct {
		secret string
		status int
		ok     bool
	}{{"acme-secret-1", 200, true}, {"wrong", 401, false}} {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+tokenPath, strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("acme-app", tc.secret)
		a := doToken(t, req)
		if a.status != tc.status || a.body["ok"] != tc.ok {
			t.Fatalf("secret %s: %d %s, want %d with ok %v", tc.secret, a.status, a.raw, tc.status, tc.ok)
		}
		if tc.ok && a.str("access_token") == "" {
			t.Fatalf("no access token: %s", a.raw)
		}
		if !tc.ok && a.str("error") != "invalid_client" {
			t.Fatalf("error %s, want invalid_client", a.raw)
		}
		// As the contract sees it: GET /oauth.access, answered so.
		creq, _ := http.NewRequest(http.MethodGet, "https://slack.com/api/oauth.access", nil)
		resp := &http.Response{StatusCode: a.status, Header: a.header, Body: http.NoBody, Request: creq}
		resp.Body = readCloser(a.raw)
		if fs := c.ValidateResponse(creq, resp); contracts.HasErrors(fs) {
			t.Errorf("the %d answer breaks the contract: %v", a.status, fs)
		}
	}
	// The GET the contract declares, with the arguments in the query.
	q := url.Values{"grant_type": {"client_credentials"}, "client_id": {"acme-app"}, "client_secret": {"acme-secret-1"}}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+tokenPath+"?"+q.Encode(), nil)
	if a := doToken(t, req); a.status != 200 || a.body["ok"] != true {
		t.Errorf("GET with query arguments: %d %s, want 200 ok", a.status, a.raw)
	}
	b, _ := json.Marshal(s.Journal(sandbox.JournalFilter{}))
	if strings.Contains(string(b), "acme-secret-1") {
		t.Error("the journal holds the client secret given in a query")
	}
}

func readCloser(s string) *readCloserString { return &readCloserString{r: strings.NewReader(s)} }

type readCloserString struct{ r *strings.Reader }

func (r *readCloserString) Read(p []byte) (int, error) { return r.r.Read(p) }
func (r *readCloserString) Close() error               { return nil }
