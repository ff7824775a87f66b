package contracts

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func newRequest(method, target, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Authorization", "Bearer test-token")
	return r
}

func newResponse(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body))}
}

// ruleAt is how problems are asserted: rule ID and payload path, plus a line.
type ruleAt struct {
	rule, path string
}

func TestValidateRequest(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "petstore.yaml"))
	tests := []struct {
		req    *http.Request
		want   []ruleAt
		reason string
	}{
		{newRequest("POST", "/v1/pets", `{"name":"Rex","kind":"dog"}`), nil, "a valid body"},
		{newRequest("POST", "/v1/pets", `{"name":"Rex"}`), []ruleAt{{RuleRequestBodyInvalid, "$"}}, "a required property missing"},
		{newRequest("POST", "/v1/pets", `{"name":"Rex","kind":"cow"}`), []ruleAt{{RuleRequestBodyInvalid, "$.kind"}}, "outside the enum"},
		{newRequest("POST", "/v1/pets", `{"name":"Rex","kind":"cat","born":"yesterday"}`), []ruleAt{{RuleRequestBodyInvalid, "$.born"}}, "format assertions are on"},
		{newRequest("POST", "/v1/pets", `{"name":"Rex","kind":"cat","colour":"red"}`), []ruleAt{{RuleRequestBodyInvalid, "$"}}, "an extra property where additionalProperties is false"},
		{newRequest("GET", "/v1/pets?limit=500", ""), []ruleAt{{RuleQueryParamInvalid, "query.limit"}}, "a query parameter above its maximum"},
		{newRequest("GET", "/v1/pets/dog_1", ""), []ruleAt{{RulePathParamInvalid, "path.petId"}}, "a path parameter breaking its pattern"},
		{newRequest("PATCH", "/v1/pets/pet_1", ""), []ruleAt{{RuleMethodNotAllowed, ""}}, "no such method"},
	}
	for _, tt := range tests {
		_, ps := c.ValidateRequest(tt.req)
		assertProblems(t, tt.req.Method+" "+tt.req.URL.String(), ps, tt.want, tt.reason)
		for _, p := range ps {
			if p.File != c.File() || p.Line == 0 {
				t.Errorf("%v: problem is not located in the contract (%s)", p, tt.reason)
			}
		}
	}
	// Body still readable afterwards, for whoever handles the request next.
	r := newRequest("POST", "/v1/pets", `{"name":"Rex","kind":"dog"}`)
	c.ValidateRequest(r)
	if b, _ := io.ReadAll(r.Body); string(b) != `{"name":"Rex","kind":"dog"}` {
		t.Errorf("body after validation = %q", b)
	}
}

func TestValidateSecurity(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "petstore.yaml"))
	r := newRequest("GET", "/v1/pets", "")
	r.Header.Del("Authorization")
	_, ps := c.ValidateRequest(r)
	assertProblems(t, "GET /v1/pets without credentials", ps, []ruleAt{{RuleSecurityMissing, ""}}, "bearer required at the root")

	lax := mustLoad(t, filepath.Join("testdata", "petstore.yaml"), IgnoreSecurity())
	_, ps = lax.ValidateRequest(r)
	assertProblems(t, "GET /v1/pets with IgnoreSecurity", ps, nil, "security left to the caller")
}

func TestValidateResponse(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "petstore.yaml"))
	req := newRequest("POST", "/v1/pets", `{"name":"Rex","kind":"dog"}`)
	tests := []struct {
		resp   *http.Response
		want   []ruleAt
		reason string
	}{
		{newResponse(201, `{"id":"pet_1","name":"Rex"}`), nil, "valid, through a relative-file ref"},
		{newResponse(201, `{"id":"pet_1"}`), []ruleAt{{RuleResponseBodyInvalid, "$"}}, "a required property missing"},
		{newResponse(201, `{"id":"pet_1","name":"Rex","kind":7}`), []ruleAt{{RuleResponseBodyInvalid, "$.kind"}}, "a wrong type"},
		{newResponse(422, `{"message":"no"}`), nil, "a declared error answer"},
		{newResponse(500, `{}`), []ruleAt{{RuleResponseStatus, ""}}, "an undeclared status"},
	}
	for _, tt := range tests {
		ps := c.ValidateResponse(req, tt.resp)
		assertProblems(t, "POST /v1/pets", ps, tt.want, tt.reason)
	}
}

func TestValidateEvent(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "events.yaml"))
	if got := c.Events(); len(got) != 1 || got[0] != "deal.updated" {
		t.Fatalf("Events() = %v", got)
	}
	tests := []struct {
		name, payload string
		want          []ruleAt
		reason        string
	}{
		{"deal.updated", `{"id":"e1","type":"deal.updated","deal":{"id":"d1","stage":"won","amount":10,"note":null}}`, nil, "valid, with a 3.1 nullable type array"},
		{"deal.updated", `{"id":"e1","type":"deal.updated","deal":{"id":"d1","stage":"won","amount":-1}}`, []ruleAt{{RuleEventInvalid, "$.deal.amount"}}, "below the minimum"},
		{"deal.updated", `{"id":"e1","type":"deal.created","deal":{"id":"d1","stage":"won","amount":1}}`, []ruleAt{{RuleEventInvalid, "$.type"}}, "const broken"},
		{"deal.deleted", `{}`, []ruleAt{{RuleEventUnknown, ""}}, "no such webhook"},
	}
	for _, tt := range tests {
		ps := c.ValidateEvent(tt.name, []byte(tt.payload))
		assertProblems(t, tt.name, ps, tt.want, tt.reason)
		for _, p := range ps {
			if p.ID == RuleEventInvalid && p.Line == 0 {
				t.Errorf("%v has no contract line (%s)", p, tt.reason)
			}
		}
	}
}

func assertProblems(t *testing.T, what string, got []Finding, want []ruleAt, reason string) {
	t.Helper()
	var have []ruleAt
	for _, p := range got {
		have = append(have, ruleAt{p.ID, p.Path})
	}
	ok := len(have) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = have[i] == want[i]
	}
	if !ok {
		var msgs []string
		for _, p := range got {
			msgs = append(msgs, p.String())
		}
		t.Errorf("%s: problems %v, want %v (%s)\n%s", what, have, want, reason, strings.Join(msgs, "\n"))
	}
}

func TestFormReservedCharacters(t *testing.T) {
	const doc = `openapi: 3.0.3
info: {title: Forms, version: "1"}
paths:
  /calls:
    post:
      operationId: createCall
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [To, StatusCallback]
              properties:
                To: {type: string}
                StatusCallback: {type: string, format: uri}
      responses:
        "201": {description: created}
`
	c, err := Parse("forms.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		body   string
		want   []ruleAt
		reason string
	}{
		{"To=%2B15551234567&StatusCallback=https%3A%2F%2Fexample.com%2Fcb", nil, "reserved characters percent-encoded, as a client sends them"},
		{"To=%2B15551234567&StatusCallback=https://example.com/cb", []ruleAt{{RuleRequestBodyInvalid, "$"}}, "a URL written raw into the form"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/calls", strings.NewReader(tt.body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		_, ps := c.ValidateRequest(r)
		assertProblems(t, tt.body, ps, tt.want, tt.reason)
	}
}

// TestNullableComposition covers Stripe's way of writing optional objects,
// `{anyOf: [{$ref: ...}], nullable: true}`: null is allowed there, and only
// there.
func TestNullableComposition(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "nullable.yaml"))
	req := newRequest("GET", "/customers/cus_1", "")
	tests := []struct {
		body   string
		want   []ruleAt
		reason string
	}{
		{`{"id":"cus_1","object":"customer","address":null,"default_source":null}`, nil, "nullable anyOf without type accepts null"},
		{`{"id":"cus_1","object":"customer","address":{"city":"Oslo"},"default_source":"src_1"}`, nil, "and still accepts values"},
		{`{"id":"cus_1","deleted":true}`, nil, "the other branch of the root anyOf"},
		{`{"id":"cus_1","object":"customer","address":{"town":"Oslo"}}`, []ruleAt{{RuleResponseBodyInvalid, "$"}, {RuleResponseBodyInvalid, "$.address"}}, "a broken object is still an error"},
		{`{"id":"cus_1","object":"customer","shipping":null}`, []ruleAt{{RuleResponseBodyInvalid, "$"}, {RuleResponseBodyInvalid, "$.shipping"}}, "null where nullable is not declared is still an error"},
	}
	for _, tt := range tests {
		ps := c.ValidateResponse(req, newResponse(200, tt.body))
		assertProblems(t, tt.body, ps, tt.want, tt.reason)
	}
}

// TestProblemLocations asserts the exact file and line of each problem: the
// keyword that failed, followed through $refs, into other files too.
func TestProblemLocations(t *testing.T) {
	pets := mustLoad(t, filepath.Join("testdata", "petstore.yaml"))
	events := mustLoad(t, filepath.Join("testdata", "events.yaml"))
	swagger := mustLoad(t, filepath.Join("testdata", "swagger_pets.yaml"))
	create := func() *http.Request { return newRequest("POST", "/v1/pets", `{"name":"Rex","kind":"dog"}`) }
	tests := []struct {
		problems []Finding
		where    string // file:line of the first problem
		reason   string
	}{
		{second(pets.ValidateRequest(newRequest("POST", "/v1/pets", `{"name":"Rex"}`))), "testdata/petstore.yaml:85", "`required` of NewPet"},
		{second(pets.ValidateRequest(newRequest("POST", "/v1/pets", `{"name":"Rex","kind":"cow"}`))), "testdata/petstore.yaml:88", "`enum` of kind"},
		{second(pets.ValidateRequest(newRequest("POST", "/v1/pets", `{"name":"Rex","kind":"cat","born":"x"}`))), "testdata/petstore.yaml:89", "`format` of born"},
		{pets.ValidateResponse(create(), newResponse(201, `{"id":"pet_1"}`)), "testdata/shared/pet.yaml:3", "`required` in the file the $ref names"},
		{pets.ValidateResponse(newRequest("GET", "/v1/pets", ""), newResponse(200, `[{"id":"p","name":"n","kind":7}]`)), "testdata/shared/pet.yaml:7", "through an inline array's items $ref"},
		{events.ValidateEvent("deal.updated", []byte(`{"id":"e","type":"deal.updated","deal":{"id":"d","stage":"won","amount":-1}}`)), "testdata/events.yaml:22", "`minimum` in a webhook"},
		{second(swagger.ValidateRequest(newRequest("POST", "/api/pets", `{"tags":[]}`))), "testdata/swagger_pets.yaml:28", "Swagger 2.0: `required` of the definition, in the original file"},
	}
	for _, tt := range tests {
		if len(tt.problems) == 0 {
			t.Errorf("no problem (%s)", tt.reason)
			continue
		}
		p := tt.problems[0]
		if got := fmt.Sprintf("%s:%d", p.File, p.Line); got != tt.where {
			t.Errorf("%v\nlocated at %s, want %s (%s)", p, got, tt.where, tt.reason)
		}
	}
}

func second[A, B any](_ A, b B) B { return b }
