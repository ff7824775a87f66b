package sandbox

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/tetherkit/tether/contracts"
)

// DefaultTenant is the tenant of every call when no tenant is registered.
const DefaultTenant = "default"

// Credential is something a tenant presents to the vendor: a bearer token
// (also what OAuth2 and OpenID Connect schemes carry), an API key, or a
// user and password for HTTP basic. Make one with [Bearer], [APIKey] or
// [Basic].
type Credential struct {
	kind     string // "bearer", "api-key" or "basic"
	secret   string // the token, the key, or "user:password"
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

// For restricts the credential to the contract's security scheme called
// scheme, for a contract with two schemes of the same kind.
func (c Credential) For(scheme string) Credential { c.scheme = scheme; return c }

// String names the credential without showing its secret.
func (c Credential) String() string {
	s := c.kind
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

// tenants finds the tenant a presented secret belongs to.
type tenants struct {
	open   bool // no tenant registered: any credential is accepted
	bySecr map[string][]owned
	names  []string
	specs  []tenantSpec
}

type owned struct {
	tenant string
	cred   *Credential
}

func newTenants(specs []tenantSpec) (*tenants, error) {
	t := &tenants{open: len(specs) == 0, bySecr: map[string][]owned{}, specs: specs}
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
				return nil, fmt.Errorf("tenant %q: credential %d is zero; make it with sandbox.Bearer, APIKey or Basic", sp.name, i+1)
			}
			if c.secret == "" || c.secret == ":" {
				return nil, fmt.Errorf("tenant %q: %s credential %d is empty", sp.name, c.kind, i+1)
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

// lookup finds who owns secret as a credential of kind for scheme.
func (t *tenants) lookup(kind, secret, scheme string) (owned, bool) {
	if t.open {
		return owned{tenant: DefaultTenant}, true
	}
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
	challenge string // WWW-Authenticate value for a 401
}

// authenticate checks r against op's security requirements: one of the
// alternatives must be met in full, by credentials of a single tenant.
func (t *tenants) authenticate(schemes map[string]contracts.SecurityScheme, op *contracts.Operation, r *http.Request) authResult {
	if len(op.Security) == 0 {
		return authResult{tenant: t.anyTenant(schemes, r)}
	}
	var missing, unknown, forbidden []string
	var challenge, refused string
	for _, req := range op.Security {
		tenant, status, why := t.meets(schemes, req, r)
		if status == 0 {
			return authResult{tenant: tenant}
		}
		switch status {
		case http.StatusForbidden:
			forbidden = append(forbidden, why)
			if refused == "" {
				refused = tenant
			}
		case -1:
			unknown = append(unknown, why)
		default:
			missing = append(missing, why)
		}
		if challenge == "" {
			challenge = challengeFor(schemes, req)
		}
	}
	switch {
	case len(forbidden) > 0:
		return authResult{tenant: refused, status: http.StatusForbidden, reason: strings.Join(forbidden, "; or ")}
	case len(unknown) > 0:
		return authResult{status: http.StatusUnauthorized, reason: strings.Join(unknown, "; or "), challenge: challenge}
	}
	return authResult{status: http.StatusUnauthorized, reason: strings.Join(missing, "; or "), challenge: challenge}
}

// meets checks one alternative. Its status is 0 when met, 401 when a
// credential is missing, -1 when one is present but nobody's, and 403
// when a recognised token lacks a scope.
func (t *tenants) meets(schemes map[string]contracts.SecurityScheme, req contracts.SecurityRequirement, r *http.Request) (string, int, string) {
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
			return "", http.StatusUnauthorized, fmt.Sprintf("%s needs %s", name, where)
		}
		o, ok := t.lookup(kind, secret, name)
		if !ok {
			return "", -1, fmt.Sprintf("the %s sent for %s belongs to no tenant", where, name)
		}
		if tenant != "" && o.tenant != tenant {
			return "", -1, fmt.Sprintf("the credentials sent belong to two tenants, %q and %q", tenant, o.tenant)
		}
		tenant = o.tenant
		if o.cred != nil && (sc.Type == "oauth2" || sc.Type == "openIdConnect") {
			var lacking []string
			for _, scope := range req[name] {
				if !o.cred.scopeSet[scope] {
					lacking = append(lacking, scope)
				}
			}
			if len(lacking) > 0 {
				return tenant, http.StatusForbidden, fmt.Sprintf("the token of tenant %q lacks scope %s for %s", tenant, strings.Join(lacking, ", "), name)
			}
		}
	}
	if tenant == "" {
		tenant = t.anyTenant(schemes, r)
	}
	return tenant, 0, ""
}

// anyTenant names the tenant of a call that needs no credential: whoever's
// credential it carries anyway, else the default tenant.
func (t *tenants) anyTenant(schemes map[string]contracts.SecurityScheme, r *http.Request) string {
	if t.open {
		return DefaultTenant
	}
	for name, sc := range schemes {
		if kind, secret, _ := presented(sc, r); secret != "" {
			if o, ok := t.lookup(kind, secret, name); ok {
				return o.tenant
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
