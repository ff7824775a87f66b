package contracts

import (
	"regexp"
	"testing"
)

func TestOperationModelAndParameters(t *testing.T) {
	c, err := Load("testdata/petstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	op, ok := c.Operation("getPet")
	if !ok {
		t.Fatal("no getPet")
	}
	item, o := op.Model()
	if item == nil || o == nil || o.OperationId != "getPet" {
		t.Fatalf("Model gave %v, %v; want getPet's path item and operation", item, o)
	}
	// petId is declared on the path item: the effective parameters hold it.
	var pattern string
	for _, p := range op.Parameters() {
		if p.In == "path" && p.Name == "petId" {
			pattern = p.Schema.Schema().Pattern
		}
	}
	if pattern != "^pet_[a-z0-9]+$" {
		t.Fatalf("petId's pattern is %q; want the path item's parameter", pattern)
	}
	for _, p := range op.Parameters() {
		if p.Name != "petId" {
			continue
		}
		rx := regexp.MustCompile(pattern)
		a, err := c.SchemaValue(p.Schema.Schema(), 1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := c.SchemaValue(p.Schema.Schema(), 1)
		if s, ok := a.(string); !ok || !rx.MatchString(s) || a != b {
			t.Errorf("SchemaValue gave %v then %v; want the same string matching %s for the same seed", a, b, pattern)
		}
	}
	if _, err := c.SchemaValue(nil, 1); err == nil {
		t.Error("SchemaValue(nil) succeeded; want an error")
	}
}
