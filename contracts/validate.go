package contracts

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pb33f/libopenapi-validator/config"
	lerrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"
)

// ValidateRequest finds the operation for req and checks its parameters,
// credentials and body. It returns the match (nil when no operation
// matches, in which case the one problem explains why) and every problem,
// in a stable order. The request body is left readable.
func (c *Contract) ValidateRequest(req *http.Request) (*Match, []Problem) {
	m, err := c.Find(req.Method, req.URL.String())
	if err != nil {
		return nil, []Problem{c.lookupProblem(err)}
	}
	return m, c.validateRequest(req, m)
}

// ValidateResponse checks resp as the answer to req: its status must be
// declared for the operation, and its headers and body must match.
func (c *Contract) ValidateResponse(req *http.Request, resp *http.Response) []Problem {
	m, err := c.Find(req.Method, req.URL.String())
	if err != nil {
		return []Problem{c.lookupProblem(err)}
	}
	return c.validateResponse(req, resp, m)
}

// ValidateExchange checks a request and its response, finding the operation
// once. It is the cheapest way to check recorded traffic.
func (c *Contract) ValidateExchange(req *http.Request, resp *http.Response) (*Match, []Problem) {
	m, err := c.Find(req.Method, req.URL.String())
	if err != nil {
		return nil, []Problem{c.lookupProblem(err)}
	}
	ps := c.validateRequest(req, m)
	return m, append(ps, c.validateResponse(req, resp, m)...)
}

func (c *Contract) validateRequest(req *http.Request, m *Match) []Problem {
	// The validator reads the path without the server base path.
	restore := stripBase(req, m.BasePath)
	defer restore()
	_, errs := c.validator.ValidateHttpRequestSyncWithPathItem(req, m.Operation.item, m.Operation.Path)
	errs = dropEncodedReserved(errs, req)
	if rb := m.Operation.op.RequestBody; rb != nil {
		errs = c.allowNullable(errs, mediaSchema(rb.Content, req.Header.Get("Content-Type")))
	}
	return c.problems(m.Operation, errs)
}

var reservedName = regexp.MustCompile(`^Form value '(.*)' contains reserved characters$`)
var reservedChar = regexp.MustCompile(`[:/?#\[\]@!$'()*+,;]`)

// dropEncodedReserved removes the validator's "contains reserved characters"
// errors for form values that the raw body percent-encodes. allowReserved is
// about how a value is written on the wire, but the validator checks the
// decoded value, so it rejects every URL sent in a form, correctly encoded
// or not (Twilio's StatusCallback, for one). An error stays when the raw
// body really carries a reserved character unencoded.
func dropEncodedReserved(errs []*lerrors.ValidationError, req *http.Request) []*lerrors.ValidationError {
	var raw map[string][]string
	out := errs[:0]
	for _, e := range errs {
		m := reservedName.FindStringSubmatch(e.Message)
		if e.ValidationSubType != helpers.ReservedValues || m == nil {
			out = append(out, e)
			continue
		}
		if raw == nil {
			raw = rawForm(readBody(&req.Body))
		}
		values, ok := raw[m[1]]
		if !ok {
			if i := strings.IndexByte(m[1], '['); i > 0 {
				values, ok = raw[m[1][:i]]
			}
		}
		literal := !ok
		for _, v := range values {
			if reservedChar.MatchString(v) {
				literal = true
			}
		}
		if literal {
			out = append(out, e)
		}
	}
	return out
}

// rawForm splits a form body into keys (decoded) and values as written.
func rawForm(body []byte) map[string][]string {
	out := map[string][]string{}
	for _, pair := range strings.Split(string(body), "&") {
		k, v, _ := strings.Cut(pair, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		out[k] = append(out[k], v)
	}
	return out
}

func (c *Contract) validateResponse(req *http.Request, resp *http.Response, m *Match) []Problem {
	restore := stripBase(req, m.BasePath)
	defer restore()
	_, errs := c.validator.GetResponseBodyValidator().ValidateResponseBodyWithPathItem(req, resp, m.Operation.item, m.Operation.Path)
	if r := responseFor(m.Operation.op, resp.StatusCode); r != nil {
		errs = c.allowNullable(errs, mediaSchema(r.Content, resp.Header.Get("Content-Type")))
	}
	return c.problems(m.Operation, errs)
}

// allowNullable drops "got null" failures where the schema at that place
// is `nullable: true` without a `type`, next to anyOf, oneOf or a $ref.
// Stripe writes most of its optional objects so: `{anyOf: [{$ref: ...}],
// nullable: true}`. The validator turns `nullable` into a null type only
// beside `type` or `allOf`, so every null Stripe really sends would fail;
// what the contract's authors meant, and what their own tools accept, is
// that null is allowed.
func (c *Contract) allowNullable(errs []*lerrors.ValidationError, root *base.Schema) []*lerrors.ValidationError {
	if root == nil || c.versionNumber() >= 3.1 {
		return errs
	}
	out := errs[:0]
	for _, e := range errs {
		if len(e.SchemaValidationErrors) == 0 {
			out = append(out, e)
			continue
		}
		drop := make([]bool, len(e.SchemaValidationErrors))
		for i, f := range e.SchemaValidationErrors {
			drop[i] = strings.HasPrefix(f.Reason, "got null, want ") && nullableAt(root, f.InstancePath)
		}
		settleBranches(e.SchemaValidationErrors, drop)
		kept := e.SchemaValidationErrors[:0]
		for i, f := range e.SchemaValidationErrors {
			if !drop[i] {
				kept = append(kept, f)
			}
		}
		if len(kept) > 0 {
			e.SchemaValidationErrors = kept
			out = append(out, e)
		}
	}
	return out
}

// settleBranches extends drop across anyOf and oneOf: once every failure
// under one branch is dropped, that branch holds, and the failures of its
// sibling branches no longer matter. It repeats until nothing changes, so
// that a branch cleared deep inside clears the branches around it.
func settleBranches(fs []*lerrors.SchemaValidationFailure, drop []bool) {
	type branch struct{ composition, id string }
	branchesOf := func(kl string) []branch {
		var out []branch
		for _, kw := range []string{"/anyOf/", "/oneOf/"} {
			for i := 0; ; {
				j := strings.Index(kl[i:], kw)
				if j < 0 {
					break
				}
				at := i + j
				end := at + len(kw)
				for end < len(kl) && kl[end] != '/' {
					end++
				}
				out = append(out, branch{kl[:at+len(kw)], kl[:end]})
				i = end
			}
		}
		return out
	}
	for changed := true; changed; {
		changed = false
		pending := map[string]bool{} // branch id -> some failure under it is kept
		seen := map[string]string{}  // branch id -> its composition
		for i, f := range fs {
			for _, b := range branchesOf(f.KeywordLocation) {
				seen[b.id] = b.composition
				if !drop[i] {
					pending[b.id] = true
				}
			}
		}
		cleared := map[string]bool{} // composition -> one of its branches holds
		for id, comp := range seen {
			if !pending[id] {
				cleared[comp] = true
			}
		}
		for i, f := range fs {
			if drop[i] {
				continue
			}
			for _, b := range branchesOf(f.KeywordLocation) {
				if cleared[b.composition] {
					drop[i], changed = true, true
					break
				}
			}
		}
	}
}

// nullableAt reports whether a schema that applies at the instance path
// says `nullable: true`. It follows properties, items, additionalProperties
// and the branches of allOf, anyOf and oneOf.
func nullableAt(root *base.Schema, path []string) bool {
	here := expandSchemas([]*base.Schema{root})
	for _, seg := range path {
		var next []*base.Schema
		for _, s := range here {
			if s.Properties != nil {
				if p, ok := s.Properties.Get(seg); ok && p != nil {
					if ps := p.Schema(); ps != nil {
						next = append(next, ps)
					}
					continue
				}
			}
			if _, err := strconv.Atoi(seg); err == nil && s.Items != nil && s.Items.IsA() && s.Items.A != nil {
				if is := s.Items.A.Schema(); is != nil {
					next = append(next, is)
				}
				continue
			}
			if s.AdditionalProperties != nil && s.AdditionalProperties.IsA() && s.AdditionalProperties.A != nil {
				if as := s.AdditionalProperties.A.Schema(); as != nil {
					next = append(next, as)
				}
			}
		}
		if len(next) == 0 {
			return false
		}
		here = expandSchemas(next)
	}
	for _, s := range here {
		if s.Nullable != nil && *s.Nullable {
			return true
		}
	}
	return false
}

// expandSchemas adds the allOf, anyOf and oneOf branches of each schema,
// a few levels deep.
func expandSchemas(in []*base.Schema) []*base.Schema {
	out := append([]*base.Schema(nil), in...)
	frontier := in
	for depth := 0; depth < 4 && len(frontier) > 0 && len(out) < 256; depth++ {
		var next []*base.Schema
		for _, s := range frontier {
			for _, list := range [][]*base.SchemaProxy{s.AllOf, s.AnyOf, s.OneOf} {
				for _, p := range list {
					if p == nil {
						continue
					}
					if b := p.Schema(); b != nil {
						next = append(next, b)
					}
				}
			}
		}
		out = append(out, next...)
		frontier = next
	}
	return out
}

// responseFor finds the declared response for a status: exact, then the
// range ("4XX"), then default.
func responseFor(op *v3.Operation, status int) *v3.Response {
	if op.Responses == nil {
		return nil
	}
	if op.Responses.Codes != nil {
		code := strconv.Itoa(status)
		if r, ok := op.Responses.Codes.Get(code); ok {
			return r
		}
		if r, ok := op.Responses.Codes.Get(code[:1] + "XX"); ok {
			return r
		}
		if r, ok := op.Responses.Codes.Get(code[:1] + "xx"); ok {
			return r
		}
	}
	return op.Responses.Default
}

// mediaSchema returns the schema declared for a content type, or for the
// first JSON media type when the content type is not declared.
func mediaSchema(content *orderedmap.Map[string, *v3.MediaType], contentType string) *base.Schema {
	if content == nil {
		return nil
	}
	want, _, _ := mime.ParseMediaType(contentType)
	var fallback *v3.MediaType
	for p := content.First(); p != nil; p = p.Next() {
		mt, _, _ := mime.ParseMediaType(p.Key())
		if mt == want {
			fallback = p.Value()
			break
		}
		if fallback == nil && isJSON(p.Key()) {
			fallback = p.Value()
		}
	}
	if fallback == nil || fallback.Schema == nil {
		return nil
	}
	return fallback.Schema.Schema()
}

func stripBase(req *http.Request, base string) func() {
	if base == "" {
		return func() {}
	}
	path, raw := req.URL.Path, req.URL.RawPath
	req.URL.Path = strings.TrimPrefix(path, base)
	if raw != "" {
		req.URL.RawPath = strings.TrimPrefix(raw, base)
	}
	return func() { req.URL.Path, req.URL.RawPath = path, raw }
}

func (c *Contract) lookupProblem(err error) Problem {
	le, ok := err.(*LookupError)
	if !ok {
		p := newProblem(RuleOperationNotFound, err.Error())
		p.File = c.file
		return p
	}
	p := newProblem(le.Rule, fmt.Sprintf("%s %s: %s", le.Method, le.Path, le.Detail))
	p.File = c.file
	if len(le.Candidates) > 0 {
		p.Line, p.Column = le.Candidates[0].Line, le.Candidates[0].Column
	}
	return p
}

// problems turns the validator's errors into problems: one per schema
// failure, each with the contract's location and the payload path.
func (c *Contract) problems(op *Operation, errs []*lerrors.ValidationError) []Problem {
	if len(errs) == 0 {
		return nil
	}
	var out []Problem
	for _, e := range errs {
		if e == nil {
			continue
		}
		id, prefix := ruleFor(e)
		if len(e.SchemaValidationErrors) == 0 {
			p := newProblem(id, detail(e.Message, e.Reason))
			p.Operation = op.ID
			p.File = c.file
			p.Line, p.Column = c.position(e.SpecLine, e.SpecCol)
			if e.ParameterName != "" {
				p.Path = prefix + e.ParameterName
			}
			out = append(out, p)
			continue
		}
		for _, f := range e.SchemaValidationErrors {
			p := newProblem(id, detail(e.Message, f.Reason))
			p.Operation = op.ID
			p.File = c.file
			line, col := f.Line, f.Column
			if line <= 0 {
				line, col = e.SpecLine, e.SpecCol
			}
			p.Line, p.Column = c.position(line, col)
			p.Path = f.FieldPath
			if e.ParameterName != "" {
				p.Path = prefix + e.ParameterName + strings.TrimPrefix(f.FieldPath, "$")
			}
			if p.Path == "" && id == RuleRequestBodyInvalid || p.Path == "" && id == RuleResponseBodyInvalid {
				p.Path = "$"
			}
			out = append(out, p)
		}
	}
	sortProblems(out)
	return out
}

func detail(message, reason string) string {
	message, reason = strings.TrimSpace(message), strings.TrimSpace(reason)
	switch {
	case reason == "" || strings.Contains(message, reason):
		return message
	case message == "" || strings.Contains(reason, message):
		return reason
	}
	return message + ": " + reason
}

// ruleFor maps the validator's error kinds onto rule IDs; prefix is how a
// parameter's location is written in [Problem.Path].
func ruleFor(e *lerrors.ValidationError) (id, prefix string) {
	switch e.ValidationType {
	case helpers.ParameterValidation:
		switch e.ValidationSubType {
		case helpers.ParameterValidationPath:
			return RulePathParamInvalid, "path."
		case helpers.ParameterValidationQuery:
			return RuleQueryParamInvalid, "query."
		case helpers.ParameterValidationHeader:
			return RuleHeaderParamInvalid, "header."
		case helpers.ParameterValidationCookie:
			return RuleCookieParamInvalid, "cookie."
		}
		return RuleQueryParamInvalid, "query."
	case helpers.ParameterValidationPath:
		return RulePathParamInvalid, "path."
	case helpers.ParameterValidationQuery:
		return RuleQueryParamInvalid, "query."
	case helpers.ParameterValidationHeader:
		return RuleHeaderParamInvalid, "header."
	case helpers.ParameterValidationCookie:
		return RuleCookieParamInvalid, "cookie."
	case helpers.SecurityValidation:
		return RuleSecurityMissing, ""
	case helpers.ResponseBodyValidation:
		switch e.ValidationSubType {
		case helpers.ResponseBodyResponseCode:
			return RuleResponseStatus, ""
		case helpers.ParameterValidationHeader, "headers":
			return RuleResponseHeader, "header."
		}
		return RuleResponseBodyInvalid, ""
	}
	return RuleRequestBodyInvalid, ""
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Message < b.Message
	})
}

// Events lists the events the contract declares in its `webhooks` section,
// in document order.
func (c *Contract) Events() []string {
	var names []string
	if c.model.Webhooks != nil {
		for p := c.model.Webhooks.First(); p != nil; p = p.Next() {
			names = append(names, p.Key())
		}
	}
	return names
}

// eventSchema returns the JSON request body schema of a webhook.
func (c *Contract) eventSchema(name string) (*base.Schema, *v3.Operation, error) {
	if c.model.Webhooks == nil {
		return nil, nil, fmt.Errorf("%s declares no webhooks", c.file)
	}
	item, ok := c.model.Webhooks.Get(name)
	if !ok || item == nil {
		return nil, nil, fmt.Errorf("%s declares no webhook %q; it has %s", c.file, name, strings.Join(c.Events(), ", "))
	}
	for p := item.GetOperations().First(); p != nil; p = p.Next() {
		op := p.Value()
		if op.RequestBody == nil || op.RequestBody.Content == nil {
			continue
		}
		for mt := op.RequestBody.Content.First(); mt != nil; mt = mt.Next() {
			if isJSON(mt.Key()) && mt.Value().Schema != nil {
				if s := mt.Value().Schema.Schema(); s != nil {
					return s, op, nil
				}
			}
		}
	}
	return nil, nil, fmt.Errorf("webhook %q in %s has no JSON request body schema", name, c.file)
}

// ValidateEvent checks an event payload against the webhook called name in
// the contract's `webhooks` section.
func (c *Contract) ValidateEvent(name string, payload []byte) []Problem {
	schema, op, err := c.eventSchema(name)
	if err != nil {
		p := newProblem(RuleEventUnknown, err.Error())
		p.File = c.file
		return []Problem{p}
	}
	ps := c.validateValue(schema, payload, RuleEventInvalid)
	for i := range ps {
		ps[i].Operation = name
		if op.OperationId != "" {
			ps[i].Operation = op.OperationId
		}
	}
	return ps
}

func (c *Contract) schemaValidator() schema_validation.SchemaValidator {
	c.svOnce.Do(func() {
		c.sv = schema_validation.NewSchemaValidator(config.WithFormatAssertions(), config.WithSchemaCache(c.schemas))
	})
	return c.sv
}

func (c *Contract) validateValue(schema *base.Schema, payload []byte, id string) []Problem {
	_, errs := c.schemaValidator().ValidateSchemaBytesWithVersion(schema, payload, c.versionNumber())
	var out []Problem
	for _, e := range errs {
		if len(e.SchemaValidationErrors) == 0 {
			p := newProblem(id, detail(e.Message, e.Reason))
			p.File = c.file
			p.Line, p.Column = c.position(e.SpecLine, e.SpecCol)
			p.Path = "$"
			out = append(out, p)
		}
		for _, f := range e.SchemaValidationErrors {
			p := newProblem(id, f.Reason)
			p.File = c.file
			line, col := f.Line, f.Column
			if line <= 0 {
				line, col = e.SpecLine, e.SpecCol
			}
			p.Line, p.Column = c.position(line, col)
			p.Path = f.FieldPath
			if p.Path == "" {
				p.Path = "$"
			}
			out = append(out, p)
		}
	}
	sortProblems(out)
	return out
}

// versionNumber is the OpenAPI minor version as the validator wants it.
func (c *Contract) versionNumber() float32 {
	if strings.HasPrefix(c.model.Version, "3.1") || strings.HasPrefix(c.model.Version, "3.2") {
		return 3.1
	}
	return 3.0
}

func isJSON(mediaType string) bool {
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		mt = mediaType
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json"
}

// readBody reads and restores a body, for callers that need it twice.
func readBody(rc *io.ReadCloser) []byte {
	if *rc == nil {
		return nil
	}
	b, _ := io.ReadAll(*rc)
	(*rc).Close()
	*rc = io.NopCloser(bytes.NewReader(b))
	return b
}
