package sandbox

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tetherkit/tether/contracts"
)

// DefaultTenant is the tenant of every call when no tenant is registered.
const DefaultTenant = "default"

// Credential is something a tenant presents to the vendor: a bearer token
// (also what OAuth2 and OpenID Connect schemes carry), an API key, a user
// and password for HTTP basic, or an OAuth2 client that obtains tokens
// from the vendor's authorization server. Make one with [Bearer],
// [APIKey], [Basic] or [OAuth2Client].
type Credential struct {
	kind     string // "bearer", "api-key", "basic" or "oauth2-client"
	secret   string // the token, the key, "user:password" or the client secret
	clientID string // for an OAuth2 client
	scopes   []string
	scheme   string // the contract's scheme name it is for; "" for any of its kind
	scopeSet map[string]bool
}

// Bearer is a token sent as "Authorization: Bearer TOKEN", granting scopes.
// It satisfies http bearer, oauth2 and openIdConnect schemes; the scopes
// matter to the latter two.
func Bearer(token string, scopes ...string) Credential {
	return Credential{kind: "bearer", secret: token, scopes: scopes}
}

// APIKey is a key sent where an apiKey scheme says: a header, a query
// parameter or a cookie.
func APIKey(key string) Credential { return Credential{kind: "api-key", secret: key} }

// Basic is a user and password sent with HTTP basic authentication.
func Basic(user, password string) Credential {
	return Credential{kind: "basic", secret: user + ":" + password}
}

// OAuth2Client is a client of every vendor's authorization server (one per
// vendor whose contract declares an oauth2 scheme): it authenticates with
// id and secret at the token endpoint, as HTTP basic or as form fields,
// and may be granted scopes, all of them when a token request names none.
// The access tokens it obtains identify the tenant at that vendor only,
// until they expire ([WithTokenTTL]) or are expired or revoked through
// the admin API.
func OAuth2Client(id, secret string, scopes ...string) Credential {
	return Credential{kind: "oauth2-client", clientID: id, secret: secret, scopes: scopes}
}

// For restricts the credential to the contract's security scheme called
// scheme, for a contract with two schemes of the same kind.
func (c Credential) For(scheme string) Credential { c.scheme = scheme; return c }

// String names the credential without showing its secret.
func (c Credential) String() string {
	s := c.kind
	if c.clientID != "" {
		s += " " + strconv.Quote(c.clientID)
	}
	if c.scheme != "" {
		s += " for " + c.scheme
	}
	if len(c.scopes) > 0 {
		s += " [" + strings.Join(c.scopes, " ") + "]"
	}
	return s
}

type tenantSpec struct {
	name  string
	creds []Credential
}

// tenants finds the tenant a presented secret belongs to. What the admin
// API changes while the sandbox runs (a rotated key, a removed scope) is
// guarded by mu.
type tenants struct {
	open    bool // no tenant registered: any credential is accepted
	names   []string
	specs   []tenantSpec
	clients map[string]*client // OAuth2 clients by ID

	mu      sync.RWMutex
	bySecr  map[string][]owned
	removed map[string]map[string]bool // tenant -> scopes taken away
}

// client is an OAuth2 client of a tenant. Its secret may be rotated.
type client struct {
	tenant string
	id     string
	scopes []string
	secret string // guarded by tenants.mu
}

type owned struct {
	tenant string
	cred   *Credential
}

func newTenants(specs []tenantSpec) (*tenants, error) {
	t := &tenants{open: len(specs) == 0, bySecr: map[string][]owned{}, specs: specs,
		clients: map[string]*client{}, removed: map[string]map[string]bool{}}
	seen := map[string]bool{}
	for _, sp := range specs {
		if seen[sp.name] {
			return nil, fmt.Errorf("tenant %q is registered twice; give it all its credentials in one WithTenant", sp.name)
		}
		seen[sp.name] = true
		t.names = append(t.names, sp.name)
		for i := range sp.creds {
			c := sp.creds[i]
			if c.kind == "" {
				return nil, fmt.Errorf("tenant %q: credential %d is zero; make it with sandbox.Bearer, APIKey, Basic or OAuth2Client", sp.name, i+1)
			}
			if c.secret == "" || c.secret == ":" {
				return nil, fmt.Errorf("tenant %q: %s credential %d is empty", sp.name, c.kind, i+1)
			}
			if c.kind == "oauth2-client" {
				if err := checkClientID(c.clientID); err != nil {
					return nil, fmt.Errorf("tenant %q: credential %d: %w", sp.name, i+1, err)
				}
				if prev, dup := t.clients[c.clientID]; dup {
					return nil, fmt.Errorf("tenants %q and %q both register OAuth2 client %q; a client belongs to one tenant", prev.tenant, sp.name, c.clientID)
				}
				t.clients[c.clientID] = &client{tenant: sp.name, id: c.clientID, scopes: slices.Clone(c.scopes), secret: c.secret}
			}
			key := c.kind + "\x00" + c.secret
			for _, o := range t.bySecr[key] {
				if o.tenant != sp.name && (o.cred.scheme == "" || c.scheme == "" || o.cred.scheme == c.scheme) {
					return nil, fmt.Errorf("tenants %q and %q share a %s credential; one credential must identify one tenant", o.tenant, sp.name, c.kind)
				}
			}
			c.scopeSet = map[string]bool{}
			for _, s := range c.scopes {
				c.scopeSet[s] = true
			}
			t.bySecr[key] = append(t.bySecr[key], owned{tenant: sp.name, cred: &c})
		}
	}
	sort.Strings(t.names)
	return t, nil
}

// checkClientID refuses an OAuth2 client ID a client could not send as it
// is, in a form field or before the colon of HTTP basic.
func checkClientID(id string) error {
	if id == "" {
		return errors.New("the OAuth2 client needs an ID")
	}
	if len(id) > 256 || strings.ContainsAny(id, ": \t\r\n") || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("OAuth2 client ID %s must be at most 256 characters, without colons, spaces or control characters", quoteHost(id))
	}
	return nil
}

// lookup finds who owns secret as a credential of kind for scheme.
func (t *tenants) lookup(kind, secret, scheme string) (owned, bool) {
	if t.open {
		return owned{tenant: DefaultTenant}, true
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, o := range t.bySecr[kind+"\x00"+secret] {
		if o.cred.scheme == "" || o.cred.scheme == scheme {
			return o, true
		}
	}
	return owned{}, false
}

// owner names the tenant a registered credential of kind belongs to,
// whatever scheme it is restricted to. An open sandbox has no registered
// credentials, so nothing is anybody's.
func (t *tenants) owner(kind, secret string) (string, bool) {
	if t.open {
		return "", false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if os := t.bySecr[kind+"\x00"+secret]; len(os) > 0 {
		return os[0].tenant, true
	}
	return "", false
}

// authResult is the outcome of checking a call's credentials.
type authResult struct {
	tenant    string
	status    int    // 0 when the call may proceed, else 401 or 403
	reason    string // why it may not
	challenge string // WWW-Authenticate value for a 401 or a 403
}

// unmet is why one alternative of an operation's security is not met.
type unmet struct {
	tenant string
	status int    // 401; -1 when a credential is present but nobody's; 403
	why    string // for the journal and the problem body
	// bearerError is RFC 6750's error code for the challenge:
	// "invalid_token" or "insufficient_scope"; "" when no token was sent.
	bearerError string
	scheme      string // the scheme it concerns
}

// authenticate checks r against op's security requirements: one of the
// alternatives must be met in full, by credentials of a single tenant.
// issued is the vendor's ledger of access tokens its authorization server
// gave out, nil when it has none; now is the sandbox's clock.
func (t *tenants) authenticate(schemes map[string]contracts.SecurityScheme, op *contracts.Operation, r *http.Request, issued *ledger, now time.Time) authResult {
	if len(op.Security) == 0 {
		return authResult{tenant: t.anyTenant(schemes, r, issued, now)}
	}
	var missing, unknown, forbidden []string
	var challenge, refused string
	var sharp *unmet // the first refusal of a bearer token, whose challenge says why
	for _, req := range op.Security {
		tenant, no := t.meets(schemes, req, r, issued, now)
		if no == nil {
			return authResult{tenant: tenant}
		}
		switch no.status {
		case http.StatusForbidden:
			forbidden = append(forbidden, no.why)
			if refused == "" {
				refused = no.tenant
			}
		case -1:
			unknown = append(unknown, no.why)
		default:
			missing = append(missing, no.why)
		}
		if no.bearerError != "" && sharp == nil {
			sharp = no
		}
		if challenge == "" {
			challenge = challengeFor(schemes, req)
		}
	}
	if sharp != nil {
		challenge = bearerChallenge(sharp.bearerError, op.Security, sharp.scheme)
	}
	switch {
	case len(forbidden) > 0:
		if sharp == nil || sharp.bearerError != "insufficient_scope" {
			challenge = ""
		}
		return authResult{tenant: refused, status: http.StatusForbidden, reason: strings.Join(forbidden, "; or "), challenge: challenge}
	case len(unknown) > 0:
		return authResult{status: http.StatusUnauthorized, reason: strings.Join(unknown, "; or "), challenge: challenge}
	}
	return authResult{status: http.StatusUnauthorized, reason: strings.Join(missing, "; or "), challenge: challenge}
}

// bearerChallenge is RFC 6750's challenge with an error code, naming the
// scopes the operation asks of scheme.
func bearerChallenge(code string, reqs []contracts.SecurityRequirement, scheme string) string {
	c := `Bearer realm="tether sandbox", error="` + code + `"`
	for _, req := range reqs {
		if scopes := req[scheme]; len(scopes) > 0 {
			return c + fmt.Sprintf(", scope=%q", strings.Join(scopes, " "))
		}
	}
	return c
}

// meets checks one alternative; a nil unmet means it is met.
func (t *tenants) meets(schemes map[string]contracts.SecurityScheme, req contracts.SecurityRequirement, r *http.Request, issued *ledger, now time.Time) (string, *unmet) {
	names := slices.Sorted(maps.Keys(req))
	tenant := ""
	for _, name := range names {
		sc, ok := schemes[name]
		if !ok {
			continue // the contract names a scheme it never declares; nothing to check
		}
		kind, secret, where := presented(sc, r)
		if kind == "" {
			continue // a scheme the sandbox cannot check, such as mutualTLS
		}
		if secret == "" {
			return "", &unmet{status: http.StatusUnauthorized, why: fmt.Sprintf("%s needs %s", name, where), scheme: name}
		}
		oauth := sc.Type == "oauth2" || sc.Type == "openIdConnect"
		o, ok := t.lookup(kind, secret, name)
		var granted map[string]bool
		if ok && o.cred != nil {
			granted = o.cred.scopeSet
		}
		if !ok && oauth && issued != nil {
			tok, known := issued.check(secret)
			switch {
			case !known:
				return "", &unmet{status: -1, why: fmt.Sprintf("the %s sent for %s was never issued", where, name), bearerError: "invalid_token", scheme: name}
			case !now.Before(tok.expires):
				return "", &unmet{status: -1, why: fmt.Sprintf("the %s sent for %s expired at %s", where, name, tok.expires.UTC().Format(time.RFC3339)), bearerError: "invalid_token", scheme: name}
			}
			o, ok, granted = owned{tenant: tok.tenant}, true, tok.scopes
		}
		if !ok {
			no := &unmet{status: -1, why: fmt.Sprintf("the %s sent for %s belongs to no tenant", where, name), scheme: name}
			if oauth && issued != nil {
				no.bearerError = "invalid_token"
			}
			return "", no
		}
		if tenant != "" && o.tenant != tenant {
			return "", &unmet{status: -1, why: fmt.Sprintf("the credentials sent belong to two tenants, %q and %q", tenant, o.tenant)}
		}
		tenant = o.tenant
		if granted != nil && oauth {
			var lacking []string
			t.mu.RLock()
			removed := t.removed[tenant]
			for _, scope := range req[name] {
				if !granted[scope] || removed[scope] {
					lacking = append(lacking, scope)
				}
			}
			t.mu.RUnlock()
			if len(lacking) > 0 {
				return tenant, &unmet{tenant: tenant, status: http.StatusForbidden, bearerError: "insufficient_scope", scheme: name,
					why: fmt.Sprintf("the token of tenant %q lacks scope %s for %s", tenant, strings.Join(lacking, ", "), name)}
			}
		}
	}
	if tenant == "" {
		tenant = t.anyTenant(schemes, r, issued, now)
	}
	return tenant, nil
}

// anyTenant names the tenant of a call that needs no credential: whoever's
// credential it carries anyway, else the default tenant.
func (t *tenants) anyTenant(schemes map[string]contracts.SecurityScheme, r *http.Request, issued *ledger, now time.Time) string {
	if t.open {
		return DefaultTenant
	}
	for name, sc := range schemes {
		if kind, secret, _ := presented(sc, r); secret != "" {
			if o, ok := t.lookup(kind, secret, name); ok {
				return o.tenant
			}
			if tok, ok := issued.check(secret); ok && now.Before(tok.expires) {
				return tok.tenant
			}
		}
	}
	return DefaultTenant
}

// presented extracts what r carries for scheme sc: the credential kind it
// takes, the secret ("" when absent) and where it was looked for.
func presented(sc contracts.SecurityScheme, r *http.Request) (kind, secret, where string) {
	switch strings.ToLower(sc.Type) {
	case "http":
		switch sc.Scheme {
		case "basic":
			user, pass, ok := r.BasicAuth()
			if !ok {
				return "basic", "", "an Authorization: Basic header"
			}
			return "basic", user + ":" + pass, "Basic credentials"
		case "bearer":
			return "bearer", orTokenParam(sc, r, bearerToken(r)), "an Authorization: Bearer header"
		}
		return "", "", ""
	case "oauth2", "openidconnect":
		return "bearer", orTokenParam(sc, r, bearerToken(r)), "an Authorization: Bearer token"
	case "apikey":
		switch sc.In {
		case "header":
			return "api-key", r.Header.Get(sc.Param), "an API key in header " + sc.Param
		case "query":
			return "api-key", r.URL.Query().Get(sc.Param), "an API key in query parameter " + sc.Param
		case "cookie":
			if c, err := r.Cookie(sc.Param); err == nil {
				return "api-key", c.Value, "an API key in cookie " + sc.Param
			}
			return "api-key", "", "an API key in cookie " + sc.Param
		}
	}
	return "", "", ""
}

// orTokenParam is token, or when that is empty and the scheme also takes
// its token as an argument (contracts.ExtTokenParam), the argument: a query
// parameter, a form field (r.PostForm) or a header.
func orTokenParam(sc contracts.SecurityScheme, r *http.Request, token string) string {
	if token != "" || sc.TokenParam == "" {
		return token
	}
	if v := r.URL.Query().Get(sc.TokenParam); v != "" {
		return v
	}
	if v := r.PostForm.Get(sc.TokenParam); v != "" {
		return v
	}
	return r.Header.Get(sc.TokenParam)
}

func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// challengeFor is the WWW-Authenticate value for the first scheme of req
// that has one.
func challengeFor(schemes map[string]contracts.SecurityScheme, req contracts.SecurityRequirement) string {
	names := slices.Sorted(maps.Keys(req))
	for _, n := range names {
		sc := schemes[n]
		switch {
		case sc.Type == "http" && sc.Scheme == "basic":
			return `Basic realm="tether sandbox"`
		case sc.Type == "http" && sc.Scheme == "bearer", sc.Type == "oauth2", sc.Type == "openIdConnect":
			if scopes := req[n]; len(scopes) > 0 {
				return fmt.Sprintf(`Bearer realm="tether sandbox", scope=%q`, strings.Join(scopes, " "))
			}
			return `Bearer realm="tether sandbox"`
		}
	}
	return ""
}
