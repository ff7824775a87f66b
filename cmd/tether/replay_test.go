package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

const replaySecret = "whsec-cli-test-secret"

// chatCassette answers the two chat messages the deal connector sends for
// the two events below.
const chatCassette = `---
version: 2
interactions:
    - id: 0
      request:
        body: '{"channel":"deals","text":"deal 42 is won"}'
        headers:
            Content-Type:
                - application/json
        url: https://chat.example.com/api/messages
        method: POST
      response:
        body: '{"ok":true,"ts":"1.1"}'
        headers:
            Content-Type:
                - application/json
        status: 200 OK
        code: 200
    - id: 1
      request:
        body: '{"channel":"deals","text":"deal 7 is lost"}'
        headers:
            Content-Type:
                - application/json
        url: https://chat.example.com/api/messages
        method: POST
      response:
        body: '{"ok":true,"ts":"1.2"}'
        headers:
            Content-Type:
                - application/json
        status: 200 OK
        code: 200
`

const dealEvents = `- name: deal.updated
  body: {id: 42, stage: won}
- name: deal.updated
  body: {id: 7, stage: lost}
`

// cliConnector is a black-box connector for the CLI tests: it checks the
// signature, then posts to the chat vendor at *vendor. vendorErrors counts
// vendor answers that were not 200.
func cliConnector(t *testing.T, vendor *string, vendorErrors *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(replaySecret))
		mac.Write(body)
		if r.Header.Get("X-Crm-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var deal struct {
			ID    int    `json:"id"`
			Stage string `json:"stage"`
		}
		json.Unmarshal(body, &deal)
		msg := fmt.Sprintf(`{"channel":"deals","text":"deal %d is %s"}`, deal.ID, deal.Stage)
		resp, err := http.Post(*vendor+"/api/messages", "application/json", strings.NewReader(msg))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			vendorErrors.Add(1)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// freeAddr returns a local address nothing listens on, for --listen: the
// connector must know the vendor stand-in's address before replay starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func runCLIEnv(vars map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	env := &environ{stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }}
	code = run(env, args)
	return code, out.String(), errb.String()
}

func TestReplayAgainstGolden(t *testing.T) {
	dir := t.TempDir()
	cassette := filepath.Join(dir, "chat.yaml")
	events := filepath.Join(dir, "deals.yaml")
	golden := filepath.Join(dir, "golden")
	for path, text := range map[string]string{cassette: chatCassette, events: dealEvents} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	vendor := "http://" + addr
	var vendorErrors atomic.Int32
	conn := cliConnector(t, &vendor, &vendorErrors)
	vars := map[string]string{"CRM_SECRET": replaySecret}
	args := []string{"replay", "--cassette", cassette, "--events", events, "--target", conn.URL + "/events",
		"--listen", addr, "--secret-env", "CRM_SECRET", "--signature-header", "X-Crm-Signature", "--signature-prefix", "sha256=",
		"--golden", golden}
	goldenFile := filepath.Join(golden, "deals.golden.json")

	code, out, errs := runCLIEnv(vars, args...)
	if code != exitCannot || !strings.Contains(errs, "--update") {
		t.Errorf("no golden file yet: exit %d, %s%s; want 2 and a hint to --update", code, out, errs)
	}

	code, out, errs = runCLIEnv(vars, append(args, "--update")...)
	if code != exitOK {
		t.Fatalf("--update exited %d:\n%s%s", code, out, errs)
	}
	for _, w := range []string{"2 deliveries", "event 1 deal.updated -> 202", "2 vendor calls", "wrote " + goldenFile} {
		if !strings.Contains(out, w) {
			t.Errorf("--update output lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(errs, "https://chat.example.com answered at "+vendor) {
		t.Errorf("the stand-in's address is not printed:\n%s", errs)
	}
	data, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "Content-Length") || strings.Contains(string(data), "Go-http-client") {
		t.Errorf("golden file keeps a header the HTTP library added:\n%s", data)
	}
	if !strings.Contains(string(data), "deal 42 is won") || !strings.Contains(string(data), "https://chat.example.com/api/messages") {
		t.Errorf("golden file holds:\n%s", data)
	}

	code, out, errs = runCLIEnv(vars, args...)
	if code != exitOK || !strings.Contains(out, "calls as in "+goldenFile) {
		t.Errorf("replay against its own golden: exit %d:\n%s%s", code, out, errs)
	}

	// A connector change the golden file catches.
	if err := os.WriteFile(goldenFile, bytes.Replace(data, []byte("deal 7 is lost"), []byte("deal 7 was lost"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCLIEnv(vars, args...)
	if code != exitFindings || !strings.Contains(out, "FAIL 1 differences") || !strings.Contains(out, "was lost") {
		t.Errorf("changed golden: exit %d, want 1 and the difference:\n%s%s", code, out, errs)
	}

	// The wrong secret: every event rejected, no vendor call.
	code, out, _ = runCLIEnv(map[string]string{"CRM_SECRET": "wrong"}, append(args, "--update")...)
	if code != exitFindings || !strings.Contains(out, "FAIL event 1 deal.updated -> 401") || !strings.Contains(out, "0 vendor calls") {
		t.Errorf("wrong secret: exit %d, want 1 and 401s:\n%s", code, out)
	}
	if vendorErrors.Load() != 0 {
		t.Errorf("the vendor stand-in failed %d calls", vendorErrors.Load())
	}

	// Duplicates: the cassette answers each message once, so the copies
	// find no answer, and that is reported.
	code, out, _ = runCLIEnv(vars, "replay", "--cassette", cassette, "--events", events, "--target", conn.URL+"/events",
		"--listen", addr, "--secret-env", "CRM_SECRET", "--signature-header", "X-Crm-Signature", "--signature-prefix", "sha256=",
		"--duplicate", "2")
	if code != exitFindings || !strings.Contains(out, "4 deliveries") || !strings.Contains(out, "FAIL no recorded answer") {
		t.Errorf("duplicates: exit %d, want 1 and the unanswered calls:\n%s", code, out)
	}
}

func TestReplayCannotRun(t *testing.T) {
	dir := t.TempDir()
	cassette := filepath.Join(dir, "chat.yaml")
	events := filepath.Join(dir, "deals.yaml")
	badEvents := filepath.Join(dir, "bad.yaml")
	os.WriteFile(cassette, []byte(chatCassette), 0o644)
	os.WriteFile(events, []byte(dealEvents), 0o644)
	os.WriteFile(badEvents, []byte("- name: x\n  body: {a: 1\n"), 0o644)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()

	tests := []struct {
		args   []string
		want   string
		reason string
	}{
		{[]string{"--events", events, "--target", "http://x/"}, "--cassette is required", "no cassette"},
		{[]string{"--cassette", cassette, "--target", "http://x/"}, "--events is required", "no events"},
		{[]string{"--cassette", cassette, "--events", events}, "--target is required", "no target"},
		{[]string{"--cassette", cassette, "--events", events, "--target", "localhost:8080"}, "not an http or https URL", "scheme left out"},
		{[]string{"--cassette", cassette, "--events", events, "--target", "http://x/", "--secret-env", "S"}, "go together", "secret without header"},
		{[]string{"--cassette", cassette, "--events", events, "--target", "http://x/", "--secret-env", "S", "--signature-header", "X-Sig"}, "S is empty", "secret not set"},
		{[]string{"--cassette", cassette, "--events", events, "--target", "http://x/", "--update"}, "--update needs --golden", "update without dir"},
		{[]string{"--cassette", cassette, "--events", events, "--target", "http://x/", "--shuffle", "abc"}, "integer seed", "bad seed"},
		{[]string{"--cassette", cassette, "--events", badEvents, "--target", "http://x/"}, badEvents + ":2", "broken events file, located"},
		{[]string{"--cassette", filepath.Join(dir, "nosuch.yaml"), "--events", events, "--target", "http://x/"}, "nosuch.yaml", "missing cassette"},
		{[]string{"--cassette", cassette, "--events", events, "--target", down.URL + "/events", "--listen", "127.0.0.1:0"}, "did not answer", "connector not running"},
	}
	for _, tt := range tests {
		code, out, errs := runCLI(append([]string{"replay"}, tt.args...)...)
		if code != exitCannot || !strings.Contains(out+errs, tt.want) {
			t.Errorf("replay %v: exit %d, %q; want 2 and %q (%s)", tt.args, code, out+errs, tt.want, tt.reason)
		}
	}

	code, out, _ := runCLI("replay", "--help")
	if code != exitOK || !strings.Contains(out, "tether replay --cassette FILE") || !strings.Contains(out, ".golden.json") {
		t.Errorf("replay --help: exit %d:\n%s", code, out)
	}
	if _, out, _ := runCLI("help"); !strings.Contains(out, "replay") {
		t.Errorf("the overview does not list replay:\n%s", out)
	}
}

func TestGoldenPath(t *testing.T) {
	if got, want := goldenPath("golden", "events/deals.yaml"), filepath.Join("golden", "deals.golden.json"); got != want {
		t.Errorf("goldenPath = %q, want %q", got, want)
	}
}
