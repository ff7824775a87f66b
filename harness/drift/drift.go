package drift

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/harness/manifest"
)

// Defaults of the bounds a check runs within.
const (
	DefaultMaxBody     int64 = 8 << 20
	DefaultCallTimeout       = 30 * time.Second
)

// ErrNoInteractions is returned when no cassette holds an interaction of
// the vendor: there is nothing to compare.
var ErrNoInteractions = errors.New("no recorded interaction of the vendor")

// Result is what a [Check] found.
type Result struct {
	Vendor  string `json:"vendor"`
	BaseURL string `json:"base_url"`
	// Checked counts the interactions replayed; Skipped those left alone
	// because they write and writes were not allowed.
	Checked  int                 `json:"checked"`
	Skipped  int                 `json:"skipped"`
	Findings []contracts.Finding `json:"findings"`
	// Rewritten names the cassettes replaced with the live answers, in
	// name order; only with [Rewrite].
	Rewritten []string `json:"rewritten,omitempty"`
}

// Drifted reports whether any finding was made.
func (r *Result) Drifted() bool { return len(r.Findings) > 0 }

// Option configures a [Check].
type Option func(*options)

type options struct {
	client      *http.Client
	auth        *authorizer
	secrets     []string
	allowWrites bool
	rewrite     bool
	maxBody     int64
	callTimeout time.Duration
	only        []string
}

// WithClient sends the live calls through hc instead of a plain client.
// Redirects are followed as hc says.
func WithClient(hc *http.Client) Option { return func(o *options) { o.client = hc } }

// AllowWrites replays requests that are not read-only too, once each.
func AllowWrites() Option { return func(o *options) { o.allowWrites = true } }

// Rewrite replaces each cassette that drifted with one holding the live
// answers of its drifted interactions, redacted and atomically.
func Rewrite() Option { return func(o *options) { o.rewrite = true } }

// MaxBody bounds each live answer's body; a larger one stops the check.
func MaxBody(n int64) Option { return func(o *options) { o.maxBody = n } }

// CallTimeout bounds each live call, body included. The whole check is
// bounded by the context given to [Check].
func CallTimeout(d time.Duration) Option { return func(o *options) { o.callTimeout = d } }

// OnlyCassettes limits the check to the named cassettes (file names as
// [manifest.Connector.Cassettes] keys them). Naming one that holds no
// interaction of the vendor is an error.
func OnlyCassettes(files ...string) Option {
	return func(o *options) { o.only = append(o.only, files...) }
}

// Check replays the recorded interactions of vendor, from the cassettes of
// c, against baseURL, which stands for the first server URL of the
// vendor's contract, and compares the answers with the cassettes and the
// contract. An error means the check could not run (a cassette of another
// vendor, an unreachable URL, an answer over the size bound); findings
// are in the result.
func Check(ctx context.Context, c *manifest.Connector, vendor, baseURL string, opts ...Option) (*Result, error) {
	o := options{maxBody: DefaultMaxBody, callTimeout: DefaultCallTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.client == nil {
		o.client = &http.Client{}
	}
	ct := c.Contracts[vendor]
	if _, ok := c.Manifest.Vendors[vendor]; !ok || ct == nil {
		return nil, fmt.Errorf("no vendor %q in %s; the vendors are %s", vendor, manifest.File, strings.Join(vendorNames(c), ", "))
	}
	base, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("base URL %q: want an http or https URL", baseURL)
	}
	hosts, basePath := serverHosts(ct)

	files := o.only
	if files == nil {
		for name := range c.Cassettes {
			files = append(files, name)
		}
	}
	slices.Sort(files)
	res := &Result{Vendor: vendor, BaseURL: base.Redacted(), Findings: []contracts.Finding{}}
	for _, name := range files {
		cas, ok := c.Cassettes[name]
		if !ok {
			return nil, fmt.Errorf("cassette %s: not in the connector", name)
		}
		var mine []*fixtures.Interaction
		for _, in := range cas.Interactions {
			if belongs(in, hosts) {
				mine = append(mine, in)
			}
		}
		if len(mine) == 0 {
			if o.only != nil {
				return nil, otherVendor(name, cas, vendor, hosts)
			}
			continue
		}
		live := map[*fixtures.Interaction]*answer{}
		for _, in := range mine {
			ans, findings, err := checkOne(ctx, o, ct, base, basePath, name, in)
			if err != nil {
				return nil, err
			}
			if ans == nil {
				res.Skipped++
				continue
			}
			res.Checked++
			res.Findings = append(res.Findings, findings...)
			if drifted(findings) {
				live[in] = ans
			}
		}
		if o.rewrite && len(live) > 0 {
			if err := rewrite(c, name, cas, live); err != nil {
				return nil, err
			}
			res.Rewritten = append(res.Rewritten, name)
		}
	}
	if res.Checked+res.Skipped == 0 {
		return nil, fmt.Errorf("vendor %s (hosts %s): %w in the connector's cassettes", vendor, strings.Join(hosts, ", "), ErrNoInteractions)
	}
	return res, nil
}

func vendorNames(c *manifest.Connector) []string {
	var out []string
	for name := range c.Manifest.Vendors {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// serverHosts are the hosts of the contract's servers, and the base path
// of its first one.
func serverHosts(ct *contracts.Contract) ([]string, string) {
	var hosts []string
	var basePath string
	for i, s := range ct.Servers() {
		if u, err := url.Parse(s.Resolved); err == nil && u.Host != "" && !slices.Contains(hosts, strings.ToLower(u.Host)) {
			hosts = append(hosts, strings.ToLower(u.Host))
		}
		if i == 0 {
			basePath = s.BasePath
		}
	}
	return hosts, basePath
}

// belongs reports whether in was made to one of hosts. A contract with no
// server host claims nothing: which vendor a cassette is of is then not
// known, and guessing could send one vendor's requests to another.
func belongs(in *fixtures.Interaction, hosts []string) bool {
	u, err := url.Parse(in.Request.URL)
	return err == nil && slices.Contains(hosts, strings.ToLower(u.Host))
}

func otherVendor(name string, cas *fixtures.Cassette, vendor string, hosts []string) error {
	if len(cas.Interactions) == 0 {
		return fmt.Errorf("cassette %s: no interaction to replay", name)
	}
	in := cas.Interactions[0]
	host := "?"
	if u, err := url.Parse(in.Request.URL); err == nil {
		host = u.Host
	}
	want := strings.Join(hosts, ", ")
	if want == "" {
		want = "none: its contract names no server"
	}
	return fmt.Errorf("%s:%d: cassette of another vendor: its requests go to %s, vendor %s's hosts are %s", name, in.Line, host, vendor, want)
}

// answer is one live response, read whole within the bound.
type answer struct {
	code   int
	status string
	header http.Header
	body   []byte
}

// readOnly reports whether the request may be sent without
// [AllowWrites]: a safe method, or an operation its contract marks safe.
func readOnly(method string, op *contracts.Operation) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if op == nil {
		return false
	}
	_, model := op.Model()
	if model == nil || model.Extensions == nil {
		return false
	}
	n, ok := model.Extensions.Get(ExtSafe)
	return ok && n != nil && n.Value == "true"
}

// ExtSafe is the operation extension that marks a request of an unsafe
// method (Slack's POST reads) as read-only for drift checks.
const ExtSafe = "x-tether-safe"

func checkOne(ctx context.Context, o options, ct *contracts.Contract, base *url.URL, basePath, file string, in *fixtures.Interaction) (*answer, []contracts.Finding, error) {
	at := contracts.Position{File: file, Line: in.Line}
	method := strings.ToUpper(in.Request.Method)
	recorded, err := url.Parse(in.Request.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("%s:%d: request URL: %w", file, in.Line, err)
	}
	match, lookupErr := ct.Find(method, in.Request.URL)
	var op *contracts.Operation
	if match != nil {
		op = match.Operation
	}
	if !readOnly(method, op) && !o.allowWrites {
		return nil, nil, nil
	}
	target := *base
	target.Path = base.Path + strings.TrimPrefix(recorded.Path, basePath)
	target.RawPath = ""
	target.RawQuery = recorded.RawQuery
	first, err := call(ctx, o, method, target.String(), in)
	if err != nil {
		return nil, nil, fmt.Errorf("%s:%d: %s %s: %w", file, in.Line, method, target.Redacted(), err)
	}
	opName := method + " " + recorded.Path
	if op != nil {
		opName = op.ID
	}
	mk := func(id, detail, path string) contracts.Finding {
		r, _ := ruleFor(id)
		f := r.New(detail).At(at)
		f.Operation, f.Path = opName, path
		return f
	}
	var out []contracts.Finding
	if lookupErr != nil {
		out = append(out, mk(RuleOperationGone, fmt.Sprintf("%s %s has no route in the contract any more: %v", method, recorded.Path, lookupErr), ""))
		return first, out, nil
	}
	if in.Response.Code/100 == 2 && (first.code == http.StatusNotFound || first.code == http.StatusMethodNotAllowed) {
		out = append(out, mk(RuleOperationGone, fmt.Sprintf("the vendor answers %d where the cassette had %d", first.code, in.Response.Code), ""))
		return first, out, nil
	}
	for _, f := range ct.ValidateResponse(validationRequest(method, in), first.response()) {
		if f.Level != contracts.LevelError {
			continue
		}
		g := mk(RuleLiveContractViolation, f.Message, f.Path)
		g.Contract = f.Position
		out = append(out, g)
	}
	if first.code != in.Response.Code {
		out = append(out, mk(RuleCassetteDrift, fmt.Sprintf("status %d in the cassette, %d live", in.Response.Code, first.code), ""))
		return first, out, nil
	}
	var second *answer
	if readOnly(method, op) {
		if second, err = call(ctx, o, method, target.String(), in); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %s %s (second call): %w", file, in.Line, method, target.Redacted(), err)
		}
	}
	for _, d := range compareShapes([]byte(in.Response.Body), first.body, bodyOf(second)) {
		out = append(out, mk(RuleCassetteDrift, d.message, d.path))
	}
	return first, out, nil
}

func bodyOf(a *answer) []byte {
	if a == nil {
		return nil
	}
	return a.body
}

func (a *answer) response() *http.Response {
	return &http.Response{StatusCode: a.code, Status: a.status, Header: a.header.Clone(),
		Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body))}
}

// validationRequest is the recorded request as the contract knows it: at
// the vendor's own URL, so that the server base path resolves.
func validationRequest(method string, in *fixtures.Interaction) *http.Request {
	req, err := http.NewRequest(method, in.Request.URL, strings.NewReader(in.Request.Body))
	if err != nil {
		req = &http.Request{Method: method, URL: &url.URL{}, Header: http.Header{}}
	}
	for k, vs := range in.Request.Headers {
		req.Header[k] = slices.Clone(vs)
	}
	return req
}

// dropHeaders are recorded request headers not sent live: credentials
// (redacted placeholders, replaced by the real one) and those the
// transport sets itself.
var dropHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Content-Length", "Host",
	"Accept-Encoding", "Connection", "Transfer-Encoding", "Te", "Upgrade"}

func call(ctx context.Context, o options, method, target string, in *fixtures.Interaction) (*answer, error) {
	ctx, cancel := context.WithTimeout(ctx, o.callTimeout)
	defer cancel()
	var body io.Reader
	if in.Request.Body != "" {
		body = strings.NewReader(in.Request.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range in.Request.Headers {
		if !slices.ContainsFunc(dropHeaders, func(h string) bool { return strings.EqualFold(h, k) }) {
			req.Header[http.CanonicalHeaderKey(k)] = slices.Clone(vs)
		}
	}
	if o.auth != nil {
		if _, err := o.auth.set(req, []byte(in.Request.Body)); err != nil {
			return nil, err
		}
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return nil, unreachable(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, o.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if int64(len(data)) > o.maxBody {
		return nil, fmt.Errorf("answer body over %d bytes", o.maxBody)
	}
	// A vendor may echo the credential (an API key in a body field, a
	// token in a next-page link): neither the findings nor a rewritten
	// cassette may keep it.
	header := resp.Header.Clone()
	for k, vs := range header {
		for i, v := range vs {
			header[k][i] = string(o.scrub([]byte(v)))
		}
	}
	return &answer{code: resp.StatusCode, status: resp.Status, header: header, body: o.scrub(data)}, nil
}

// unreachable says what went wrong without the URL the client error
// repeats: the caller names it, redacted.
func unreachable(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("unreachable: %w", err)
}

func drifted(fs []contracts.Finding) bool {
	return slices.ContainsFunc(fs, func(f contracts.Finding) bool {
		return f.ID == RuleCassetteDrift || f.ID == RuleOperationGone
	})
}

// rewrite saves the cassette with the live answers in place of the
// drifted ones. Save redacts with the default redactor and writes a
// temporary file renamed over the old one.
func rewrite(c *manifest.Connector, name string, cas *fixtures.Cassette, live map[*fixtures.Interaction]*answer) error {
	out := &fixtures.Cassette{Version: cas.Version, Extra: cas.Extra}
	for _, in := range cas.Interactions {
		cp := *in
		if a, ok := live[in]; ok {
			cp.Response.Code = a.code
			cp.Response.Status = a.status
			cp.Response.Headers = a.header.Clone()
			cp.Response.Headers.Del("Content-Length")
			cp.Response.Body = string(a.body)
			cp.Response.ContentLength = int64(len(a.body))
		}
		out.Interactions = append(out.Interactions, &cp)
	}
	if err := out.Save(c.Path(name)); err != nil {
		return fmt.Errorf("rewrite cassette %s: %w", name, err)
	}
	return nil
}
