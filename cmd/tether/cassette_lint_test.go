package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
)

const (
	lintData      = "../../fixtures/testdata/lint/"
	crmContract   = lintData + "contracts/crm.openapi.yaml"
	chatContract  = lintData + "contracts/chat.openapi.yaml"
	lintCassettes = lintData + "cassettes"
)

func TestCassetteLint(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		want   []string // in stdout and stderr together
		reason string
	}{
		{
			[]string{"--contract", crmContract, lintCassettes + "/valid.yaml"},
			exitOK,
			[]string{"1 cassette, 3 interactions, 0 errors, 0 warnings\n"},
			"a cassette that keeps its contract: only the summary",
		},
		{
			[]string{"--contract", crmContract, "--contract", chatContract, lintCassettes},
			exitFindings,
			[]string{
				lintCassettes + "/two_vendors.yaml:56: error [response-body-invalid] getChatUser at $: interaction 3: ",
				"(contract " + chatContract + ":46:17)",
				"8 cassettes, 19 interactions, 11 errors, 0 warnings\n",
			},
			"a directory: every cassette in it, each finding on its line, then the summary",
		},
		{
			[]string{lintCassettes + "/valid_v1.yaml", "--contract", crmContract, "--contract", crmContract},
			exitOK,
			[]string{"1 cassette, 1 interaction, 0 errors, 0 warnings\n"},
			"flags after the cassette, and the same contract twice, linted once",
		},
		{
			[]string{"--help"},
			exitOK,
			[]string{"--contract FILE", "--format json", "Several contracts:", "server URL names the request's host", "/users/me wins over /users/{id}", "Examples:"},
			"help teaches the flags, how matching across contracts works, and an example",
		},
		{
			nil,
			exitCannot,
			[]string{"needs at least one --contract FILE"},
			"no contract",
		},
		{
			[]string{"--contract", crmContract},
			exitCannot,
			[]string{"needs at least one CASSETTE"},
			"nothing to lint",
		},
		{
			[]string{"--contract", crmContract, "--format", "xml", lintCassettes},
			exitCannot,
			[]string{`--format "xml"`},
			"an unknown format",
		},
		{
			[]string{"--contract", "../../contracts/testdata/bad/broken_ref.yaml", lintCassettes},
			exitCannot,
			[]string{"tether: ../../contracts/testdata/bad/broken_ref.yaml:12:"},
			"a contract that does not load stops the lint, and the error says where",
		},
		{
			[]string{"--contract", crmContract, "no-such-cassettes"},
			exitCannot,
			[]string{"no-such-cassettes", "no such file or directory"},
			"a cassette path that does not exist",
		},
	}
	for _, tt := range tests {
		code, out, errs := runCLI(append([]string{"cassette", "lint"}, tt.args...)...)
		if code != tt.code {
			t.Errorf("tether cassette lint %v exited %d, want %d (%s)\n%s%s", tt.args, code, tt.code, tt.reason, out, errs)
		}
		for _, w := range tt.want {
			if !strings.Contains(out+errs, w) {
				t.Errorf("tether cassette lint %v printed\n%s%s\nwant it to contain %q (%s)", tt.args, out, errs, w, tt.reason)
			}
		}
	}
}

func TestCassetteLintJSON(t *testing.T) {
	code, out, errs := runCLI("cassette", "lint", "--format", "json", "--contract", crmContract, "--contract", chatContract,
		lintCassettes+"/valid.yaml", lintCassettes+"/response_body_invalid.yaml")
	if code != exitFindings {
		t.Fatalf("exit %d, want %d: %s", code, exitFindings, errs)
	}
	if got, want := jsonKeys(t, out), []string{"findings", "counts"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("top-level keys %v, want %v in that order", got, want)
	}
	var report struct {
		Findings []map[string]any `json:"findings"`
		Counts   json.RawMessage  `json:"counts"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("json output does not parse: %v\n%s", err, out)
	}
	if got, want := jsonKeys(t, string(report.Counts)), "cassettes,interactions,errors,warnings,info"; strings.Join(got, ",") != want {
		t.Errorf("counts keys %v, want %s", got, want)
	}
	var counts cassetteLintCounts
	json.Unmarshal(report.Counts, &counts)
	if counts != (cassetteLintCounts{Cassettes: 2, Interactions: 4, Errors: 1}) {
		t.Errorf("counts %+v", counts)
	}
	want := map[string]any{
		"id": "response-body-invalid", "level": "error",
		"position":  map[string]any{"file": lintCassettes + "/response_body_invalid.yaml", "line": 4.0},
		"operation": "getDeal", "contract": map[string]any{"file": crmContract, "line": 83.0, "column": 31.0}, "path": "$.stage",
	}
	if len(report.Findings) != 1 {
		t.Fatalf("%d findings, want 1:\n%s", len(report.Findings), out)
	}
	for k, v := range want {
		if got := report.Findings[0][k]; !reflect.DeepEqual(got, v) {
			t.Errorf("finding %s = %v, want %v", k, got, v)
		}
	}

	// No findings is an empty list, not null: consumers iterate it.
	_, out, _ = runCLI("cassette", "lint", "--format", "json", "--contract", crmContract, lintCassettes+"/valid.yaml")
	if !strings.Contains(out, `"findings": [],`) {
		t.Errorf("a clean lint does not print an empty findings list:\n%s", out)
	}
}

// jsonKeys returns the keys of a JSON object in the order they appear.
func jsonKeys(t *testing.T, doc string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestCassetteLintUnreadableCassette(t *testing.T) {
	dir := t.TempDir()
	valid, err := os.ReadFile(filepath.Join(lintCassettes, "valid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("valid.yaml", string(valid))
	write(".tether-tmp-1234.yaml", "version: 2\ninteractions: [half a save")
	write("notes.txt", "not a cassette")

	code, out, errs := runCLI("cassette", "lint", "--contract", crmContract, dir)
	if code != exitOK || !strings.Contains(out, "1 cassette, 3 interactions, 0 errors") {
		t.Errorf("the leftover of an interrupted save, or a file that is not YAML, was linted: exit %d\n%s%s", code, out, errs)
	}

	write("broken.yaml", "version: 2\ninteractions:\n  - request: {method: GET}\n    response: {code: 200}\n")
	code, out, errs = runCLI("cassette", "lint", "--contract", crmContract, dir)
	if code != exitCannot {
		t.Errorf("a broken cassette: exit %d, want %d", code, exitCannot)
	}
	if !strings.Contains(errs, filepath.Join(dir, "broken.yaml")+":3: interaction 0: request has no url") {
		t.Errorf("the error does not locate the broken cassette:\n%s", errs)
	}
	if !strings.Contains(out, "1 cassette, 3 interactions, 0 errors, 0 warnings; 1 cassette not read") {
		t.Errorf("the cassettes that could be read were not linted, or the summary hides the one that was not:\n%s", out)
	}

	_, out, _ = runCLI("cassette", "lint", "--format", "json", "--contract", crmContract, dir)
	var report struct {
		Unreadable []contracts.Error `json:"unreadable"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || len(report.Unreadable) != 1 || report.Unreadable[0].Line != 3 {
		t.Errorf("json does not list the unreadable cassette with its line (%v):\n%s", err, out)
	}
}

func TestCassetteLintDatadogCorpus(t *testing.T) {
	corpus := os.Getenv("TETHER_CORPUS")
	if corpus == "" {
		t.Skip("TETHER_CORPUS is not set; point it at the shared corpus (../shared/corpus) to lint Datadog's cassettes")
	}
	contract := filepath.Join(corpus, "specs", "datadog-v1-openapi.yaml")
	cassettes := filepath.Join(corpus, "cassettes", "datadog-govcr-v2-format")
	code, out, errs := runCLI("cassette", "lint", "--contract", contract, cassettes)
	if code != exitFindings {
		t.Errorf("exit %d, want %d: %s", code, exitFindings, errs)
	}
	// What each finding means is asserted, cassette by cassette, in the
	// fixtures package's TestLintDatadogCorpus.
	for _, w := range []string{
		"9 cassettes, 12 interactions, 159 errors, 0 warnings\n",
		"Monitors__Create_a_monitor_returns_OK_response.yaml:2: error [operation-not-found]: interaction 0: no operation matches the request: POST /api/v2/roles",
		"error [response-body-invalid] ListHosts at $.host_list[0].meta.install_method.tool: interaction 0: ",
		"(contract " + contract + ":",
		"error [request-security-missing] ",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if n := strings.Count(out, "\n"); n != 160 {
		t.Errorf("%d lines, want 159 findings and the summary", n)
	}
}
