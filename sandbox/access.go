package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// caller is who an admin request comes from: the holder of the admin
// token, or a tenant reading its own calls.
type caller struct {
	admin  bool
	tenant string // for a tenant's credential
}

// refusal is why an admin request is refused before it reaches its
// endpoint.
type refusal struct {
	status int
	detail string
	header http.Header
}

// newAdminToken makes a random admin token: 32 bytes, in base64url.
func newAdminToken() string {
	return "tsa_" + base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails: crypto/rand panics rather than return less
	return b
}

// AdminToken is the credential the admin API requires, as
// "Authorization: Bearer TOKEN": the one given with [WithAdminToken], else
// the random one the sandbox made at start. [Sandbox.Client] sends it.
func (s *Sandbox) AdminToken() string { return s.adminToken }

// checkAdmin decides whether an admin request may go on, and as whom. The
// checks run from the cheapest a browser can trip to the credential:
//
//  1. Host: an IP address, localhost, or a name given with [WithAdminHost],
//     else 421. A page that points a name of its own at the sandbox (DNS
//     rebinding) sends that name.
//  2. Cross-site: a browser's request from another origin, by
//     Sec-Fetch-Site or Origin, is refused with 403, for reads as well as
//     writes, since what the journal holds is not for other sites.
//  3. Content type: a request that carries or declares a body must be JSON
//     or YAML, else 415; a form or text/plain post, which a page may send
//     anywhere without asking, never is.
//  4. Credential: the admin token, else a tenant's registered credential
//     (as Bearer, or Basic for a user and password), else 401.
func (s *Sandbox) checkAdmin(r *http.Request) (caller, *refusal) {
	if !s.adminHost(r.Host) {
		return caller{}, &refusal{status: http.StatusMisdirectedRequest,
			detail: "the admin API answers at an IP address, at localhost, or at a name the sandbox was started with (--admin-host); not at " + quoteHost(r.Host)}
	}
	if why := crossSite(r); why != "" {
		return caller{}, &refusal{status: http.StatusForbidden, detail: "the admin API refuses cross-site requests: " + why}
	}
	if !adminContent(r) {
		return caller{}, &refusal{status: http.StatusUnsupportedMediaType,
			detail: "the admin API takes JSON or YAML bodies (Content-Type application/json or application/yaml), not " + quoteHost(r.Header.Get("Content-Type"))}
	}
	c, ok := s.adminCaller(r)
	if !ok {
		return caller{}, &refusal{status: http.StatusUnauthorized,
			detail: "the admin API needs the admin token as Authorization: Bearer TOKEN (tether sandbox serve prints it, or reads TETHER_ADMIN_TOKEN), or a tenant's credential to read its own calls",
			header: http.Header{"Www-Authenticate": {`Bearer realm="tether sandbox admin"`}},
		}
	}
	return c, nil
}

func quoteHost(h string) string {
	if len(h) > 200 {
		h = h[:200] + "..."
	}
	return "\"" + strings.ToValidUTF8(h, "?") + "\""
}

// adminHost reports whether host, a request's Host, names the sandbox in a
// way no other site can: an IP literal, localhost, or a configured name.
func (s *Sandbox) adminHost(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.ToLower(strings.Trim(name, "[]")), ".")
	if name == "" {
		return false
	}
	if net.ParseIP(name) != nil || name == "localhost" {
		return true
	}
	return slices.Contains(s.cfg.adminHosts, name)
}

// crossSite says why r is a browser's request from another site, or ""
// when it is not one. It follows the rule of net/http's
// CrossOriginProtection, but for every method: Sec-Fetch-Site when the
// browser sends it, else Origin against Host.
func crossSite(r *http.Request) string {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "":
	case "same-origin", "none":
		return ""
	default:
		return "Sec-Fetch-Site is " + quoteHost(site)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return ""
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return "Origin " + quoteHost(origin) + " is not this sandbox"
	}
	return ""
}

// adminContent reports whether r's body, if it has or declares one, is
// JSON or YAML.
func adminContent(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return r.ContentLength == 0
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
		return true
	}
	return strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// adminCaller finds who r's credential belongs to.
func (s *Sandbox) adminCaller(r *http.Request) (caller, bool) {
	if token := bearerToken(r); token != "" {
		if sameSecret(token, s.adminToken) {
			return caller{admin: true}, true
		}
		for _, kind := range []string{"bearer", "api-key"} {
			if t, ok := s.tenants.owner(kind, token); ok {
				return caller{tenant: t}, true
			}
		}
		return caller{}, false
	}
	if user, pass, ok := r.BasicAuth(); ok {
		if t, ok := s.tenants.owner("basic", user+":"+pass); ok {
			return caller{tenant: t}, true
		}
	}
	return caller{}, false
}

// sameSecret compares two secrets in time that depends on neither.
func sameSecret(a, b string) bool {
	da, db := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(da[:], db[:]) == 1
}
