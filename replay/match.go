package replay

import (
	"bytes"
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
	"github.com/tetherkit/tether/internal/mapkeys"
)

// requestKey is what matching compares, taken from a redacted request with
// the ignored parts already removed.
type requestKey struct {
	method  string
	url     string // the redacted URL, for messages
	origin  string // scheme://host, lower-cased
	path    string
	query   url.Values // nil when the query does not parse
	rawQ    string     // used only when it does not
	headers map[string][]string
	body    canonBody
}

// canonBody is a request body in canonical form.
type canonBody struct {
	canon string     // compact JSON with sorted keys, sorted form, or the bytes
	json  any        // the decoded JSON, when the body is JSON
	form  url.Values // the fields, when the body is a form
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
	k := requestKey{method: strings.ToUpper(req.Method), url: req.URL, origin: req.URL}
	if u, err := url.Parse(req.URL); err == nil {
		k.origin = strings.ToLower(u.Scheme + "://" + u.Host)
		k.path = u.EscapedPath()
		if k.path == "" {
			k.path = "/"
		}
		if q, err := url.ParseQuery(u.RawQuery); err == nil {
			for name := range m.ignoreQuery {
				delete(q, name)
			}
			k.query = q
		} else {
			k.rawQ = u.RawQuery
		}
	}
	for _, name := range m.headers {
		if v := req.Headers.Values(name); len(v) > 0 {
			if k.headers == nil {
				k.headers = map[string][]string{}
			}
			k.headers[name] = v
		}
	}
	k.body = m.canonicalBody(req.Body, req.Headers.Get("Content-Type"))
	if m.skip["method"] {
		k.method = ""
	}
	if m.skip["host"] {
		k.origin = ""
	}
	if m.skip["path"] {
		k.path = ""
	}
	if m.skip["query"] {
		k.query, k.rawQ = nil, ""
	}
	if m.skip["body"] {
		k.body = canonBody{}
	}
	return k
}

var matchParts = []string{"method", "host", "path", "query", "body"}

// String is the index key: equal for requests that match, and only for them.
func (k *requestKey) String() string {
	var b strings.Builder
	b.WriteString(k.method)
	b.WriteByte(' ')
	b.WriteString(k.origin)
	b.WriteString(k.path)
	b.WriteByte('?')
	if k.query != nil {
		b.WriteString(k.query.Encode()) // sorted by name
	} else {
		b.WriteString(k.rawQ)
	}
	names := make([]string, 0, len(k.headers))
	for name := range k.headers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b.WriteByte('\n')
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(strconv.Quote(strings.Join(k.headers[name], "\x00")))
	}
	// A digest keeps keys small when bodies are large.
	sum := sha256.Sum256([]byte(k.body.canon))
	b.WriteString("\nbody:")
	b.WriteString(hex.EncodeToString(sum[:16]))
	return b.String()
}

// canonicalBody makes bodies that mean the same compare equal: JSON
// ignoring key order, whitespace and number spelling, forms ignoring field
// order; any other body is compared byte for byte.
func (m *matcher) canonicalBody(raw, contentType string) canonBody {
	trimmed := strings.TrimSpace(raw)
	if trimmed != "" && json.Valid([]byte(trimmed)) {
		dec := json.NewDecoder(strings.NewReader(trimmed))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err == nil {
			v = normaliseNumbers(v)
			for _, steps := range m.fields {
				v = removePath(v, steps)
			}
			var b strings.Builder
			b.Grow(len(trimmed))
			writeCanonical(&b, v)
			return canonBody{canon: b.String(), json: v}
		}
	}
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt == "application/x-www-form-urlencoded" {
		if f, err := url.ParseQuery(raw); err == nil {
			return canonBody{canon: f.Encode(), form: f}
		}
	}
	return canonBody{canon: raw}
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
		b.WriteString(jsonText(x))
	}
}

// writeJSONString quotes s as JSON; most strings need no escaping.
func writeJSONString(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			b.WriteString(jsonText(s))
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

// removePath drops the values at steps from v. An array element is set to
// null rather than removed, so later elements keep their positions.
func removePath(v any, steps jsonpath.Path) any {
	s, last := steps[0], len(steps) == 1
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s.Index >= 0 || !(s.Any || k == s.Key) {
				continue
			}
			if last {
				delete(x, k)
			} else {
				x[k] = removePath(e, steps[1:])
			}
		}
	case []any:
		for i, e := range x {
			if !s.Any && s.Index != i {
				continue
			}
			if last {
				x[i] = nil
			} else {
				x[i] = removePath(e, steps[1:])
			}
		}
	}
	return v
}

const absentValue = "(absent)"

// differences lists how the live request differs from a recorded one, in a
// fixed order: method, host, path, query, header, body.
func keyDifferences(rec, live *requestKey) []Mismatch {
	var out []Mismatch
	if rec.method != live.method {
		out = append(out, Mismatch{Part: "method", Recorded: strconv.Quote(rec.method), Sent: strconv.Quote(live.method)})
	}
	if rec.origin != live.origin {
		out = append(out, Mismatch{Part: "host", Recorded: strconv.Quote(rec.origin), Sent: strconv.Quote(live.origin)})
	}
	if rec.path != live.path {
		out = append(out, Mismatch{Part: "path", Recorded: strconv.Quote(rec.path), Sent: strconv.Quote(live.path)})
	}
	if rec.query == nil || live.query == nil {
		if rec.query.Encode()+rec.rawQ != live.query.Encode()+live.rawQ {
			out = append(out, Mismatch{Part: "query", Recorded: strconv.Quote(rec.query.Encode() + rec.rawQ), Sent: strconv.Quote(live.query.Encode() + live.rawQ)})
		}
	} else {
		out = valueMismatches(out, "query", rec.query, live.query)
	}
	out = valueMismatches(out, "header", rec.headers, live.headers)
	switch {
	case rec.body.canon == live.body.canon:
	case rec.body.json != nil && live.body.json != nil:
		path, r, s := firstJSONDifference("$", rec.body.json, live.body.json)
		out = append(out, Mismatch{Part: "body", Name: path, Recorded: r, Sent: s})
	case rec.body.form != nil && live.body.form != nil:
		out = valueMismatches(out, "body", rec.body.form, live.body.form)
	default:
		out = append(out, Mismatch{Part: "body", Recorded: bodyExcerpt(rec.body.canon), Sent: bodyExcerpt(live.body.canon)})
	}
	return out
}

// valueMismatches adds one difference per name whose values differ.
func valueMismatches(out []Mismatch, part string, rec, live map[string][]string) []Mismatch {
	for _, name := range mapkeys.SortedUnion(rec, live) {
		if !slices.Equal(rec[name], live[name]) {
			out = append(out, Mismatch{Part: part, Name: name, Recorded: quotedValues(rec[name]), Sent: quotedValues(live[name])})
		}
	}
	return out
}

func quotedValues(vs []string) string {
	if len(vs) == 0 {
		return absentValue
	}
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// excerpt renders a body for a message, shortened when long.
func bodyExcerpt(s string) string {
	if s == "" {
		return "(empty)"
	}
	const max = 120
	if len(s) > max {
		return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(s[:max]), len(s))
	}
	return strconv.Quote(s)
}

// firstJSONDifference walks rec and live in key order and returns the path
// of the first value that differs, with both values as compact JSON.
func firstJSONDifference(path string, rec, live any) (string, string, string) {
	switch r := rec.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			break
		}
		for _, k := range mapkeys.SortedUnion(r, l) {
			rv, rok := r[k]
			lv, lok := l[k]
			sub := path + jsonpath.Key(k)
			switch {
			case !rok:
				return sub, absentValue, jsonText(lv)
			case !lok:
				return sub, jsonText(rv), absentValue
			case jsonText(rv) != jsonText(lv):
				return firstJSONDifference(sub, rv, lv)
			}
		}
	case []any:
		l, ok := live.([]any)
		if !ok {
			break
		}
		for i := 0; i < max(len(r), len(l)); i++ {
			sub := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= len(r):
				return sub, absentValue, jsonText(l[i])
			case i >= len(l):
				return sub, jsonText(r[i]), absentValue
			case jsonText(r[i]) != jsonText(l[i]):
				return firstJSONDifference(sub, r[i], l[i])
			}
		}
	}
	return path, jsonText(rec), jsonText(live)
}

func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
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
