package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const driftContract = `openapi: 3.1.0
info: {title: crm, version: "1"}
servers: [{url: "https://api.crm.example/v2"}]
webhooks:
  deal.updated:
    post:
      requestBody: {content: {application/json: {schema: {type: object}}}}
      responses: {"200": {description: taken}}
paths:
  /deals/{id}:
    get:
      operationId: getDeal
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: a deal
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: string}
                  amount: {type: integer}
`

const driftCassette = `version: 2
interactions:
  - id: 0
    request:
      method: GET
      url: https://api.crm.example/v2/deals/4207
      headers:
        Authorization: ["[REDACTED]"]
    response:
      code: 200
      status: 200 OK
      headers:
        Content-Type: [application/json]
      body: '{"id":"deal_1","amount":5}'
`

// driftConnector writes a connector directory whose crm cassette holds one
// GET of a deal.
func driftConnector(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"contracts/crm.yaml":  driftContract,
		"cassettes/deal.yaml": driftCassette,
		"connector.yaml": `name: dealnotify
version: 1.0.0
summary: drift command tests
support: stable
vendors:
  crm: {contract: contracts/crm.yaml, secret: crm_token}
events: {contract: contracts/crm.yaml}
scopes: []
run: {webhook: /events}
`,
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// crmVendor answers the deal with amount as body says, and records the
// credential it was given.
func crmVendor(t *testing.T, body string, auth *string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*auth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDriftCommand(t *testing.T) {
	var auth string
	same := crmVendor(t, `{"id":"deal_9","amount":7}`, &auth)
	retyped := crmVendor(t, `{"id":"deal_9","amount":"7"}`, &auth)
	vars := map[string]string{"CRM_TOKEN": "live-secret"}
	cassette := func(dir string) string {
		data, err := os.ReadFile(filepath.Join(dir, "cassettes", "deal.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}

	dir := driftConnector(t)
	code, stdout, stderr := runCLIEnv(vars, "drift", dir, "--vendor", "crm="+same.URL+"/v2")
	if code != exitOK || !strings.Contains(stdout, "1 interactions checked") {
		t.Errorf("no drift: exit %d\n%s%s", code, stdout, stderr)
	}
	if auth != "Bearer live-secret" {
		t.Errorf("credential sent %q, want the one from CRM_TOKEN", auth)
	}
	if strings.Contains(stdout+stderr, "live-secret") {
		t.Error("the credential was printed")
	}

	code, stdout, stderr = runCLIEnv(vars, "drift", dir, "--vendor", "crm="+retyped.URL+"/v2", "--format", "json")
	var res struct {
		Findings []struct{ ID, Path string }
	}
	if code != exitFindings || json.Unmarshal([]byte(stdout), &res) != nil || len(res.Findings) == 0 {
		t.Fatalf("drift, json: exit %d\n%s%s", code, stdout, stderr)
	}
	if cassette(dir) != driftCassette {
		t.Error("the cassette was written without --record")
	}

	code, stdout, _ = runCLIEnv(vars, "drift", dir, "--vendor", "crm="+retyped.URL+"/v2", "--format", "githubactions")
	if code != exitFindings || !strings.Contains(stdout, "::error file=cassettes/deal.yaml,line=3,title=cassette-drift::getDeal: ") {
		t.Errorf("githubactions: exit %d\n%s", code, stdout)
	}

	code, stdout, stderr = runCLIEnv(vars, "drift", dir, "--vendor", "crm="+retyped.URL+"/v2", "--record")
	if code != exitFindings || !strings.Contains(stdout, "rewrote cassettes/deal.yaml") {
		t.Errorf("--record: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := cassette(dir); !strings.Contains(got, `\"amount\":\"7\"`) && !strings.Contains(got, `"amount":"7"`) {
		t.Errorf("rewritten cassette lacks the live answer:\n%s", got)
	}
	// The cassette now agrees with the vendor; the vendor still breaks
	// the contract.
	code, stdout, _ = runCLIEnv(vars, "drift", dir, "--vendor", "crm="+retyped.URL+"/v2")
	if code != exitFindings || strings.Contains(stdout, "cassette-drift") || !strings.Contains(stdout, "live-contract-violation") {
		t.Errorf("after --record: exit %d\n%s", code, stdout)
	}
}

func TestDriftCommandCannotRun(t *testing.T) {
	dir := driftConnector(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	vars := map[string]string{"CRM_TOKEN": "t"}
	for _, tc := range []struct {
		reason string
		vars   map[string]string
		args   []string
		want   string
	}{
		{"the credential variable is unset", nil, []string{dir, "--vendor", "crm=" + deadURL}, "the credential variable CRM_TOKEN is not set"},
		{"nothing listens at the URL", vars, []string{dir, "--vendor", "crm=" + deadURL}, "unreachable"},
		{"no --vendor", vars, []string{dir}, "--vendor NAME=BASE_URL"},
		{"a vendor the manifest lacks", vars, []string{dir, "--vendor", "chat=" + deadURL}, `no vendor "chat"`},
		{"an unknown format", vars, []string{dir, "--vendor", "crm=" + deadURL, "--format", "xml"}, `--format "xml"`},
	} {
		code, stdout, stderr := runCLIEnv(tc.vars, append([]string{"drift"}, tc.args...)...)
		if code != exitCannot || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, want %d and %q\n%s%s", tc.reason, code, exitCannot, tc.want, stdout, stderr)
		}
	}
}

func TestDriftCredentialVariable(t *testing.T) {
	for secret, want := range map[string]string{
		"crm_token":   "CRM_TOKEN",
		"Stripe_Key2": "STRIPE_KEY2",
	} {
		if got := credentialVariable(secret); got != want {
			t.Errorf("credentialVariable(%q) = %q, want %q", secret, got, want)
		}
	}
}
