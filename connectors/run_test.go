package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRunConfig(t *testing.T) {
	good := `{
  "listen": "127.0.0.1:0",
  "vendors": {"crm": "https://api.crm.example/v2"},
  "config": {"stages": ["won"], "min_amount": 10000},
  "secrets": {"crm_token": "t"},
  "token_urls": {"crm": "https://api.crm.example/oauth/token"}
}`
	rc, err := ParseRunConfig("run.json", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if rc.Vendors["crm"] != "https://api.crm.example/v2" || rc.Secrets["crm_token"] != "t" || rc.Config["min_amount"] == nil {
		t.Errorf("parsed %+v", rc)
	}
	env, _, err := rc.Env(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := env.Vendor("crm").TokenURL; got != "https://api.crm.example/oauth/token" {
		t.Errorf("the CRM's token URL is %q", got)
	}
	bad := []struct{ name, data, want string }{
		{"empty", "", "run.json: empty"},
		{"syntax", "{\n  \"vendors\": {\"crm\": \"https://x\"},\n  oops\n}", "run.json:3:3: invalid character 'o'"},
		{"unknown field", "{\n  \"vendors\": {\"crm\": \"https://x\"},\n  \"vendor\": {}\n}", `run.json:3:`},
		{"wrong type", "{\"vendors\": {\"crm\": 7}}", "run.json:1:"},
		{"no vendors", "{\"listen\": \":80\"}", "no vendors"},
		{"not a URL", "{\"vendors\": {\"crm\": \"api.crm.example\"}}", `vendor "crm": base URL "api.crm.example" is not an http or https URL`},
		{"token URL of no vendor", "{\"vendors\": {\"crm\": \"https://x\"}, \"token_urls\": {\"chat\": \"https://y/token\"}}", `token_urls names vendor "chat", which is not among the vendors`},
		{"token URL not a URL", "{\"vendors\": {\"crm\": \"https://x\"}, \"token_urls\": {\"crm\": \"/token\"}}", `vendor "crm": token URL "/token" is not an http or https URL`},
		{"two values", "{\"vendors\": {\"crm\": \"https://x\"}} {}", "more than one JSON value"},
	}
	for _, tc := range bad {
		if _, err := ParseRunConfig("run.json", []byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// With a state directory, what a connector handled and gave up on is
// still known after a restart.
func TestRunConfigEnvKeepsStateAcrossRestarts(t *testing.T) {
	rc := &RunConfig{Vendors: map[string]string{"chat": "https://chat.example/api/"}, StateDir: filepath.Join(t.TempDir(), "state")}
	ctx := context.Background()
	env, closer, err := rc.Env(nil)
	if err != nil {
		t.Fatal(err)
	}
	if env.Vendor("chat").BaseURL != "https://chat.example/api" {
		t.Errorf("base URL %q", env.Vendor("chat").BaseURL)
	}
	if _, _, err := env.Idempotency.Claim(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if err := env.Idempotency.Complete(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if err := env.DeadLetters.Put(ctx, DeadLetter{Event: Event{ID: "evt_1"}, Error: "boom", Class: "permanent", Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}

	env, closer, err = rc.Env(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if _, done, _ := env.Idempotency.Claim(ctx, "k1"); !done {
		t.Error("after a restart, a completed key is not done")
	}
	letters, err := ReadDeadLetters(filepath.Join(rc.StateDir, DeadLetterFile))
	if err != nil || len(letters) != 1 || letters[0].Event.ID != "evt_1" {
		t.Errorf("dead letters after a restart: %v, %v", letters, err)
	}
}

func TestServe(t *testing.T) {
	rc := &RunConfig{Listen: "127.0.0.1:0", Vendors: map[string]string{"chat": "https://chat.example/api"}, Config: map[string]any{"greeting": "hi"}}
	setup := func(env *Env) (http.Handler, error) {
		greeting := env.Config["greeting"].(string)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, greeting+" "+r.URL.Path) }), nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, rc, setup, nil, func(a string) { addr <- a }) }()
	base := "http://" + <-addr
	for path, want := range map[string]string{HealthPath: "ok\n", "/events": "hi /events", MetricsPath: "[]\n"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != want {
			t.Errorf("GET %s = %d %q, want 200 %q", path, resp.StatusCode, body, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after its context ended: %v", err)
	}

	failing := func(*Env) (http.Handler, error) { return nil, io.ErrUnexpectedEOF }
	if err := Serve(context.Background(), rc, failing, nil, nil); err == nil || !strings.Contains(err.Error(), "set up connector") {
		t.Errorf("Serve with a failing setup: %v", err)
	}
}

func TestMainUsage(t *testing.T) {
	setup := func(*Env) (http.Handler, error) { return http.NotFoundHandler(), nil }
	bad := filepath.Join(t.TempDir(), "run.json")
	os.WriteFile(bad, []byte(`{"vendors": {}}`), 0o600)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "Usage: demo --config FILE"},
		{nil, 2, "Usage: demo --config FILE"},
		{[]string{"--config", filepath.Join(t.TempDir(), "missing.json")}, 2, "read run configuration"},
		{[]string{"--config", bad}, 2, "no vendors"},
		{[]string{"--nope"}, 2, "flag provided but not defined"},
	}
	for _, tc := range tests {
		var stderr bytes.Buffer
		if code := run("demo", setup, tc.args, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("demo %v: exit %d, %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}

// FuzzParseRunConfig: no input makes the parser panic, and an error always
// names the file.
func FuzzParseRunConfig(f *testing.F) {
	for _, seed := range []string{
		`{"vendors": {"crm": "https://api.crm.example/v2"}, "config": {"a": [1, 2.5, "x", null]}, "secrets": {"k": "v"}, "state_dir": "/tmp/s"}`,
		`{"vendors": {"crm": 7}}`, `{"vendors": {}} trailing`, `[`, `{"listen": ":8080", "vendors": {"a": "http://x"}, "extra": 1}`, "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rc, err := ParseRunConfig("run.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "run.json") {
				t.Errorf("error without the file name: %v", err)
			}
			return
		}
		if len(rc.Vendors) == 0 {
			t.Error("a run configuration without vendors was accepted")
		}
	})
}

// TestMainLogLinesHaveEachKeyOnce serves a connector with Main's logger,
// delivers an event, and reads every line logged: the connector's name,
// given by Main and by the webhook handler, must be there once.
func TestMainLogLinesHaveEachKeyOnce(t *testing.T) {
	var logs bytes.Buffer
	rc := &RunConfig{Listen: "127.0.0.1:0", Vendors: map[string]string{"chat": "https://chat.example/api"}}
	setup := func(env *Env) (http.Handler, error) {
		c := ConnectorFunc(func(ctx context.Context, env *Env, ev Event) error {
			env.Logger.InfoContext(ctx, "handling", slog.String("tenant", ev.Tenant))
			return nil
		})
		return NewWebhookHandler(c, env, WithName("demo")), nil
	}
	ctx, cancel := context.WithCancel(t.Context())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, rc, setup, mainLogger("demo", &lockedWriter{w: &logs}), func(a string) { addr <- a })
	}()
	req, _ := http.NewRequest(http.MethodPost, "http://"+<-addr+"/events", strings.NewReader(testBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tenant-ID", "acme")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("delivery answered %d, want 200", resp.StatusCode)
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	handled := false
	for _, line := range lines {
		if err := uniqueKeys([]byte(line)); err != nil {
			t.Errorf("log line %s: %v", line, err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %s: %v", line, err)
		}
		if m["connector"] != "demo" {
			t.Errorf("log line %s: connector %v, want \"demo\"", line, m["connector"])
		}
		handled = handled || m["msg"] == "webhook handled"
	}
	if !handled || len(lines) < 4 {
		t.Errorf("%d log lines, want the start, the connector's, the handler's and the stop:\n%s", len(lines), logs.String())
	}
}

// uniqueKeys returns an error naming a key that appears twice in one JSON
// object of data, at any depth.
func uniqueKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var value func() error
	value = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := k.(string)
				if seen[key] {
					return fmt.Errorf("key %q twice", key)
				}
				seen[key] = true
				if err := value(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := value(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	return value()
}
