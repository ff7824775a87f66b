package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// waitFor polls out until re matches, and returns the match. A large
// contract under the race detector on a busy machine takes a while to
// start, so it waits up to a minute.
func waitFor(t *testing.T, out *syncBuffer, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s in the output:\n%s", re, out.String())
	return nil
}

func TestSandboxServe(t *testing.T) {
	dir := t.TempDir()
	faults := filepath.Join(dir, "faults.yaml")
	if err := os.WriteFile(faults, []byte("seed: 4\nfaults:\n  - {kind: status, status: 503, operation: createDeal, first: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuffer
	stop := make(chan struct{})
	env := &environ{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, interrupted: stop}
	done := make(chan int)
	go func() {
		done <- run(env, []string{"sandbox", "serve", "--contract", "crm=../../sandbox/testdata/crm.yaml",
			"--cassettes", "../../sandbox/testdata/crm_deals.yaml", "--faults", faults, "--port", "0"})
	}()
	base := waitFor(t, &out, regexp.MustCompile(`crm +(http://127\.0\.0\.1:\d+/crm/v2) `))[1]
	waitFor(t, &out, regexp.MustCompile(`admin +http://.*/__tether/`))

	req, _ := http.NewRequest("GET", base+"/deals/d_7", nil)
	req.Header.Set("Authorization", "Bearer t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /deals/d_7 = %d", resp.StatusCode)
	}
	waitFor(t, &out, regexp.MustCompile(`crm GET /v2/deals/d_7 200 cassette [0-9.]+ms getDeal`))

	req, _ = http.NewRequest("POST", base+"/deals", strings.NewReader(`{"name":"n","amount":-1}`))
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("POST /deals under the fault file = %d, want 503", resp.StatusCode)
	}
	waitFor(t, &out, regexp.MustCompile(`crm POST /v2/deals 503 fault .* createDeal fault=".*503.*"\n +request-body-invalid: `))

	close(stop)
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after Ctrl-C, want 0; stderr:\n%s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox serve did not stop on Ctrl-C")
	}
	if !strings.Contains(out.String(), "stopping") {
		t.Errorf("no word of stopping:\n%s", out.String())
	}
}

func TestSandboxServeRefuses(t *testing.T) {
	dir := t.TempDir()
	badFaults := filepath.Join(dir, "faults.yaml")
	os.WriteFile(badFaults, []byte("faults:\n  - kind: status\n    status: 99\n"), 0o644)
	tests := []struct {
		reason string
		args   []string
		want   string
	}{
		{"no contract", []string{"sandbox", "serve"}, "--contract is required"},
		{"an unknown subcommand", []string{"sandbox", "run"}, `unknown subcommand "run"`},
		{"a missing contract file", []string{"sandbox", "serve", "--contract", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{"a bad fault file names file and line", []string{"sandbox", "serve", "--contract", "../../sandbox/testdata/crm.yaml", "--faults", badFaults}, "faults.yaml:2"},
		{"a bad port", []string{"sandbox", "serve", "--contract", "x.yaml", "--port", "70000"}, "--port 70000"},
		{"an overlay for an unknown vendor", []string{"sandbox", "serve", "--contract", "../../sandbox/testdata/crm.yaml", "--overlay", "erp=../../contracts/overlays/github.overlay.yaml"}, `no vendor "erp"`},
		{"an overlay that is not one names its file", []string{"sandbox", "serve", "--contract", "../../sandbox/testdata/crm.yaml", "--overlay", "../../sandbox/testdata/crm.yaml"}, "crm.yaml:1: not an OpenAPI Overlay"},
		{"a cassette for an unknown vendor", []string{"sandbox", "serve", "--contract", "../../sandbox/testdata/crm.yaml", "--cassettes", "erp=" + dir}, `no vendor "erp"`},
	}
	for _, tc := range tests {
		code, _, errs := runCLI(tc.args...)
		if code != exitCannot || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tc.reason, code, errs, tc.want)
		}
	}
	code, out, _ := runCLI("sandbox", "serve", "--help")
	if code != exitOK || !strings.Contains(out, "Fault file example") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}

func TestSandboxServeTenants(t *testing.T) {
	var out, errb syncBuffer
	stop := make(chan struct{})
	env := &environ{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, interrupted: stop}
	done := make(chan int)
	go func() {
		done <- run(env, []string{"sandbox", "serve", "--contract", "crm.v2=../../sandbox/testdata/crm.yaml", "--port", "0",
			"--tenant", "acme=bearer:acme-token;deals:read", "--tenant", "acme=basic:acme:pw", "--tenant", "globex=api-key:globex-key"})
	}()
	defer func() { close(stop); <-done }()
	base := waitFor(t, &out, regexp.MustCompile(`crm\.v2 +(http://127\.0\.0\.1:\d+/crm\.v2/v2) `))[1]
	tests := []struct {
		reason, method, path, header, value string
		status                              int
	}{
		{"a token with the scope", "GET", "/deals", "Authorization", "Bearer acme-token", 200},
		{"a token without the scope", "POST", "/deals", "Authorization", "Bearer acme-token", 403},
		{"an unknown token", "GET", "/deals", "Authorization", "Bearer nobody", 401},
		{"basic credentials of acme", "GET", "/reports", "Authorization", "Basic YWNtZTpwdw==", 200},
		{"the API key of globex", "GET", "/deals/d_1", "X-Api-Key", "globex-key", 200},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(`{"name":"n","amount":1}`))
		req.Header.Set(tc.header, tc.value)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.reason, resp.StatusCode, tc.status)
		}
	}
	for _, bad := range []string{"acme", "acme=token:x", "acme=basic:nopassword", "acme=bearer:"} {
		code, _, errs := runCLI("sandbox", "serve", "--contract", "../../sandbox/testdata/crm.yaml", "--tenant", bad)
		if code != exitCannot || !strings.Contains(errs, "--tenant") {
			t.Errorf("--tenant %s: exit %d, %s", bad, code, errs)
		}
	}
}

// serveFor starts tether sandbox serve with the environment vars and
// extra arguments, and returns its output, its error output and its root
// URL; it stops at the end of the test.
func serveFor(t *testing.T, vars map[string]string, args ...string) (out, errb *syncBuffer, root string) {
	t.Helper()
	out, errb = &syncBuffer{}, &syncBuffer{}
	stop := make(chan struct{})
	env := &environ{stdout: out, stderr: errb, getenv: func(k string) string { return vars[k] }, interrupted: stop}
	done := make(chan int)
	go func() {
		done <- run(env, append([]string{"sandbox", "serve", "--contract", "crm=../../sandbox/testdata/crm.yaml", "--port", "0"}, args...))
	}()
	t.Cleanup(func() { close(stop); <-done })
	root = waitFor(t, out, regexp.MustCompile(`admin +(http://127\.0\.0\.1:\d+)/__tether/`))[1]
	return out, errb, root
}

// adminStatus is the status of GET /__tether/journal with token.
func adminStatus(t *testing.T, root, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", root+"/__tether/journal", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSandboxServeAdminToken is the CLI's part of the admin credential and
// of redaction: serve prints the token it made once, takes one from
// TETHER_ADMIN_TOKEN without printing it, and prints no credential in its
// call lines.
func TestSandboxServeAdminToken(t *testing.T) {
	out, _, root := serveFor(t, nil, "--tenant", "acme=api-key:acme-query-key-1")
	m := waitFor(t, out, regexp.MustCompile(`admin token +(tsa_[A-Za-z0-9_-]{43}) `))
	token := m[1]
	if st := adminStatus(t, root, token); st != http.StatusOK {
		t.Errorf("the printed token: %d, want 200", st)
	}
	if st := adminStatus(t, root, ""); st != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", st)
	}
	for _, key := range []string{"acme-query-key-1", "a-wrong-guess-1"} {
		resp, err := http.Get(root + "/crm/v2/reports?api_key=" + key)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	waitFor(t, out, regexp.MustCompile(`crm GET /v2/reports\?api_key=REDACTED-[0-9a-f]{12} 401 `))
	waitFor(t, out, regexp.MustCompile(`crm GET /v2/reports\?api_key=REDACTED-[0-9a-f]{12}\(acme/api-key\) 200 `))
	text := out.String()
	if n := strings.Count(text, token); n != 1 {
		t.Errorf("the admin token is printed %d times, want once:\n%s", n, text)
	}
	for _, secret := range []string{"acme-query-key-1", "a-wrong-guess-1"} {
		if strings.Contains(text, secret) {
			t.Errorf("the output holds %q in clear:\n%s", secret, text)
		}
	}

	chosen := "a-token-from-the-environment"
	out, _, root = serveFor(t, map[string]string{"TETHER_ADMIN_TOKEN": chosen})
	waitFor(t, out, regexp.MustCompile(`admin token +from TETHER_ADMIN_TOKEN`))
	if strings.Contains(out.String(), chosen) || strings.Contains(out.String(), "tsa_") {
		t.Errorf("a token from the environment was printed:\n%s", out.String())
	}
	if st := adminStatus(t, root, chosen); st != http.StatusOK {
		t.Errorf("the token from the environment: %d, want 200", st)
	}

	code, _, errs := runCLIEnv(map[string]string{"TETHER_ADMIN_TOKEN": "short"}, "sandbox", "serve", "--contract", "../../sandbox/testdata/crm.yaml", "--port", "0")
	if code != exitCannot || !strings.Contains(errs, "TETHER_ADMIN_TOKEN must hold at least 16") || strings.Contains(errs, "short\"") {
		t.Errorf("a short TETHER_ADMIN_TOKEN: exit %d, %s; want 2 and the rule, without the token", code, errs)
	}
}

// An --overlay changes what the sandbox serves, and the departures it
// allows are printed with each call.
func TestSandboxServeOverlay(t *testing.T) {
	dir := t.TempDir()
	ov := filepath.Join(dir, "crm.overlay.yaml")
	if err := os.WriteFile(ov, []byte("overlay: 1.0.0\ninfo: {title: crm as served, version: '1'}\nactions:\n  - target: $.paths['/deals/{id}'].get\n    update: {x-tether-form-post: true}\n  - target: $.paths['/no/such'].get\n    update: {x-tether-form-post: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errb, _ := serveFor(t, nil, "--overlay", ov)
	base := waitFor(t, out, regexp.MustCompile(`crm +(http://127\.0\.0\.1:\d+/crm/v2) `))[1]

	req, _ := http.NewRequest("POST", base+"/deals/d_7", strings.NewReader(""))
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("POST /deals/d_7 with the overlay = %d, want 200 as its GET", resp.StatusCode)
	}
	waitFor(t, out, regexp.MustCompile(`crm POST /v2/deals/d_7 200 .*\n +overlay-departure: `))
	// The action that matches nothing is said at start: the contract
	// changed under the overlay.
	if !strings.Contains(errb.String(), "crm.overlay.yaml:6:") || !strings.Contains(errb.String(), "warning [overlay-target-unmatched]") {
		t.Errorf("stderr does not name the unmatched action:\n%s", errb.String())
	}
}

func TestSandboxServeOAuth2(t *testing.T) {
	var out, errb syncBuffer
	stop := make(chan struct{})
	env := &environ{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, interrupted: stop}
	done := make(chan int)
	go func() {
		done <- run(env, []string{"sandbox", "serve", "--contract", "widgets=../../sandbox/testdata/widgets_oauth.yaml", "--port", "0",
			"--tenant", "acme=oauth2:acme-app:acme-secret-1;widgets:read", "--token-ttl", "90s", "--refresh-rotation"})
	}()
	defer func() { close(stop); <-done }()
	tokenURL := waitFor(t, &out, regexp.MustCompile(`widgets: oauth2 token +(http://127\.0\.0\.1:\d+/widgets/oauth/token)\n`))[1]
	waitFor(t, &out, regexp.MustCompile(`widgets: oauth2 authorize +http://127\.0\.0\.1:\d+/widgets/authorize\n`))
	base := waitFor(t, &out, regexp.MustCompile(`widgets +(http://127\.0\.0\.1:\d+/widgets/v1) `))[1]

	req, _ := http.NewRequest("POST", tokenURL, strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("acme-app", "acme-secret-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" || tok.ExpiresIn != 90 {
		t.Fatalf("client credentials: %d %+v, want a token for 90s", resp.StatusCode, tok)
	}
	req, _ = http.NewRequest("GET", base+"/widgets", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /widgets with the token: %d", resp.StatusCode)
	}
	waitFor(t, &out, regexp.MustCompile(`widgets POST /oauth/token 200 oauth2 [0-9.]+ms tenant=acme`))
	if strings.Contains(out.String(), tok.AccessToken) || strings.Contains(out.String(), "acme-secret-1") {
		t.Errorf("the output shows the token or the client secret:\n%s", out.String())
	}
}

func TestSandboxServeTenantSyntax(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{"acme", "write NAME=CREDENTIAL"},
		{"=bearer:x", "write NAME=CREDENTIAL"},
		{"acme=oauth2:", "oauth2 needs CLIENT_ID:CLIENT_SECRET"},
		{"acme=oauth2:app", "oauth2 needs CLIENT_ID:CLIENT_SECRET"},
		{"acme=oauth2::secret-123", "oauth2 needs CLIENT_ID:CLIENT_SECRET"},
		{"acme=oauth2:app:", "oauth2 credential is empty"},
		{"acme=oauth2:app:;read", "oauth2 credential is empty"},
		{"acme=oauth2:app:secret-123;read,,write", "comma-separated list"},
		{"acme=oauth2:app:secret-123;read write", "comma-separated list"},
		{"acme=bearer:tok-123;a,", "comma-separated list"},
		{"acme=oauth:app:secret-123", "must start with bearer:, api-key:, basic: or oauth2:"},
	} {
		_, _, err := parseTenant(tc.arg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--tenant %s: %v, want %q", tc.arg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-123") {
			t.Errorf("--tenant %s: the error shows the secret: %v", tc.arg, err)
		}
	}
	name, c, err := parseTenant("acme=oauth2:acme-app:s3cr:et;read,write")
	if err != nil || name != "acme" || c.String() != `oauth2-client "acme-app" [read write]` {
		t.Errorf("a good oauth2 credential: %q %v %v", name, c, err)
	}
	// A start with a bad one stops with exit 2 naming the flag.
	code, _, errs := runCLI("sandbox", "serve", "--contract", "../../sandbox/testdata/widgets_oauth.yaml", "--tenant", "acme=oauth2:app")
	if code != exitCannot || !strings.Contains(errs, "--tenant") {
		t.Errorf("a bad --tenant: exit %d, %s", code, errs)
	}
	code, _, errs = runCLI("sandbox", "serve", "--contract", "../../sandbox/testdata/widgets_oauth.yaml", "--token-ttl", "10ms")
	if code != exitCannot || !strings.Contains(errs, "--token-ttl") {
		t.Errorf("a token TTL under a second: exit %d, %s", code, errs)
	}
	code, out, _ := runCLI("sandbox", "serve", "--help")
	if code != exitOK || !strings.Contains(out, "--token-ttl") || !strings.Contains(out, "--refresh-rotation") || !strings.Contains(out, "oauth2:CLIENT_ID:CLIENT_SECRET") {
		t.Errorf("--help does not document the OAuth2 flags:\n%s", out)
	}
}

// FuzzParseTenant feeds --tenant values to the parser: it must never
// panic, never show a secret in an error, and what it accepts has the
// name before the first '='.
func FuzzParseTenant(f *testing.F) {
	for _, s := range []string{"acme=bearer:tok;a,b", "acme=api-key:k", "acme=basic:u:p", "acme=oauth2:app:sec;read,write",
		"acme=oauth2:app:sec", "acme=oauth2::", "=", "a=b", "acme=oauth2:a:b:c;;", "x=bearer:;", "\xff=oauth2:\x00:\x01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		name, c, err := parseTenant(arg)
		if err != nil {
			if name != "" {
				t.Errorf("an error with a name %q", name)
			}
			before, cred, _ := strings.Cut(arg, "=")
			_, secret, _ := strings.Cut(cred, ":")
			if len(secret) >= 16 && !strings.Contains(before, secret) && !strings.Contains(sandboxHelp, secret) && strings.Contains(err.Error(), secret) {
				t.Errorf("%q: the error shows the secret: %v", arg, err)
			}
			return
		}
		if before, _, _ := strings.Cut(arg, "="); before != name || name == "" {
			t.Errorf("%q: name %q, want %q", arg, name, before)
		}
		if c.String() == "" {
			t.Errorf("%q: a credential with no kind", arg)
		}
	})
}
