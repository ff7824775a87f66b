package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/sandbox/state"
)

// newStore infers the vendor's resources and seeds their state: the
// cassettes' answers first, then the vendor's state document, then the
// state file's.
func newStore(v *vendor, cfg *config) (*state.Store, error) {
	opts := []state.Option{}
	samples := v.Samples
	for _, c := range v.Cassettes {
		samples = append(samples, state.SamplesFromCassette(c)...)
	}
	if len(samples) > 0 {
		opts = append(opts, state.WithSamples(samples...))
	}
	if v.Overrides != nil {
		opts = append(opts, state.WithOverrides(v.Overrides))
	}
	m, err := state.Infer(v.Contract, opts...)
	if err != nil {
		return nil, err
	}
	st := state.NewStore(v.Contract, m, state.StoreConfig{Seed: cfg.seed, Cap: cfg.stateCap, Strict: cfg.strictState})
	// The contract's own example of a top-level list holds objects the
	// vendor has; a sub-collection's parent is unknown, so its example
	// seeds nothing.
	for _, r := range m.Resources {
		lst := r.Op(state.List)
		if lst == nil || len(r.Keys) > 0 || strings.Contains(lst.Path, "{") {
			continue
		}
		for _, op := range v.Contract.Operations() {
			if op.Method == lst.Method && op.Path == lst.Path {
				if d := v.declared(op, cfg.seed); d.success != nil && d.success.source == SourceExample {
					st.SeedAnswer(op.Method, v.basePath+op.Path, d.success.status, d.success.body)
				}
			}
		}
	}
	for _, c := range v.Cassettes {
		for _, it := range c.Interactions {
			if it == nil {
				continue
			}
			u, err := url.Parse(it.Request.URL)
			if err != nil {
				continue
			}
			target := u.RequestURI()
			if st.SeedAnswer(it.Request.Method, target, it.Response.Code, []byte(it.Response.Body)) == 0 {
				// Recorded through a sandbox: the vendor's name leads.
				if _, rest := splitVendor(u.Path); strings.HasPrefix(u.Path, "/"+v.Name+"/") {
					u.Path = rest
					st.SeedAnswer(it.Request.Method, u.RequestURI(), it.Response.Code, []byte(it.Response.Body))
				}
			}
		}
	}
	if v.State != nil {
		if err := st.Seed(v.State); err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
	}
	if f := cfg.stateFile; f != nil && f.docs[v.Name] != nil {
		if err := st.Seed(f.docs[v.Name]); err != nil {
			return nil, f.locate(v.Name, err)
		}
	}
	return st, nil
}

// stateAnswer answers op from the vendor's state, or returns nil for the
// caller to answer it as without state.
func (s *Sandbox) stateAnswer(v *vendor, decl *opAnswers, op *contracts.Operation, m *contracts.Match, r *http.Request, cr *http.Request, body []byte, tenant string, e *Entry) *answer {
	if v.store == nil || decl.success == nil || !v.store.Stateful(op) {
		return nil
	}
	if !decl.jsonSuccess {
		return nil
	}
	query, selfQuery := url.Values{}, ""
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
		selfQuery = withoutCredentials(maps.Clone(query), v.schemes).Encode()
	}
	self := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: selfQuery}
	call := state.Call{Tenant: tenant, Refuse: decl.refuse, Op: op, Params: m.Params, Query: query, Header: r.Header, Body: body, URL: self,
		Status: decl.success.status, Template: decl.success.body,
		Valid: func(status int, b []byte) []contracts.Finding {
			// Only the body is built from state; the headers are the
			// declared answer's.
			resp := &http.Response{StatusCode: status, Header: decl.success.header, Body: io.NopCloser(bytes.NewReader(b))}
			var body []contracts.Finding
			for _, f := range v.Contract.ValidateResponse(cr, resp) {
				if f.ID == contracts.RuleResponseBodyInvalid {
					body = append(body, f)
				}
			}
			return body
		}}
	res, ok := v.store.Serve(call)
	if !ok {
		return nil
	}
	for _, n := range res.Notes {
		e.Findings = append(e.Findings, finding(n.Rule, op.ID, n.Message))
	}
	switch {
	case res.Refused != "":
		return errorAnswer(decl, res.Status, SourceState, res.Refused)
	case res.NotFound:
		if decl.byStatus[http.StatusNotFound] == nil && decl.deflt == nil {
			e.Findings = append(e.Findings, finding(RuleNotFoundUndeclared, op.ID,
				fmt.Sprintf("%s %s is not in the state, and %s declares neither a 404 nor a default answer", op.Method, r.URL.Path, op.ID)))
		}
		return errorAnswer(decl, http.StatusNotFound, SourceState, fmt.Sprintf("no such item: %s", r.URL.Path))
	case res.Conflict:
		status := http.StatusBadRequest
		for _, c := range []int{http.StatusConflict, http.StatusUnprocessableEntity} {
			if decl.byStatus[c] != nil {
				status = c
				break
			}
		}
		a := errorAnswer(decl, status, SourceState, "the idempotency key was used with another request")
		if a.source != SourceState {
			a.source = SourceState
		}
		return a
	}
	h := decl.success.header // shared, as the answer without state shares it
	if len(res.Header) > 0 || res.Replayed {
		h = h.Clone()
		for k, vs := range res.Header {
			h[k] = vs
		}
		if res.Replayed {
			h.Set("Idempotent-Replayed", "true")
		}
	}
	return &answer{status: res.Status, header: h, body: res.Body, source: SourceState}
}

func isJSON(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json"
}

// withoutCredentials is q without the parameters that carry a credential,
// so that a next-page link built from it does not repeat one.
func withoutCredentials(q url.Values, schemes map[string]contracts.SecurityScheme) url.Values {
	for _, sc := range schemes {
		if strings.EqualFold(sc.Type, "apiKey") && sc.In == "query" {
			q.Del(sc.Param)
		}
		if sc.TokenParam != "" {
			q.Del(sc.TokenParam)
		}
	}
	for k := range q {
		if credentialQueries.SecretQuery(k) {
			q.Del(k)
		}
	}
	return q
}
