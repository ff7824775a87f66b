package contracts

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFind(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "petstore.yaml"))
	tests := []struct {
		method, target string
		op             string
		params         map[string]string
		reason         string
	}{
		{"GET", "https://eu.pets.example.com/v1/pets?limit=3", "listPets", map[string]string{}, "server base path stripped, query ignored"},
		{"GET", "/v1/pets", "listPets", map[string]string{}, "a bare path with the base path"},
		{"GET", "/pets", "listPets", map[string]string{}, "a bare path without the base path"},
		{"get", "/v1/pets/", "listPets", map[string]string{}, "method case and a trailing slash"},
		{"GET", "/v1/pets/mine", "listMyPets", map[string]string{}, "a literal segment beats a parameter"},
		{"GET", "/v1/pets/pet_1", "getPet", map[string]string{"petId": "pet_1"}, "path parameter"},
		{"DELETE", "/v1/pets/a%2Fb", "deletePet", map[string]string{"petId": "a/b"}, "an escaped slash stays in its segment"},
		{"GET", "/v1/pets/p1/photos/ph9.json", "getPhoto", map[string]string{"petId": "p1", "photoId": "ph9"}, "a parameter with a literal suffix"},
	}
	for _, tt := range tests {
		m, err := c.Find(tt.method, tt.target)
		if err != nil {
			t.Errorf("Find(%s %s): %v (%s)", tt.method, tt.target, err, tt.reason)
			continue
		}
		if m.Operation.ID != tt.op {
			t.Errorf("Find(%s %s) = %s, want %s (%s)", tt.method, tt.target, m.Operation.ID, tt.op, tt.reason)
		}
		if len(m.Params) != len(tt.params) {
			t.Errorf("Find(%s %s) params %v, want %v (%s)", tt.method, tt.target, m.Params, tt.params, tt.reason)
		}
		for k, v := range tt.params {
			if m.Params[k] != v {
				t.Errorf("Find(%s %s) param %s = %q, want %q (%s)", tt.method, tt.target, k, m.Params[k], v, tt.reason)
			}
		}
	}
}

func TestFindExplainsMisses(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "petstore.yaml"))
	amb := mustLoad(t, filepath.Join("testdata", "ambiguous.yaml"))
	tests := []struct {
		c              *Contract
		method, target string
		rule           string
		want           []string
		reason         string
	}{
		{c, "PUT", "/v1/pets/pet_1", RuleMethodNotAllowed, []string{"/pets/{petId} is declared for GET, DELETE only"}, "the path exists for other methods"},
		{c, "GET", "/v1/petz/pet_1", RuleOperationNotFound, []string{"closest: /pets/{petId}", `segment 1 is "petz", the template has "pets"`}, "a typo names the closest template and the segment"},
		{c, "GET", "/v1/pets/p1/photos/ph9.png", RuleOperationNotFound, []string{"/pets/{petId}/photos/{photoId}.json", `segment 4 is "ph9.png"`}, "a wrong suffix"},
		{amb, "GET", "/things/7", RuleOperationAmbiguous, []string{"/things/{id}", "/things/{name}/", "match equally"}, "two templates differ only in a parameter name"},
	}
	for _, tt := range tests {
		_, err := tt.c.Find(tt.method, tt.target)
		var le *LookupError
		if !errors.As(err, &le) {
			t.Errorf("Find(%s %s) = %v, want a *LookupError (%s)", tt.method, tt.target, err, tt.reason)
			continue
		}
		if le.Rule != tt.rule {
			t.Errorf("Find(%s %s) rule %s, want %s (%s)", tt.method, tt.target, le.Rule, tt.rule, tt.reason)
		}
		if len(le.Candidates) == 0 {
			t.Errorf("Find(%s %s) names no candidate (%s)", tt.method, tt.target, tt.reason)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Find(%s %s) error %q lacks %q (%s)", tt.method, tt.target, err, w, tt.reason)
			}
		}
	}
}

func TestClashingTemplatesWarn(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "ambiguous.yaml"))
	ws := c.Warnings()
	if len(ws) != 1 || ws[0].ID != RulePathsClash || ws[0].Line != 9 {
		t.Errorf("warnings %v, want one %s at line 9", ws, RulePathsClash)
	}
}

func TestFindNamesParamsByTheOperationsTemplate(t *testing.T) {
	c, err := Parse("shared-route.yaml", []byte(`openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a/{id}:
    get: {operationId: getA, responses: {"200": {description: ok}}}
  /a/{name}/:
    post: {operationId: postA, responses: {"200": {description: ok}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	for method, want := range map[string]string{"GET": "id", "POST": "name"} {
		m, err := c.Find(method, "/a/x")
		if err != nil {
			t.Fatal(err)
		}
		if m.Params[want] != "x" || len(m.Params) != 1 {
			t.Errorf("%s /a/x: params %v, want %s=x", method, m.Params, want)
		}
	}
}

func TestSecuritySchemes(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "security.yaml"))
	got := c.SecuritySchemes()
	want := map[string]SecurityScheme{
		"bearer":   {Name: "bearer", Type: "http", Scheme: "bearer"},
		"basic":    {Name: "basic", Type: "http", Scheme: "basic"},
		"key":      {Name: "key", Type: "apiKey", In: "header", Param: "X-Api-Key"},
		"querykey": {Name: "querykey", Type: "apiKey", In: "query", Param: "api_key"},
		"oauth": {Name: "oauth", Type: "oauth2", Scopes: []string{"admin", "things:read", "things:write"}, Flows: []OAuthFlow{
			{Kind: "clientCredentials", TokenURL: "https://auth.example.com/token", Scopes: []string{"things:read", "things:write"}},
			{Kind: "authorizationCode", AuthorizationURL: "https://auth.example.com/authorize", TokenURL: "https://auth.example.com/token", Scopes: []string{"admin", "things:read"}},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SecuritySchemes() mismatch (-want +got):\n%s", diff)
	}
	op, _ := c.Operation("listThings")
	if len(op.Security) != 2 || len(op.Security[0]["oauth"]) != 1 {
		t.Errorf("listThings security = %v, want the oauth and key alternatives", op.Security)
	}
}

// A Swagger 2.0 oauth2 definition keeps its flow and URLs through the
// conversion: accessCode is OpenAPI 3's authorizationCode, application its
// clientCredentials.
func TestSecuritySchemesSwaggerFlows(t *testing.T) {
	c, err := Parse("swagger.json", []byte(`{
  "swagger": "2.0", "info": {"title": "t", "version": "1"}, "host": "api.example.com", "basePath": "/v1",
  "paths": {"/a": {"get": {"operationId": "a", "responses": {"200": {"description": "ok"}}}}},
  "securityDefinitions": {
    "code": {"type": "oauth2", "flow": "accessCode", "authorizationUrl": "https://example.com/oauth/authorize",
             "tokenUrl": "https://api.example.com/v1/oauth.access", "scopes": {"read": "r", "write": "w"}},
    "app": {"type": "oauth2", "flow": "application", "tokenUrl": "/token", "scopes": {"read": "r"}}
  }
}`))
	if err != nil {
		t.Fatal(err)
	}
	got := c.SecuritySchemes()
	want := map[string][]OAuthFlow{
		"code": {{Kind: "authorizationCode", AuthorizationURL: "https://example.com/oauth/authorize", TokenURL: "https://api.example.com/v1/oauth.access", Scopes: []string{"read", "write"}}},
		"app":  {{Kind: "clientCredentials", TokenURL: "/token", Scopes: []string{"read"}}},
	}
	for name, flows := range want {
		if diff := cmp.Diff(flows, got[name].Flows); diff != "" {
			t.Errorf("%s flows mismatch (-want +got):\n%s", name, diff)
		}
	}
}
