package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// runCLI runs the command line in-process and returns its exit code and
// what it printed.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	env := &environ{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = run(env, args)
	return code, out.String(), errb.String()
}

func TestHelpTeaches(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		want   []string
		reason string
	}{
		{nil, exitCannot, []string{"Commands:", "contract", "Exit codes"}, "no arguments: the overview, on stderr"},
		{[]string{"help"}, exitOK, []string{"Commands:"}, "help asked for"},
		{[]string{"help", "contract"}, exitOK, []string{"tether contract lint", "Examples:"}, "help on a command"},
		{[]string{"contract", "--help"}, exitOK, []string{"circular schema references", "exits 1 when any file has an error"}, "what lint reports"},
		{[]string{"contract", "lint", "--help"}, exitOK, []string{"tether contract lint"}, "help on a subcommand"},
		{[]string{"nosuch"}, exitCannot, []string{`unknown command "nosuch"`}, "a typo"},
		{[]string{"contract", "lint"}, exitCannot, []string{"needs at least one FILE"}, "nothing to lint"},
		{[]string{"contract", "lint", "--format", "xml", "x.yaml"}, exitCannot, []string{`--format "xml"`}, "an unknown format"},
	}
	for _, tt := range tests {
		code, out, errs := runCLI(tt.args...)
		if code != tt.code {
			t.Errorf("tether %v exited %d, want %d (%s)", tt.args, code, tt.code, tt.reason)
		}
		for _, w := range tt.want {
			if !strings.Contains(out+errs, w) {
				t.Errorf("tether %v printed %q; want it to contain %q (%s)", tt.args, out+errs, w, tt.reason)
			}
		}
	}
}

func TestContractLint(t *testing.T) {
	const (
		good     = "../../contracts/testdata/petstore.yaml"
		swagger  = "../../contracts/testdata/swagger_pets.yaml"
		asyncapi = "../../contracts/testdata/bad/asyncapi.yaml"
		broken   = "../../contracts/testdata/bad/broken_ref.yaml"
	)
	code, out, _ := runCLI("contract", "lint", good, swagger)
	if code != exitOK {
		t.Errorf("lint of good contracts exited %d:\n%s", code, out)
	}
	for _, w := range []string{"ok   " + good + ": OpenAPI 3.0.3, 6 operations", swagger + ":33:9: warning [swagger-repaired]", "Swagger 2.0, converted"} {
		if !strings.Contains(out, w) {
			t.Errorf("lint output lacks %q:\n%s", w, out)
		}
	}

	code, out, _ = runCLI("contract", "lint", good, asyncapi, broken)
	if code != exitFindings {
		t.Errorf("lint with broken contracts exited %d, want %d", code, exitFindings)
	}
	for _, w := range []string{asyncapi + ":1:11: error: this is AsyncAPI 2.6.0", broken + ":12:", "FAIL " + broken} {
		if !strings.Contains(out, w) {
			t.Errorf("lint output lacks %q:\n%s", w, out)
		}
	}

	code, out, _ = runCLI("contract", "lint", "--format", "json", good, broken)
	if code != exitFindings {
		t.Errorf("json lint exited %d, want %d", code, exitFindings)
	}
	var results []lintResult
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("json output does not parse: %v\n%s", err, out)
	}
	if len(results) != 2 || results[0].Operations != 6 || len(results[1].Errors) != 1 || results[1].Errors[0].Line != 12 {
		t.Errorf("json results %+v", results)
	}
}

func TestContractExample(t *testing.T) {
	const file = "../../contracts/testdata/petstore.yaml"
	code, out, errs := runCLI("contract", "example", file, "--operation", "createPet", "--seed", "3")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, w := range []string{"# request (synthesised)", "POST https://eu.pets.example.com/v1/pets", "Authorization: Bearer", "# response 201", "# response 422"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	_, again, _ := runCLI("contract", "example", file, "--operation", "createPet", "--seed", "3")
	if again != out {
		t.Error("the same seed printed a different example")
	}
	code, _, errs = runCLI("contract", "example", file, "--operation", "nosuch")
	if code != exitCannot || !strings.Contains(errs, "it has listPets, createPet") {
		t.Errorf("unknown operation: exit %d, %q", code, errs)
	}
	code, out, _ = runCLI("contract", "example", "--format", "json", file, "--operation", "getPet")
	var got exampleOutput
	if code != exitOK || json.Unmarshal([]byte(out), &got) != nil || got.Request.Method != "GET" || len(got.Responses) != 1 {
		t.Errorf("json example: exit %d, %s", code, out)
	}
	code, out, _ = runCLI("contract", "example", "--format", "json", file, "--operation", "createPet")
	if code != exitOK || !strings.Contains(out, `"body": {`) || !strings.Contains(out, `"kind": "`) {
		t.Errorf("json example bodies are not embedded as JSON: exit %d\n%s", code, out)
	}
}

func TestContractLintUnreadableFile(t *testing.T) {
	code, out, _ := runCLI("contract", "lint", "../../contracts/testdata/petstore.yaml", "no-such-contract.yaml")
	if code != exitCannot {
		t.Errorf("lint with an unreadable file exited %d, want %d", code, exitCannot)
	}
	if !strings.Contains(out, "no-such-contract.yaml: error: cannot read the contract: open no-such-contract.yaml: no such file or directory") {
		t.Errorf("output does not say why the file could not be read:\n%s", out)
	}
}

func TestCounted(t *testing.T) {
	for n, want := range map[int]string{0: "0 warnings", 1: "1 warning", 2: "2 warnings"} {
		if got := counted(n, "warning"); got != want {
			t.Errorf("counted(%d) = %q, want %q", n, got, want)
		}
	}
}

// A command that does not end after a signal is ended, with exitCannot
// and a message, once the grace period is over.
func TestEndAfterSignalGrace(t *testing.T) {
	var stderr bytes.Buffer
	code := -1
	start := time.Now()
	endAfter(20*time.Millisecond, &stderr, func(c int) { code = c })
	if code != exitCannot || !strings.Contains(stderr.String(), "did not end within 20ms") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Errorf("ended before the grace period")
	}
}
