package harness

import (
	"sync"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"golang.org/x/oauth2/clientcredentials"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetherkit/tether/connectors"
	"github.com/tetherkit/tether/connectors/dealnotify"
	"github.com/tetherkit/tether/connectors/escalate"
	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/manifest"
)

const (
	dealnotifyDir = "../connectors/dealnotify"
	escalateDir   = "../connectors/escalate"
)

// The example connectors as shipped have no error finding in any suite,
// so a finding in a broken variant below comes from its defect.
func TestExamplesAreClean(t *testing.T) {
	for _, ex := range []struct {
		dir   string
		setup connectors.Setup
	}{{dealnotifyDir, dealnotify.Setup}, {escalateDir, escalate.Setup}} {
		c, err := manifest.Load(ex.dir)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Execute(t.Context(), c, Drive(InProcess(ex.setup)), Parallel(8))
		if err != nil {
			t.Fatal(err)
		}
		checkRegistered(t, r.Findings)
		for _, f := range r.Findings {
			if f.Level == contracts.LevelError {
				t.Errorf("%s: %s/%s/%s: %s", c.Manifest.Name, f.Suite, f.Scenario, f.Check, f)
			}
		}
		checkGoldenReports(t, c.Manifest.Name, r)
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

// withEnv runs dealnotify after change has broken its environment.
func withEnv(change func(env *connectors.Env)) connectors.Setup {
	return func(env *connectors.Env) (http.Handler, error) {
		change(env)
		return dealnotify.Setup(env)
	}
}

// wrapped runs dealnotify's connector through wrap, with a handler made
// by opts (the verifier is dealnotify's unless opts replace it).
func wrapped(wrap func(c connectors.Connector) connectors.Connector, opts ...connectors.HandlerOption) connectors.Setup {
	return func(env *connectors.Env) (http.Handler, error) {
		cfg, err := dealnotify.ParseConfig(env.Config)
		if err != nil {
			return nil, err
		}
		if err := dealnotify.Authorize(env); err != nil {
			return nil, err
		}
		c, err := dealnotify.New(cfg)
		if err != nil {
			return nil, err
		}
		base := []connectors.HandlerOption{
			connectors.WithVerifier(connectors.VerifyHex("X-Crm-Signature", "sha256=", env.Secrets[dealnotify.SecretWebhookSecret])),
			connectors.WithRetry(dealnotify.Retry), connectors.WithDeadLetterExhausted(),
		}
		return connectors.NewWebhookHandler(wrap(c), env, append(base, opts...)...), nil
	}
}

// unclassed strips errors of their class: permanent ones become plain,
// and no error carries Retry-After any more.
func unclassed(c connectors.Connector) connectors.Connector {
	return connectors.ConnectorFunc(func(ctx context.Context, env *connectors.Env, ev connectors.Event) error {
		if err := c.Handle(ctx, env, ev); err != nil {
			return errors.New(err.Error())
		}
		return nil
	})
}

// retriesEverything strips permanence from errors, so every error is
// retried, and keeps Retry-After.
func retriesEverything(c connectors.Connector) connectors.Connector {
	return connectors.ConnectorFunc(func(ctx context.Context, env *connectors.Env, ev connectors.Event) error {
		err := c.Handle(ctx, env, ev)
		if err != nil && connectors.IsPermanent(err) {
			return errors.New(err.Error())
		}
		return err
	})
}

// roundTripper adapts a function to http.RoundTripper.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// dropField removes a top-level field from each JSON request body, as a
// connector that forgets to send it does.
func dropField(next http.RoundTripper, field string) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.Body != nil {
			var body map[string]any
			if err := json.NewDecoder(req.Body).Decode(&body); err == nil {
				delete(body, field)
				data, _ := json.Marshal(body)
				req = req.Clone(req.Context())
				req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(data)), int64(len(data))
			}
		}
		return next.RoundTrip(req)
	})
}

// setAuthorization sends every request with the Authorization header
// value, whatever the connector set.
func setAuthorization(next http.RoundTripper, value string) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", value)
		return next.RoundTrip(req)
	})
}

// chatClient is the chat vendor's OAuth2 client, as dealnotify is given
// it.
func chatClient(env *connectors.Env) clientcredentials.Config {
	return clientcredentials.Config{ClientID: env.Secrets[dealnotify.SecretChatClientID], ClientSecret: env.Secrets[dealnotify.SecretChatClientSecret],
		TokenURL: env.Vendor("chat").TokenURL, Scopes: []string{"chat:write"}}
}

// onceTokened runs setup with a chat client that gets a token on its first
// call and keeps it, expired or not.
func onceTokened(setup connectors.Setup) connectors.Setup {
	return func(env *connectors.Env) (http.Handler, error) {
		h, err := setup(env)
		if err != nil {
			return nil, err
		}
		chat := env.Vendor("chat")
		cfg := chatClient(env)
		var once sync.Once
		var tok string
		chat.Client.Transport = roundTripper(func(req *http.Request) (*http.Response, error) {
			once.Do(func() {
				if t, err := cfg.Token(req.Context()); err == nil {
					tok = t.AccessToken
				}
			})
			req = req.Clone(req.Context())
			req.Header.Set("Authorization", "Bearer "+tok)
			return http.DefaultTransport.RoundTrip(req)
		})
		return h, nil
	}
}

// loopTokened runs setup with a chat client that, whenever the call is
// refused or no token comes, asks for a token again and calls again, up
// to 30 times.
func loopTokened(setup connectors.Setup) connectors.Setup {
	return func(env *connectors.Env) (http.Handler, error) {
		h, err := setup(env)
		if err != nil {
			return nil, err
		}
		chat := env.Vendor("chat")
		cfg := chatClient(env)
		chat.Client.Transport = roundTripper(func(req *http.Request) (*http.Response, error) {
			var resp *http.Response
			err := errors.New("no attempt")
			for range 30 {
				t, terr := cfg.Token(req.Context())
				if terr != nil {
					err = terr
					continue
				}
				r := req.Clone(req.Context())
				if req.GetBody != nil {
					r.Body, _ = req.GetBody()
				}
				r.Header.Set("Authorization", "Bearer "+t.AccessToken)
				if resp, err = http.DefaultTransport.RoundTrip(r); err == nil && resp.StatusCode != http.StatusUnauthorized {
					return resp, nil
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
			return nil, err
		})
		return h, nil
	}
}

// retriesStatus makes a vendor's refusal with status retryable.
func retriesStatus(status int) func(c connectors.Connector) connectors.Connector {
	return func(c connectors.Connector) connectors.Connector {
		return connectors.ConnectorFunc(func(ctx context.Context, env *connectors.Env, ev connectors.Event) error {
			err := c.Handle(ctx, env, ev)
			var se *connectors.StatusError
			var ae *connectors.AuthError
			if (errors.As(err, &se) && se.StatusCode == status) || (errors.As(err, &ae) && ae.StatusCode == status) {
				return errors.New(err.Error())
			}
			return err
		})
	}
}

// checksChannel makes the connector look the channel up before posting,
// an operation that needs channels:read, which the manifest does not ask
// for; it carries on whatever the answer.
func checksChannel(c connectors.Connector) connectors.Connector {
	return connectors.ConnectorFunc(func(ctx context.Context, env *connectors.Env, ev connectors.Event) error {
		chat := env.Vendor("chat")
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, chat.BaseURL+"/conversations.info?channel="+env.Config["channel"].(string), nil)
		if resp, err := chat.Client.Do(req); err == nil {
			resp.Body.Close()
		}
		return c.Handle(ctx, env, ev)
	})
}

// needsPreviousStage reads data.previous_stage without checking that it
// is there, as a connector that assumes an optional field does.
func needsPreviousStage(c connectors.Connector) connectors.Connector {
	return connectors.ConnectorFunc(func(ctx context.Context, env *connectors.Env, ev connectors.Event) error {
		var e struct {
			Data struct {
				PreviousStage *string `json:"previous_stage"`
			} `json:"data"`
		}
		json.Unmarshal(ev.Body, &e)
		env.Logger.InfoContext(ctx, "stage changed", "from", strings.ToUpper(*e.Data.PreviousStage))
		return c.Handle(ctx, env, ev)
	})
}

type eventStageKey struct{}

// trustsTheEvent announces the stage the event reports rather than the one
// the CRM holds, so a late older event has the last word.
func trustsTheEvent(c connectors.Connector) connectors.Connector {
	return connectors.ConnectorFunc(func(ctx context.Context, env *connectors.Env, ev connectors.Event) error {
		var e struct {
			Data struct{ Stage string } `json:"data"`
		}
		json.Unmarshal(ev.Body, &e)
		return c.Handle(context.WithValue(ctx, eventStageKey{}, e.Data.Stage), env, ev)
	})
}

// eventStageOverDeal rewrites the deal the CRM answers with the stage of
// the event being handled.
func eventStageOverDeal(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		stage, _ := req.Context().Value(eventStageKey{}).(string)
		if err != nil || stage == "" || resp.StatusCode != http.StatusOK {
			return resp, err
		}
		var deal map[string]any
		if json.NewDecoder(resp.Body).Decode(&deal) == nil {
			deal["stage"] = stage
		}
		resp.Body.Close()
		data, _ := json.Marshal(deal)
		resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(data)), int64(len(data))
		resp.Header.Del("Content-Length")
		return resp, nil
	})
}

// Each broken variant of the example is caught by the suite that exercises
// its defect, with the expected finding, and only the checks of that
// suite (and scenario) are run.
func TestBrokenVariantsAreCaught(t *testing.T) {
	tests := []struct {
		defect string
		setup  connectors.Setup
		check  string // the check's path, or a prefix of it
		want   string // the finding ID
	}{
		{"posts twice on a duplicate delivery", withEnv(func(env *connectors.Env) { env.Idempotency = forgetful{} }),
			"negative/duplicate-delivery", "duplicate-side-effect"},
		{"ignores Retry-After", wrapped(unclassed), "replay/chat-rate-limited/retry-after", "retry-after-ignored"},
		{"retries a 400 forever", wrapped(retriesEverything, connectors.WithRetry(connectors.RetryPolicy{Base: time.Millisecond, Max: 2 * time.Millisecond, Attempts: 1000, Budget: 5 * time.Second})),
			"negative/error-status/postMessage/400", "retries-unbounded"},
		{"drops the dead-letter entry", withEnv(func(env *connectors.Env) { env.DeadLetters = dropping{} }),
			"replay/chat-unavailable/outcome", "dead-letter-missing"},
		{"sends a request missing a required field", withEnv(func(env *connectors.Env) {
			chat := env.Vendors["chat"]
			chat.Client.Transport = dropField(chat.Client.Transport, "text")
		}), "contract/won/outbound-calls", "request-body-invalid"},
		{"calls an operation outside its declared scopes", wrapped(checksChannel), "contract/scopes", "scope-missing"},
		{"forwards the CRM token to the chat vendor", withEnv(func(env *connectors.Env) {
			chat := env.Vendor("chat")
			chat.Client.Transport = setAuthorization(chat.Client.Transport, "Bearer "+env.Secrets[dealnotify.SecretCRMToken])
		}), "contract/won/secrets", "secret-sent-to-wrong-vendor"},
		{"keeps its first chat token for good", onceTokened(wrapped(func(c connectors.Connector) connectors.Connector { return c })),
			"negative/token-expired/chat", "token-expired-not-refreshed"},
		{"gets a new chat token whenever one is refused", loopTokened(wrapped(func(c connectors.Connector) connectors.Connector { return c })),
			"negative/grant-revoked/chat", "refresh-loop"},
		{"retries a call refused for a missing scope", wrapped(retriesStatus(http.StatusForbidden)),
			"negative/scope-removed/chat", "insufficient-scope-retried"},
		{"retries a call refused for a rotated key", wrapped(retriesStatus(http.StatusUnauthorized)),
			"negative/key-rotated/crm", "rotated-key-retried"},
		{"accepts a forged signature", wrapped(func(c connectors.Connector) connectors.Connector { return c }, connectors.WithVerifier(nil)),
			"negative/forged-signature", "forged-signature-accepted"},
		{"panics on an event missing an optional field", wrapped(needsPreviousStage),
			"negative/optional-missing/data.previous_stage", "connector-crashed"},
		{"lets an older event overwrite a newer state", func(env *connectors.Env) (http.Handler, error) {
			crm := env.Vendors["crm"]
			crm.Client.Transport = eventStageOverDeal(crm.Client.Transport)
			return wrapped(trustsTheEvent)(env)
		}, "negative/out-of-order", "out-of-order-final-state"},
	}
	for _, tc := range tests {
		t.Run(tc.defect, func(t *testing.T) {
			t.Parallel()
			s, err := NewSession(t.Context(), dealnotifyDir, t.TempDir(), Drive(InProcess(tc.setup)))
			if err != nil {
				t.Fatal(err)
			}
			var ran []string
			var found []string
			for _, pc := range s.Checks() {
				if !strings.HasPrefix(pc.Path(), tc.check) {
					continue
				}
				ran = append(ran, pc.Path())
				fs, err := pc.Run(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				checkRegistered(t, fs)
				for _, f := range fs {
					if f.Level == contracts.LevelError {
						found = append(found, f.ID)
					}
				}
			}
			if len(ran) == 0 {
				t.Fatalf("no check %s planned", tc.check)
			}
			if !slices.Contains(found, tc.want) {
				t.Errorf("checks %v found %v; want %s", ran, found, tc.want)
			}
		})
	}
}

// A recorded answer that breaks the vendor's contract (the CRM's deal
// stage renamed since the recording) is a finding of the contract suite,
// both in the cassette and in the answer the connector got.
func TestStaleCassetteIsCaught(t *testing.T) {
	dir := copyDir(t, dealnotifyDir)
	path := dir + "/cassettes/crm-deal-4207.yaml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stale := strings.Replace(string(data), `"stage":"won"`, `"stage":"closed_won"`, 1)
	if stale == string(data) {
		t.Fatal("the cassette no longer records stage won; update the test")
	}
	os.WriteFile(path, []byte(stale), 0o644)
	s, err := NewSession(t.Context(), dir, t.TempDir(), Drive(InProcess(dealnotify.Setup)))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string][]string{}
	for _, pc := range s.Checks() {
		if pc.Path() != "contract/won/outbound-calls" && pc.Path() != "contract/cassette-lint" {
			continue
		}
		fs, err := pc.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		checkRegistered(t, fs)
		for _, f := range fs {
			found[pc.Path()] = append(found[pc.Path()], f.ID)
		}
	}
	for _, p := range []string{"contract/won/outbound-calls", "contract/cassette-lint"} {
		if len(found[p]) == 0 {
			t.Errorf("%s found nothing in a stale answer (all: %v)", p, found)
		}
	}
}

// A duplicate delivery that opens a second incident is seen in what the
// incident vendor holds at the end, not only in the count of calls.
func TestDuplicateJudgedByFinalState(t *testing.T) {
	setup := func(env *connectors.Env) (http.Handler, error) {
		env.Idempotency = forgetful{}
		// Without its key the vendor cannot tell a repeat from a new
		// incident.
		inc := env.Vendors["incident"]
		next := inc.Client.Transport
		inc.Client.Transport = roundTripper(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			r.Header.Del("Idempotency-Key")
			return next.RoundTrip(r)
		})
		return escalate.Setup(env)
	}
	s, err := NewSession(t.Context(), escalateDir, t.TempDir(), Drive(InProcess(setup)))
	if err != nil {
		t.Fatal(err)
	}
	var messages []string
	for _, pc := range s.Checks() {
		if pc.Path() != "negative/duplicate-delivery" {
			continue
		}
		fs, err := pc.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.ID == RuleDuplicateSideEffect {
				messages = append(messages, f.Message)
			}
		}
	}
	if !slices.ContainsFunc(messages, func(m string) bool {
		return strings.Contains(m, "hold something else at the end") && strings.Contains(m, "incident")
	}) {
		t.Errorf("duplicate-side-effect findings %q: want one from the incident vendor's final state", messages)
	}
}
