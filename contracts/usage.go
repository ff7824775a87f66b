package contracts

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Usage is what a connector was seen to use of a vendor's API: the calls it
// made, with the parameters and request fields it sent and the response
// fields it got back, and the webhook payloads it received. It is built
// from cassettes, golden files and sandbox journals, and decides which
// changes between two versions of a contract concern the connector
// ([Usage.Mark]).
type Usage struct {
	calls  []usedCall
	events map[string]map[string]bool // webhook name -> JSON paths received
}

type usedCall struct {
	method    string
	segs      []string
	params    map[string]bool            // "query:limit", "header:x-key" (lower case)
	request   map[string]bool            // JSON paths sent
	responses map[string]map[string]bool // status -> JSON paths received
}

// NewUsage returns an empty Usage.
func NewUsage() *Usage { return &Usage{events: map[string]map[string]bool{}} }

// AddCall records one exchange. Bodies may be JSON or form-encoded; others
// count as used without fields. status 0 means no answer was seen.
func (u *Usage) AddCall(method, rawURL string, header http.Header, reqBody []byte, status int, respBody []byte) {
	pu, err := url.Parse(rawURL)
	if err != nil {
		return
	}
	c := usedCall{method: strings.ToUpper(method), segs: splitPath(pu.EscapedPath()),
		params: map[string]bool{}, request: map[string]bool{}, responses: map[string]map[string]bool{}}
	for k := range pu.Query() {
		c.params["query:"+k] = true
	}
	for k := range header {
		c.params["header:"+strings.ToLower(k)] = true
	}
	bodyPaths(reqBody, c.request)
	if status > 0 {
		got := map[string]bool{}
		bodyPaths(respBody, got)
		c.responses[strconv.Itoa(status)] = got
	}
	u.calls = append(u.calls, c)
}

// AddEvent records a webhook payload the connector received, under the
// webhook's name in the contract.
func (u *Usage) AddEvent(webhook string, body []byte) {
	if u.events[webhook] == nil {
		u.events[webhook] = map[string]bool{}
	}
	bodyPaths(body, u.events[webhook])
}

// Empty reports whether nothing was recorded.
func (u *Usage) Empty() bool { return len(u.calls) == 0 && len(u.events) == 0 }

// Mark sets each change's Affects: AffectsConnector when the connector
// calls the changed operation and, for a change inside a parameter or body,
// sent or received what changed; AffectsElsewhere otherwise. Additions
// never affect it, except new required inputs of an operation it calls.
func (u *Usage) Mark(changes []Change) {
	for i := range changes {
		if u.affects(changes[i]) {
			changes[i].Affects = AffectsConnector
		} else {
			changes[i].Affects = AffectsElsewhere
		}
	}
}

func (u *Usage) affects(c Change) bool {
	if c.Webhook != "" {
		got, ok := u.events[c.Webhook]
		if !ok {
			return false
		}
		return c.Field == "" || fieldUsed(got, c)
	}
	if c.Path == "" || c.ID == "endpoint-added" {
		return false
	}
	tmpl := splitPath(c.Path)
	for _, call := range u.calls {
		if call.method != c.Method || !templateMatches(tmpl, call.segs) {
			continue
		}
		switch {
		case c.Param != "":
			if strings.HasPrefix(c.ID, "new-required-") || c.ID == "new-request-path-parameter" ||
				call.params[paramKey(c.Param)] || strings.HasPrefix(c.Param, "path:") {
				return true
			}
		case c.Body == "request" && c.Field != "":
			if strings.HasPrefix(c.ID, "new-required-") || fieldUsed(call.request, c) {
				return true
			}
		case c.Body == "response":
			for status, got := range call.responses {
				if statusCovers(c.Status, status) && (c.Field == "" || fieldUsed(got, c)) {
					return true
				}
			}
		default:
			return true
		}
	}
	return false
}

// statusCovers reports whether a contract's response key (200, 2XX,
// default) covers a status seen.
func statusCovers(key, seen string) bool {
	switch {
	case key == seen || key == "default":
		return true
	case len(key) == 3 && strings.EqualFold(key[1:], "XX"):
		return strings.HasPrefix(seen, key[:1])
	}
	return false
}

func paramKey(p string) string {
	in, name, _ := strings.Cut(p, ":")
	if in == "header" {
		name = strings.ToLower(name)
	}
	return in + ":" + name
}

var templateSegment = regexp.MustCompile(`\{[^}]*\}`)

// templateMatches reports whether a path template matches the end of a
// called path: the call's URL also carries the server's base path.
func templateMatches(tmpl, segs []string) bool {
	if len(tmpl) > len(segs) || len(tmpl) == 0 {
		return false
	}
	segs = segs[len(segs)-len(tmpl):]
	for i, t := range tmpl {
		s, _ := url.PathUnescape(segs[i])
		if !strings.Contains(t, "{") {
			if t != s {
				return false
			}
			continue
		}
		re := "^" + strings.Join(splitKeep(t), "") + "$"
		if ok, _ := regexp.MatchString(re, s); !ok {
			return false
		}
	}
	return true
}

func splitKeep(t string) []string {
	var out []string
	last := 0
	for _, m := range templateSegment.FindAllStringIndex(t, -1) {
		out = append(out, regexp.QuoteMeta(t[last:m[0]]), "[^/]+")
		last = m[1]
	}
	return append(out, regexp.QuoteMeta(t[last:]))
}

// fieldUsed reports whether any path the change names is one of the used
// paths, or above one of them.
func fieldUsed(used map[string]bool, c Change) bool {
	for _, f := range append([]string{c.Field}, c.Also...) {
		want := pathTokens(f)
		for u := range used {
			if tokensPrefix(want, pathTokens(u)) {
				return true
			}
		}
	}
	return false
}

var pathToken = regexp.MustCompile(`\.[^.\[]+|\[\*\]|\["(?:[^"\\]|\\.)*"\]`)

func pathTokens(p string) []string {
	toks := pathToken.FindAllString(strings.TrimPrefix(p, "$"), -1)
	for i, t := range toks {
		if strings.HasPrefix(t, "[\"") {
			if s, err := strconv.Unquote(t[1 : len(t)-1]); err == nil {
				toks[i] = "." + s
			}
		}
	}
	return toks
}

func tokensPrefix(want, got []string) bool {
	if len(want) > len(got) {
		return false
	}
	for i, w := range want {
		if w != got[i] && (w != ".*" || got[i] == "[*]") {
			return false
		}
	}
	return true
}

// bodyPaths adds the JSON path of every value in a JSON or form-encoded
// body, arrays folded to [*].
func bodyPaths(body []byte, into map[string]bool) {
	if len(body) == 0 {
		return
	}
	into["$"] = true
	var v any
	if json.Unmarshal(body, &v) == nil {
		walkPaths(v, "$", into)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return
	}
	for k := range form {
		p := "$"
		for _, part := range strings.FieldsFunc(k, func(r rune) bool { return r == '[' || r == ']' }) {
			if _, err := strconv.Atoi(part); err == nil {
				p += "[*]"
			} else {
				p += propertyPath(part)
			}
		}
		if strings.HasSuffix(k, "[]") {
			p += "[*]"
		}
		for q := p; ; {
			into[q] = true
			i := strings.LastIndexAny(q, ".[")
			if i <= 0 {
				break
			}
			q = q[:i]
		}
	}
}

func walkPaths(v any, at string, into map[string]bool) {
	into[at] = true
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			walkPaths(t[k], at+propertyPath(k), into)
		}
	case []any:
		for _, e := range t {
			walkPaths(e, at+"[*]", into)
		}
	}
}
