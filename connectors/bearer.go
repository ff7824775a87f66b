package connectors

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"
)

// AuthError is a refusal of a connector's credentials that no retry
// mends, always inside a [PermanentError]: a vendor's API that refuses a
// token just issued (401 invalid_token) or wants a scope the connector was
// not granted (403 insufficient_scope), or a token endpoint that refuses
// the grant (invalid_grant for a revoked refresh token, invalid_client).
// A person must act on it; Error says what to do. It holds no credential.
type AuthError struct {
	Method      string
	URL         string // without query, fragment or user information
	StatusCode  int
	Code        string // the OAuth2 error code (RFC 6749 5.2, RFC 6750 3.1), or ""
	Description string // the vendor's error_description, on one line, shortened
	Scope       string // for insufficient_scope, the scope the vendor named
}

func (e *AuthError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if hint := authHints[e.Code]; hint != "" {
		msg += " (" + strings.ReplaceAll(hint, "SCOPE", e.Scope) + ")"
	}
	return msg
}

// authHints say what a person does about each error code.
var authHints = map[string]string{
	"invalid_token":       "the vendor refused a token the token endpoint had just issued: check that the token endpoint and the API belong together",
	"insufficient_scope":  "grant the connector the scope SCOPE",
	"invalid_grant":       "the grant was refused, as when a refresh token is revoked or expired: authorise the connector again",
	"invalid_client":      "the client's credentials were refused: check the client ID and secret",
	"unauthorized_client": "the client may not use this grant: check its registration with the vendor",
	"invalid_scope":       "the scopes asked for were refused: check the scopes the connector asks for",
}

// Transport returns a transport that sends each request through next
// (http.DefaultTransport when nil) with ts's token in its Authorization
// header. Give it to [NewVendor]:
//
//	connectors.NewVendor("crm", baseURL, ts.Transport(nil))
//
// When the vendor answers 401 with WWW-Authenticate: Bearer
// error="invalid_token" (RFC 6750), it gets a new token and sends the
// request once more, its body again from the request's GetBody (which
// http.NewRequest sets for a bytes or strings reader). It does not loop:
//
//   - a second invalid_token, for the new token, is a permanent
//     [AuthError];
//   - a token endpoint that refuses the grant is a permanent [AuthError]
//     too; one that cannot be reached, or answers 5xx or 429, is a
//     retryable error, as the call may pass later;
//   - a request with a body and no GetBody is not sent again: the error
//     is retryable, as the next attempt finds the new token.
//
// A 403 with error="insufficient_scope" is a permanent [AuthError], and no
// new token is got for it. Every other answer is returned as it is, for
// [CheckResponse]. A redirect to another host is sent without the token.
func (ts *TokenSource) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &bearerTransport{ts: ts, next: next}
}

type bearerTransport struct {
	ts   *TokenSource
	next http.RoundTripper
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !sameHostAsFirst(req) {
		return t.next.RoundTrip(req)
	}
	ctx := req.Context()
	tok, err := t.ts.token(ctx, "")
	if err != nil {
		closeRequestBody(req)
		return nil, err
	}
	resp, err := t.send(req, req.Body, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	params, refused := bearerError(resp)
	switch {
	case refused && params["error"] == "insufficient_scope":
		return nil, t.refusal(req, resp, params)
	case !refused || resp.StatusCode != http.StatusUnauthorized || params["error"] != "invalid_token":
		return resp, nil
	}
	discard(resp)

	// The token was refused: get another and send the request once more.
	body := req.Body
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			if _, err := t.ts.token(ctx, tok.AccessToken); err != nil {
				return nil, err
			}
			return nil, Retryable(fmt.Errorf("%s %s: the vendor refused the token and the request's body cannot be sent again (it has no GetBody); a new token is ready for the next attempt", req.Method, safeURL(req.URL)), 0)
		}
	}
	tok, err = t.ts.token(ctx, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	if req.Body != nil && req.Body != http.NoBody {
		if body, err = req.GetBody(); err != nil {
			return nil, fmt.Errorf("%s %s: get the body again: %w", req.Method, safeURL(req.URL), err)
		}
	}
	resp, err = t.send(req, body, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	if params, refused := bearerError(resp); refused && (params["error"] == "invalid_token" || params["error"] == "insufficient_scope") {
		return nil, t.refusal(req, resp, params)
	}
	return resp, nil
}

// send sends a copy of req with body and token; a RoundTripper must not
// change the caller's request.
func (t *bearerTransport) send(req *http.Request, body io.ReadCloser, token string) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Body = body
	if out.Header == nil {
		out.Header = http.Header{}
	}
	out.Header.Set("Authorization", "Bearer "+token)
	return t.next.RoundTrip(out)
}

// refusal closes resp and returns the permanent error it makes.
func (t *bearerTransport) refusal(req *http.Request, resp *http.Response, params map[string]string) error {
	discard(resp)
	var secrets []string
	t.ts.mu.Lock()
	if t.ts.tok != nil {
		secrets = []string{t.ts.tok.AccessToken, t.ts.tok.RefreshToken}
	}
	t.ts.mu.Unlock()
	return Permanent(&AuthError{
		Method:      req.Method,
		URL:         safeURL(req.URL),
		StatusCode:  resp.StatusCode,
		Code:        params["error"],
		Description: oneLine(redact(params["error_description"], secrets), responseShowLimit),
		Scope:       oneLine(params["scope"], responseShowLimit),
	})
}

// sameHostAsFirst reports whether req goes to the host of the request
// that a chain of redirects started from, so a token is not sent to a
// host a vendor redirects to.
func sameHostAsFirst(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	return first == req || strings.EqualFold(first.URL.Host, req.URL.Host) && first.URL.Scheme == req.URL.Scheme
}

// discard reads a little of resp's body, so the connection may be used
// again, and closes it.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, responseReadLimit))
	resp.Body.Close()
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// bearerError returns the parameters of resp's Bearer challenge when resp
// is a 401 or 403 that has one with an error parameter.
func bearerError(resp *http.Response) (map[string]string, bool) {
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		return nil, false
	}
	params := bearerChallenge(resp.Header.Values("WWW-Authenticate"))
	return params, params["error"] != ""
}

// challengeLimit bounds how much of WWW-Authenticate is read.
const challengeLimit = 8 << 10

// bearerChallenge returns the parameters of the first Bearer challenge in
// the WWW-Authenticate header values (RFC 9110 11.6.1, RFC 6750 3), such
// as error, error_description and scope, with names in lower case; nil
// when there is none. It reads at most 8 KiB of the values, and never
// fails: what it cannot read it skips.
func bearerChallenge(values []string) map[string]string {
	var params map[string]string
	read := 0
	for _, v := range values {
		if read+len(v) > challengeLimit {
			v = v[:max(challengeLimit-read, 0)]
		}
		read += len(v)
		inBearer := false
		for p := (challengeScanner{s: v}); ; {
			name, value, isParam, ok := p.next()
			if !ok {
				break
			}
			switch {
			case !isParam && params != nil:
				return params // the Bearer challenge has ended
			case !isParam:
				inBearer = strings.EqualFold(name, "Bearer")
				if inBearer {
					params = map[string]string{}
				}
			case inBearer:
				name = strings.ToLower(name)
				if _, seen := params[name]; !seen {
					params[name] = value
				}
			}
		}
		if params != nil {
			return params
		}
	}
	return params
}

// challengeScanner reads a WWW-Authenticate value as a run of items: a
// scheme (a token not followed by "="), or a parameter (token=token or
// token="quoted"). A scheme's token68 reads as a parameter of its own.
type challengeScanner struct {
	s string
	i int
}

func (c *challengeScanner) next() (name, value string, isParam, ok bool) {
	for name == "" {
		c.skip(" \t,")
		if c.i >= len(c.s) {
			return "", "", false, false
		}
		if name = c.token(); name == "" {
			c.i++ // not a token character: skip it
		}
	}
	c.skip(" \t")
	if c.i >= len(c.s) || c.s[c.i] != '=' {
		return name, "", false, true
	}
	c.i++
	c.skip(" \t")
	if c.i < len(c.s) && c.s[c.i] == '"' {
		return name, c.quoted(), true, true
	}
	return name, c.token(), true, true
}

func (c *challengeScanner) skip(set string) {
	for c.i < len(c.s) && strings.IndexByte(set, c.s[c.i]) >= 0 {
		c.i++
	}
}

// token reads a token (RFC 9110 5.6.2), or the token68 characters.
func (c *challengeScanner) token() string {
	start := c.i
	for c.i < len(c.s) && (isTokenChar(c.s[c.i]) || c.s[c.i] == '/') {
		c.i++
	}
	return c.s[start:c.i]
}

// quoted reads a quoted string from its opening quote, undoing escapes;
// one left open runs to the end.
func (c *challengeScanner) quoted() string {
	c.i++
	var b strings.Builder
	for c.i < len(c.s) {
		ch := c.s[c.i]
		c.i++
		switch {
		case ch == '"':
			return b.String()
		case ch == '\\' && c.i < len(c.s):
			b.WriteByte(c.s[c.i])
			c.i++
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

func isTokenChar(ch byte) bool {
	switch {
	case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0
}

// oneLine is s on one line, without control characters, cut at a
// character to at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return excerptN(s, n)
}
