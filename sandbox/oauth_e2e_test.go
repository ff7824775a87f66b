package sandbox_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/sandbox"
)

// These tests drive the vendors' authorization servers with
// golang.org/x/oauth2, as a connector would. The library reads the wall
// clock to decide when a token has expired, so they use a short token TTL
// and wait it out once each; every other test of the authorization server
// injects a clock.

// e2eTTL is two seconds, or eight in -short runs, which CI makes under the
// race detector: there a big contract's first call can come more than two
// seconds after its token was issued, and find it expired.
func e2eTTL() time.Duration {
	if testing.Short() {
		return 8 * time.Second
	}
	return 2 * time.Second
}

// e2eEarly is how long before its expiry the library takes a token for
// expired: the sandbox counts a token's life from issuing it, the library
// from receiving the answer, and on a loaded machine the two differ.
const e2eEarly = 500 * time.Millisecond

// startOAuth serves the corpus contracts named (vendor=file) with tenant
// acme's OAuth2 client.
func startOAuth(t *testing.T, scopes []string, vendors map[string]string, opts ...sandbox.Option) *sandbox.Sandbox {
	t.Helper()
	var vs []sandbox.Vendor
	for name, file := range vendors {
		c, err := contracts.Load(corpusSpec(t, file), contracts.IgnoreSecurity())
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, sandbox.Vendor{Name: name, Contract: c, Stateless: true})
	}
	opts = append([]sandbox.Option{
		sandbox.WithTenant("acme", sandbox.OAuth2Client("acme-app", "acme-secret-1", scopes...)),
		sandbox.WithTenant("globex", sandbox.OAuth2Client("globex-app", "globex-secret-1", scopes...)),
	}, opts...)
	s, err := sandbox.Start(vs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// endpoint is the sandbox URL of the vendor's endpoint of kind.
func endpoint(t *testing.T, s *sandbox.Sandbox, vendor, kind string) string {
	t.Helper()
	for _, v := range s.Health().Vendors {
		if v.Name != vendor {
			continue
		}
		for _, ep := range v.OAuth2 {
			if ep.Kind == kind {
				return s.URL() + ep.Path
			}
		}
	}
	t.Fatalf("vendor %s has no %s endpoint; health says %+v", vendor, kind, s.Health().Vendors)
	return ""
}

// call GETs url with hc and returns the status.
func call(t *testing.T, hc *http.Client, url string) (int, http.Header) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func withToken(tok *oauth2.Token) *http.Client {
	return oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(tok))
}

func TestOAuthClientCredentialsDiscord(t *testing.T) {
	t.Parallel()
	s := startOAuth(t, []string{"identify", "email"}, map[string]string{"discord": "discord-openapi.json"}, sandbox.WithTokenTTL(e2eTTL()))
	tokenURL := endpoint(t, s, "discord", "token")
	if want := s.URL() + "/discord/api/oauth2/token"; tokenURL != want {
		t.Fatalf("Discord's token endpoint is %s; want %s, the path of https://discord.com/api/oauth2/token", tokenURL, want)
	}
	cc := clientcredentials.Config{ClientID: "acme-app", ClientSecret: "acme-secret-1", TokenURL: tokenURL, Scopes: []string{"identify"}}
	ctx := context.Background()
	src := oauth2.ReuseTokenSourceWithExpiry(nil, cc.TokenSource(ctx), e2eEarly)
	hc := oauth2.NewClient(ctx, src)
	me := s.VendorURL("discord") + "/users/@me"
	if st, _ := call(t, hc, me); st != http.StatusOK {
		t.Fatalf("GET /users/@me with a client-credentials token: %d, want 200", st)
	}
	first, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(e2eTTL() + 100*time.Millisecond)
	st, h := call(t, withToken(first), me)
	if st != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("GET /users/@me with an expired token: %d %q, want 401 with error=\"invalid_token\"", st, h.Get("WWW-Authenticate"))
	}
	if st, _ := call(t, hc, me); st != http.StatusOK {
		t.Fatalf("GET /users/@me after the library fetched a new token: %d, want 200", st)
	}
	second, _ := src.Token()
	if second.AccessToken == first.AccessToken {
		t.Fatal("the library kept the expired token; it should have fetched a new one")
	}
	// The other tenant's client cannot use acme's secret.
	bad := clientcredentials.Config{ClientID: "globex-app", ClientSecret: "acme-secret-1", TokenURL: tokenURL}
	var re *oauth2.RetrieveError
	if _, err := bad.Token(ctx); !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a token request with another tenant's secret: %v, want 401 invalid_client", err)
	}
}

func TestOAuthAuthorizationCodePKCE(t *testing.T) {
	for _, tc := range []struct {
		vendor, file, path, scope string
	}{
		{"discord", "discord-openapi.json", "/users/@me", "identify"},
		{"datadog", "datadog-v1-openapi.yaml", "/api/v1/dashboard", "dashboards_read"},
	} {
		t.Run(tc.vendor, func(t *testing.T) {
			t.Parallel()
			s := startOAuth(t, []string{tc.scope}, map[string]string{tc.vendor: tc.file}, sandbox.WithTokenTTL(e2eTTL()))
			conf := &oauth2.Config{
				ClientID: "acme-app", ClientSecret: "acme-secret-1", Scopes: []string{tc.scope},
				RedirectURL: "http://127.0.0.1:9/callback",
				Endpoint:    oauth2.Endpoint{AuthURL: endpoint(t, s, tc.vendor, "authorize"), TokenURL: endpoint(t, s, tc.vendor, "token")},
			}
			verifier := oauth2.GenerateVerifier()
			code := authorize(t, conf, verifier)
			ctx := context.Background()
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange the code: %v", err)
			}
			if tok.RefreshToken == "" {
				t.Fatal("the code grant gave no refresh token")
			}
			src := oauth2.ReuseTokenSourceWithExpiry(tok, conf.TokenSource(ctx, tok), e2eEarly)
			hc := oauth2.NewClient(ctx, src)
			target := s.VendorURL(tc.vendor) + tc.path
			if st, _ := call(t, hc, target); st != http.StatusOK {
				t.Fatalf("GET %s with the code's token: %d, want 200", tc.path, st)
			}
			time.Sleep(e2eTTL() + 100*time.Millisecond)
			if st, _ := call(t, withToken(tok), target); st != http.StatusUnauthorized {
				t.Fatalf("GET %s with the expired token: %d, want 401", tc.path, st)
			}
			if st, _ := call(t, hc, target); st != http.StatusOK {
				t.Fatalf("GET %s after the library's refresh: %d, want 200", tc.path, st)
			}
			now, err := src.Token()
			if err != nil || now.AccessToken == tok.AccessToken {
				t.Fatalf("the library did not refresh: %v", err)
			}

			// Revoke the refresh tokens and end the access tokens: the
			// next refresh fails, and so does the call.
			if n := s.RevokeRefreshTokens("acme"); n == 0 {
				t.Fatal("RevokeRefreshTokens found no refresh token of acme")
			}
			s.ExpireTokens("acme")
			stale := &oauth2.Token{AccessToken: now.AccessToken, RefreshToken: now.RefreshToken, Expiry: time.Now().Add(-time.Second)}
			_, err = conf.TokenSource(ctx, stale).Token()
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Fatalf("refresh after revocation: %v, want invalid_grant", err)
			}
			if st, _ := call(t, withToken(now), target); st != http.StatusUnauthorized {
				t.Fatalf("GET %s after revocation: %d, want 401", tc.path, st)
			}
		})
	}
}

// authorize follows the authorization endpoint's redirect as a browser
// would, up to the client's redirect_uri, and returns the code.
func authorize(t *testing.T, conf *oauth2.Config, verifier string) string {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(conf.AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode/100 != 3 || err != nil {
		t.Fatalf("authorize: %d Location %q, want a redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !strings.HasPrefix(loc.String(), conf.RedirectURL) || loc.Query().Get("state") != "state-0123456789" {
		t.Fatalf("authorize redirected to %s; want %s with the state", loc, conf.RedirectURL)
	}
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("authorize redirected without a code: %s", loc)
	}
	return code
}
