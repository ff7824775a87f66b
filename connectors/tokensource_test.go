package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	testClientID     = "tether-connector"
	testClientSecret = "cs-Xq7/secret+value"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// tokenEndpoint is an OAuth2 token endpoint that issues tok-1, tok-2, ...
// to the test client, and counts what it is asked.
type tokenEndpoint struct {
	*httptest.Server
	requests  atomic.Int32
	expiresIn int // seconds; 0 for no expires_in

	mu       sync.Mutex
	revoked  map[string]bool // refresh tokens
	refresh  []string        // refresh tokens redeemed, in order
	hold     chan struct{}   // when set, requests wait for it to close
	failWith func(w http.ResponseWriter) bool
}

func newTokenEndpoint(t *testing.T, expiresIn int) *tokenEndpoint {
	e := &tokenEndpoint{expiresIn: expiresIn, revoked: map[string]bool{}}
	e.Server = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.Close)
	return e
}

func (e *tokenEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	n := e.requests.Add(1)
	e.mu.Lock()
	hold, fail := e.hold, e.failWith
	e.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if fail != nil && fail(w) {
		return
	}
	id, secret, _ := r.BasicAuth()
	// RFC 6749 2.3.1: both are form-encoded before basic authentication.
	id, _ = url.QueryUnescape(id)
	secret, _ = url.QueryUnescape(secret)
	if id != testClientID || secret != testClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "")
		return
	}
	answer := map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": "Bearer"}
	if e.expiresIn > 0 {
		answer["expires_in"] = e.expiresIn
	}
	switch r.PostFormValue("grant_type") {
	case "client_credentials":
	case "refresh_token":
		rt := r.PostFormValue("refresh_token")
		e.mu.Lock()
		e.refresh = append(e.refresh, rt)
		revoked := e.revoked[rt]
		e.mu.Unlock()
		if revoked {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token revoked")
			return
		}
		answer["refresh_token"] = fmt.Sprintf("rt-%d", n)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(answer)
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

func (e *tokenEndpoint) clientCredentials() Grant {
	return ClientCredentials(clientcredentials.Config{
		ClientID: testClientID, ClientSecret: testClientSecret, TokenURL: e.URL + "/oauth/token",
		AuthStyle: oauth2.AuthStyleInHeader,
	})
}

func (e *tokenEndpoint) oauthConfig() oauth2.Config {
	return oauth2.Config{ClientID: testClientID, ClientSecret: testClientSecret,
		Endpoint: oauth2.Endpoint{TokenURL: e.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}}
}

// api is a vendor's API that answers with answer, recording each call.
type api struct {
	*httptest.Server
	requests atomic.Int32
	mu       sync.Mutex
	auths    []string
	bodies   []string
}

func newAPI(t *testing.T, answer func(w http.ResponseWriter, auth string)) *api {
	a := &api{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		auth := r.Header.Get("Authorization")
		a.mu.Lock()
		a.auths = append(a.auths, auth)
		a.bodies = append(a.bodies, string(body))
		a.mu.Unlock()
		answer(w, auth)
	}))
	t.Cleanup(a.Close)
	return a
}

// refuse answers every token but good with 401 invalid_token.
func refuse(good string) func(w http.ResponseWriter, auth string) {
	return func(w http.ResponseWriter, auth string) {
		if auth == "Bearer "+good {
			io.WriteString(w, `{"ok":true}`)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="crm", error="invalid_token", error_description="The access token expired"`)
		w.WriteHeader(http.StatusUnauthorized)
	}
}

func get(t *testing.T, client *http.Client, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestTokenSourceRefreshesBeforeExpiry(t *testing.T) {
	tests := []struct {
		reason    string
		expiresIn int
		opts      []TokenOption
		refreshAt time.Duration // 0: never
	}{
		{reason: "an hour's token is refreshed 30s ahead by default", expiresIn: 3600, refreshAt: 3570 * time.Second},
		{reason: "a minute's token is refreshed a tenth of its life ahead", expiresIn: 60, refreshAt: 54 * time.Second},
		{reason: "the margin is configurable", expiresIn: 3600, opts: []TokenOption{WithRefreshMargin(5 * time.Minute)}, refreshAt: 55 * time.Minute},
		{reason: "a token without expires_in is kept", expiresIn: 0},
	}
	for _, tt := range tests {
		endpoint := newTokenEndpoint(t, tt.expiresIn)
		clock := newFakeClock()
		ts := NewTokenSource(endpoint.clientCredentials(), append(tt.opts, WithTokenClock(clock.Now))...)
		token := func() string {
			tok, err := ts.Token()
			if err != nil {
				t.Fatalf("%s: Token: %v", tt.reason, err)
			}
			return tok.AccessToken
		}
		if got := token(); got != "tok-1" {
			t.Errorf("%s: first token %q, want tok-1", tt.reason, got)
		}
		if tt.refreshAt == 0 {
			clock.Advance(1000 * time.Hour)
			if got := token(); got != "tok-1" || endpoint.requests.Load() != 1 {
				t.Errorf("%s: after 1000h token %q after %d requests, want tok-1 after 1", tt.reason, got, endpoint.requests.Load())
			}
			continue
		}
		clock.Advance(tt.refreshAt - time.Second)
		if got := token(); got != "tok-1" || endpoint.requests.Load() != 1 {
			t.Errorf("%s: 1s before the margin, token %q after %d requests, want tok-1 after 1", tt.reason, got, endpoint.requests.Load())
		}
		clock.Advance(time.Second)
		if got := token(); got != "tok-2" || endpoint.requests.Load() != 2 {
			t.Errorf("%s: at the margin, token %q after %d requests, want tok-2 after 2", tt.reason, got, endpoint.requests.Load())
		}
	}
}

// An early refresh that fails keeps the token it would have replaced,
// while that token lasts.
func TestTokenSourceEarlyRefreshFailureKeepsToken(t *testing.T) {
	endpoint := newTokenEndpoint(t, 3600)
	clock := newFakeClock()
	ts := NewTokenSource(endpoint.clientCredentials(), WithTokenClock(clock.Now))
	if _, err := ts.Token(); err != nil {
		t.Fatal(err)
	}
	endpoint.failWith = func(w http.ResponseWriter) bool { w.WriteHeader(http.StatusServiceUnavailable); return true }
	clock.Advance(3590 * time.Second)
	if tok, err := ts.Token(); err != nil || tok.AccessToken != "tok-1" {
		t.Errorf("in the margin with the endpoint down: %v, %v; want tok-1", tok, err)
	}
	clock.Advance(10 * time.Second)
	_, err := ts.Token()
	if err == nil || IsPermanent(err) {
		t.Errorf("expired with the endpoint down: %v, want a retryable error", err)
	}
}

func TestTokenSourceInvalidTokenRefreshesOnce(t *testing.T) {
	endpoint := newTokenEndpoint(t, 3600)
	crm := newAPI(t, refuse("tok-2")) // the vendor revoked tok-1 early
	ts := NewTokenSource(endpoint.clientCredentials(), WithTokenClock(newFakeClock().Now))
	client := NewVendor("crm", crm.URL, ts.Transport(nil)).Client

	resp, err := get(t, client, crm.URL+"/deals/42")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET = %v, %v; want 200", resp, err)
	}
	if got := endpoint.requests.Load(); got != 2 {
		t.Errorf("%d token requests, want 2", got)
	}
	if want := []string{"Bearer tok-1", "Bearer tok-2"}; fmt.Sprint(crm.auths) != fmt.Sprint(want) {
		t.Errorf("API saw %q, want %q", crm.auths, want)
	}
	if _, err := get(t, client, crm.URL+"/deals/43"); err != nil || endpoint.requests.Load() != 2 || crm.requests.Load() != 3 {
		t.Errorf("next call: %v after %d token and %d API requests, want 2 and 3", err, endpoint.requests.Load(), crm.requests.Load())
	}
}

func TestTokenSourceInvalidTokenDoesNotLoop(t *testing.T) {
	endpoint := newTokenEndpoint(t, 3600)
	crm := newAPI(t, refuse("none"))
	ts := NewTokenSource(endpoint.clientCredentials(), WithTokenClock(newFakeClock().Now))
	client := NewVendor("crm", crm.URL, ts.Transport(nil)).Client

	attempts, err := testRetryPolicy(5).Do(context.Background(), func(context.Context, int) error {
		_, err := get(t, client, crm.URL+"/deals/42")
		return err
	})
	if attempts != 1 || !IsPermanent(err) {
		t.Errorf("Do = %d attempts, %v; want 1 attempt and a permanent error", attempts, err)
	}
	if ae, ok := errors.AsType[*AuthError](err); !ok || ae.Code != "invalid_token" || ae.StatusCode != http.StatusUnauthorized {
		t.Errorf("error %v: want an AuthError invalid_token 401", err)
	}
	if got, apiGot := endpoint.requests.Load(), crm.requests.Load(); got != 2 || apiGot != 2 {
		t.Errorf("%d token and %d API requests, want 2 and 2", got, apiGot)
	}
}

// The webhook handler dead-letters an event whose vendor refuses fresh
// tokens, as permanent, without retrying it.
func TestTokenSourceRefusalIsDeadLettered(t *testing.T) {
	endpoint := newTokenEndpoint(t, 3600)
	crm := newAPI(t, refuse("none"))
	ts := NewTokenSource(endpoint.clientCredentials(), WithTokenClock(newFakeClock().Now))
	r := newRig(t, func(ctx context.Context, env *Env, ev Event) error {
		crm := env.Vendor("crm")
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, crm.BaseURL+"/notes", strings.NewReader(`{"deal":42}`))
		resp, err := crm.Client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return CheckResponse(resp, time.Now())
	}, WithRetry(testRetryPolicy(5)))
	r.env.Vendors["crm"] = NewVendor("crm", crm.URL, ts.Transport(nil))

	w := r.deliver(request(testBody, nil))
	if w.Code != http.StatusUnprocessableEntity || outcomeOf(t, w) != outcomeRejected {
		t.Errorf("answer %d %s, want 422 rejected", w.Code, w.Body)
	}
	letters := r.sink.Letters()
	if len(letters) != 1 || letters[0].Class != "permanent" || letters[0].Attempts != 1 {
		t.Fatalf("dead letters %+v, want one permanent after 1 attempt", letters)
	}
	if !strings.Contains(letters[0].Error, "invalid_token") || strings.Contains(letters[0].Error, "tok-") {
		t.Errorf("dead letter's error %q: want invalid_token named and no token", letters[0].Error)
	}
	if got := endpoint.requests.Load(); got != 2 {
		t.Errorf("%d token requests, want 2", got)
	}
}

func TestTokenSourceRevokedRefreshToken(t *testing.T) {
	endpoint := newTokenEndpoint(t, 3600)
	endpoint.revoked["rt-revoked"] = true
	crm := newAPI(t, refuse("none"))
	first := (&oauth2.Token{AccessToken: "tok-0", RefreshToken: "rt-revoked", ExpiresIn: 3600})
	ts := NewTokenSource(RefreshToken(endpoint.oauthConfig(), first), WithTokenClock(newFakeClock().Now))
	client := NewVendor("crm", crm.URL, ts.Transport(nil)).Client

	_, err := get(t, client, crm.URL+"/deals/42")
	if !IsPermanent(err) {
		t.Fatalf("GET with a revoked refresh token: %v, want a permanent error", err)
	}
	ae, ok := errors.AsType[*AuthError](err)
	if !ok || ae.Code != "invalid_grant" || ae.StatusCode != http.StatusBadRequest {
		t.Errorf("error %v: want an AuthError invalid_grant 400", err)
	}
	if strings.Contains(err.Error(), "rt-revoked") || strings.Contains(err.Error(), "tok-0") {
		t.Errorf("error %q shows a credential", err)
	}
	if got, apiGot := endpoint.requests.Load(), crm.requests.Load(); got != 1 || apiGot != 1 {
		t.Errorf("%d token and %d API requests, want 1 and 1", got, apiGot)
	}
	// The refused token is not handed out again.
	if _, err := ts.Token(); !IsPermanent(err) {
		t.Errorf("Token after the refusal: %v, want a permanent error", err)
	}
}

func TestTokenSourceRefreshTokenRotates(t *testing.T) {
	endpoint := newTokenEndpoint(t, 60)
	clock := newFakeClock()
	ts := NewTokenSource(RefreshToken(endpoint.oauthConfig(), &oauth2.Token{AccessToken: "tok-0", RefreshToken: "rt-0", ExpiresIn: 60}),
		WithTokenClock(clock.Now))
	for i := range 3 {
		tok, err := ts.Token()
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("tok-%d", i); tok.AccessToken != want {
			t.Errorf("token %d is %q, want %q", i, tok.AccessToken, want)
		}
		clock.Advance(time.Minute)
	}
	if want := []string{"rt-0", "rt-1"}; fmt.Sprint(endpoint.refresh) != fmt.Sprint(want) {
		t.Errorf("refresh tokens redeemed %q, want %q", endpoint.refresh, want)
	}
}

func TestTokenSourceInsufficientScope(t *testing.T) {
	endpoint := newTokenEndpoint(t, 3600)
	crm := newAPI(t, func(w http.ResponseWriter, _ string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="deals:write"`)
		w.WriteHeader(http.StatusForbidden)
	})
	ts := NewTokenSource(endpoint.clientCredentials(), WithTokenClock(newFakeClock().Now))
	client := NewVendor("crm", crm.URL, ts.Transport(nil)).Client

	attempts, err := testRetryPolicy(5).Do(context.Background(), func(context.Context, int) error {
		_, err := get(t, client, crm.URL+"/deals/42")
		return err
	})
	if attempts != 1 || !IsPermanent(err) {
		t.Errorf("Do = %d attempts, %v; want 1 and a permanent error", attempts, err)
	}
	if ae, ok := errors.AsType[*AuthError](err); !ok || ae.Scope != "deals:write" || ae.StatusCode != http.StatusForbidden {
		t.Errorf("error %v: want an AuthError 403 naming scope deals:write", err)
	}
	if !strings.Contains(fmt.Sprint(err), "grant the connector the scope deals:write") {
		t.Errorf("error %q does not say what to grant", err)
	}
	if got, apiGot := endpoint.requests.Load(), crm.requests.Load(); got != 1 || apiGot != 1 {
		t.Errorf("%d token and %d API requests, want 1 and 1 (no refresh, no retry)", got, apiGot)
	}
}

// Fifty callers that find the token expired, or see it refused, cause
// one token request.
func TestTokenSourceConcurrentRefresh(t *testing.T) {
	const callers = 50
	for _, refused := range []bool{false, true} {
		endpoint := newTokenEndpoint(t, 3600)
		good := "tok-2"
		if !refused {
			good = ""
		}
		crm := newAPI(t, func(w http.ResponseWriter, auth string) {
			if good == "" || auth == "Bearer "+good {
				return
			}
			refuse(good)(w, auth)
		})
		clock := newFakeClock()
		ts := NewTokenSource(endpoint.clientCredentials(), WithTokenClock(clock.Now))
		if _, err := ts.Token(); err != nil {
			t.Fatal(err)
		}
		if !refused {
			clock.Advance(2 * time.Hour)
		}
		hold := make(chan struct{})
		endpoint.mu.Lock()
		endpoint.hold = hold
		endpoint.mu.Unlock()
		client := NewVendor("crm", crm.URL, ts.Transport(nil)).Client

		var started, done sync.WaitGroup
		errs := make(chan error, callers)
		for range callers {
			started.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				started.Done()
				resp, err := get(t, client, crm.URL+"/deals")
				if err == nil && resp.StatusCode != http.StatusOK {
					err = errors.New(resp.Status)
				}
				errs <- err
			}()
		}
		started.Wait()
		close(hold)
		done.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("refused %v: a caller failed: %v", refused, err)
			}
		}
		if got := endpoint.requests.Load(); got != 2 {
			t.Errorf("refused %v: %d token requests for %d callers, want 2 (the first token, one refresh)", refused, got, callers)
		}
	}
}

func TestTokenSourceReplaysBody(t *testing.T) {
	const payload = `{"text":"Acme renewal is now won"}`
	endpoint := newTokenEndpoint(t, 3600)
	crm := newAPI(t, refuse("tok-2"))
	ts := NewTokenSource(endpoint.clientCredentials(), WithTokenClock(newFakeClock().Now))
	client := NewVendor("crm", crm.URL, ts.Transport(nil)).Client

	req, _ := http.NewRequest(http.MethodPost, crm.URL+"/notes", strings.NewReader(payload))
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST = %v, %v; want 200", resp, err)
	}
	resp.Body.Close()
	if want := []string{payload, payload}; fmt.Sprint(crm.bodies) != fmt.Sprint(want) {
		t.Errorf("API got bodies %q, want the payload twice", crm.bodies)
	}
}

func TestTokenSourceRefusesToReplayUnreplayableBody(t *testing.T) {
	endpoint := newTokenEndpoint(t, 3600)
	crm := newAPI(t, refuse("tok-2"))
	ts := NewTokenSource(endpoint.clientCredentials(), WithTokenClock(newFakeClock().Now))
	client := NewVendor("crm", crm.URL, ts.Transport(nil)).Client

	post := func() error {
		req, _ := http.NewRequest(http.MethodPost, crm.URL+"/notes", io.NopCloser(strings.NewReader("streamed")))
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	err := post()
	if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "GetBody") {
		t.Errorf("POST of a body without GetBody: %v; want a retryable error naming GetBody", err)
	}
	if got := crm.requests.Load(); got != 1 {
		t.Errorf("%d API requests, want 1 (not sent again)", got)
	}
	if err := post(); err != nil || len(crm.auths) != 2 || crm.auths[1] != "Bearer tok-2" {
		t.Errorf("the next attempt: %v with %q, want success with the new token", err, crm.auths)
	}
}

func TestTokenSourceEndpointFailures(t *testing.T) {
	endpoint := newTokenEndpoint(t, 3600)
	endpoint.failWith = func(w http.ResponseWriter) bool {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}
	ts := NewTokenSource(endpoint.clientCredentials(), WithTokenClock(newFakeClock().Now))
	_, err := ts.Token()
	if after, ok := RetryAfter(err); IsPermanent(err) || !ok || after != 7*time.Second {
		t.Errorf("503 from the token endpoint: %v; want retryable after 7s", err)
	}

	down := newTokenEndpoint(t, 3600)
	grant := down.clientCredentials()
	down.Close()
	if _, err := NewTokenSource(grant).Token(); err == nil || IsPermanent(err) {
		t.Errorf("token endpoint unreachable: %v; want a retryable error", err)
	}
}

func TestTokenSourceKeepsSecrets(t *testing.T) {
	secrets := []string{testClientSecret, "rt-s3cret-refresh", "tok-0-access"}
	ccSecrets := secrets[:1] // what a client-credentials source knows
	echo := "client_secret=" + testClientSecret + " refresh=rt-s3cret-refresh access=tok-0-access"
	endpoint := newTokenEndpoint(t, 3600)
	endpoint.failWith = func(w http.ResponseWriter) bool {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client; you sent "+echo)
		return true
	}
	crm := newAPI(t, func(w http.ResponseWriter, auth string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="refused `+strings.TrimPrefix(auth, "Bearer ")+`"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	check := func(what, s string, secrets ...string) {
		t.Helper()
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%s shows %q: %s", what, secret, s)
			}
		}
	}

	// Client credentials refused by an endpoint that echoes them.
	cc := NewTokenSource(ClientCredentials(clientcredentials.Config{ClientID: testClientID, ClientSecret: testClientSecret,
		TokenURL: endpoint.URL + "/oauth/token?client_secret=" + testClientSecret}))
	_, err := cc.Token()
	if !IsPermanent(err) {
		t.Errorf("invalid_client: %v, want a permanent error", err)
	}
	check("the invalid_client error", err.Error(), ccSecrets...)
	check("the String of a source", fmt.Sprintf("%v %+v %#v %s", cc, cc, cc, cc), ccSecrets...)
	logger.Info("token", "source", cc, "error", err)

	// A refresh grant whose API echoes the token and whose endpoint
	// echoes everything.
	rt := NewTokenSource(RefreshToken(endpoint.oauthConfig(), &oauth2.Token{AccessToken: "tok-0-access", RefreshToken: "rt-s3cret-refresh"}))
	_, err = get(t, NewVendor("crm", crm.URL, rt.Transport(nil)).Client, crm.URL+"/deals")
	if !IsPermanent(err) {
		t.Errorf("refresh refused: %v, want a permanent error", err)
	}
	check("the refresh error", err.Error(), secrets...)
	check("the String of a source", fmt.Sprintf("%v %+v %#v", rt, rt, rt), secrets...)
	logger.Info("token", "source", rt, "error", err)

	// The API's refusal of a second token names that token.
	endpoint.failWith = nil
	cc2 := NewTokenSource(endpoint.clientCredentials())
	_, err = get(t, NewVendor("crm", crm.URL, cc2.Transport(nil)).Client, crm.URL+"/deals")
	if !IsPermanent(err) || strings.Contains(err.Error(), "tok-") {
		t.Errorf("second invalid_token: %v, want a permanent error without the token", err)
	}
	check("the logs", logs.String(), ccSecrets...)
	if !strings.Contains(logs.String(), "refresh token at http://") {
		t.Errorf("the logs do not describe the source: %s", logs.String())
	}
}

// A redirect to another host does not carry the token.
func TestTokenSourceRedirectElsewhere(t *testing.T) {
	endpoint := newTokenEndpoint(t, 3600)
	elsewhere := newAPI(t, func(http.ResponseWriter, string) {})
	crm := newAPI(t, func(w http.ResponseWriter, _ string) {
		w.Header().Set("Location", elsewhere.URL+"/x")
		w.WriteHeader(http.StatusFound)
	})
	ts := NewTokenSource(endpoint.clientCredentials())
	if _, err := get(t, NewVendor("crm", crm.URL, ts.Transport(nil)).Client, crm.URL+"/deals"); err != nil {
		t.Fatal(err)
	}
	if crm.auths[0] != "Bearer tok-1" || elsewhere.auths[0] != "" {
		t.Errorf("crm saw %q and the other host %q; want the token only at crm", crm.auths[0], elsewhere.auths[0])
	}
}

// A grant that gives back the refused token fails the call rather than
// sending it again.
func TestTokenSourceCachedSourceCannotRefresh(t *testing.T) {
	crm := newAPI(t, refuse("none"))
	ts := NewTokenSource(FromTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "static"})))
	_, err := get(t, NewVendor("crm", crm.URL, ts.Transport(nil)).Client, crm.URL+"/deals")
	if !IsPermanent(err) || crm.requests.Load() != 1 {
		t.Errorf("%v after %d API requests, want a permanent error after 1", err, crm.requests.Load())
	}
}

func TestBearerChallenge(t *testing.T) {
	tests := []struct {
		reason string
		values []string
		want   map[string]string
	}{
		{"no header", nil, nil},
		{"another scheme only", []string{`Basic realm="x"`}, nil},
		{"plain", []string{`Bearer error="invalid_token"`}, map[string]string{"error": "invalid_token"}},
		{"after another challenge, case-insensitive, escapes",
			[]string{`Basic realm="a, b", BEARER Realm="crm", ERROR=invalid_token, error_description="say \"no\""`},
			map[string]string{"realm": "crm", "error": "invalid_token", "error_description": `say "no"`}},
		{"ends at the next challenge", []string{`Bearer error="insufficient_scope", scope="a b", Basic error="x"`},
			map[string]string{"error": "insufficient_scope", "scope": "a b"}},
		{"in a second header line", []string{`Negotiate abc==`, `Bearer error=invalid_token`}, map[string]string{"error": "invalid_token"}},
		{"a repeated parameter keeps the first", []string{`Bearer error=a, error=b`}, map[string]string{"error": "a"}},
		{"an open quote runs to the end", []string{`Bearer error="invalid_tok`}, map[string]string{"error": "invalid_tok"}},
		{"no parameters", []string{`Bearer`}, map[string]string{}},
	}
	for _, tt := range tests {
		if got := bearerChallenge(tt.values); fmt.Sprint(got) != fmt.Sprint(tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("%s: bearerChallenge(%q) = %v, want %v", tt.reason, tt.values, got, tt.want)
		}
	}
}

func FuzzBearerChallenge(f *testing.F) {
	for _, seed := range []string{
		`Bearer error="invalid_token", error_description="expired"`,
		`Basic realm="a, b", Bearer realm="crm", error=insufficient_scope, scope="x y"`,
		`Negotiate abc==, Bearer`, `Bearer error="\"`, `,,, = "" Bearer =`, "Bearer \x00\xff=\"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		params := bearerChallenge([]string{v, v})
		read := 0
		for k, val := range params {
			read += len(k) + len(val)
		}
		if read > 2*challengeLimit {
			t.Errorf("read %d bytes of parameters from %d bytes", read, len(v))
		}
	})
}
