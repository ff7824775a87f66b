package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/replay"
)

// answer is what the sandbox sends back for one call.
type answer struct {
	status int
	header http.Header
	body   []byte
	source string
	// secrets are credentials the call carried or was given that the
	// journal must not show, beyond those redaction finds on its own:
	// what an authorization server took and issued.
	secrets []string
}

// ServeHTTP runs the pipeline described in the package documentation.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, AdminPrefix) || r.URL.Path+"/" == AdminPrefix {
		s.serveAdmin(w, r)
		return
	}
	start := time.Now()
	// The request's header map is the server's own for this request and
	// nothing changes it after the handler returns; the journal keeps it.
	e := &Entry{Kind: KindCall, Time: start, Method: r.Method, Query: r.URL.RawQuery, RequestHeader: r.Header}
	e.CorrelationID = r.Header.Get("X-Correlation-Id")
	if e.CorrelationID == "" {
		e.CorrelationID = r.Header.Get("X-Request-Id")
	}
	if e.CorrelationID == "" {
		e.CorrelationID = "tether-" + strconv.FormatUint(s.seq.Add(1), 10)
	}
	w.Header().Set("X-Correlation-Id", e.CorrelationID)

	ans, reqBody, applied := s.pipeline(w, r, e)
	e.Took = time.Since(start)
	var schemes map[string]contracts.SecurityScheme
	if v := s.vendors[e.Vendor]; v != nil {
		schemes = v.schemes
	}
	boundFindings(e)
	var secrets []string
	if ans != nil {
		secrets = ans.secrets
	}
	reqBody, scrub := s.redactor.redactCall(e, schemes, reqBody, secrets...)
	var respBody []byte
	if ans != nil {
		e.Status, e.Source = ans.status, ans.source
		var cut bool
		respBody, cut = keep(ans.body)
		e.BodyCut = e.BodyCut || cut
		if !applied {
			writeAnswer(w, ans)
		}
		e.ResponseHeader, respBody = scrub.answer(ans.header, respBody)
	}
	s.journal.add(e, reqBody, respBody)
	if s.cfg.onCall != nil {
		s.cfg.onCall(*e)
	}
}

// pipeline answers one call. It returns the answer to write and journal,
// and the request body as journaled; applied is true when the answer is
// already on the wire (or deliberately never will be, for a reset or a
// hang), in which case ans may be nil.
func (s *Sandbox) pipeline(w http.ResponseWriter, r *http.Request, e *Entry) (ans *answer, reqBody []byte, applied bool) {
	ans, body, applied := s.serve(w, r, e)
	reqBody, cut := keep(body)
	e.BodyCut = cut
	return ans, reqBody, applied
}

func (s *Sandbox) serve(w http.ResponseWriter, r *http.Request, e *Entry) (*answer, []byte, bool) {
	name, rest := splitVendor(r.URL.Path)
	e.Path = rest
	body, held, refused := s.readBody(w, r, e)
	defer s.bodies.give(held)
	if refused != nil {
		return refused, body, false
	}
	v := s.vendors[name]
	if v == nil {
		msg := fmt.Sprintf("no vendor %q; the sandbox serves %s, each under /<vendor>/", name, strings.Join(s.Vendors(), ", "))
		e.Findings = append(e.Findings, finding(RuleVendorUnknown, "", msg))
		return problemAnswer(http.StatusNotFound, SourceRoute, msg, nil), body, false
	}
	e.Vendor = v.Name
	if v.auth != nil {
		if a, ok := v.auth.serve(r, rest, body, e); ok {
			return a, body, false
		}
	}

	// Route and validate. A HEAD the contract does not declare is
	// answered as its GET would be, without the body, as servers do.
	cr := contractRequest(r, rest, body)
	if r.Method == http.MethodHead {
		if _, err := v.Contract.Find(http.MethodHead, cr.URL.RequestURI()); err != nil {
			if _, err := v.Contract.Find(http.MethodGet, cr.URL.RequestURI()); err == nil {
				cr.Method = http.MethodGet
			}
		}
	}
	m, problems := v.Contract.ValidateRequest(cr)
	if m == nil {
		return s.routeMiss(v, cr, problems, e), body, false
	}
	op := m.Operation
	e.Operation = op.ID
	problems = withoutSecurity(problems)
	e.Findings = append(e.Findings, problems...)
	if s.cfg.strict && contracts.HasErrors(problems) {
		return violationAnswer(problems), body, false
	}

	// Authenticate.
	decl := v.declared(op, s.cfg.seed)
	cr.Body = nil
	if v.tokenParam && isForm(r.Header) {
		// A scheme may take its token as a form field; the body was read
		// within the budget already.
		cr.PostForm, _ = url.ParseQuery(string(body))
	}
	var issued *ledger
	if v.auth != nil {
		issued = v.auth.issued
	}
	auth := s.tenants.authenticate(v.schemes, op, cr, issued, s.cfg.now())
	e.Tenant = auth.tenant
	if auth.status != 0 {
		return authRefusal(decl, auth), body, false
	}

	// Fault plan.
	d := s.faults.Load().table.decide(v.Name, op.ID, op.Method, op.Path)
	if d.delay > 0 {
		t := time.NewTimer(d.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			e.Fault = fmt.Sprintf("latency %s; the client gave up first", d.delay)
			return nil, body, true
		}
		e.Fault = "latency " + d.delay.String()
	}
	if f := d.fault; f != nil {
		if e.Fault != "" {
			e.Fault += "; "
		}
		e.Fault += f.String()
		if isCredentialFault(f.Kind) {
			// The credential changes, and the call is checked again.
			e.Fault += s.credentialFault(v, f, auth.tenant, op, cr)
			if auth = s.tenants.authenticate(v.schemes, op, cr, issued, s.cfg.now()); auth.status != 0 {
				return authRefusal(decl, auth), body, false
			}
		}
		switch f.Kind {
		case "status":
			return errorAnswer(decl, f.Status, SourceFault, "the fault plan answers "+strconv.Itoa(f.Status)), body, false
		case "rate-limit":
			a := errorAnswer(decl, http.StatusTooManyRequests, SourceFault, "rate limited by the fault plan")
			a.header.Set("Retry-After", d.retryAfter)
			return a, body, false
		case "hang":
			hang(r.Context(), w, time.Duration(f.For))
			return nil, body, true
		case "reset":
			if resetConnection(w) != nil {
				// A connection that cannot be taken over (HTTP/2) is
				// aborted instead, which the client also sees as a failure.
				panic(http.ErrAbortHandler)
			}
			return nil, body, true
		}
	}

	// Answer.
	a := s.answer(v, decl, m, r, cr, rest, body, auth.tenant, e)
	if f := d.fault; f != nil && (f.Kind == "truncate" || f.Kind == "malformed") && !hasBody(r.Method, a.status) {
		// An answer without a body cannot be cut short or spoiled; the
		// nearest failure a client can see is a broken connection.
		e.Fault += "; the answer has no body, so the connection is reset instead"
		if resetConnection(w) != nil {
			panic(http.ErrAbortHandler)
		}
		return nil, body, true
	}
	if f := d.fault; f != nil {
		switch f.Kind {
		case "truncate":
			a.source = SourceFault
			if writeTruncated(w, a.status, a.header, a.body) != nil {
				panic(http.ErrAbortHandler)
			}
			return a, body, true
		case "malformed":
			a.source = SourceFault
			a.body = malformedBody(a.body, a.header.Get("Content-Type"))
		}
	}
	return a, body, false
}

// answer gives the operation's answer: the status a Prefer header asks
// for, else a recorded one, else one built from state, else the declared
// success.
func (s *Sandbox) answer(v *vendor, decl *opAnswers, m *contracts.Match, r, cr *http.Request, rest string, body []byte, tenant string, e *Entry) *answer {
	op := m.Operation
	if code, ok := preferredStatus(r.Header); ok {
		if a := decl.byStatus[code]; a != nil {
			return a.copy()
		}
		msg := fmt.Sprintf("Prefer asks for %d, but %s declares %s", code, op.ID, declaredStatuses(decl))
		e.Findings = append(e.Findings, finding(RulePreferUnknown, op.ID, msg))
		return problemAnswer(http.StatusBadRequest, SourceRoute, msg, nil)
	}
	if t, _ := v.replayFor(tenant); t != nil {
		rr, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://sandbox"+rest, bytes.NewReader(body))
		if rr != nil {
			rr.URL.RawQuery = r.URL.RawQuery
			rr.Header = r.Header
			resp, err := t.RoundTrip(rr)
			var miss *replay.MissError
			if errors.As(err, &miss) {
				// A cassette recorded through a sandbox (tether record
				// --upstream http://sandbox/<vendor>) has the vendor's
				// name first in its paths.
				rr.URL.Path = "/" + v.Name + rest
				rr.Body = io.NopCloser(bytes.NewReader(body))
				if resp2, err2 := t.RoundTrip(rr); err2 == nil {
					resp, err = resp2, nil
				}
			}
			switch {
			case err == nil && resp.StatusCode < 200:
				resp.Body.Close()
				e.Findings = append(e.Findings, finding(RuleCassetteInformal, op.ID,
					fmt.Sprintf("the recorded answer has status %d, which cannot be replayed as a final answer", resp.StatusCode)))
				return problemAnswer(http.StatusBadGateway, SourceCassette, "the recorded answer is informational (1xx)", nil)
			case err == nil:
				rb, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				h := resp.Header.Clone()
				h.Del("Content-Length")
				return &answer{status: resp.StatusCode, header: h, body: rb, source: SourceCassette}
			case !errors.As(err, &miss):
				e.Findings = append(e.Findings, finding(RuleCassetteUnreadable, op.ID, err.Error()))
			}
		}
	}
	if a := s.stateAnswer(v, decl, op, m, r, cr, body, tenant, e); a != nil {
		return a
	}
	if decl.success == nil {
		msg := fmt.Sprintf("the sandbox cannot answer %s: ", op.ID)
		if decl.err != nil {
			msg += decl.err.Error()
		} else {
			msg += "the contract declares no response"
		}
		return problemAnswer(http.StatusNotImplemented, SourceRoute, msg, nil)
	}
	return decl.success.copy()
}

// routeMiss answers a request no operation matches, as the vendor would.
func (s *Sandbox) routeMiss(v *vendor, cr *http.Request, problems []contracts.Finding, e *Entry) *answer {
	e.Findings = append(e.Findings, problems...)
	status, msg := http.StatusNotFound, "no operation matches"
	if len(problems) > 0 {
		msg = problems[0].Message
	}
	var h http.Header
	_, err := v.Contract.Find(cr.Method, cr.URL.RequestURI())
	var le *contracts.LookupError
	if errors.As(err, &le) && le.Rule == contracts.RuleMethodNotAllowed {
		status = http.StatusMethodNotAllowed
		var allow []string
		for _, c := range le.Candidates {
			allow = append(allow, c.Method)
		}
		sort.Strings(allow)
		h = http.Header{"Allow": {strings.Join(allow, ", ")}}
	}
	return problemAnswer(status, SourceRoute, msg, h)
}

// splitVendor splits "/crm/v2/deals" into "crm" and "/v2/deals".
func splitVendor(p string) (string, string) {
	p = strings.TrimPrefix(p, "/")
	name, rest, _ := strings.Cut(p, "/")
	return name, "/" + rest
}

// contractRequest is r as the vendor would have received it: without the
// vendor's name in its path, with the body read.
func contractRequest(r *http.Request, rest string, body []byte) *http.Request {
	cr := *r
	u := *r.URL
	u.Path = rest
	if u.RawPath != "" {
		_, u.RawPath = splitVendor(u.RawPath)
	}
	cr.URL = &u
	cr.RequestURI = ""
	cr.Body = io.NopCloser(bytes.NewReader(body))
	cr.ContentLength = int64(len(body))
	return &cr
}

// withoutSecurity drops the contract's own credential findings: the
// sandbox checks credentials itself, per tenant.
func withoutSecurity(ps []contracts.Finding) []contracts.Finding {
	out := ps[:0]
	for _, p := range ps {
		if p.ID != contracts.RuleSecurityMissing {
			out = append(out, p)
		}
	}
	return out
}

var preferCode = regexp.MustCompile(`(?i)(?:^|[,;\s])code=(\d{3})\b`)

// preferredStatus reads "Prefer: code=404", the way clients of mock servers
// ask for a declared answer other than the success.
func preferredStatus(h http.Header) (int, bool) {
	for _, v := range h.Values("Prefer") {
		if m := preferCode.FindStringSubmatch(v); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n, true
		}
	}
	return 0, false
}

func declaredStatuses(d *opAnswers) string {
	var codes []string
	for c := range d.byStatus {
		codes = append(codes, strconv.Itoa(c))
	}
	if len(codes) == 0 {
		return "no status"
	}
	sort.Strings(codes)
	return strings.Join(codes, ", ")
}

// copy is a shallow copy of a rendered answer: its header and body are
// shared, and must be cloned before they are changed.
func (a *answer) copy() *answer { c := *a; return &c }

// exampleAnswer renders a declared response once, for every call after.
func exampleAnswer(ex *contracts.ExampleResponse) *answer {
	h := ex.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if ex.ContentType != "" {
		h.Set("Content-Type", ex.ContentType)
	}
	src := SourceSynthesised
	if ex.Source == contracts.SourceContract {
		src = SourceExample
	}
	return &answer{status: ex.Status, header: h, body: ex.Body, source: src}
}

// errorAnswer answers status with the body the contract declares for it,
// else its default response's (with this status) for an error, else a
// problem+json body saying why.
func errorAnswer(d *opAnswers, status int, source, why string) *answer {
	a := d.byStatus[status]
	if a == nil && status >= 400 && d.deflt != nil {
		a = d.deflt
	}
	if a != nil {
		a = a.copy()
		a.header = a.header.Clone()
		a.source, a.status = source, status
		return a
	}
	return problemAnswer(status, source, why, nil)
}

// problem is an RFC 9457 problem+json body.
type problem struct {
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Status     int         `json:"status"`
	Detail     string      `json:"detail,omitempty"`
	Violations []violation `json:"violations,omitempty"`
}

type violation struct {
	Rule     string `json:"rule"`
	Path     string `json:"path,omitempty"`
	Message  string `json:"message"`
	Location string `json:"location,omitempty"` // where in the contract
}

func problemAnswer(status int, source, detail string, h http.Header) *answer {
	return problemBody(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail}, source, h)
}

func problemBody(p problem, source string, h http.Header) *answer {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/problem+json")
	b, _ := json.Marshal(p)
	return &answer{status: p.Status, header: h, body: b, source: source}
}

// violationAnswer refuses a request that breaks the contract, naming each
// violation.
func violationAnswer(ps []contracts.Finding) *answer {
	p := problem{Type: "about:blank", Title: "Bad Request", Status: http.StatusBadRequest,
		Detail: fmt.Sprintf("the request breaks the contract in %d place(s)", len(ps))}
	for _, pr := range ps {
		if pr.Level != contracts.LevelError {
			continue
		}
		p.Violations = append(p.Violations, violation{Rule: pr.ID, Path: pr.Path, Message: pr.Message, Location: pr.Position.String()})
	}
	return problemBody(p, SourceValidation, nil)
}

// hasBody reports whether an answer to method with status carries a body.
func hasBody(method string, status int) bool {
	return method != http.MethodHead && status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

func writeAnswer(w http.ResponseWriter, a *answer) {
	h := w.Header()
	for k, vs := range a.header {
		h[k] = vs
	}
	if a.status == http.StatusNoContent || a.status == http.StatusNotModified || a.status < 200 {
		w.WriteHeader(a.status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	w.Write(a.body)
}

// authRefusal is the answer to a call whose credentials auth refused: the
// contract's declared error for the status, with the challenge.
func authRefusal(decl *opAnswers, auth authResult) *answer {
	a := errorAnswer(decl, auth.status, SourceAuth, auth.reason)
	if auth.challenge != "" {
		a.header.Set("WWW-Authenticate", auth.challenge)
	}
	return a
}
