package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSandboxModel(t *testing.T) {
	code, out, errOut := runCLI("sandbox", "model", "--contract", "../../connectors/dealnotify/contracts/crm.openapi.yaml")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"deals", "collection  /deals", "item        /deals/{dealId}", "id          id: string matching", "list", "pages: next-cursor", "update         PATCH"} {
		if !strings.Contains(out, want) {
			t.Errorf("the model lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI("sandbox", "model", "--contract", "../../connectors/dealnotify/contracts/chat.openapi.yaml", "--format", "json")
	if code != exitOK || !strings.Contains(out, `"notes"`) || !strings.Contains(out, "RPC-style") {
		t.Errorf("exit %d; the chat contract's JSON model should say why nothing is a resource:\n%s", code, out)
	}
}

func TestSandboxModelOverridesBesideTheContract(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../connectors/dealnotify/contracts/crm.openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	contract := filepath.Join(dir, "crm.yaml")
	if err := os.WriteFile(contract, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(contract+".model.yaml", []byte("resources:\n  deals:\n    id: {prefix: deal_, alphabet: digits, length: 6}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("sandbox", "model", "--contract", contract)
	if code != exitOK || !strings.Contains(out, `"deal_" + 6 digits (source: the overrides file)`) {
		t.Errorf("exit %d, stderr %s; the overrides beside the contract are not applied:\n%s", code, errOut, out)
	}
	if err := os.WriteFile(contract+".model.yaml", []byte("resources:\n  deals:\n    pagination: infinite\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI("sandbox", "model", "--contract", contract)
	if code != exitCannot || !strings.Contains(errOut, "crm.yaml.model.yaml:3:17: resource deals: unknown pagination style") {
		t.Errorf("exit %d, stderr %q; want exit 2 and the error at file:3:17", code, errOut)
	}
}

func TestSandboxModelHelpAndUsage(t *testing.T) {
	code, out, _ := runCLI("sandbox", "model", "--help")
	if code != exitOK || !strings.Contains(out, "FILE.model.yaml") || !strings.Contains(out, "keyed by") {
		t.Errorf("exit %d; the help should teach the model and the overrides file:\n%s", code, out)
	}
	if code, _, errOut := runCLI("sandbox", "model"); code != exitCannot || !strings.Contains(errOut, "--contract FILE is required") {
		t.Errorf("exit %d, stderr %q; want a usage error naming --contract", code, errOut)
	}
	if code, _, errOut := runCLI("sandbox", "model", "--contract", "x.yaml", "--format", "xml"); code != exitCannot || !strings.Contains(errOut, "text or json") {
		t.Errorf("exit %d, stderr %q; want a usage error naming the formats", code, errOut)
	}
}

func TestSandboxModelSamplesFromCassettes(t *testing.T) {
	code, out, errOut := runCLI("sandbox", "model", "--contract", "../../sandbox/state/testdata/incidents_notes.yaml",
		"--cassettes", "../../sandbox/state/testdata/incidents_cassette.yaml")
	if code != exitOK || !strings.Contains(out, `"inc_" + 8 hex (source: samples, first ../../sandbox/state/testdata/incidents_cassette.yaml:`) {
		t.Errorf("exit %d, stderr %s; the cassette's ids should decide the shape:\n%s", code, errOut, out)
	}
}
