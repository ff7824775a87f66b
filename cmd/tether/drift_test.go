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

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/sandbox"
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

// TestDriftCredentialKinds sends each kind of credential a manifest
// declares as the vendor takes it, from environment variables, and keeps
// it out of what is printed and of a rewritten cassette even where the
// vendor echoes it.
func TestDriftCredentialKinds(t *testing.T) {
	type seen struct{ auth, query, cookie, header string }
	tests := []struct {
		name, credential string
		vars             map[string]string
		check            func(s seen) bool
		secret           string
	}{
		{"api key in a query", `{kind: api-key, in: query, name: api_key, secret: crm_key}`, map[string]string{"CRM_KEY": "live-query-key"},
			func(s seen) bool { return s.query == "live-query-key" && s.auth == "" }, "live-query-key"},
		{"api key in a header", `{kind: api-key, in: header, name: X-Api-Key, secret: crm_key}`, map[string]string{"CRM_KEY": "live-header-key"},
			func(s seen) bool { return s.header == "live-header-key" }, "live-header-key"},
		{"api key in a cookie", `{kind: api-key, in: cookie, name: session, secret: crm_key}`, map[string]string{"CRM_KEY": "live-cookie-key"},
			func(s seen) bool { return s.cookie == "live-cookie-key" }, "live-cookie-key"},
		{"basic", `{kind: basic, user: crm_user, password: crm_password}`, map[string]string{"CRM_USER": "acct", "CRM_PASSWORD": "live-password"},
			func(s seen) bool { return s.auth == "Basic YWNjdDpsaXZlLXBhc3N3b3Jk" }, "live-password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seen
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s.auth, s.query, s.header = r.Header.Get("Authorization"), r.URL.Query().Get("api_key"), r.Header.Get("X-Api-Key")
				if c, err := r.Cookie("session"); err == nil {
					s.cookie = c.Value
				}
				w.Header().Set("Content-Type", "application/json")
				// The vendor echoes the credential, in a field the
				// cassette did not have: drift and --record must not
				// keep it.
				fmt.Fprintf(w, `{"id":"deal_9","amount":7,"echo":%q,"auth":%q,"query":%q}`, tt.secret, r.Header.Get("Authorization"), r.URL.RawQuery)
			}))
			defer srv.Close()
			dir := driftConnector(t)
			manifestWith(t, dir, tt.credential)
			code, stdout, stderr := runCLIEnv(tt.vars, "drift", dir, "--vendor", "crm="+srv.URL+"/v2", "--record", "--format", "json")
			if code != exitFindings || !tt.check(s) {
				t.Fatalf("exit %d, vendor saw %+v\n%s%s", code, s, stdout, stderr)
			}
			data, err := os.ReadFile(filepath.Join(dir, "cassettes", "deal.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if out := stdout + stderr + string(data); strings.Contains(out, tt.secret) || s.auth != "" && strings.Contains(out, strings.TrimPrefix(s.auth, "Basic ")) {
				t.Errorf("the credential was printed or written:\n%s", out)
			}
			if !strings.Contains(string(data), "REDACTED") {
				t.Errorf("the rewritten cassette does not hold the echo, redacted:\n%s", data)
			}
		})
	}
}

// TestDriftOAuth2 gets its tokens from a sandbox's authorization server
// with the client credentials from the environment.
func TestDriftOAuth2(t *testing.T) {
	// The drift tests' contract, behind an OAuth2 client-credentials flow.
	contract := strings.Replace(driftContract, "paths:", `components:
  securitySchemes:
    oauth:
      type: oauth2
      flows:
        clientCredentials: {tokenUrl: "https://auth.crm.example/oauth/token", scopes: {deals: read deals}}
security: [{oauth: [deals]}]
paths:`, 1)
	c, err := contracts.Parse("crm.yaml", []byte(contract))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.Start([]sandbox.Vendor{{Name: "crm", Contract: c}}, sandbox.Stateless(),
		sandbox.WithTenant("acme", sandbox.OAuth2Client("drift-client", "live-client-secret", "deals")))
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	tokenURL, _, err := sb.OAuth2Endpoints("crm")
	if err != nil {
		t.Fatal(err)
	}
	dir := driftConnector(t)
	if err := os.WriteFile(filepath.Join(dir, "contracts", "crm.yaml"), []byte(contract), 0o644); err != nil {
		t.Fatal(err)
	}
	manifestWith(t, dir, `{kind: oauth2, grant: client_credentials, client_id: crm_client, client_secret: crm_client_secret}`)
	vars := map[string]string{"CRM_CLIENT": "drift-client", "CRM_CLIENT_SECRET": "live-client-secret"}

	code, stdout, stderr := runCLIEnv(vars, "drift", dir, "--vendor", "crm="+sb.VendorURL("crm"), "--token-url", tokenURL)
	if code != exitOK || !strings.Contains(stdout, "1 interactions checked") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "live-client-secret") {
		t.Error("the client secret was printed")
	}
	// The sandbox does check the token: a call without one is refused.
	if resp, err := http.Get(sb.VendorURL("crm") + "/deals/4207"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a call without a token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// Without --token-url the contract's token URL is used: a host that
	// does not exist here, named in the error.
	code, _, stderr = runCLIEnv(vars, "drift", dir, "--vendor", "crm="+sb.VendorURL("crm"))
	if code != exitCannot || !strings.Contains(stderr, "auth.crm.example") {
		t.Errorf("the contract's token URL: exit %d\n%s", code, stderr)
	}
	// The client secret goes over HTTPS, or HTTP to this machine only.
	code, _, stderr = runCLIEnv(vars, "drift", dir, "--vendor", "crm="+sb.VendorURL("crm"), "--token-url", "http://auth.crm.example/oauth/token")
	if code != exitCannot || !strings.Contains(stderr, "only over HTTPS") {
		t.Errorf("a token URL in clear: exit %d\n%s", code, stderr)
	}
	// A wrong secret is refused by the authorization server.
	code, _, stderr = runCLIEnv(map[string]string{"CRM_CLIENT": "drift-client", "CRM_CLIENT_SECRET": "wrong"}, "drift", dir,
		"--vendor", "crm="+sb.VendorURL("crm"), "--token-url", tokenURL)
	if code != exitCannot || strings.Contains(stderr, "wrong") {
		t.Errorf("a wrong client secret: exit %d\n%s", code, stderr)
	}
}

func TestContractTokenURL(t *testing.T) {
	const contract = `openapi: 3.1.0
info: {title: crm, version: "1"}
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows:
        authorizationCode: {authorizationUrl: /oauth2/authorize, tokenUrl: /oauth2/v1/token, scopes: {}}
paths: {}
`
	c, err := contracts.Parse("crm.yaml", []byte(contract))
	if err != nil {
		t.Fatal(err)
	}
	got, err := contractTokenURL(c, "authorizationCode", "https://api.crm.example/v2")
	if err != nil || got != "https://api.crm.example/oauth2/v1/token" {
		t.Errorf("relative token URL: %q, %v", got, err)
	}
	if _, err := contractTokenURL(c, "clientCredentials", "https://api.crm.example"); err == nil {
		t.Error("a flow the contract lacks gave a token URL")
	}
	for _, tc := range []struct {
		token, base string
		ok          bool
	}{
		{"https://api.crm.example/oauth2/v1/token", "https://api.crm.example/v2", true},
		{"https://auth.crm.example/token", "https://api.crm.example/v2", true},
		{"https://collector.attacker.example/steal", "https://api.crm.example/v2", false},
		{"http://127.0.0.1:5077/steal", "https://api.crm.example/v2", false},
		{"http://127.0.0.1:5077/token", "http://127.0.0.1:5077/crm", true},
	} {
		if err := sameHost(tc.token, tc.base); (err == nil) != tc.ok {
			t.Errorf("sameHost(%s, %s) = %v, want ok %v", tc.token, tc.base, err, tc.ok)
		}
	}
}

// manifestWith declares cred as the crm vendor's credential.
func manifestWith(t *testing.T, dir, cred string) {
	t.Helper()
	p := filepath.Join(dir, "connector.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Replace(string(data), "secret: crm_token}", "credential: "+cred+"}", 1)
	if out == string(data) {
		t.Fatal("the test manifest has no crm secret to replace")
	}
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}
