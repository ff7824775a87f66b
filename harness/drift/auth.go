package drift

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"
)

// An authorizer puts the live credential on a request, in place of the
// recorded placeholder. secrets are the values it sends, which nothing
// tether writes or prints may hold.
type authorizer struct {
	set     func(req *http.Request, body []byte) ([]byte, error)
	secrets []string
}

// WithCredential sends token as "Authorization: Bearer token" on every
// live call, in place of the cassette's redacted one.
func WithCredential(token string) Option {
	return withAuth(func(req *http.Request, body []byte) ([]byte, error) {
		req.Header.Set("Authorization", "Bearer "+token)
		return body, nil
	}, token)
}

// WithBasic sends HTTP basic credentials on every live call.
func WithBasic(user, password string) Option {
	pair := user + ":" + password
	return withAuth(func(req *http.Request, body []byte) ([]byte, error) {
		req.SetBasicAuth(user, password)
		return body, nil
	}, pair, base64.StdEncoding.EncodeToString([]byte(pair)), password)
}

// WithAPIKey sends key as the API key the vendor takes: in a header, a
// query parameter, a cookie, or a top-level field of a JSON or form body
// (in is "header", "query", "cookie" or "body"), named name. A recorded
// value there, a redacted placeholder, is replaced.
func WithAPIKey(in, name, key string) Option {
	return withAuth(func(req *http.Request, body []byte) ([]byte, error) {
		switch in {
		case "header":
			req.Header.Set(name, key)
		case "query":
			q := req.URL.Query()
			q.Set(name, key)
			req.URL.RawQuery = q.Encode()
		case "cookie":
			req.Header.Del("Cookie")
			req.AddCookie(&http.Cookie{Name: name, Value: key})
		case "body":
			return bodyField(req, body, name, key)
		default:
			return nil, fmt.Errorf("an API key goes in a header, a query, a cookie or a body, not %q", in)
		}
		return body, nil
	}, key)
}

// WithTokenSource sends a bearer token from ts on every live call, as an
// OAuth2 client holds its tokens; the tokens it gives are never written.
func WithTokenSource(ts oauth2.TokenSource) Option {
	a := &authorizer{}
	a.set = func(req *http.Request, body []byte) ([]byte, error) {
		tok, err := ts.Token()
		if err != nil {
			return nil, fmt.Errorf("get a token: %w", err)
		}
		for _, e := range encodings([]string{tok.AccessToken}) {
			if !slices.Contains(a.secrets, e) {
				a.secrets = append(a.secrets, e)
			}
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		return body, nil
	}
	return func(o *options) { o.auth = a }
}

func withAuth(set func(*http.Request, []byte) ([]byte, error), secrets ...string) Option {
	return func(o *options) { o.auth = &authorizer{set: set, secrets: encodings(secrets)} }
}

// WithSecrets names further values nothing written or printed may hold,
// such as the client secret and refresh token behind a token source.
func WithSecrets(secrets ...string) Option {
	return func(o *options) { o.secrets = append(o.secrets, encodings(secrets)...) }
}

// encodings are the secrets as an answer may echo them: as sent, escaped
// for a URL's query or path, and escaped inside a JSON string.
func encodings(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		j, _ := json.Marshal(s)
		for _, e := range []string{s, url.QueryEscape(s), url.PathEscape(s), string(j[1 : len(j)-1])} {
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	return out
}

// bodyField sets the top-level field name of a JSON object or form body.
func bodyField(req *http.Request, body []byte, name, key string) ([]byte, error) {
	ct := req.Header.Get("Content-Type")
	var out []byte
	switch {
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("the recorded form body: %w", err)
		}
		form.Set(name, key)
		out = []byte(form.Encode())
	default:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil || m == nil {
			return nil, fmt.Errorf("the API key goes in the body's field %q, and the recorded body is not a JSON object", name)
		}
		v, _ := json.Marshal(key)
		m[name] = v
		var err error
		if out, err = json.Marshal(m); err != nil {
			return nil, err
		}
	}
	req.Body = io.NopCloser(bytes.NewReader(out))
	req.ContentLength = int64(len(out))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(out)), nil }
	return out, nil
}

// scrub replaces every secret o sends or holds in data with a
// placeholder, longest first, so that a secret holding another is
// replaced whole.
func (o *options) scrub(data []byte) []byte {
	var all []string
	if o.auth != nil {
		all = append(all, o.auth.secrets...)
	}
	all = append(all, o.secrets...)
	slices.SortFunc(all, func(a, b string) int { return len(b) - len(a) })
	for _, s := range all {
		// Shorter values would replace ordinary text and break the
		// shape compared.
		if len(s) >= minSecret && bytes.Contains(data, []byte(s)) {
			data = bytes.ReplaceAll(data, []byte(s), []byte(redactedSecret))
		}
	}
	return data
}

const minSecret = 4

// redactedSecret stands where a live answer repeated the credential.
const redactedSecret = "REDACTED"
