package replay

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/internal/jsonpath"
	"github.com/tetherkit/tether/internal/reqdiff"
)

// requestKey is what matching compares, taken from a redacted request with
// the ignored parts already removed: the body is in canonical form
// (compact JSON with sorted keys, a sorted form, or the bytes).
type requestKey struct {
	reqdiff.Request
	url string // the redacted URL, for messages
}

// matcher turns redacted requests into keys by the configured rules.
type matcher struct {
	skip        map[string]bool // request parts MatchOn leaves out
	ignoreQuery map[string]bool
	headers     []string // MatchHeader minus IgnoreHeader, sorted
	fields      []jsonpath.Path
}

func newMatcher(c *config) (*matcher, error) {
	m := &matcher{ignoreQuery: map[string]bool{}, skip: map[string]bool{}}
	if len(c.matchOn) > 0 {
		for _, part := range matchParts {
			m.skip[part] = true
		}
		for _, part := range c.matchOn {
			if !slices.Contains(matchParts, part) {
				return nil, fmt.Errorf("MatchOn(%q): the parts are %s", part, strings.Join(matchParts, ", "))
			}
			delete(m.skip, part)
		}
	}
	for _, q := range c.ignoreQuery {
		m.ignoreQuery[q] = true
	}
	for _, h := range c.matchHeaders {
		if !slices.Contains(c.ignoreHeaders, h) && !slices.Contains(m.headers, h) {
			m.headers = append(m.headers, h)
		}
	}
	sort.Strings(m.headers)
	for _, p := range c.ignoreFields {
		steps, err := parseFieldPath(p)
		if err != nil {
			return nil, fmt.Errorf("IgnoreField(%q): %w", p, err)
		}
		m.fields = append(m.fields, steps)
	}
	return m, nil
}

// key builds the key of a request that has been redacted.
func (m *matcher) key(req *fixtures.Request) requestKey {
	k := requestKey{Request: reqdiff.Request{Method: strings.ToUpper(req.Method), Origin: req.URL}, url: req.URL}
	if u, err := url.Parse(req.URL); err == nil {
		k.Origin = strings.ToLower(u.Scheme + "://" + u.Host)
		k.Path = u.EscapedPath()
		if k.Path == "" {
			k.Path = "/"
		}
		if q, err := url.ParseQuery(u.RawQuery); err == nil {
			for name := range m.ignoreQuery {
				delete(q, name)
			}
			k.Query = q
		} else {
			k.RawQuery = u.RawQuery
		}
	}
	for _, name := range m.headers {
		if v := req.Headers.Values(name); len(v) > 0 {
			if k.Header == nil {
				k.Header = map[string][]string{}
			}
			k.Header[name] = v
		}
	}
	k.Body = m.canonicalBody(req.Body, req.Headers.Get("Content-Type"))
	if m.skip["method"] {
		k.Method = ""
	}
	if m.skip["host"] {
		k.Origin = ""
	}
	if m.skip["path"] {
		k.Path = ""
	}
	if m.skip["query"] {
		k.Query, k.RawQuery = nil, ""
	}
	if m.skip["body"] {
		k.Body = reqdiff.Body{}
	}
	return k
}

var matchParts = []string{"method", "host", "path", "query", "body"}

// String is the index key: equal for requests that match, and only for them.
func (k *requestKey) String() string {
	var b strings.Builder
	b.WriteString(k.Method)
	b.WriteByte(' ')
	b.WriteString(k.Origin)
	b.WriteString(k.Path)
	b.WriteByte('?')
	if k.Query != nil {
		b.WriteString(k.Query.Encode()) // sorted by name
	} else {
		b.WriteString(k.RawQuery)
	}
	names := make([]string, 0, len(k.Header))
	for name := range k.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b.WriteByte('\n')
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(strconv.Quote(strings.Join(k.Header[name], "\x00")))
	}
	// A digest keeps keys small when bodies are large.
	sum := sha256.Sum256([]byte(k.Body.Canon))
	b.WriteString("\nbody:")
	b.WriteString(hex.EncodeToString(sum[:16]))
	return b.String()
}

// canonicalBody makes bodies that mean the same compare equal: JSON
// ignoring key order, whitespace and number spelling, forms ignoring field
// order; any other body is compared byte for byte.
func (m *matcher) canonicalBody(raw, contentType string) reqdiff.Body {
	trimmed := strings.TrimSpace(raw)
	if trimmed != "" && json.Valid([]byte(trimmed)) {
		dec := json.NewDecoder(strings.NewReader(trimmed))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err == nil {
			v = normaliseNumbers(v)
			for _, steps := range m.fields {
				v = jsonpath.Remove(v, steps)
			}
			var b strings.Builder
			b.Grow(len(trimmed))
			writeCanonical(&b, v)
			return reqdiff.Body{Canon: b.String(), JSON: v}
		}
	}
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt == "application/x-www-form-urlencoded" {
		if f, err := url.ParseQuery(raw); err == nil {
			return reqdiff.Body{Canon: f.Encode(), Form: f}
		}
	}
	return reqdiff.Body{Canon: raw}
}

// writeCanonical writes decoded JSON compactly with object keys sorted. It
// is the hot path of matching, so it avoids reflection.
func writeCanonical(b *strings.Builder, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			writeCanonical(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case string:
		writeJSONString(b, x)
	case json.Number:
		b.WriteString(string(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case nil:
		b.WriteString("null")
	default:
		// Decoding with UseNumber gives no other types.
		b.WriteString(reqdiff.Compact(x))
	}
}

// writeJSONString quotes s as JSON; most strings need no escaping.
func writeJSONString(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			b.WriteString(reqdiff.Compact(s))
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

// normaliseNumbers spells each number one way, so 1, 1.0 and 1e0 match.
func normaliseNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normaliseNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normaliseNumbers(e)
		}
	case json.Number:
		s := string(x)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return json.Number(strconv.FormatInt(n, 10))
		}
		// Exact, as golden comparison is: two integers past 64 bits must
		// not become one float.
		if r, ok := new(big.Rat).SetString(s); ok {
			return json.Number(r.RatString())
		}
	}
	return v
}

// parseFieldPath reads the paths IgnoreField takes: "$.a.b",
// "$.items[*].id", "$.items[0]", "$['odd key']".
func parseFieldPath(p string) (jsonpath.Path, error) {
	steps, err := jsonpath.Parse(p)
	if err != nil {
		return nil, err
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("the path names the whole body; name a field, as in $.meta.ts")
	}
	return steps, nil
}

// liveRequest is the live request as the redactor sees it; it reads and
// closes the body.
func liveRequest(req *http.Request) (fixtures.Request, error) {
	var data []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		data, err = readAndClose(req.Body)
		if err != nil {
			return fixtures.Request{}, err
		}
	} else if req.Body != nil {
		req.Body.Close()
	}
	h := req.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	return fixtures.Request{Method: method, URL: req.URL.String(), Headers: h, Body: string(data)}, nil
}

// keyDiff lists how the live request differs from a recorded one.
func keyDiff(rec, live *requestKey) []Mismatch { return reqdiff.Compare(&rec.Request, &live.Request) }
