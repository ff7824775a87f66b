package contracts

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"
)

// Example sources, as reported in [ExampleRequest.Source] and
// [ExampleResponse.Source].
const (
	SourceContract    = "contract"    // the contract's own example, which validates
	SourceSynthesised = "synthesised" // generated from the schema
)

// ExampleRequest is a request the contract accepts for one operation.
type ExampleRequest struct {
	Operation   string
	Method      string
	Target      string // path (after the server base path) and query, "/v1/pets/pet_1?limit=1"
	Header      http.Header
	Body        []byte
	ContentType string
	Source      string    // SourceContract when any part is the contract's own example
	Warnings    []Finding // the contract's own examples that did not validate
}

// HTTPRequest builds the request against baseURL ("https://api.example.com/v1").
func (r *ExampleRequest) HTTPRequest(baseURL string) (*http.Request, error) {
	req, err := http.NewRequest(r.Method, strings.TrimRight(baseURL, "/")+r.Target, bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	return req, nil
}

// ExampleResponse is a response the contract declares for an operation.
type ExampleResponse struct {
	Status      int // the declared status; for a `default` response, 500
	Default     bool
	Header      http.Header
	Body        []byte // nil when the response declares no content
	ContentType string
	Source      string
	Warnings    []Finding // the contract's own example for it, when it did not validate
}

// HTTPResponse builds an *http.Response holding the example.
func (r *ExampleResponse) HTTPResponse() *http.Response {
	return &http.Response{StatusCode: r.Status, Header: r.Header.Clone(), Body: io.NopCloser(bytes.NewReader(r.Body)),
		ContentLength: int64(len(r.Body))}
}

// ExampleRequest synthesises a request for the operation with the given ID
// that validates against the contract: path, required query parameters,
// headers and cookies, credentials for its first security requirement, and a
// body. The contract's own examples are used where they validate. The same
// seed gives the same request.
func (c *Contract) ExampleRequest(operationID string, seed uint64) (*ExampleRequest, error) {
	op, ok := c.Operation(operationID)
	if !ok {
		return nil, fmt.Errorf("%s has no operation %q", c.file, operationID)
	}
	useExamples := true
	var warnings []Finding
	for {
		r, err := c.buildRequest(op, seed, useExamples)
		if err != nil {
			return nil, err
		}
		req, err := r.HTTPRequest("")
		if err != nil {
			return nil, fmt.Errorf("build request for %s: %w", op.ID, err)
		}
		m, ps := c.ValidateRequest(req)
		if len(ps) == 0 && m.Operation == op {
			r.Warnings = warnings
			return r, nil
		}
		if useExamples && r.Source == SourceContract {
			warnings = append(warnings, exampleWarnings(ps, op.ID, "request")...)
			useExamples = false
			continue
		}
		if m != nil && m.Operation != op {
			return nil, fmt.Errorf("synthesised request %s %s for %s is routed to %s", r.Method, r.Target, op.ID, m.Operation.ID)
		}
		return nil, &UnsatisfiableError{Path: "request", Line: op.Line,
			Reason: fmt.Sprintf("synthesised request for %s does not validate: %s", op.ID, briefFindings(ps))}
	}
}

func (c *Contract) buildRequest(op *Operation, seed uint64, useExamples bool) (*ExampleRequest, error) {
	s := newSynthesizer(seed, c.versionNumber())
	s.direction = requestDirection
	r := &ExampleRequest{Operation: op.ID, Method: op.Method, Header: http.Header{}, Source: SourceSynthesised}
	path := op.Path
	query := url.Values{}
	var cookies []string
	for _, p := range effectiveParams(op) {
		if p.In != "path" && (p.Required == nil || !*p.Required) {
			continue
		}
		v, fromContract, err := c.paramValue(s, p, useExamples)
		if err != nil {
			return nil, fmt.Errorf("parameter %s %q of %s: %w", p.In, p.Name, op.ID, err)
		}
		if fromContract {
			r.Source = SourceContract
		}
		switch p.In {
		case "path":
			path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(scalarString(v)))
		case "query":
			addQuery(query, p.Name, v, p.Style == "deepObject")
		case "header":
			r.Header.Set(p.Name, scalarString(v))
		case "cookie":
			cookies = append(cookies, p.Name+"="+url.QueryEscape(scalarString(v)))
		}
	}
	c.addCredentials(op, r.Header, query, &cookies)
	if len(cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	r.Target = path
	if len(query) > 0 {
		r.Target += "?" + query.Encode()
	}
	if rb := op.op.RequestBody; rb != nil && rb.Content != nil && rb.Content.Len() > 0 {
		mt, media := pickMedia(rb.Content)
		v, source, err := c.mediaValue(s, media, useExamples)
		if err != nil {
			return nil, fmt.Errorf("request body of %s: %w", op.ID, err)
		}
		if strings.HasPrefix(mt, "application/x-www-form-urlencoded") && media.Schema != nil {
			v = flatForm(v, media.Schema.Schema())
		}
		body, err := encodeBody(mt, v)
		if err != nil {
			return nil, fmt.Errorf("request body of %s: %w", op.ID, err)
		}
		r.Body, r.ContentType = body, mt
		if source == SourceContract {
			r.Source = SourceContract
		}
		r.Header.Set("Content-Type", mt)
	}
	return r, nil
}

// ExampleResponses synthesises every response the operation declares, in
// document order, each valid against the contract for the request from
// [Contract.ExampleRequest].
func (c *Contract) ExampleResponses(operationID string, seed uint64) ([]ExampleResponse, error) {
	op, ok := c.Operation(operationID)
	if !ok {
		return nil, fmt.Errorf("%s has no operation %q", c.file, operationID)
	}
	if op.op.Responses == nil {
		return nil, nil
	}
	var out []ExampleResponse
	add := func(code string, resp *v3.Response, def bool) error {
		status := 500
		if !def {
			n, err := strconv.Atoi(strings.ReplaceAll(strings.ToUpper(code), "X", "0"))
			if err != nil {
				return fmt.Errorf("response %q of %s: not a status code", code, op.ID)
			}
			status = n
		}
		er := ExampleResponse{Status: status, Default: def, Header: http.Header{}, Source: SourceSynthesised}
		if resp != nil && resp.Content != nil && resp.Content.Len() > 0 {
			mt, media := pickMedia(resp.Content)
			for _, useExamples := range []bool{true, false} {
				s := newSynthesizer(seed, c.versionNumber())
				s.direction = responseDirection
				v, source, err := c.mediaValue(s, media, useExamples)
				if err != nil {
					return fmt.Errorf("response %s of %s: %w", code, op.ID, err)
				}
				body, err := encodeBody(mt, v)
				if err != nil {
					return fmt.Errorf("response %s of %s: %w", code, op.ID, err)
				}
				er.Body, er.ContentType, er.Source = body, mt, source
				if source != SourceContract || !isJSON(mt) || media.Schema == nil || media.Schema.Schema() == nil {
					break
				}
				// The contract's own example is used only when it validates.
				ps := c.validateValue(media.Schema, body, RuleResponseBodyInvalid, op.ID)
				if len(ps) == 0 {
					break
				}
				er.Warnings = append(er.Warnings, exampleWarnings(ps, op.ID, "response "+code)...)
			}
			er.Header.Set("Content-Type", mt)
		}
		if resp != nil && resp.Headers != nil {
			s := newSynthesizer(seed, c.versionNumber())
			s.direction = responseDirection
			for h := resp.Headers.First(); h != nil; h = h.Next() {
				decl := h.Value()
				if decl == nil || !decl.Required || decl.Schema == nil || strings.EqualFold(h.Key(), "Content-Type") {
					continue
				}
				v, err := s.value(decl.Schema.Schema())
				if err != nil {
					return fmt.Errorf("response %s of %s, header %s: %w", code, op.ID, h.Key(), err)
				}
				er.Header.Set(h.Key(), scalarString(v))
			}
		}
		out = append(out, er)
		return nil
	}
	if op.op.Responses.Codes != nil {
		for p := op.op.Responses.Codes.First(); p != nil; p = p.Next() {
			if err := add(p.Key(), p.Value(), false); err != nil {
				return out, err
			}
		}
	}
	if op.op.Responses.Default != nil {
		if err := add("default", op.op.Responses.Default, true); err != nil {
			return out, err
		}
	}
	return out, nil
}

// ExampleValue synthesises a valid value for a schema of the contract:
// target is a component ("#/components/schemas/Deal") or the name of a
// webhook ("deal.updated").
func (c *Contract) ExampleValue(target string, seed uint64) (any, error) {
	proxy, err := c.schemaFor(target)
	if err != nil {
		return nil, err
	}
	return newSynthesizer(seed, c.versionNumber()).value(proxy.Schema())
}

// InvalidVariants derives invalid instances of valid for the schema named
// by target (as in [Contract.ExampleValue]), each labelled with the rule it
// breaks and the JSON path it changes. valid is not modified.
func (c *Contract) InvalidVariants(target string, valid any) ([]Variant, error) {
	proxy, err := c.schemaFor(target)
	if err != nil {
		return nil, err
	}
	return invalidVariants(proxy.Schema(), valid, c.versionNumber()), nil
}

// ValidateValue checks a JSON payload against the schema named by target
// (as in [Contract.ExampleValue]).
func (c *Contract) ValidateValue(target string, payload []byte) []Finding {
	proxy, err := c.schemaFor(target)
	if err != nil {
		p := newFinding(RulePayloadInvalid, err.Error())
		p.File = c.file
		return []Finding{p}
	}
	return c.validateValue(proxy, payload, RulePayloadInvalid, target)
}

func (c *Contract) schemaFor(target string) (*base.SchemaProxy, error) {
	if name, ok := strings.CutPrefix(target, "#/components/schemas/"); ok {
		if c.model.Components != nil && c.model.Components.Schemas != nil {
			if p, ok := c.model.Components.Schemas.Get(name); ok && p != nil {
				if p.Schema() != nil {
					return p, nil
				}
				return nil, fmt.Errorf("%s: schema %s cannot be built: %v", c.file, target, p.GetBuildError())
			}
		}
		return nil, fmt.Errorf("%s has no schema %s", c.file, target)
	}
	p, _, err := c.eventSchema(target)
	return p, err
}

// effectiveParams merges path-item and operation parameters; the
// operation's win, by name and location.
func effectiveParams(op *Operation) []*v3.Parameter {
	var out []*v3.Parameter
	idx := map[string]int{}
	for _, list := range [][]*v3.Parameter{op.item.Parameters, op.op.Parameters} {
		for _, p := range list {
			if p == nil {
				continue
			}
			k := p.In + "\x00" + p.Name
			if i, ok := idx[k]; ok {
				out[i] = p
				continue
			}
			idx[k] = len(out)
			out = append(out, p)
		}
	}
	return out
}

func (c *Contract) paramValue(s *synthesizer, p *v3.Parameter, useExamples bool) (any, bool, error) {
	var schema *base.Schema
	if p.Schema != nil {
		schema = p.Schema.Schema()
	} else if p.Content != nil && p.Content.Len() > 0 {
		_, media := pickMedia(p.Content)
		if media.Schema != nil {
			schema = media.Schema.Schema()
		}
	}
	if useExamples && p.Example != nil {
		var v any
		if err := p.Example.Decode(&v); err == nil && v != nil {
			return v, true, nil
		}
	}
	if schema == nil {
		return "example", false, nil
	}
	v, err := s.value(schema)
	return v, false, err
}

// mediaValue picks the media type's own example when asked and present,
// else synthesises one from its schema.
func (c *Contract) mediaValue(s *synthesizer, media *v3.MediaType, useExamples bool) (any, string, error) {
	if useExamples {
		if media.Example != nil {
			var v any
			if err := media.Example.Decode(&v); err == nil {
				return v, SourceContract, nil
			}
		}
		if media.Examples != nil {
			for p := media.Examples.First(); p != nil; p = p.Next() {
				if ex := p.Value(); ex != nil && ex.Value != nil {
					var v any
					if err := ex.Value.Decode(&v); err == nil {
						return v, SourceContract, nil
					}
				}
			}
		}
	}
	if media.Schema == nil {
		return map[string]any{}, SourceSynthesised, nil
	}
	schema := media.Schema.Schema()
	if schema == nil {
		return nil, "", fmt.Errorf("schema cannot be built: %v", media.Schema.GetBuildError())
	}
	v, err := s.value(schema)
	return v, SourceSynthesised, err
}

// pickMedia prefers JSON, then form encodings, then whatever comes first.
func pickMedia(content *orderedmap.Map[string, *v3.MediaType]) (string, *v3.MediaType) {
	var firstKey string
	var first *v3.MediaType
	var form string
	for p := content.First(); p != nil; p = p.Next() {
		if first == nil {
			firstKey, first = p.Key(), p.Value()
		}
		if isJSON(p.Key()) {
			return p.Key(), p.Value()
		}
		if form == "" && strings.HasPrefix(p.Key(), "application/x-www-form-urlencoded") {
			form = p.Key()
		}
	}
	if form != "" {
		v, _ := content.Get(form)
		return form, v
	}
	if first == nil {
		first = &v3.MediaType{}
	}
	return firstKey, first
}

// addCredentials satisfies the operation's first security requirement with
// placeholder credentials of the right shape.
func (c *Contract) addCredentials(op *Operation, h http.Header, q url.Values, cookies *[]string) {
	if len(op.Security) == 0 || c.model.Components == nil || c.model.Components.SecuritySchemes == nil {
		return
	}
	req := op.Security[0]
	names := make([]string, 0, len(req))
	for n := range req {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		scheme, ok := c.model.Components.SecuritySchemes.Get(name)
		if !ok || scheme == nil {
			continue
		}
		switch strings.ToLower(scheme.Type) {
		case "http":
			if strings.EqualFold(scheme.Scheme, "basic") {
				h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("tether:example")))
			} else {
				h.Set("Authorization", "Bearer tether-example-token")
			}
		case "apikey":
			switch scheme.In {
			case "header":
				h.Set(scheme.Name, "tether-example-key")
			case "query":
				q.Set(scheme.Name, "tether-example-key")
			case "cookie":
				*cookies = append(*cookies, scheme.Name+"=tether-example-key")
			}
		case "oauth2", "openidconnect":
			h.Set("Authorization", "Bearer tether-example-token")
		}
	}
}

// exampleWarnings turns the problems of a contract's own example into
// example-invalid warnings, keeping their locations and saying where the
// example was ("request", "response 404").
func exampleWarnings(ps []Finding, operation, where string) []Finding {
	out := make([]Finding, 0, len(ps))
	for _, p := range ps {
		w := newFinding(RuleExampleInvalid, where+": "+p.Message)
		w.File, w.Line, w.Column, w.Operation, w.Path = p.File, p.Line, p.Column, operation, p.Path
		out = append(out, w)
	}
	return out
}

// briefFindings renders problems as "rule at path: reason; ...", the reason
// being the validator's last clause, which says what was wrong.
func briefFindings(ps []Finding) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		reason := p.Message
		if i := strings.LastIndex(reason, "failed to validate schema: "); i >= 0 {
			reason = reason[i+len("failed to validate schema: "):]
		} else if i := strings.LastIndex(reason, ": "); i >= 0 {
			reason = reason[i+2:]
		}
		parts = append(parts, fmt.Sprintf("%s at %s: %s", p.ID, p.Path, reason))
	}
	return strings.Join(parts, "; ")
}

func addQuery(q url.Values, name string, v any, deep bool) {
	switch t := v.(type) {
	case []any:
		for _, x := range t {
			q.Add(name, scalarString(x))
		}
	case map[string]any:
		keys := sortedKeys(t)
		for _, k := range keys {
			if deep {
				q.Add(name+"["+k+"]", scalarString(t[k]))
			} else {
				q.Add(k, scalarString(t[k]))
			}
		}
	default:
		q.Add(name, scalarString(v))
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func scalarString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(t, 10)
	case bool:
		return strconv.FormatBool(t)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// encodeBody renders a value for a media type: JSON for JSON types, form
// encoding (objects as deepObject, "a[b]=c") for forms, text otherwise.
func encodeBody(mediaType string, v any) ([]byte, error) {
	switch {
	case isJSON(mediaType):
		return json.Marshal(v)
	case strings.HasPrefix(mediaType, "application/x-www-form-urlencoded"):
		q := url.Values{}
		if m, ok := v.(map[string]any); ok {
			for _, k := range sortedKeys(m) {
				formEncode(q, k, m[k])
			}
		}
		return []byte(q.Encode()), nil
	}
	switch t := v.(type) {
	case string:
		return []byte(t), nil
	case []byte:
		return t, nil
	}
	return json.Marshal(v)
}

// flatForm drops optional properties that hold objects or arrays, at every
// depth: the validator decodes nested form keys ("a[b]=c") into objects but
// cannot rebuild arrays from them, and one repeated key reads back as a
// string. Required ones stay, and their own optional parts are pruned too.
func flatForm(v any, schema *base.Schema) any {
	m, ok := v.(map[string]any)
	if !ok || schema == nil {
		return v
	}
	required := map[string]bool{}
	for _, r := range schema.Required {
		required[r] = true
	}
	prune := func(k string, x any) any {
		if sub, ok := x.(map[string]any); ok && schema.Properties != nil {
			if p, ok := schema.Properties.Get(k); ok && p != nil {
				return flatForm(sub, p.Schema())
			}
		}
		return x
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		switch x.(type) {
		case map[string]any, []any:
			if !required[k] {
				continue
			}
		}
		out[k] = prune(k, x)
	}
	if len(out) == 0 && len(m) > 0 {
		// An object left empty would vanish from the form; keep the first
		// optional part that still says something.
		for _, k := range sortedKeys(m) {
			if _, isArray := m[k].([]any); isArray {
				continue
			}
			x := prune(k, m[k])
			if sub, ok := x.(map[string]any); ok && len(sub) == 0 {
				continue
			}
			out[k] = x
			break
		}
	}
	return out
}

func formEncode(q url.Values, key string, v any) {
	switch t := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			formEncode(q, key+"["+k+"]", t[k])
		}
	case []any:
		for _, x := range t {
			q.Add(key, scalarString(x))
		}
	default:
		q.Add(key, scalarString(v))
	}
}
