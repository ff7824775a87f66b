package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// getWith makes a GET with a bearer token and returns status and body.
func getWith(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSandboxServeState: --state seeds every tenant, --strict-state
// answers an identifier never seen with 404, and the start-up lines say
// what state models per vendor.
func TestSandboxServeState(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.yaml")
	if err := os.WriteFile(file, []byte("crm:\n  deals:\n    - object: {id: d_42, name: From the file, stage: won, amount: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, root := serveFor(t, nil, "--state", file, "--strict-state", "--state-cap", "1MiB", "--quiet")
	// One deal from the contract's list example, one from the file.
	waitFor(t, out, regexp.MustCompile(`(?m)^  crm: state on, 1 resource \(1 stored\), 2 seeded objects$`))
	if st, body := getWith(t, root+"/crm/v2/deals/d_42", "any-token-1"); st != 200 || !strings.Contains(body, "From the file") {
		t.Errorf("GET the deal of the state file: %d %s", st, body)
	}
	if st, body := getWith(t, root+"/crm/v2/deals/d_999", "any-token-1"); st != 404 {
		t.Errorf("GET a deal nobody made, with --strict-state: %d %s, want 404", st, body)
	}
	token := waitFor(t, out, regexp.MustCompile(`admin token +(tsa_\S+) `))[1]
	st, body := getWith(t, root+"/__tether/state?tenant=default", token)
	var m map[string]map[string][]struct {
		Object map[string]any `json:"object"`
	}
	if err := json.Unmarshal([]byte(body), &m); st != 200 || err != nil || len(m["crm"]["deals"]) != 2 {
		t.Errorf("GET /__tether/state: %d %s (%v)", st, body, err)
	}
}

func TestSandboxServeStateless(t *testing.T) {
	out, _, root := serveFor(t, nil, "--stateless", "--quiet")
	waitFor(t, out, regexp.MustCompile(`(?m)^  crm: state off$`))
	token := waitFor(t, out, regexp.MustCompile(`admin token +(tsa_\S+) `))[1]
	if st, body := getWith(t, root+"/__tether/state?tenant=default", token); st != 200 || strings.TrimSpace(body) != "{}" {
		t.Errorf("GET /__tether/state of a stateless sandbox: %d %s, want no vendor", st, body)
	}
}

func TestSandboxServeStateRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noID := write("noid.yaml", "crm:\n  deals:\n    - object: {name: x}\n")
	erp := write("erp.yaml", "erp:\n  things: []\n")
	notJSON := write("samples.json", "{")
	badOverrides := write("crm.model.yaml", "resources: [1]\n")
	crm, tracker := "../../sandbox/testdata/crm.yaml", "../../sandbox/testdata/tracker.yaml"
	// A contract with a broken overrides file beside it.
	crmData, err := os.ReadFile(crm)
	if err != nil {
		t.Fatal(err)
	}
	besideCRM := write("crm.yaml", string(crmData))
	write("crm.yaml.model.yaml", "resources: [1]\n")
	tests := []struct {
		reason string
		args   []string
		want   string
	}{
		{"an object without its identifier", []string{"--contract", crm, "--state", noID}, noID + `:3:15: crm: deals, item 1: the object has no identifier field "id"`},
		{"a vendor not served", []string{"--contract", crm, "--state", erp}, erp + `:1:1: no vendor "erp" is served`},
		{"a missing state file", []string{"--contract", crm, "--state", filepath.Join(dir, "none.yaml")}, "none.yaml: cannot read the state file"},
		{"state and no state", []string{"--contract", crm, "--stateless", "--state", erp}, "--stateless turns state off"},
		{"a cap without a unit we know", []string{"--contract", crm, "--state-cap", "12XB"}, `size "12XB"`},
		{"a cap below a KiB", []string{"--contract", crm, "--state-cap", "12"}, "at least 1024 bytes"},
		{"samples for which vendor", []string{"--contract", crm, "--contract", tracker, "--samples", notJSON}, "--samples " + notJSON + ": name the vendor"},
		{"samples for a vendor not served", []string{"--contract", crm, "--samples", "erp=" + notJSON}, `no vendor "erp"`},
		{"samples that are not JSON", []string{"--contract", crm, "--samples", notJSON}, "samples.json"},
		{"an overrides file that does not load", []string{"--contract", crm, "--overrides", "crm=" + badOverrides}, "crm.model.yaml:1"},
		{"an overrides file beside the contract that does not load", []string{"--contract", besideCRM}, "crm.yaml.model.yaml:1"},
	}
	for _, tc := range tests {
		code, _, errs := runCLI(append([]string{"sandbox", "serve", "--port", "0"}, tc.args...)...)
		if code != exitCannot || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tc.reason, code, errs, tc.want)
		}
	}
	code, out, _ := runCLI("sandbox", "serve", "--help")
	for _, want := range []string{"--state FILE", "--samples [NAME=]FILE", "--state-cap SIZE", "--strict-state", "--stateless", "--overrides [NAME=]FILE",
		"State file example", "keys: {owner: octo, repo: hello}", "stripe: state on"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// TestSandboxServeSamples: identifiers of Stripe's own fixtures give the
// shape of those state makes.
func TestSandboxServeSamples(t *testing.T) {
	dir := os.Getenv("TETHER_CORPUS")
	if dir == "" {
		t.Skip("TETHER_CORPUS is not set; it names the corpus of real vendor material (.ci/run sets it)")
	}
	spec := filepath.Join(dir, "specs", "stripe-spec3-2023-08-16.yaml")
	fixtures := filepath.Join(dir, "specs", "stripe-fixtures3-2023-08-16.json")
	for _, tc := range []struct {
		reason string
		args   []string
		prefix string
	}{
		{"with the fixtures", []string{"--samples", "stripe=" + fixtures}, "cus_"},
		{"without them the contract alone gives no prefix", nil, ""},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			out, _, root := serveFor(t, nil, append([]string{"--contract", "stripe=" + spec, "--quiet"}, tc.args...)...)
			waitFor(t, out, regexp.MustCompile(`(?m)^  stripe: state on, \d+ resources`))
			req, _ := http.NewRequest("POST", root+"/stripe/v1/customers", strings.NewReader("email=ada%40example.com"))
			req.Header.Set("Authorization", "Bearer sk_test_1")
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var c struct {
				ID string `json:"id"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != 200 {
				t.Fatalf("create a customer: %d %v", resp.StatusCode, err)
			}
			if got := strings.HasPrefix(c.ID, "cus_"); got != (tc.prefix != "") {
				t.Errorf("created customer %q: prefix cus_ %v, want %v", c.ID, got, tc.prefix != "")
			}
		})
	}
}
