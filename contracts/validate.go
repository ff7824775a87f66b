package contracts

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/content"
	lerrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/requests"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"
)

// ValidateRequest finds the operation for req and checks its parameters,
// credentials and body. It returns the match (nil when no operation
// matches, in which case the one problem explains why) and every problem,
// in a stable order. The request body is left readable and req is not
// modified.
func (c *Contract) ValidateRequest(req *http.Request) (*Match, []Finding) {
	m, err := c.findPath(req.Method, req.URL.EscapedPath())
	if err != nil {
		return nil, []Finding{c.lookupFinding(err)}
	}
	ps := c.validateRequest(req, m)
	return m, append(ps, c.departures(req, m, ps)...)
}

// ValidateResponse checks resp as the answer to req: its status must be
// declared for the operation, and its headers and body must match.
func (c *Contract) ValidateResponse(req *http.Request, resp *http.Response) []Finding {
	m, err := c.findPath(req.Method, req.URL.EscapedPath())
	if err != nil {
		return []Finding{c.lookupFinding(err)}
	}
	return c.validateResponse(req, resp, m)
}

// ValidateExchange checks a request and its response, finding the operation
// once. It is the cheapest way to check recorded traffic.
func (c *Contract) ValidateExchange(req *http.Request, resp *http.Response) (*Match, []Finding) {
	m, err := c.findPath(req.Method, req.URL.EscapedPath())
	if err != nil {
		return nil, []Finding{c.lookupFinding(err)}
	}
	ps := c.validateRequest(req, m)
	ps = append(ps, c.departures(req, m, ps)...)
	return m, append(ps, c.validateResponse(req, resp, m)...)
}

func (c *Contract) validateRequest(req *http.Request, m *Match) []Finding {
	c.ready(m.Operation)
	r := withoutBase(req, m.BasePath)
	var errs []*lerrors.ValidationError
	if media, ok := jsonBodyOf(r, m.Operation); ok {
		errs = c.validateJSONRequest(r, m, media)
	} else {
		_, errs = c.validator.ValidateHttpRequestSyncWithPathItem(r, m.Operation.item, m.Operation.Path)
	}
	errs = dropEncodedReserved(errs, r)
	req.Body = r.Body // the validator leaves a fresh reader on the copy
	if len(errs) == 0 {
		return nil
	}
	var root anchor
	if rb := m.Operation.op.RequestBody; rb != nil {
		root = c.mediaAnchor(rb.Content, req.Header.Get("Content-Type"))
	}
	return c.problems(m.Operation.ID, c.allowNullable(errs, root), root)
}

func (c *Contract) validateResponse(req *http.Request, resp *http.Response, m *Match) []Finding {
	c.ready(m.Operation)
	r := withoutBase(req, m.BasePath)
	_, errs := c.validator.GetResponseBodyValidator().ValidateResponseBodyWithPathItem(r, resp, m.Operation.item, m.Operation.Path)
	req.Body = r.Body
	if len(errs) == 0 {
		return nil
	}
	var root anchor
	if declared := responseFor(m.Operation.op, resp.StatusCode); declared != nil {
		root = c.mediaAnchor(declared.Content, resp.Header.Get("Content-Type"))
	}
	return c.problems(m.Operation.ID, c.allowNullable(errs, root), root)
}

// jsonBodyOf finds the media type of a JSON request body the operation
// declares a schema for.
func jsonBodyOf(r *http.Request, op *Operation) (*v3.MediaType, bool) {
	rb := op.op.RequestBody
	ct := r.Header.Get("Content-Type")
	if rb == nil || rb.Content == nil || ct == "" || !isJSON(ct) || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, false
	}
	media, ok := helpers.FindMediaType(rb.Content, ct)
	if !ok || media == nil || media.Schema == nil || media.Schema.Schema() == nil {
		return nil, false
	}
	return media, true
}

// validateJSONRequest checks a request with a JSON body, decoding the body
// once. Given the whole request, the validator copies the body three times
// on the way in and copies the decoded value again to canonicalise it: 34
// bytes allocated per byte of a 31 MB body of small objects. Here the body
// is read into one buffer of its declared length and decoded once, by the
// validator's own JSON decoder (so a body is accepted or refused with the
// same words), the schema is checked on that value, and the validator sees
// the rest of the request without the body. What the JSON decoder gives is
// canonical already: maps of strings, slices, float64, strings, bools.
func (c *Contract) validateJSONRequest(r *http.Request, m *Match, media *v3.MediaType) []*lerrors.ValidationError {
	body, err := readWhole(r)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return []*lerrors.ValidationError{{ValidationType: helpers.RequestBodyValidation, ValidationSubType: helpers.Schema,
			Message: "request body could not be read", Reason: err.Error()}}
	}

	// The parameters and credentials, with the body's headers gone so that
	// the validator leaves the body alone; what it would say of the body
	// is said below.
	bare := *r
	bare.Header = r.Header.Clone()
	bare.Header.Del("Content-Type")
	bare.Body, bare.ContentLength, bare.GetBody = http.NoBody, 0, nil
	_, all := c.validator.ValidateHttpRequestSyncWithPathItem(&bare, m.Operation.item, m.Operation.Path)
	errs := all[:0]
	for _, e := range all {
		if e.ValidationType != helpers.RequestBodyValidation {
			errs = append(errs, e)
		}
	}

	rb := m.Operation.op.RequestBody
	required := rb.Required != nil && *rb.Required
	schema := media.Schema.Schema()
	ct := r.Header.Get("Content-Type")
	normalized, params := content.NormalizeMediaType(ct)
	value, err := content.JSONDecoder().Decode(&content.DecodeInput{
		Context: r.Context(), Body: bytes.NewReader(body), Header: r.Header,
		MediaType: normalized, Parameters: params, Schema: schema, Encoding: media.Encoding, Direction: content.Request,
	})
	if err != nil {
		e := &lerrors.ValidationError{
			ValidationType: helpers.RequestBodyValidation, ValidationSubType: helpers.Schema,
			Message: fmt.Sprintf("%s request body for '%s' could not be decoded", r.Method, r.URL.Path),
			Reason:  "The request body cannot be decoded: " + (&content.DecodingError{MediaType: normalized, Direction: content.Request, Err: err}).Error(),
		}
		lerrors.PopulateValidationErrors([]*lerrors.ValidationError{e}, r, m.Operation.Path)
		return append(errs, e)
	}
	// RawBody is quoted only in the validator's diagnostics, which findings
	// do not carry, and tells it the body is not empty; a head of it spares
	// copying a large failing body into a string.
	_, bodyErrs := requests.ValidateRequestSchema(&requests.ValidateRequestSchemaInput{
		Request: r, Schema: schema, Version: c.versionNumber(),
		Options:      []config.Option{config.WithExistingOpts(c.compileOpts)},
		BodyRequired: required, DecodedValue: value, RawBody: body[:min(len(body), 256)], ValueDecoded: true,
	})
	lerrors.PopulateValidationErrors(bodyErrs, r, m.Operation.Path)
	return append(errs, bodyErrs...)
}

// readWhole reads a request body into one buffer of its declared length,
// or as it comes when the length is not declared.
func readWhole(r *http.Request) ([]byte, error) {
	if r.ContentLength > 0 {
		b := make([]byte, r.ContentLength)
		n, err := io.ReadFull(r.Body, b)
		if err == io.ErrUnexpectedEOF {
			err = nil // a body shorter than declared is checked as it is
		}
		return b[:n], err
	}
	return io.ReadAll(r.Body)
}

// withoutBase returns a shallow copy of req whose path lacks the server
// base path, which is how the validator wants it; req itself is untouched.
func withoutBase(req *http.Request, base string) *http.Request {
	r := *req
	if base == "" {
		return &r
	}
	u := *req.URL
	u.Path = strings.TrimPrefix(u.Path, base)
	if u.RawPath != "" {
		u.RawPath = strings.TrimPrefix(u.RawPath, base)
	}
	r.URL = &u
	return &r
}

func (c *Contract) lookupFinding(le *LookupError) Finding {
	p := newFinding(le.Rule, fmt.Sprintf("%s %s: %s", le.Method, le.Path, le.Detail))
	p.File = c.file
	if len(le.Candidates) > 0 {
		p.Line, p.Column = le.Candidates[0].Line, le.Candidates[0].Column
	}
	return p
}

// problems turns the validator's errors into problems: one per schema
// failure, each with the contract's location and the payload path. root is
// the body schema the failures' keyword locations start from.
func (c *Contract) problems(operation string, errs []*lerrors.ValidationError, root anchor) []Finding {
	var out []Finding
	for _, e := range errs {
		if e == nil {
			continue
		}
		id, prefix := ruleFor(e)
		out = append(out, c.failureFindings(e, id, prefix, operation, root)...)
	}
	sortFindings(out)
	return out
}

// failureFindings converts one validator error: one problem for each of its
// schema failures, or one for the error itself when it has none.
func (c *Contract) failureFindings(e *lerrors.ValidationError, id, prefix, operation string, root anchor) []Finding {
	base := func(msg string) Finding {
		p := newFinding(id, msg)
		p.Operation, p.File = operation, c.file
		p.Line, p.Column = c.position(e.SpecLine, e.SpecCol)
		return p
	}
	if len(e.SchemaValidationErrors) == 0 {
		p := base(detail(e.Message, e.Reason))
		switch {
		case e.ParameterName != "":
			p.Path = prefix + e.ParameterName
		case id == RuleRequestBodyInvalid || id == RuleResponseBodyInvalid || id == RuleEventInvalid || id == RulePayloadInvalid:
			p.Path = "$"
		}
		return []Finding{p}
	}
	out := make([]Finding, 0, len(e.SchemaValidationErrors))
	for _, f := range e.SchemaValidationErrors {
		p := base(detail(e.Message, f.Reason))
		// The failure's own line and column count within the schema as the
		// validator rendered it, not within the contract: find the keyword
		// in the document instead.
		if key, _, file := c.follow(root.node, root.file, f.KeywordLocation); key != nil {
			if file != "" {
				p.File, p.Line, p.Column = c.refs.display(file), key.Line, key.Column
			} else {
				p.Line, p.Column = c.position(key.Line, key.Column)
			}
		}
		p.Path = f.FieldPath
		if e.ParameterName != "" {
			p.Path = prefix + e.ParameterName + strings.TrimPrefix(f.FieldPath, "$")
		}
		if p.Path == "" {
			p.Path = "$"
		}
		out = append(out, p)
	}
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
// parameter's location is written in [Finding.Path].
func ruleFor(e *lerrors.ValidationError) (id, prefix string) {
	// Parameter errors name their location in the type or, for some, the subtype.
	where := e.ValidationType
	if where == helpers.ParameterValidation {
		where = e.ValidationSubType
	}
	switch where {
	case helpers.ParameterValidationPath:
		return RulePathParamInvalid, "path."
	case helpers.ParameterValidationQuery, helpers.ParameterValidation:
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

func sortFindings(ps []Finding) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.ID != b.ID {
			return a.ID < b.ID
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
func (c *Contract) eventSchema(name string) (*base.SchemaProxy, *v3.Operation, error) {
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
			if isJSON(mt.Key()) && mt.Value().Schema != nil && mt.Value().Schema.Schema() != nil {
				return mt.Value().Schema, op, nil
			}
		}
	}
	return nil, nil, fmt.Errorf("webhook %q in %s has no JSON request body schema", name, c.file)
}

// ValidateEvent checks an event payload against the webhook called name in
// the contract's `webhooks` section.
func (c *Contract) ValidateEvent(name string, payload []byte) []Finding {
	proxy, op, err := c.eventSchema(name)
	if err != nil {
		p := newFinding(RuleEventUnknown, err.Error())
		p.File = c.file
		return []Finding{p}
	}
	operation := name
	if op.OperationId != "" {
		operation = op.OperationId
	}
	return c.validateValue(proxy, payload, RuleEventInvalid, operation)
}

// validateValue checks a JSON payload against one schema of the contract.
func (c *Contract) validateValue(proxy *base.SchemaProxy, payload []byte, id, operation string) []Finding {
	schema := proxy.Schema()
	root := c.anchorOf(proxy)
	var errs []*lerrors.ValidationError
	c.firstUse("value:"+strconv.FormatUint(schema.GoLow().Hash(), 16), func() {
		_, errs = c.schemaValidator().ValidateSchemaBytesWithVersion(schema, payload, c.versionNumber())
	})
	errs = c.allowNullable(errs, root)
	var out []Finding
	for _, e := range errs {
		out = append(out, c.failureFindings(e, id, "", operation, root)...)
	}
	sortFindings(out)
	return out
}

// mediaAnchor locates the schema declared for a content type, or for the
// first JSON media type when the content type is not declared.
func (c *Contract) mediaAnchor(content *orderedmap.Map[string, *v3.MediaType], contentType string) anchor {
	if content == nil {
		return anchor{}
	}
	want, _, _ := mime.ParseMediaType(contentType)
	var pick *v3.MediaType
	for p := content.First(); p != nil; p = p.Next() {
		mt, _, _ := mime.ParseMediaType(p.Key())
		if mt == want {
			pick = p.Value()
			break
		}
		if pick == nil && isJSON(p.Key()) {
			pick = p.Value()
		}
	}
	if pick == nil {
		return anchor{}
	}
	return c.anchorOf(pick.Schema)
}

// anchor is where a schema's keyword locations start: its node in the
// document, and the file holding it ("" for the contract itself).
type anchor struct {
	node *yaml.Node
	file string
}

// anchorOf finds a schema's node. The model has already resolved a
// reference, so a schema that comes from a file beside the contract is
// located in that file.
func (c *Contract) anchorOf(p *base.SchemaProxy) anchor {
	if p == nil || p.GoLow() == nil {
		return anchor{}
	}
	a := anchor{node: p.GoLow().GetValueNode()}
	if p.IsReference() {
		if target, _, _ := strings.Cut(p.GetReference(), "#"); target != "" {
			a.file, _ = c.refs.path("", target)
		}
	}
	return a
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

// EventPosition is where the contract declares the webhook name: the
// position of its key under `webhooks`.
func (c *Contract) EventPosition(name string) (Position, bool) {
	root := c.Spec().main.root
	if root == nil {
		return Position{}, false
	}
	_, hooks := child(root, "webhooks")
	if hooks == nil || hooks.Kind != yaml.MappingNode {
		return Position{}, false
	}
	for i := 0; i+1 < len(hooks.Content); i += 2 {
		if k := hooks.Content[i]; k.Value == name {
			line, col := c.position(k.Line, k.Column)
			return Position{File: c.file, Line: line, Column: col}, true
		}
	}
	return Position{}, false
}
