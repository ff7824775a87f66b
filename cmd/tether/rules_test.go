package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness"
)

func TestRules(t *testing.T) {
	code, out, errs := runCLI("rules", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rules []contracts.Rule
	if err := json.Unmarshal([]byte(out), &rules); err != nil {
		t.Fatalf("rules --format json does not parse: %v", err)
	}
	if len(rules) != len(harness.Rules()) {
		t.Errorf("%d rules printed, %d registered", len(rules), len(harness.Rules()))
	}
	// One of each family: contracts' findings and changes, the cassette
	// scan, the sandbox, the suites, the comparison, the gate, the bundles.
	for _, id := range []string{"request-body-invalid", "response-property-type-changed", "stripe-key", "vendor-unknown",
		"golden-mismatch", "config-field-removed", "waiver-expired", "bundle-checksum-mismatch"} {
		if !strings.Contains(out, `"id": "`+id+`"`) {
			t.Errorf("rules lacks %s", id)
		}
	}
	code, out, _ = runCLI("rules", "--level", "warning", "scope-")
	if code != exitOK || !strings.Contains(out, "scope-unused") || strings.Contains(out, "scope-missing") || !strings.HasSuffix(out, "1 rule\n") {
		t.Errorf("rules --level warning scope-: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI("rules", "--level", "fatal"); code != exitCannot {
		t.Errorf("an unknown level: exit %d, want %d", code, exitCannot)
	}
}
