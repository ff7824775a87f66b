package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TokenSource hands out OAuth2 access tokens for one vendor's API. It
// keeps the token it last got, gets a new one from its [Grant] a margin
// before the old one expires, and gets one at most once at a time: any
// number of callers that find the token stale wait for the same token
// request. Safe for concurrent use; it is an [oauth2.TokenSource].
//
// [TokenSource.Transport] puts its token on a vendor's calls and mends a
// token the vendor refuses (RFC 6750 invalid_token) once per call.
//
// Neither its errors, nor String, nor a log line of it hold a credential.
type TokenSource struct {
	grant  Grant
	margin time.Duration // 0: the default, min(30s, a tenth of the token's lifetime)
	now    func() time.Time
	client *http.Client // for the token endpoint

	mu       sync.Mutex
	tok      *oauth2.Token
	expires  time.Time // by now; zero when the token does not expire
	lifetime time.Duration
	pending  *tokenRequest // the token request under way, if any
}

// tokenRequest is one token request that several callers may wait for.
type tokenRequest struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

// TokenOption configures a [TokenSource].
type TokenOption func(*TokenSource)

// WithRefreshMargin makes the source get a new token margin before the
// old one expires. The default is 30 seconds, or a tenth of the token's
// lifetime when that is shorter.
func WithRefreshMargin(margin time.Duration) TokenOption {
	return func(ts *TokenSource) { ts.margin = max(margin, time.Nanosecond) }
}

// WithTokenClock sets the clock that expiry is read against; tests set it
// so that they do not wait. The default is time.Now.
func WithTokenClock(now func() time.Time) TokenOption {
	return func(ts *TokenSource) { ts.now = now }
}

// WithTokenClient sets the client that token requests are sent with, to
// the grants of [ClientCredentials] and [RefreshToken]. The default sends
// through a [CorrelatingTransport] and gives up after [VendorTimeout].
func WithTokenClient(c *http.Client) TokenOption {
	return func(ts *TokenSource) { ts.client = c }
}

// defaultRefreshMargin is the most a token is refreshed ahead of its
// expiry by default.
const defaultRefreshMargin = 30 * time.Second

// NewTokenSource returns a source of the tokens of grant. No token is
// requested before the first call that needs one.
func NewTokenSource(grant Grant, opts ...TokenOption) *TokenSource {
	if grant == nil {
		panic("connectors: NewTokenSource needs a grant; use ClientCredentials, RefreshToken or FromTokenSource")
	}
	ts := &TokenSource{grant: grant, now: time.Now}
	for _, o := range opts {
		o(ts)
	}
	if ts.client == nil {
		ts.client = &http.Client{Transport: CorrelatingTransport(nil), Timeout: VendorTimeout}
	}
	if tok := grant.initial(); tok != nil && tok.AccessToken != "" {
		ts.keep(tok)
	}
	return ts
}

// Token returns a token that is not about to expire, getting one when
// needed. It implements [oauth2.TokenSource], for a vendor's own SDK.
func (ts *TokenSource) Token() (*oauth2.Token, error) {
	return ts.token(context.Background(), "")
}

// String describes the source without its credentials.
func (ts *TokenSource) String() string {
	ts.mu.Lock()
	state := "no token yet"
	switch {
	case ts.tok != nil && ts.expires.IsZero():
		state = "token without expiry"
	case ts.tok != nil:
		state = "token expires " + ts.expires.UTC().Format(time.RFC3339)
	}
	ts.mu.Unlock()
	return fmt.Sprintf("connectors.TokenSource(%s; %s)", ts.grant, state)
}

// GoString keeps %#v from printing the fields, which hold credentials.
func (ts *TokenSource) GoString() string { return ts.String() }

// LogValue logs the source as its String.
func (ts *TokenSource) LogValue() slog.Value { return slog.StringValue(ts.String()) }

// token returns the token to send, or, when refused is the access token
// a vendor just refused, a token other than that one. Callers that need a
// new token at the same time share one token request; each stops waiting
// when its ctx is done.
func (ts *TokenSource) token(ctx context.Context, refused string) (*oauth2.Token, error) {
	ts.mu.Lock()
	if ts.tok != nil && refused != "" && ts.tok.AccessToken == refused {
		ts.tok = nil // no one else should send it
	}
	if tok := ts.tok; tok != nil {
		switch {
		case refused == "" && ts.fresh(ts.now()):
			ts.mu.Unlock()
			return tok, nil
		case refused != "" && tok.AccessToken != refused && ts.valid(ts.now()):
			// Another caller has already replaced the refused token.
			ts.mu.Unlock()
			return tok, nil
		}
	}
	r := ts.pending
	if r == nil {
		r = &tokenRequest{done: make(chan struct{})}
		ts.pending = r
		// The request outlives a caller that gives up, as others may wait
		// for it; the client's timeout bounds it.
		go ts.fetch(context.WithoutCancel(ctx), r)
	}
	ts.mu.Unlock()

	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for token: %w", ctx.Err())
	}
	if r.err == nil && r.tok.AccessToken == refused {
		return nil, Permanent(errors.New("the grant gave back the token the vendor refused; give NewTokenSource a grant that gets a new token each time (a cached oauth2.TokenSource cannot)"))
	}
	if r.err != nil && refused == "" {
		// A token refreshed early is still good until it expires.
		// (One the vendor refused is no longer kept.)
		ts.mu.Lock()
		tok, ok := ts.tok, ts.tok != nil && ts.valid(ts.now())
		ts.mu.Unlock()
		if ok {
			return tok, nil
		}
	}
	return r.tok, r.err
}

// fetch makes token request r and keeps its token.
func (ts *TokenSource) fetch(ctx context.Context, r *tokenRequest) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, ts.client)
	tok, err := ts.grant.fetch(ctx)
	switch {
	case err != nil:
		err = ts.classify(err)
	case tok == nil || tok.AccessToken == "":
		err = Permanent(errors.New("get token: the grant gave no access token"))
	}
	ts.mu.Lock()
	if err == nil {
		ts.keep(tok)
	}
	ts.pending = nil
	ts.mu.Unlock()
	r.tok, r.err = tok, err
	close(r.done)
}

// keep makes tok the current token; ts.mu is held or ts is not shared yet.
func (ts *TokenSource) keep(tok *oauth2.Token) {
	now := ts.now()
	ts.tok, ts.expires, ts.lifetime = tok, time.Time{}, 0
	if secs, ok := expiresIn(tok); ok {
		// Read against our clock, not the one oauth2 stamped Expiry with.
		ts.lifetime = time.Duration(min(secs, maxSeconds)) * time.Second
		ts.expires = now.Add(ts.lifetime)
		return
	}
	if !tok.Expiry.IsZero() {
		ts.expires = tok.Expiry
		ts.lifetime = max(tok.Expiry.Sub(now), 0)
	}
}

// maxSeconds is the most seconds a time.Duration holds.
const maxSeconds = int64(1<<63-1) / int64(time.Second)

// expiresIn returns the token's expires_in, in whole seconds above 0:
// its field, or the raw answer's, as clientcredentials does not copy it.
func expiresIn(tok *oauth2.Token) (int64, bool) {
	if tok.ExpiresIn > 0 {
		return tok.ExpiresIn, true
	}
	var secs float64
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		secs = v
	case json.Number:
		secs, _ = v.Float64()
	case string: // some vendors send it as a string
		secs, _ = strconv.ParseFloat(v, 64)
	}
	if !(secs >= 1) { // also NaN
		return 0, false
	}
	return int64(min(secs, float64(maxSeconds))), true
}

// fresh reports whether the token is good for longer than the margin.
func (ts *TokenSource) fresh(now time.Time) bool {
	if ts.expires.IsZero() {
		return true
	}
	margin := ts.margin
	if margin == 0 {
		margin = min(defaultRefreshMargin, ts.lifetime/10)
	}
	return now.Before(ts.expires.Add(-margin))
}

// valid reports whether the token has not expired.
func (ts *TokenSource) valid(now time.Time) bool {
	return ts.expires.IsZero() || now.Before(ts.expires)
}

// classify turns a failed token request into an error of the right class
// that holds no credential: a refusal by the token endpoint (a 4xx, such
// as invalid_grant for a revoked refresh token) is permanent, a failure to
// reach it or a 5xx or 429 is retryable.
func (ts *TokenSource) classify(err error) error {
	secrets := ts.grant.secrets()
	ts.mu.Lock()
	if ts.tok != nil {
		secrets = append(secrets, ts.tok.AccessToken, ts.tok.RefreshToken)
	}
	ts.mu.Unlock()
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok && re.Response != nil {
		resp := re.Response
		ae := &AuthError{
			Method:      http.MethodPost,
			StatusCode:  resp.StatusCode,
			Code:        oneLine(redact(re.ErrorCode, secrets), 64),
			Description: oneLine(redact(re.ErrorDescription, secrets), responseShowLimit),
		}
		if resp.Request != nil {
			ae.Method, ae.URL = resp.Request.Method, safeURL(resp.Request.URL)
		}
		switch code := resp.StatusCode; {
		case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
			after, _ := ParseRetryAfter(resp.Header.Get("Retry-After"), ts.now())
			return Retryable(ae, after)
		default:
			return Permanent(ae)
		}
	}
	if IsPermanent(err) {
		return Permanent(&redactedError{msg: "get token: " + redact(err.Error(), secrets), err: err})
	}
	// Not reached, timed out, or an error of a grant of the caller's own:
	// of no class, so retryable.
	return Retryable(&redactedError{msg: "get token: " + redact(err.Error(), secrets), err: err}, 0)
}

// redactedError shows a message with credentials taken out and keeps the
// error it came from for errors.Is.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact replaces each secret in s, as it is and as a form or query
// escapes it, with REDACTED.
func redact(s string, secrets []string) string {
	for _, secret := range secrets {
		if len(secret) < 4 { // too short to find without mangling the text
			continue
		}
		s = strings.ReplaceAll(s, secret, "REDACTED")
		if esc := url.QueryEscape(secret); esc != secret {
			s = strings.ReplaceAll(s, esc, "REDACTED")
		}
		if esc := url.PathEscape(secret); esc != secret {
			s = strings.ReplaceAll(s, esc, "REDACTED")
		}
	}
	return s
}

// safeURL is u without query, fragment or user information, which may
// hold secrets.
func safeURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	return c.String()
}

// Grant is how a [TokenSource] gets a token. Make one with
// [ClientCredentials], [RefreshToken] or [FromTokenSource].
type Grant interface {
	// fetch gets a new token, with the token client in ctx
	// (oauth2.HTTPClient).
	fetch(ctx context.Context) (*oauth2.Token, error)
	// initial is a token to start with, or nil.
	initial() *oauth2.Token
	// secrets are what must never be shown.
	secrets() []string
	fmt.Stringer
}

// ClientCredentials is the client-credentials grant (RFC 6749, 4.4) of
// cfg: each token is a new request to cfg.TokenURL with the client's ID
// and secret. Set cfg.AuthStyle when the token endpoint's is known: the
// default, auto-detection, sends a refused request twice.
func ClientCredentials(cfg clientcredentials.Config) Grant {
	cfg.Scopes = append([]string(nil), cfg.Scopes...)
	return &clientCredentialsGrant{cfg: cfg}
}

type clientCredentialsGrant struct{ cfg clientcredentials.Config }

func (g *clientCredentialsGrant) fetch(ctx context.Context) (*oauth2.Token, error) {
	return g.cfg.Token(ctx)
}
func (g *clientCredentialsGrant) initial() *oauth2.Token { return nil }
func (g *clientCredentialsGrant) secrets() []string      { return []string{g.cfg.ClientSecret} }
func (g *clientCredentialsGrant) String() string {
	return "client credentials at " + safeURLString(g.cfg.TokenURL)
}
func (g *clientCredentialsGrant) GoString() string { return g.String() }

// RefreshToken is the refresh-token grant (RFC 6749, 6) of cfg, starting
// from tok, as an authorization-code exchange gives it: tok is used until
// it expires, and each new token is a request that redeems the latest
// refresh token (a token endpoint may rotate it). When the refresh token
// is revoked, the token endpoint answers invalid_grant and the
// [TokenSource] returns a permanent [AuthError]: a person must authorise
// the connector again.
func RefreshToken(cfg oauth2.Config, tok *oauth2.Token) Grant {
	cfg.Scopes = append([]string(nil), cfg.Scopes...)
	g := &refreshTokenGrant{cfg: cfg}
	if tok != nil {
		g.first, g.refresh = tok, tok.RefreshToken
	}
	return g
}

type refreshTokenGrant struct {
	cfg     oauth2.Config
	first   *oauth2.Token
	mu      sync.Mutex // a TokenSource fetches once at a time, but a Grant may be shared
	refresh string
}

func (g *refreshTokenGrant) fetch(ctx context.Context) (*oauth2.Token, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refresh == "" {
		return nil, Permanent(errors.New("no refresh token to get a new token with; authorise the connector again"))
	}
	// A token with no access token is not valid, so the source oauth2
	// builds around it redeems the refresh token at once.
	tok, err := g.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: g.refresh}).Token()
	if err != nil {
		return nil, err
	}
	if tok.RefreshToken != "" {
		g.refresh = tok.RefreshToken
	}
	return tok, nil
}
func (g *refreshTokenGrant) initial() *oauth2.Token { return g.first }
func (g *refreshTokenGrant) secrets() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := []string{g.cfg.ClientSecret, g.refresh}
	if g.first != nil {
		s = append(s, g.first.AccessToken, g.first.RefreshToken)
	}
	return s
}
func (g *refreshTokenGrant) String() string {
	return "refresh token at " + safeURLString(g.cfg.Endpoint.TokenURL)
}
func (g *refreshTokenGrant) GoString() string { return g.String() }

// FromTokenSource is a grant that asks src for each new token. src must
// get a new token each time it is asked, as the sources of
// clientcredentials.Config.Token do: a caching source (such as
// oauth2.ReuseTokenSource, or what oauth2.Config.TokenSource returns)
// serves expiry but cannot replace a token that the vendor refuses
// early, which then fails the call with a permanent error. Prefer
// [ClientCredentials] and [RefreshToken] where they fit.
func FromTokenSource(src oauth2.TokenSource) Grant {
	if src == nil {
		panic("connectors: FromTokenSource needs a source")
	}
	return &sourceGrant{src: src}
}

type sourceGrant struct{ src oauth2.TokenSource }

func (g *sourceGrant) fetch(context.Context) (*oauth2.Token, error) { return g.src.Token() }
func (g *sourceGrant) initial() *oauth2.Token                       { return nil }
func (g *sourceGrant) secrets() []string                            { return nil }
func (g *sourceGrant) String() string                               { return fmt.Sprintf("%T", g.src) }
func (g *sourceGrant) GoString() string                             { return g.String() }

// safeURLString is safeURL of a URL in a string; "(bad URL)" when it does
// not parse, rather than the string, which may hold anything.
func safeURLString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(bad URL)"
	}
	return safeURL(u)
}
