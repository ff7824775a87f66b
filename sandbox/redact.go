package sandbox

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
)

// PlaceholderPrefix starts every placeholder the journal holds in place of
// a credential.
//
// A placeholder is "REDACTED-" and 12 hex digits of an HMAC-SHA256 of the
// credential under a key the sandbox draws at random when it starts,
// followed, for a credential registered with [WithTenant], by its tenant
// and kind in parentheses: "REDACTED-3f9a0c2b71de(acme/bearer)", or
// "(acme/bearer-2)" for the tenant's second bearer token. Within one
// sandbox the same credential always gives the same placeholder, so a
// test can tell which credential a call used and whether two calls used
// the same one; since the key never leaves the sandbox, a journaled guess
// cannot be confirmed offline by hashing candidates.
const PlaceholderPrefix = "REDACTED-"

// minEchoedSecret is the shortest credential also replaced where it is
// echoed (a body, a finding's message); shorter ones would replace
// ordinary text.
const minEchoedSecret = 8

// redactor replaces credentials with placeholders in journal entries.
// Which credentials there are is known from the contract's security
// schemes and the tenants' registrations, not guessed from how values
// look.
type redactor struct {
	key   []byte
	mu    sync.RWMutex      // names grows when a key is rotated
	names map[string]string // mac of a registered credential -> "tenant/kind"

	// macs remembers the MACs of the credentials seen last, so that a
	// tenant's every call does not hash its credential again; at most
	// maxMACs, then it starts again.
	macMu sync.Mutex
	macs  map[string]string
}

const maxMACs = 1024

func newRedactor(ts *tenants) *redactor {
	r := &redactor{key: randomBytes(32), names: map[string]string{}}
	for _, sp := range ts.specs {
		for i, label := range credentialLabels(sp.name, sp.creds) {
			if m := r.mac(sp.creds[i].secret); r.names[m] == "" {
				r.names[m] = label
			}
		}
	}
	return r
}

// credentialLabels are the labels of a tenant's credentials, in the order
// given: "acme/bearer", then "acme/bearer-2" for its second bearer token.
func credentialLabels(tenant string, creds []Credential) []string {
	kinds := map[string]int{}
	labels := make([]string, len(creds))
	for i, c := range creds {
		kinds[c.kind]++
		labels[i] = tenant + "/" + c.kind
		if n := kinds[c.kind]; n > 1 {
			labels[i] += "-" + strconv.Itoa(n)
		}
	}
	return labels
}

func (r *redactor) mac(secret string) string {
	r.macMu.Lock()
	m, ok := r.macs[secret]
	r.macMu.Unlock()
	if ok {
		return m
	}
	h := hmac.New(sha256.New, r.key)
	h.Write([]byte(secret))
	m = hex.EncodeToString(h.Sum(nil)[:6])
	r.macMu.Lock()
	if len(r.macs) >= maxMACs {
		r.macs = nil
	}
	if r.macs == nil {
		r.macs = make(map[string]string, 16)
	}
	r.macs[secret] = m
	r.macMu.Unlock()
	return m
}

// rename labels newSecret as oldSecret was, for a rotated key.
func (r *redactor) rename(oldSecret, newSecret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if label := r.names[r.mac(oldSecret)]; label != "" {
		r.names[r.mac(newSecret)] = label
	}
}

// placeholder is what the journal shows in place of secret.
func (r *redactor) placeholder(secret string) string {
	m := r.mac(secret)
	r.mu.RLock()
	label := r.names[m]
	r.mu.RUnlock()
	if label != "" {
		return PlaceholderPrefix + m + "(" + label + ")"
	}
	return PlaceholderPrefix + m
}

// scrub is one entry's redaction: the credentials found, to replace
// where they are echoed too.
type scrub struct {
	r     *redactor
	pairs []string // secret, placeholder, ...
}

func (s *scrub) replace(secret string) string {
	if secret == "" {
		return ""
	}
	ph := s.r.placeholder(secret)
	if len(secret) >= minEchoedSecret {
		s.pairs = append(s.pairs, secret, ph)
	}
	return ph
}

// credentialQueries tells query parameters named like credentials, by the
// names recording redacts.
var credentialQueries = fixtures.DefaultRedactor()

// credentialHeaders are redacted whatever the contract says.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie"}

// redactCall replaces the credentials of a call in e: the Authorization,
// Proxy-Authorization and Cookie headers, the headers and query
// parameters the vendor's apiKey schemes name, and any of those
// credentials echoed in the journaled request body or in a finding. body
// is the request body as journaled; the returned one is redacted. The
// request's own header map is left alone: e gets a copy when anything
// changes.
//
// extra are further credentials to replace wherever they appear, such as
// the codes and tokens an authorization server took and issued.
func (r *redactor) redactCall(e *Entry, schemes map[string]contracts.SecurityScheme, body []byte, extra ...string) ([]byte, *scrub) {
	s := &scrub{r: r}
	for _, x := range extra {
		s.replace(x)
	}
	var header http.Header
	own := func() http.Header {
		if header == nil {
			header = e.RequestHeader.Clone()
		}
		return header
	}
	for _, name := range credentialHeaders {
		if vs := e.RequestHeader.Values(name); len(vs) > 0 {
			h := own()
			for i, v := range vs {
				h[http.CanonicalHeaderKey(name)][i] = s.headerValue(name, v)
			}
		}
	}
	var queryKeys []string
	for _, sc := range schemes {
		if !strings.EqualFold(sc.Type, "apiKey") || sc.Param == "" {
			continue
		}
		switch sc.In {
		case "header":
			if vs := e.RequestHeader.Values(sc.Param); len(vs) > 0 && !isCredentialHeader(sc.Param) {
				h := own()
				for i, v := range vs {
					h[http.CanonicalHeaderKey(sc.Param)][i] = s.replace(v)
				}
			}
		case "query":
			queryKeys = append(queryKeys, sc.Param)
		}
	}
	// A token a scheme takes as an argument (contracts.ExtTokenParam) may
	// come as a header, a query parameter or a form field.
	var formKeys []string
	for _, sc := range schemes {
		if sc.TokenParam == "" {
			continue
		}
		if vs := e.RequestHeader.Values(sc.TokenParam); len(vs) > 0 && !isCredentialHeader(sc.TokenParam) {
			h := own()
			for i, v := range vs {
				h[http.CanonicalHeaderKey(sc.TokenParam)][i] = s.replace(v)
			}
		}
		queryKeys = append(queryKeys, sc.TokenParam)
		formKeys = append(formKeys, sc.TokenParam)
	}
	if header != nil {
		e.RequestHeader = header
	}
	// A query parameter named like a credential (api_key, access_token)
	// is one, even where the contract declares no such scheme: a client
	// may send it anyway, and the journal and the log must not keep it.
	for p := range strings.SplitSeq(e.Query, "&") {
		k, _, _ := strings.Cut(p, "=")
		if name, err := url.QueryUnescape(k); err == nil && credentialQueries.SecretQuery(name) {
			queryKeys = append(queryKeys, name)
		}
	}
	if len(queryKeys) > 0 && e.Query != "" {
		e.Query = s.query(e.Query, queryKeys)
	}
	if len(formKeys) > 0 && len(body) > 0 && isForm(e.RequestHeader) {
		body = []byte(s.query(string(body), formKeys))
	}
	return s.echoes(e, body), s
}

// answer replaces the request's credentials where the answer repeats
// them, as an answer built from state may (a field set to a token, a
// next-page link): in the journaled body and a copy of the header.
func (s *scrub) answer(h http.Header, body []byte) (http.Header, []byte) {
	if len(s.pairs) == 0 {
		return h, body
	}
	for i := 0; i < len(s.pairs); i += 2 {
		if bytes.Contains(body, []byte(s.pairs[i])) {
			body = bytes.ReplaceAll(body, []byte(s.pairs[i]), []byte(s.pairs[i+1]))
		}
	}
	var out http.Header
	for k, vs := range h {
		for i, v := range vs {
			if w := s.replaceIn(v); w != v {
				if out == nil {
					out = h.Clone()
				}
				out[k][i] = w
			}
		}
	}
	if out == nil {
		out = h
	}
	return out, body
}

// redactDelivery replaces the credentials of a delivery attempt's request
// in e: those of the Authorization, Proxy-Authorization and Cookie
// headers, also where the body echoes them.
func (r *redactor) redactDelivery(e *Entry, body []byte) []byte {
	body, _ = r.redactCall(e, nil, body)
	return body
}

func isCredentialHeader(name string) bool {
	for _, h := range credentialHeaders {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// headerValue redacts one value of a credential header, keeping what is
// not secret: the scheme of an Authorization and the names of cookies.
func (s *scrub) headerValue(name, v string) string {
	if strings.EqualFold(name, "Cookie") {
		parts := strings.Split(v, ";")
		for i, p := range parts {
			k, val, ok := strings.Cut(p, "=")
			if !ok {
				parts[i] = s.replace(p)
				continue
			}
			parts[i] = k + "=" + s.replace(strings.Trim(strings.TrimSpace(val), `"`))
		}
		return strings.Join(parts, ";")
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return s.replace(v)
	}
	cred = strings.TrimSpace(cred)
	if strings.EqualFold(scheme, "basic") {
		// Registered as "user:password": the placeholder is that of the
		// pair, and the pair is what a body would echo.
		if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
			s.replace(cred)
			return scheme + " " + s.replace(string(dec))
		}
	}
	return scheme + " " + s.replace(cred)
}

// query redacts the values of the parameters named keys in a raw query,
// leaving the rest of it as it was sent.
func (s *scrub) query(raw string, keys []string) string {
	parts := strings.Split(raw, "&")
	changed := false
	for i, p := range parts {
		k, v, _ := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		for _, key := range keys {
			if strings.EqualFold(name, key) {
				val, err := url.QueryUnescape(v)
				if err != nil {
					val = v
				}
				parts[i] = k + "=" + queryValue(s.replace(val))
				changed = true
			}
		}
	}
	if !changed {
		return raw
	}
	return strings.Join(parts, "&")
}

// queryValue escapes a placeholder for a query, keeping the parentheses
// and slash of its label readable, as a query may.
func queryValue(ph string) string {
	return placeholderUnescaper.Replace(url.QueryEscape(ph))
}

var placeholderUnescaper = strings.NewReplacer("%28", "(", "%29", ")", "%2F", "/")

// echoes replaces the credentials found where they are repeated: the
// journaled body and the findings' messages.
func (s *scrub) echoes(e *Entry, body []byte) []byte {
	if len(s.pairs) == 0 {
		return body
	}
	for i := 0; i < len(s.pairs); i += 2 {
		if bytes.Contains(body, []byte(s.pairs[i])) {
			body = bytes.ReplaceAll(body, []byte(s.pairs[i]), []byte(s.pairs[i+1]))
		}
	}
	for i := range e.Findings {
		e.Findings[i].Message = s.replaceIn(e.Findings[i].Message)
	}
	e.Query = s.replaceIn(e.Query)
	return body
}

// replaceIn replaces each credential found in v with its placeholder. A
// call holds one or two credentials, so looking for each in turn is
// cheaper than building a replacer for every call.
func (s *scrub) replaceIn(v string) string {
	for i := 0; i+1 < len(s.pairs); i += 2 {
		if strings.Contains(v, s.pairs[i]) {
			v = strings.ReplaceAll(v, s.pairs[i], s.pairs[i+1])
		}
	}
	return v
}

// labelled finds the placeholders of registered credentials; the label is
// the first group.
var labelled = regexp.MustCompile(regexp.QuoteMeta(PlaceholderPrefix) + `[0-9a-f]{12}\(([^()]*)\)`)

// Reveal returns e with the credentials of tenant put back where the
// journal holds their placeholders. creds must be the credentials given
// for tenant to [WithTenant] (or tether sandbox serve --tenant), in the
// same order, since a placeholder names a credential by its place among
// the tenant's. It is for a caller that registered the credentials and
// holds them anyway, such as the harness, which compares calls with golden
// files redacted its own way and checks which vendor got which token.
// Placeholders of other credentials, and guesses, stay as they are; e
// itself is not changed.
func Reveal(e Entry, tenant string, creds ...Credential) Entry {
	byLabel := map[string]Credential{}
	for i, label := range credentialLabels(tenant, creds) {
		byLabel[label] = creds[i]
	}
	reveal := func(s string, encode func(Credential) string) string {
		if !strings.Contains(s, PlaceholderPrefix) {
			return s
		}
		return labelled.ReplaceAllStringFunc(s, func(ph string) string {
			c, ok := byLabel[labelled.FindStringSubmatch(ph)[1]]
			if !ok {
				return ph
			}
			return encode(c)
		})
	}
	plain := func(c Credential) string { return c.secret }
	if len(e.RequestHeader) > 0 {
		h := make(http.Header, len(e.RequestHeader))
		for name, vs := range e.RequestHeader {
			out := make([]string, len(vs))
			for i, v := range vs {
				out[i] = reveal(v, plain)
				if scheme, _, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "basic") && isCredentialHeader(name) {
					// A basic credential was sent encoded.
					out[i] = reveal(v, func(c Credential) string { return base64.StdEncoding.EncodeToString([]byte(c.secret)) })
				}
			}
			h[name] = out
		}
		e.RequestHeader = h
	}
	e.Query = reveal(e.Query, func(c Credential) string { return url.QueryEscape(c.secret) })
	e.RequestBody = reveal(e.RequestBody, plain)
	if len(e.Findings) > 0 {
		fs := slices.Clone(e.Findings)
		for i := range fs {
			fs[i].Message = reveal(fs[i].Message, plain)
		}
		e.Findings = fs
	}
	return e
}

// isForm reports whether a request's body is application/x-www-form-urlencoded.
func isForm(h http.Header) bool {
	ct, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded")
}
