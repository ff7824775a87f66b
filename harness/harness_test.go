package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tetherkit/tether/connectors"
	"github.com/tetherkit/tether/connectors/dealnotify"
)

const dealnotifyDir = "../connectors/dealnotify"

// run runs the scenarios of the connector in dir with setup (only those
// named, when names are given) and returns the IDs of the error findings
// by scenario.
func run(t *testing.T, dir string, setup connectors.Setup, names ...string) map[string][]string {
	t.Helper()
	c, err := Load(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) > 0 {
		c.Scenarios = slices.DeleteFunc(c.Scenarios, func(sc *Scenario) bool { return !slices.Contains(names, sc.Name) })
	}
	results, err := Run(context.Background(), c, Drive(InProcess(setup)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range results {
		for _, f := range r.Findings {
			if f.Level == LevelError && !slices.Contains(out[r.Scenario.Name], f.ID) {
				out[r.Scenario.Name] = append(out[r.Scenario.Name], f.ID)
			}
		}
	}
	return out
}

// TestExampleIsClean: the example connector as shipped passes its own
// scenarios, so a finding below comes from the defect put in.
func TestExampleIsClean(t *testing.T) {
	if got := run(t, dealnotifyDir, dealnotify.Setup); len(got) > 0 {
		t.Errorf("the example connector has error findings: %v", got)
	}
}

// forgetful is an idempotency store that never remembers an event.
type forgetful struct{}

func (forgetful) Claim(context.Context, string) (bool, bool, error) { return true, false, nil }
func (forgetful) Complete(context.Context, string) error            { return nil }
func (forgetful) Release(context.Context, string) error             { return nil }

// dropping is a dead-letter sink that loses what it is given.
type dropping struct{}

func (dropping) Put(context.Context, connectors.DeadLetter) error { return nil }

// withEnv runs the example connector after change has broken its
// environment.
func withEnv(change func(env *connectors.Env)) connectors.Setup {
	return func(env *connectors.Env) (http.Handler, error) {
		change(env)
		return dealnotify.Setup(env)
	}
}

// impatient runs the example connector with its errors stripped of their
// class, so its retry policy no longer sees Retry-After.
func impatient(env *connectors.Env) (http.Handler, error) {
	cfg, err := dealnotify.ParseConfig(env.Config)
	if err != nil {
		return nil, err
	}
	c, err := dealnotify.New(cfg)
	if err != nil {
		return nil, err
	}
	strip := connectors.ConnectorFunc(func(ctx context.Context, env *connectors.Env, ev connectors.Event) error {
		err := c.Handle(ctx, env, ev)
		if err != nil && !connectors.IsPermanent(err) {
			return errors.New(err.Error())
		}
		return err
	})
	return connectors.NewWebhookHandler(strip, env,
		connectors.WithVerifier(connectors.VerifyHex("X-Crm-Signature", "sha256=", env.Secrets[dealnotify.SecretWebhookSecret])),
		connectors.WithRetry(dealnotify.Retry), connectors.WithDeadLetterExhausted()), nil
}

// dropField is a transport that removes a top-level field from each JSON
// request body, as a connector that forgets to send it does.
type dropField struct {
	next  http.RoundTripper
	field string
}

func (d dropField) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		var body map[string]any
		if err := json.NewDecoder(req.Body).Decode(&body); err == nil {
			delete(body, d.field)
			data, _ := json.Marshal(body)
			req = req.Clone(req.Context())
			req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(data)), int64(len(data))
		}
	}
	return d.next.RoundTrip(req)
}

// Each defect is caught by the scenario that exercises it, with the
// expected finding.
func TestDefectsAreCaught(t *testing.T) {
	tests := []struct {
		name     string
		setup    connectors.Setup
		scenario string
		want     []string
	}{
		{"posts twice on a duplicate delivery", withEnv(func(env *connectors.Env) { env.Idempotency = forgetful{} }),
			"duplicate", []string{"outcome-mismatch", "golden-mismatch"}},
		{"drops the dead-letter entry", withEnv(func(env *connectors.Env) { env.DeadLetters = dropping{} }),
			"chat-unavailable", []string{"dead-letter-missing"}},
		{"ignores Retry-After", impatient, "chat-rate-limited", []string{"retry-after-ignored"}},
		{"sends a request missing a required field", withEnv(func(env *connectors.Env) {
			chat := env.Vendors["chat"]
			chat.Client.Transport = dropField{chat.Client.Transport, "text"}
		}), "won", []string{"request-body-invalid"}},
		{"posts to the wrong channel", withEnv(func(env *connectors.Env) { env.Config["channel"] = "C0OTHER0001" }),
			"won", []string{"golden-mismatch"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, dealnotifyDir, tc.setup, tc.scenario)
			for _, id := range tc.want {
				if !slices.Contains(got[tc.scenario], id) {
					t.Errorf("scenario %s: findings %v, want %s among them (all: %v)", tc.scenario, got[tc.scenario], id, got)
				}
			}
		})
	}
}

// copyDir copies the example connector to a temporary directory, for a
// test to break.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// Mistakes in a connector's files are errors naming the file and line.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, file, old, new string
		want                 string // file:line and words of the message
	}{
		{"unknown manifest field", "connector.yaml", "summary:", "summry:", "connector.yaml:4: unknown field summry"},
		{"manifest version", "connector.yaml", "version: 1.0.0", "version: one", `connector.yaml:3: version "one" is not a semantic version`},
		{"missing contract", "connector.yaml", "contracts/chat.openapi.yaml", "contracts/chat.yaml", "connector.yaml:8: vendors.chat.contract: contracts/chat.yaml does not exist"},
		{"unknown signature scheme", "connector.yaml", "scheme: hmac-sha256", "scheme: md5", `connector.yaml:11: signature scheme "md5"`},
		{"webhook path", "connector.yaml", "webhook: /events", "webhook: events", `connector.yaml:15: run.webhook "events"`},
		{"scenario names a missing events file", "scenarios/won.yaml", "events/deal-won.yaml", "events/deal-lost.yaml", "won.yaml:5: events: events/deal-lost.yaml does not exist"},
		{"scenario names a missing cassette", "scenarios/won.yaml", "cassettes/chat-post-message.yaml", "cassettes/chat.yaml", "won.yaml:12: cassettes.chat: cassettes/chat.yaml does not exist"},
		{"cassettes of an unknown vendor", "scenarios/won.yaml", "  chat: [", "  slack: [", `won.yaml:12: cassettes: "slack" is not a vendor`},
		{"config fails the schema", "scenarios/won.yaml", "channel: C0DEALS001", "channel: general", "won.yaml:7: config fails config.schema.json"},
		{"unknown outcome", "scenarios/won.yaml", "outcome: handled", "outcome: done", `won.yaml:14: expect.outcome "done"`},
		{"missing golden file", "scenarios/won.yaml", "golden/won.json", "golden/gone.json", "won.yaml:15: expect: golden/gone.json does not exist"},
		{"bad fault", "scenarios/chat-unavailable.yaml", "status: 503", "status: 99", "chat-unavailable.yaml:10:5: fault 1"},
		{"scenario YAML syntax", "scenarios/won.yaml", "expect:\n", "expect: [\n", "won.yaml:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, dealnotifyDir)
			path := filepath.Join(dir, tc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tc.old) {
				t.Fatalf("%s no longer holds %q; update the test", tc.file, tc.old)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(data), tc.old, tc.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Load(dir, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}
