package contracts_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/tetherkit/tether/contracts"
)

func ExampleLoad() {
	c, err := contracts.Load("testdata/petstore.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Title(), c.APIVersion(), "in OpenAPI", c.OpenAPIVersion(), len(c.Operations()), "operations")
	fmt.Println(c.Servers()[0].Resolved)

	_, err = contracts.Load("testdata/bad/asyncapi.yaml")
	fmt.Println(err)
	// Output:
	// Pet store 1.0 in OpenAPI 3.0.3 6 operations
	// https://eu.pets.example.com/v1
	// testdata/bad/asyncapi.yaml:1:11: this is AsyncAPI 2.6.0; tether reads OpenAPI 2.0/3.x (describe the events as `webhooks` in an OpenAPI 3.1 contract, or validate them against a JSON Schema file)
}

func ExampleContract_Find() {
	c, _ := contracts.Load("testdata/petstore.yaml")
	m, _ := c.Find("GET", "https://eu.pets.example.com/v1/pets/pet_7")
	fmt.Println(m.Operation.ID, m.Params["petId"], m.BasePath)

	_, err := c.Find("GET", "/v1/petz/pet_7")
	fmt.Println(err)
	// Output:
	// getPet pet_7 /v1
	// no operation matches the request: GET /v1/petz/pet_7: closest: /pets/{petId} (segment 1 is "petz", the template has "pets"); /pets/{petId}/photos/{photoId}.json (segment 1 is "petz", the template has "pets"); /pets/mine (segment 1 is "petz", the template has "pets")
}

func ExampleContract_ValidateRequest() {
	c, _ := contracts.Load("testdata/petstore.yaml")
	req := httptest.NewRequest("POST", "/v1/pets", strings.NewReader(`{"name":"Rex","kind":"cow"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer t")
	_, problems := c.ValidateRequest(req)
	for _, p := range problems {
		fmt.Println(p.ID, p.Position, p.Path)
	}
	// Output:
	// request-body-invalid testdata/petstore.yaml:88:30 $.kind
}

func ExampleContract_ExampleRequest() {
	c, _ := contracts.Load("testdata/examples.yaml")
	r, _ := c.ExampleRequest("getDeal", 1)
	fmt.Println(r.Method, r.Target, r.Source)
	// Output:
	// GET /deals/d_42 contract
}

func ExampleContract_InvalidVariants() {
	c, _ := contracts.Load("testdata/events.yaml")
	valid := map[string]any{"id": "e1", "type": "deal.updated", "deal": map[string]any{"id": "d1", "stage": "won", "amount": 10.0}}
	variants, _ := c.InvalidVariants("deal.updated", valid)
	for _, v := range variants[:3] {
		fmt.Println(v.Rule, v.Path)
	}
	// Output:
	// type-mismatch $
	// required-missing $.id
	// required-missing $.type
}

func ExampleCompare() {
	old, _ := contracts.ParseSpec("crm-2.3.yaml", []byte(`openapi: 3.0.3
info: {title: CRM, version: "2.3"}
paths:
  /deals/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: a deal
          content:
            application/json:
              schema:
                type: object
                properties: {amount: {type: number}, stage: {type: string}}
`))
	cur, _ := contracts.ParseSpec("crm-2.4.yaml", []byte(`openapi: 3.0.3
info: {title: CRM, version: "2.4"}
paths:
  /deals/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: a deal
          content:
            application/json:
              schema:
                type: object
                properties: {amount: {type: string}, stage: {type: string}}
`))
	for _, c := range contracts.Compare(old, cur) {
		fmt.Println(c.Level, c.ID, c.Operation(), c.Field)
		fmt.Println(" ", c.Old, "->", c.New)
	}
	// Output:
	// error response-property-type-changed GET /deals/{id} $.amount
	//   crm-2.3.yaml:14:45 -> crm-2.4.yaml:14:45
}
