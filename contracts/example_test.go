package contracts

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
)

func TestExamplesPreferTheContractsOwnWhenValid(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "examples.yaml"))

	req, err := c.ExampleRequest("getDeal", 1)
	if err != nil {
		t.Fatal(err)
	}
	if req.Target != "/deals/d_42" {
		t.Errorf("target %q, want the parameter's own example /deals/d_42", req.Target)
	}

	resps, err := c.ExampleResponses("getDeal", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(resps) != 2 {
		t.Fatalf("%d responses, want 200 and 404", len(resps))
	}
	var ok map[string]any
	if err := json.Unmarshal(resps[0].Body, &ok); err != nil {
		t.Fatal(err)
	}
	if resps[0].Source != SourceContract || ok["id"] != "d_42" || len(resps[0].Warnings) != 0 {
		t.Errorf("200: source %s body %s warnings %v; want the contract's valid example", resps[0].Source, resps[0].Body, resps[0].Warnings)
	}
	// The 404 example has a number where a string is required: synthesised instead, and said so.
	if resps[1].Source != SourceSynthesised || len(resps[1].Warnings) != 1 || resps[1].Warnings[0].ID != RuleExampleInvalid || resps[1].Warnings[0].Line == 0 {
		t.Errorf("404: source %s warnings %v; want a synthesised body and one located example-invalid warning", resps[1].Source, resps[1].Warnings)
	}

	create, err := c.ExampleRequest("createDeal", 1)
	if err != nil {
		t.Fatal(err)
	}
	if create.Source != SourceSynthesised || len(create.Warnings) == 0 || create.Warnings[0].Path != "$.amount" {
		t.Errorf("createDeal: source %s warnings %v; want the invalid example (amount -5) replaced and reported at $.amount", create.Source, create.Warnings)
	}
}

func TestInvalidParameterExampleFallsBack(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "examples.yaml"))
	r, err := c.ExampleRequest("getNote", 1)
	if err != nil {
		t.Fatalf("an invalid parameter example (n: first, an integer) blocked synthesis: %v", err)
	}
	if r.Source != SourceSynthesised || len(r.Warnings) == 0 || r.Warnings[0].Path != "path.n" {
		t.Errorf("source %s warnings %v; want a synthesised request and the example reported at path.n", r.Source, r.Warnings)
	}
}

func TestExampleResponsesCarryRequiredHeaders(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "examples.yaml"))
	resps, err := c.ExampleResponses("getNote", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(resps) != 1 || resps[0].Header.Get("X-Rate-Remaining") == "" || resps[0].Header.Get("X-Optional") != "" {
		t.Fatalf("headers %v; want the required X-Rate-Remaining only", resps[0].Header)
	}
	req := newRequest("GET", "/deals/d_1/notes/2", "")
	if ps := c.ValidateResponse(req, resps[0].HTTPResponse()); len(ps) > 0 {
		t.Errorf("the synthesised response does not validate: %v", ps)
	}
	resp := resps[0].HTTPResponse()
	resp.Header.Del("X-Rate-Remaining")
	if ps := c.ValidateResponse(req, resp); len(ps) == 0 || ps[0].ID != RuleResponseHeader {
		t.Errorf("without the required header: %v, want %s", ps, RuleResponseHeader)
	}
}

func TestExamplesAreDeterministic(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "petstore.yaml"))
	for _, op := range c.Operations() {
		a, errA := c.ExampleRequest(op.ID, 7)
		b, errB := c.ExampleRequest(op.ID, 7)
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v, %v", op.ID, errA, errB)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two requests for seed 7 differ", op.ID)
		}
		ra, errA := c.ExampleResponses(op.ID, 7)
		rb, errB := c.ExampleResponses(op.ID, 7)
		if errA != nil || errB != nil || len(ra) == 0 {
			t.Fatalf("%s: %d responses, %v, %v", op.ID, len(ra), errA, errB)
		}
		if !reflect.DeepEqual(ra, rb) {
			t.Errorf("%s: two response sets for seed 7 differ", op.ID)
		}
	}
}

func TestInvalidVariantsThroughTheContract(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "events.yaml"))
	valid, err := c.ExampleValue("deal.updated", 3)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(valid)
	if ps := c.ValidateEvent("deal.updated", body); len(ps) > 0 {
		t.Fatalf("synthesised event does not validate: %v", ps)
	}
	vs, err := c.InvalidVariants("deal.updated", valid)
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, v := range vs {
		rules[v.Rule] = true
		b, _ := json.Marshal(v.Value)
		if ps := c.ValidateEvent("deal.updated", b); len(ps) == 0 {
			t.Errorf("variant %s at %s (%s) still validates: %s", v.Rule, v.Path, v.Reason, b)
		}
	}
	for _, want := range []string{"required-missing", "type-mismatch", "enum-mismatch", "minimum-violated"} {
		if !rules[want] {
			t.Errorf("no %s variant among %d", want, len(vs))
		}
	}
	if _, err := c.InvalidVariants("#/components/schemas/Nope", valid); err == nil {
		t.Error("a missing schema gave no error")
	}
}
