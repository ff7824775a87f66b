package contracts

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// Operation is one method on one path template of a contract.
type Operation struct {
	ID       string // operationId; "METHOD /template" when the contract gives none
	Method   string // upper case
	Path     string // the path template as written, "/v1/customers/{customer}"
	Summary  string
	Line     int // where the operation is declared in the contract file
	Column   int
	Security []SecurityRequirement // effective requirements; empty means none

	item     *v3.PathItem
	op       *v3.Operation
	compiled sync.Once // its schemas are in the validator's cache
}

// SecurityRequirement is one alternative of an operation's security: every
// scheme named must be satisfied, with the scopes listed.
type SecurityRequirement map[string][]string

// Server is one of the contract's server URLs.
type Server struct {
	URL      string // as written, possibly with {variables}
	Resolved string // with every variable at its default
	BasePath string // the path part of Resolved, "" or "/v1"; no trailing slash
}

// Servers lists the document's top-level servers. A contract that declares
// none has one server, "/".
func (c *Contract) Servers() []Server { return append([]Server(nil), c.servers...) }

// Match is the result of [Contract.Find].
type Match struct {
	Operation *Operation
	Params    map[string]string // path parameters, unescaped
	BasePath  string            // the server base path stripped from the URL
}

// LookupError explains why no single operation matches a request: nothing
// matches (with the closest templates), the path exists for other methods,
// or several templates match equally.
type LookupError struct {
	Rule       string // RuleOperationNotFound, RuleMethodNotAllowed or RuleOperationAmbiguous
	Method     string
	Path       string
	Candidates []*Operation // closest, allowed, or ambiguous operations
	Detail     string       // a sentence on what differed
}

func (e *LookupError) Error() string {
	msg := rules[e.Rule].Summary
	return fmt.Sprintf("%s: %s %s: %s", msg, e.Method, e.Path, e.Detail)
}

// Find resolves the operation for a method and a URL or path. A URL's host is
// ignored; a server base path ("/v1" of "https://api.example.com/v1") is
// stripped when present. Ambiguity and misses come back as a [*LookupError].
func (c *Contract) Find(method, target string) (*Match, error) {
	m, le := c.find(method, target)
	if le != nil {
		return nil, le // not a typed nil: callers compare with nil
	}
	return m, nil
}

func (c *Contract) find(method, target string) (*Match, *LookupError) {
	path := target
	if u, err := url.Parse(target); err == nil {
		path = u.EscapedPath()
	}
	return c.findPath(method, path)
}

// findPath is find for a request whose escaped path is already known.
func (c *Contract) findPath(method, path string) (*Match, *LookupError) {
	method = strings.ToUpper(method)
	if path == "" {
		path = "/"
	}
	var firstErr *LookupError
	for _, base := range c.router.bases {
		rest, ok := strings.CutPrefix(path, base)
		if !ok || (rest != "" && rest[0] != '/' && base != "") {
			continue
		}
		if rest == "" {
			rest = "/"
		}
		m, lerr := c.router.find(method, rest)
		if lerr == nil {
			m.BasePath = base
			return m, nil
		}
		if firstErr == nil || (firstErr.Rule == RuleOperationNotFound && lerr.Rule != RuleOperationNotFound) {
			firstErr = lerr
		}
	}
	firstErr.Method, firstErr.Path = method, path
	return nil, firstErr
}

// index builds the operation list, the router and the server list.
func (c *Contract) index() error {
	c.byID = map[string]*Operation{}
	c.router = newRouter()
	checks := newOpChecks(c.file)
	var rootSecurity []SecurityRequirement
	if c.model.Security != nil {
		rootSecurity = securityOf(c.model.Security)
	}
	if c.model.Paths != nil && c.model.Paths.PathItems != nil {
		for pp := c.model.Paths.PathItems.First(); pp != nil; pp = pp.Next() {
			tmpl, item := pp.Key(), pp.Value()
			if item == nil {
				continue
			}
			for op := item.GetOperations().First(); op != nil; op = op.Next() {
				o := &Operation{Method: strings.ToUpper(op.Key()), Path: tmpl, item: item, op: op.Value()}
				o.Summary = op.Value().Summary
				if low := op.Value().GoLow(); low != nil && low.KeyNode != nil {
					o.Line, o.Column = c.position(low.KeyNode.Line, low.KeyNode.Column)
				}
				o.Security = rootSecurity
				if op.Value().Security != nil {
					o.Security = securityOf(op.Value().Security)
				}
				o.ID = checks.add(op.Value().OperationId, o.Method, tmpl, o.Line, o.Column)
				c.byID[o.ID] = o
				c.ops = append(c.ops, o)
				c.router.add(o)
			}
		}
	}
	c.warnings = append(c.warnings, checks.findings()...)
	c.servers = serversOf(c.model.Servers)
	c.router.setBases(c.servers)
	return nil
}

func securityOf(reqs []*base.SecurityRequirement) []SecurityRequirement {
	out := []SecurityRequirement{}
	for _, r := range reqs {
		if r == nil || r.Requirements == nil {
			continue
		}
		sr := SecurityRequirement{}
		for p := r.Requirements.First(); p != nil; p = p.Next() {
			sr[p.Key()] = append([]string(nil), p.Value()...)
		}
		out = append(out, sr)
	}
	return out
}

func serversOf(servers []*v3.Server) []Server {
	var out []Server
	for _, s := range servers {
		if s == nil {
			continue
		}
		resolved := s.URL
		if s.Variables != nil {
			for p := s.Variables.First(); p != nil; p = p.Next() {
				def := p.Value().Default
				if def == "" && len(p.Value().Enum) > 0 {
					def = p.Value().Enum[0]
				}
				resolved = strings.ReplaceAll(resolved, "{"+p.Key()+"}", def)
			}
		}
		out = append(out, Server{URL: s.URL, Resolved: resolved, BasePath: basePathOf(resolved)})
	}
	if len(out) == 0 {
		out = []Server{{URL: "/", Resolved: "/", BasePath: ""}}
	}
	return out
}

// basePathOf returns the path of a server URL without a trailing slash.
func basePathOf(raw string) string {
	p := raw
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return ""
		}
		p = rest[j:]
	}
	if u, err := url.Parse(p); err == nil {
		p = u.EscapedPath()
	}
	return strings.TrimRight(p, "/")
}

// router matches request paths against path templates. Literal segments are
// looked up in a map; templated segments ("{id}", "{Sid}.json") are tried in
// turn. Among full matches the most literal one wins, as OpenAPI asks.
type router struct {
	root  *node
	all   []*route
	bases []string // server base paths, longest first, always ending with ""
}

type node struct {
	literal  map[string]*node
	patterns []*patternChild
	route    *route
}

type patternChild struct {
	seg  segment
	next *node
}

type route struct {
	template string
	segs     []segment
	methods  map[string]*Operation
	order    []*Operation
	// clashes holds, per method, operations of other templates that reduce
	// to this one ("/a/{id}" and "/a/{name}/"): a request cannot tell them apart.
	clashes map[string][]*Operation
}

// segment is one "/"-separated part of a template: literal text around
// zero or more parameters.
type segment struct {
	raw     string
	lits    []string // len(params)+1 pieces of literal text
	params  []string
	literal bool
}

func newRouter() *router { return &router{root: &node{}} }

func parseSegment(s string) segment {
	seg := segment{raw: s}
	rest := s
	for {
		i := strings.IndexByte(rest, '{')
		j := strings.IndexByte(rest, '}')
		if i < 0 || j < i {
			seg.lits = append(seg.lits, rest)
			break
		}
		seg.lits = append(seg.lits, rest[:i])
		seg.params = append(seg.params, rest[i+1:j])
		rest = rest[j+1:]
	}
	seg.literal = len(seg.params) == 0
	return seg
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func (r *router) add(op *Operation) {
	parts := splitPath(op.Path)
	n := r.root
	segs := make([]segment, len(parts))
	for i, part := range parts {
		seg := parseSegment(part)
		segs[i] = seg
		if seg.literal {
			if n.literal == nil {
				n.literal = map[string]*node{}
			}
			next, ok := n.literal[part]
			if !ok {
				next = &node{}
				n.literal[part] = next
			}
			n = next
			continue
		}
		var next *node
		for _, pc := range n.patterns {
			if pc.seg.shape() == seg.shape() {
				next = pc.next
				break
			}
		}
		if next == nil {
			next = &node{}
			n.patterns = append(n.patterns, &patternChild{seg: seg, next: next})
		}
		n = next
	}
	if n.route == nil {
		n.route = &route{template: op.Path, segs: segs, methods: map[string]*Operation{}}
		r.all = append(r.all, n.route)
	}
	if first, dup := n.route.methods[op.Method]; !dup {
		n.route.methods[op.Method] = op
	} else {
		if n.route.clashes == nil {
			n.route.clashes = map[string][]*Operation{}
		}
		if len(n.route.clashes[op.Method]) == 0 {
			n.route.clashes[op.Method] = []*Operation{first}
		}
		n.route.clashes[op.Method] = append(n.route.clashes[op.Method], op)
	}
	n.route.order = append(n.route.order, op)
}

// shape is a segment with its parameter names blanked, so "{id}" and
// "{customer}" share a node while "{sid}.json" does not.
func (s segment) shape() string {
	return strings.Join(s.lits, "{}")
}

func (r *router) setBases(servers []Server) {
	seen := map[string]bool{"": true}
	for _, s := range servers {
		if !seen[s.BasePath] {
			seen[s.BasePath] = true
			r.bases = append(r.bases, s.BasePath)
		}
	}
	sort.Slice(r.bases, func(i, j int) bool { return len(r.bases[i]) > len(r.bases[j]) })
	r.bases = append(r.bases, "")
}

// hit is one full match of a request path.
type hit struct {
	route  *route
	values []string // raw values of the parameters, in template order
	score  []int    // per segment: 2 literal, 1 partly literal, 0 a bare parameter
}

func (r *router) find(method, path string) (*Match, *LookupError) {
	parts := splitPath(path)
	var hits []hit
	var walk func(n *node, i int, values []string, score []int)
	walk = func(n *node, i int, values []string, score []int) {
		if len(hits) >= 16 {
			return
		}
		if i == len(parts) {
			if n.route != nil {
				hits = append(hits, hit{route: n.route, values: append([]string(nil), values...), score: append([]int(nil), score...)})
			}
			return
		}
		if next, ok := n.literal[parts[i]]; ok {
			walk(next, i+1, values, append(score, 2))
		}
		for _, pc := range n.patterns {
			if vals, ok := pc.seg.match(parts[i]); ok {
				s := 0
				if len(strings.Join(pc.seg.lits, "")) > 0 {
					s = 1
				}
				walk(pc.next, i+1, append(values, vals...), append(score, s))
			}
		}
	}
	walk(r.root, 0, nil, nil)
	if len(hits) == 0 {
		return nil, r.miss(parts)
	}
	sort.SliceStable(hits, func(i, j int) bool { return compareScore(hits[i].score, hits[j].score) > 0 })
	// Among the best-scoring templates, keep those that have the method.
	best := hits[0].score
	var withMethod []hit
	var allowed []*Operation
	for _, h := range hits {
		if compareScore(h.score, best) != 0 {
			// A less specific template still serves a method the best one lacks.
			if len(withMethod) > 0 {
				break
			}
		}
		if _, ok := h.route.methods[method]; ok {
			withMethod = append(withMethod, h)
			if compareScore(h.score, best) != 0 {
				break
			}
			continue
		}
		allowed = append(allowed, h.route.order...)
	}
	switch {
	case len(withMethod) == 0:
		methods := make([]string, 0, len(allowed))
		for _, op := range allowed {
			methods = append(methods, op.Method)
		}
		return nil, &LookupError{Rule: RuleMethodNotAllowed, Candidates: allowed,
			Detail: fmt.Sprintf("%s is declared for %s only", hits[0].route.template, strings.Join(methods, ", "))}
	case len(withMethod) > 1 && compareScore(withMethod[0].score, withMethod[1].score) == 0:
		var cands []*Operation
		var names []string
		for _, h := range withMethod {
			if compareScore(h.score, withMethod[0].score) == 0 {
				cands = append(cands, h.route.methods[method])
				names = append(names, h.route.template)
			}
		}
		return nil, &LookupError{Rule: RuleOperationAmbiguous, Candidates: cands,
			Detail: "templates " + strings.Join(names, " and ") + " match equally; make one of them more literal"}
	}
	h := withMethod[0]
	if clash := h.route.clashes[method]; len(clash) > 0 {
		var names []string
		for _, op := range clash {
			names = append(names, op.Path)
		}
		return nil, &LookupError{Rule: RuleOperationAmbiguous, Candidates: clash,
			Detail: "templates " + strings.Join(names, " and ") + " match equally; make one of them more literal"}
	}
	op := h.route.methods[method]
	// Names come from the operation's own template: templates that share a
	// route ("/a/{id}" for GET, "/a/{name}/" for POST) name them differently.
	params := map[string]string{}
	k := 0
	for _, part := range splitPath(op.Path) {
		for _, name := range parseSegment(part).params {
			v := h.values[k]
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
			params[name] = v
			k++
		}
	}
	return &Match{Operation: op, Params: params}, nil
}

// compareScore orders matches: earlier literal segments win, as in
// "/users/me" over "/users/{id}".
func compareScore(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] - b[i]
		}
	}
	return len(a) - len(b)
}

// match reports whether part fits the segment and returns the parameter
// values. Literal pieces are matched left to right, each parameter taking
// the shortest non-empty text before the next literal piece.
func (s segment) match(part string) ([]string, bool) {
	if !strings.HasPrefix(part, s.lits[0]) {
		return nil, false
	}
	rest := part[len(s.lits[0]):]
	vals := make([]string, 0, len(s.params))
	for i := range s.params {
		lit := s.lits[i+1]
		last := i == len(s.params)-1
		var v string
		switch {
		case last:
			if !strings.HasSuffix(rest, lit) {
				return nil, false
			}
			v, rest = rest[:len(rest)-len(lit)], ""
		case lit == "":
			return nil, false // two adjacent parameters cannot be split
		default:
			j := strings.Index(rest[min(1, len(rest)):], lit)
			if j < 0 {
				return nil, false
			}
			j += min(1, len(rest))
			v, rest = rest[:j], rest[j+len(lit):]
		}
		if v == "" {
			return nil, false
		}
		vals = append(vals, v)
	}
	return vals, rest == ""
}

// miss explains a path that matches no template, naming the closest ones.
func (r *router) miss(parts []string) *LookupError {
	type near struct {
		r     *route
		score int
		diff  string
	}
	var ranked []near
	for _, rt := range r.all {
		score, diff := 0, ""
		for i := range max(len(parts), len(rt.segs)) {
			switch {
			case i >= len(parts):
				if diff == "" {
					diff = fmt.Sprintf("the template continues with %q", rt.segs[i].raw)
				}
			case i >= len(rt.segs):
				if diff == "" {
					diff = fmt.Sprintf("the request continues with %q", parts[i])
				}
			default:
				if _, ok := rt.segs[i].match(parts[i]); ok {
					score += 2
				} else if diff == "" {
					diff = fmt.Sprintf("segment %d is %q, the template has %q", i+1, parts[i], rt.segs[i].raw)
				}
			}
		}
		if len(parts) == len(rt.segs) {
			score++
		}
		ranked = append(ranked, near{rt, score, diff})
	}
	sort.SliceStable(ranked, func(i, j int) bool { return ranked[i].score > ranked[j].score })
	e := &LookupError{Rule: RuleOperationNotFound, Detail: "the contract has no paths"}
	var lines []string
	for i := 0; i < len(ranked) && i < 3 && ranked[i].score > 0; i++ {
		e.Candidates = append(e.Candidates, ranked[i].r.order...)
		lines = append(lines, fmt.Sprintf("%s (%s)", ranked[i].r.template, ranked[i].diff))
	}
	switch {
	case len(lines) > 0:
		e.Detail = "closest: " + strings.Join(lines, "; ")
	case len(r.all) > 0:
		e.Detail = "nothing is close; the contract has " + fmt.Sprint(len(r.all)) + " paths"
	}
	return e
}

// SecurityScheme is one entry of the contract's components.securitySchemes,
// reduced to what a server needs to check a credential.
type SecurityScheme struct {
	Name   string   // the key under securitySchemes
	Type   string   // "http", "apiKey", "oauth2", "openIdConnect" or "mutualTLS", as written
	Scheme string   // for http: "bearer", "basic", ... in lower case
	In     string   // for apiKey: "header", "query" or "cookie"
	Param  string   // for apiKey: the header, query parameter or cookie name
	Scopes []string // for oauth2: every scope any flow declares, sorted
	// Flows are an oauth2 scheme's flows, in the order implicit, password,
	// clientCredentials, authorizationCode (Swagger 2.0's implicit,
	// password, application and accessCode).
	Flows []OAuthFlow
	// TokenParam, from the scheme's ExtTokenParam extension, names the
	// argument (query parameter, form field or header) that may carry the
	// token of an http bearer, oauth2 or openIdConnect scheme instead of
	// the Authorization header.
	TokenParam string
}

// OAuthFlow is one flow of an oauth2 security scheme. Its URLs are as the
// contract writes them, so they may be relative to the server URL.
type OAuthFlow struct {
	Kind             string   // "implicit", "password", "clientCredentials" or "authorizationCode"
	AuthorizationURL string   // for implicit and authorizationCode
	TokenURL         string   // for password, clientCredentials and authorizationCode
	RefreshURL       string   // optional
	Scopes           []string // the scopes the flow declares, sorted
}

// ExtTokenParam, on a security scheme (usually set by an overlay), names an
// argument that may carry the scheme's token instead of the Authorization
// header, as Slack's `token` does; see [SecurityScheme.TokenParam].
const ExtTokenParam = "x-tether-token-param"

// SecuritySchemes returns the schemes the contract declares, by name. A
// scheme an operation requires but the contract never declares is absent.
func (c *Contract) SecuritySchemes() map[string]SecurityScheme {
	out := map[string]SecurityScheme{}
	if c.model.Components == nil || c.model.Components.SecuritySchemes == nil {
		return out
	}
	for p := c.model.Components.SecuritySchemes.First(); p != nil; p = p.Next() {
		s := p.Value()
		if s == nil {
			continue
		}
		ss := SecurityScheme{Name: p.Key(), Type: s.Type, Scheme: strings.ToLower(s.Scheme), In: s.In, Param: s.Name}
		if s.Extensions != nil {
			if n, ok := s.Extensions.Get(ExtTokenParam); ok && n != nil && n.Kind == yaml.ScalarNode {
				ss.TokenParam = n.Value
			}
		}
		if f := s.Flows; f != nil {
			seen := map[string]bool{}
			kinds := []string{"implicit", "password", "clientCredentials", "authorizationCode"}
			for i, flow := range []*v3.OAuthFlow{f.Implicit, f.Password, f.ClientCredentials, f.AuthorizationCode} {
				if flow == nil {
					continue
				}
				of := OAuthFlow{Kind: kinds[i], AuthorizationURL: flow.AuthorizationUrl, TokenURL: flow.TokenUrl, RefreshURL: flow.RefreshUrl}
				if flow.Scopes != nil {
					for sc := flow.Scopes.First(); sc != nil; sc = sc.Next() {
						of.Scopes = append(of.Scopes, sc.Key())
						if !seen[sc.Key()] {
							seen[sc.Key()] = true
							ss.Scopes = append(ss.Scopes, sc.Key())
						}
					}
				}
				sort.Strings(of.Scopes)
				ss.Flows = append(ss.Flows, of)
			}
			sort.Strings(ss.Scopes)
		}
		out[p.Key()] = ss
	}
	return out
}
