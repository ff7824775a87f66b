package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"

	"github.com/tetherkit/tether/contracts"
)

// DefaultTokenTTL is how long an access token the sandbox issues lasts
// unless [WithTokenTTL] says otherwise.
const DefaultTokenTTL = time.Hour

// SourceOAuth2 is the source of an answer of a vendor's authorization
// server: a token or an authorization response, or its error.
const SourceOAuth2 = "oauth2"

// OAuthEndpoint is an endpoint of a vendor's authorization server.
type OAuthEndpoint struct {
	Kind string `json:"kind"` // "token" or "authorize"
	// Path is where the sandbox serves it: the vendor's name and the path
	// of the contract's URL, "/discord/api/oauth2/token" for
	// https://discord.com/api/oauth2/token.
	Path string `json:"path"`
	// URL is the contract's own, as written (relative URLs resolve
	// against the server URL).
	URL string `json:"url"`
	// Operation is the contract's operation at the same path, whose
	// answers' shape the endpoint keeps (Slack's oauth.access); "" when
	// the contract declares none.
	Operation string `json:"operation,omitempty"`
}

// authServer is the OAuth2 authorization server of one vendor, derived
// from the oauth2 flows of its contract's security schemes. fosite speaks
// the protocol; the ledger remembers the access tokens it issued, by the
// sandbox's clock.
type authServer struct {
	v         *vendor
	tenants   *tenants
	endpoints []OAuthEndpoint
	byPath    map[string]int                  // path after the vendor's name -> index in endpoints
	ops       map[string]*contracts.Operation // by path, for endpoints the contract declares as operations
	provider  fosite.OAuth2Provider
	config    *fosite.Config
	store     *grantStore
	issued    *ledger
	now       func() time.Time
	ttl       time.Duration
	rotate    bool
	seed      uint64

	hashMu sync.Mutex
	hashes map[*client][2]string // client -> {secret, its hash}
}

// newAuthServer makes the vendor's authorization server, or nil when its
// contract declares no oauth2 flow with a URL.
func newAuthServer(v *vendor, ts *tenants, cfg *config) (*authServer, error) {
	as := &authServer{v: v, tenants: ts, byPath: map[string]int{}, ops: map[string]*contracts.Operation{},
		issued: newLedger(), now: cfg.now, ttl: cfg.tokenTTL, rotate: cfg.refreshRotation, seed: cfg.seed,
		hashes: map[*client][2]string{}}
	server := ""
	if servers := v.Contract.Servers(); len(servers) > 0 {
		server = servers[0].Resolved
	}
	base, err := url.Parse(server)
	if err != nil {
		base = &url.URL{}
	}
	add := func(kind, raw string) error {
		if raw == "" {
			return nil
		}
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("the oauth2 %s URL %s does not parse: %v", kind, quoteHost(raw), err)
		}
		p := base.ResolveReference(u).EscapedPath()
		if p == "" {
			p = "/"
		}
		if i, dup := as.byPath[p]; dup {
			if as.endpoints[i].Kind != kind {
				return fmt.Errorf("the oauth2 URL %s is both a token and an authorization endpoint", quoteHost(raw))
			}
			return nil
		}
		ep := OAuthEndpoint{Kind: kind, Path: "/" + v.Name + p, URL: raw}
		for _, m := range []string{http.MethodPost, http.MethodGet} {
			if mt, err := v.Contract.Find(m, p); err == nil {
				as.ops[p] = mt.Operation
				ep.Operation = mt.Operation.ID
				break
			}
		}
		as.byPath[p] = len(as.endpoints)
		as.endpoints = append(as.endpoints, ep)
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(v.schemes)) {
		sc := v.schemes[name]
		if sc.Type != "oauth2" {
			continue
		}
		for _, f := range sc.Flows {
			for _, e := range []struct{ kind, raw string }{{"token", f.TokenURL}, {"token", f.RefreshURL}, {"authorize", f.AuthorizationURL}} {
				if err := add(e.kind, e.raw); err != nil {
					return nil, fmt.Errorf("security scheme %s: %w", name, err)
				}
			}
		}
	}
	if len(as.endpoints) == 0 {
		return nil, nil
	}
	as.config = &fosite.Config{
		AccessTokenLifespan:  as.ttl,
		RefreshTokenLifespan: -1, // refresh tokens end when revoked, by the admin API
		// Every grant of a code gets a refresh token, not only those
		// asking for offline access.
		RefreshTokenScopes: []string{},
		GlobalSecret:       randomBytes(32),
		// Client secrets are the sandbox's own test values; a cheap hash
		// keeps token calls fast.
		HashCost:                 4,
		ScopeStrategy:            fosite.ExactScopeStrategy,
		AudienceMatchingStrategy: fosite.DefaultAudienceMatchingStrategy,
		RedirectSecureChecker:    func(context.Context, *url.URL) bool { return true },
		// PKCE is checked when the client sends a challenge, and only
		// with S256.
		EnablePKCEPlainChallengeMethod: false,
	}
	as.store = newGrantStore(as)
	as.provider = compose.Compose(as.config, as.store, compose.NewOAuth2HMACStrategy(as.config),
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OAuth2PKCEFactory,
	)
	return as, nil
}

// secretHash is the hash of c's current secret, made once per secret.
func (as *authServer) secretHash(ctx context.Context, c *client) ([]byte, error) {
	as.tenants.mu.RLock()
	secret := c.secret
	as.tenants.mu.RUnlock()
	as.hashMu.Lock()
	defer as.hashMu.Unlock()
	if h, ok := as.hashes[c]; ok && h[0] == secret {
		return []byte(h[1]), nil
	}
	h, err := as.config.GetSecretsHasher(ctx).Hash(ctx, []byte(secret))
	if err != nil {
		return nil, err
	}
	as.hashes[c] = [2]string{secret, string(h)}
	return h, nil
}

// serve answers a call to one of the server's endpoints; ok is false when
// rest is none of them.
func (as *authServer) serve(r *http.Request, rest string, body []byte, e *Entry) (a *answer, ok bool) {
	i, found := as.byPath[rest]
	if !found {
		return nil, false
	}
	ep := as.endpoints[i]
	op := as.ops[rest]
	if op != nil {
		e.Operation = op.ID
	}
	if ep.Kind == "authorize" {
		return as.authorize(r, body, e), true
	}
	return as.token(r, body, op, e), true
}

// recorder keeps what fosite writes, so that the pipeline journals it and
// writes it once.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header         { return w.header }
func (w *recorder) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) answer() *answer {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &answer{status: w.status, header: w.header, body: w.body.Bytes(), source: SourceOAuth2}
}

// token answers the token endpoint: client_credentials, authorization_code
// (with PKCE when the authorization asked for it) and refresh_token.
func (as *authServer) token(r *http.Request, body []byte, op *contracts.Operation, e *Entry) *answer {
	form, _ := url.ParseQuery(string(body))
	if !isForm(r.Header) {
		form = url.Values{}
	}
	if r.Method == http.MethodGet && op != nil {
		// The contract declares the endpoint a GET with its arguments in
		// the query (Slack's oauth.access); fosite reads a form POST.
		form = r.URL.Query()
	}
	var secrets []string
	for _, k := range []string{"client_secret", "code", "code_verifier", "refresh_token"} {
		for _, v := range form[k] {
			// As sent, and as a form or a query escapes it.
			secrets = append(secrets, v, url.QueryEscape(v))
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://sandbox"+r.URL.Path, strings.NewReader(form.Encode()))
	if err != nil {
		return problemAnswer(http.StatusBadRequest, SourceOAuth2, err.Error(), nil)
	}
	if r.Method == http.MethodGet && op != nil {
		req.Method = http.MethodPost
	}
	req.Header = r.Header.Clone()
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Del("Content-Length")
	ctx := context.WithValue(r.Context(), redirectKey{}, form.Get("redirect_uri"))
	rec := &recorder{header: http.Header{}}
	switch gt := form.Get("grant_type"); gt {
	case "", "authorization_code", "client_credentials", "refresh_token":
	default:
		// fosite calls a grant nobody handles a bad request; RFC 6749
		// names it.
		as.provider.WriteAccessError(ctx, rec, nil, fosite.ErrUnsupportedGrantType.WithHintf("The sandbox grants authorization_code, client_credentials and refresh_token, not %s.", quoteHost(gt)))
		return as.shaped(rec.answer(), op, secrets, false)
	}
	ar, err := as.provider.NewAccessRequest(ctx, req, &fosite.DefaultSession{})
	if ar != nil && ar.GetClient() != nil {
		if c := as.tenants.clients[ar.GetClient().GetID()]; c != nil {
			e.Tenant = c.tenant
		}
	}
	if err == nil {
		err = as.grant(ar, e.Tenant)
	}
	var resp fosite.AccessResponder
	if err == nil {
		resp, err = as.provider.NewAccessResponse(ctx, ar)
	}
	if err != nil {
		as.provider.WriteAccessError(ctx, rec, ar, err)
		return as.shaped(rec.answer(), op, secrets, false)
	}
	// fosite reckons expires_in by the wall clock, a second short at
	// times; the ledger's is the TTL itself.
	resp.SetExpiresIn(as.ttl)
	tok := resp.GetAccessToken()
	scopes := map[string]bool{}
	for _, s := range ar.GetGrantedScopes() {
		scopes[s] = true
	}
	as.issued.record(tok, &issued{tenant: e.Tenant, client: ar.GetClient().GetID(), scopes: scopes, expires: as.now().Add(as.ttl)})
	secrets = append(secrets, tok)
	if rt, _ := resp.GetExtra("refresh_token").(string); rt != "" {
		secrets = append(secrets, rt)
	}
	as.provider.WriteAccessResponse(ctx, rec, ar, resp)
	return as.shaped(rec.answer(), op, secrets, true)
}

// grant settles the scopes a token request gets: those asked for, or all
// the client's when it asks for none; never one taken from the tenant
// through the admin API.
func (as *authServer) grant(ar fosite.AccessRequester, tenant string) error {
	as.tenants.mu.RLock()
	removed := as.tenants.removed[tenant]
	as.tenants.mu.RUnlock()
	for _, s := range ar.GetRequestedScopes() {
		if removed[s] {
			return fosite.ErrInvalidScope.WithHintf("The scope '%s' was taken from the client.", s)
		}
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		asked := ar.GetRequestedScopes()
		if len(asked) == 0 {
			asked = ar.GetClient().GetScopes()
		}
		for _, s := range asked {
			if !removed[s] {
				ar.GrantScope(s)
			}
		}
		return nil
	}
	// A code or a refresh token brings the scopes granted before; drop
	// those taken since.
	if req, ok := ar.(*fosite.AccessRequest); ok {
		req.GrantedScope = slices.DeleteFunc(req.GrantedScope, func(s string) bool { return removed[s] })
	}
	return nil
}

// authorize answers the authorization endpoint as a consenting user
// would: at once, redirecting to the client's redirect_uri with a code for
// the scopes asked for (all the client's when it asks for none).
func (as *authServer) authorize(r *http.Request, body []byte, e *Entry) *answer {
	q := r.URL.Query()
	if r.Method == http.MethodPost && isForm(r.Header) {
		form, _ := url.ParseQuery(string(body))
		for k, vs := range form {
			q[k] = vs
		}
	}
	ctx := context.WithValue(r.Context(), redirectKey{}, q.Get("redirect_uri"))
	req := r.Clone(ctx)
	req.URL.RawQuery = q.Encode()
	if r.Method == http.MethodPost {
		req.Method = http.MethodGet
		req.Body = http.NoBody
	}
	rec := &recorder{header: http.Header{}}
	ar, err := as.provider.NewAuthorizeRequest(ctx, req)
	var c *client
	if ar != nil && ar.GetClient() != nil {
		if c = as.tenants.clients[ar.GetClient().GetID()]; c != nil {
			e.Tenant = c.tenant
		}
	}
	if err == nil {
		as.tenants.mu.RLock()
		removed := as.tenants.removed[e.Tenant]
		as.tenants.mu.RUnlock()
		asked := ar.GetRequestedScopes()
		if len(asked) == 0 {
			asked = ar.GetClient().GetScopes()
		}
		for _, s := range asked {
			if removed[s] {
				err = fosite.ErrInvalidScope.WithHintf("The scope '%s' was taken from the client.", s)
				break
			}
			ar.GrantScope(s)
		}
	}
	var resp fosite.AuthorizeResponder
	if err == nil {
		resp, err = as.provider.NewAuthorizeResponse(ctx, ar, &fosite.DefaultSession{Subject: e.Tenant})
	}
	if err != nil {
		as.provider.WriteAuthorizeError(ctx, rec, ar, err)
		return rec.answer()
	}
	as.provider.WriteAuthorizeResponse(ctx, rec, ar, resp)
	a := rec.answer()
	a.secrets = append(a.secrets, resp.GetParameters().Get("code"))
	return a
}

// shaped is a token answer in the shape of the contract's operation at the
// same path, when there is one: the declared success body (Slack's
// {"ok": true, ...}) with the token's fields over it, or the declared
// error body with RFC 6749's error and description over it. Without an
// operation it is fosite's answer as it is.
func (as *authServer) shaped(a *answer, op *contracts.Operation, secrets []string, ok bool) *answer {
	a.secrets = append(a.secrets, secrets...)
	if op == nil {
		return a
	}
	var fields map[string]any
	if json.Unmarshal(a.body, &fields) != nil {
		return a
	}
	decl := as.v.declared(op, as.seed)
	var base *answer
	if ok {
		base = decl.success
	} else {
		base = decl.byStatus[a.status]
		if base == nil {
			base = decl.deflt
		}
	}
	if base == nil {
		return a
	}
	var shape map[string]any
	if json.Unmarshal(base.body, &shape) != nil {
		return a
	}
	if !ok {
		// The declared error's own fields stand for another error; keep
		// only what says it is one (Slack's "ok": false).
		for k, v := range shape {
			if _, isBool := v.(bool); !isBool {
				delete(shape, k)
			}
		}
	} else {
		// The example's tokens and ids are not this grant's.
		for k := range shape {
			if v, isBool := shape[k].(bool); !isBool || !v {
				delete(shape, k)
			}
		}
	}
	for k, v := range fields {
		shape[k] = v
	}
	b, err := json.Marshal(shape)
	if err != nil {
		return a
	}
	a.body = b
	a.header.Set("Content-Type", "application/json")
	return a
}

// endpointList lists the server's endpoints; a nil server has none.
func (as *authServer) endpointList() []OAuthEndpoint {
	if as == nil {
		return nil
	}
	return slices.Clone(as.endpoints)
}
