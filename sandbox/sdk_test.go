package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v66/github"
	"github.com/slack-go/slack"
	"github.com/stripe/stripe-go/v75"
	stripeclient "github.com/stripe/stripe-go/v75/client"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/sandbox"
)

// The tests in this file drive the sandbox with the vendors' own SDKs, as
// a connector written against them would, over the corpus's contracts and
// the overlays the repository ships for them. Each call must be answered
// with success, with no error finding in the journal, and every departure
// from the vendor's contract that an overlay allows must be journaled.

// corpusSpec is the path of a contract in the corpus, or a skip.
func corpusSpec(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("TETHER_CORPUS")
	if dir == "" {
		t.Skip("TETHER_CORPUS is not set; it names the corpus of real vendor material (.ci/run sets it)")
	}
	return filepath.Join(dir, "specs", name)
}

// shippedOverlay is one of the overlays the repository ships.
func shippedOverlay(t *testing.T, name string) contracts.Option {
	t.Helper()
	file := filepath.Join("..", "contracts", "overlays", name)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return contracts.WithOverlay(filepath.ToSlash(file), data)
}

// serveSDK serves one corpus contract, strictly, to a single tenant.
func serveSDK(t *testing.T, vendor, spec string, creds []sandbox.Credential, opts ...contracts.Option) *sandbox.Sandbox {
	t.Helper()
	c, err := contracts.Load(corpusSpec(t, spec), append([]contracts.Option{contracts.IgnoreSecurity()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sandbox.Start([]sandbox.Vendor{{Name: vendor, Contract: c}}, sandbox.Strict(), sandbox.WithTenant("acme", creds...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// journalClean fails for every error finding the sandbox journaled, and
// returns how many departures (overlay-departure) it journaled per
// operation.
// calls is how many calls were made at least: a call is journaled just
// after its answer is written, so the last one may still be on its way.
func journalClean(t *testing.T, s *sandbox.Sandbox, calls int) map[string]int {
	t.Helper()
	entries := s.Journal(sandbox.JournalFilter{}).Entries
	for deadline := time.Now().Add(5 * time.Second); len(entries) < calls && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		entries = s.Journal(sandbox.JournalFilter{}).Entries
	}
	if len(entries) < calls {
		t.Errorf("journal holds %d calls, want %d at least", len(entries), calls)
	}
	departures := map[string]int{}
	for _, e := range entries {
		if e.Status >= 300 {
			t.Errorf("%s %s answered %d: %s", e.Method, e.Path, e.Status, e.ResponseBody)
		}
		for _, f := range e.Findings {
			switch {
			case f.ID == contracts.RuleOverlayDeparture:
				// A POST made from a GET is known as "GET-ID#POST /path".
				op, _, _ := strings.Cut(e.Operation, "#")
				departures[op]++
				if f.Level != contracts.LevelInfo || !strings.Contains(f.Position.File, "specs") {
					t.Errorf("%s: departure %+v: want info, at the vendor's original file", e.Operation, f)
				}
			case f.Level == contracts.LevelError:
				t.Errorf("%s %s: %s: %s", e.Method, e.Path, f.ID, f.Message)
			}
		}
	}
	return departures
}

func TestSDKSlack(t *testing.T) {
	scopes := []string{"chat:write:user", "chat:write:bot", "channels:read", "groups:read", "im:read", "mpim:read", "users:read", "none"}
	s := serveSDK(t, "slack", "slack-web-openapi-v2.json", []sandbox.Credential{sandbox.Bearer("xoxb-sandbox-token", scopes...)},
		shippedOverlay(t, "slack-web.overlay.yaml"))
	api := slack.New("xoxb-sandbox-token", slack.OptionAPIURL(s.VendorURL("slack")+"/"))
	ctx := context.Background()

	if _, _, err := api.PostMessageContext(ctx, "C0123", slack.MsgOptionText("deploy finished", false)); err != nil {
		t.Errorf("chat.postMessage: %v", err)
	}
	if _, _, err := api.GetConversationsContext(ctx, &slack.GetConversationsParameters{Limit: 10, Types: []string{"public_channel"}}); err != nil {
		t.Errorf("conversations.list: %v", err)
	}
	if _, err := api.GetUserInfoContext(ctx, "U0123"); err != nil {
		t.Errorf("users.info: %v", err)
	}
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Errorf("auth.test: %v", err)
	}
	dep := journalClean(t, s, 4)
	for _, op := range []string{"chat_postMessage", "conversations_list", "users_info", "auth_test"} {
		if dep[op] == 0 {
			t.Errorf("%s: no departure journaled; the SDK's call differs from the vendor's contract (departures: %v)", op, dep)
		}
	}

	// slack-go sends the token as a form field: the journal must not hold it.
	for _, e := range s.Journal(sandbox.JournalFilter{}).Entries {
		if b, _ := json.Marshal(e); strings.Contains(string(b), "xoxb-sandbox-token") {
			t.Errorf("%s %s: the journal holds the token: %s", e.Method, e.Path, b)
		}
	}

	// A token nobody holds is still refused: the overlay widens how a
	// credential may be sent, not who is let in.
	bad := slack.New("xoxb-nobody", slack.OptionAPIURL(s.VendorURL("slack")+"/"))
	if _, err := bad.AuthTestContext(ctx); err == nil {
		t.Error("auth.test with an unknown token succeeded")
	}
}

func TestSDKStripe(t *testing.T) {
	s := serveSDK(t, "stripe", "stripe-spec3-2023-08-16.yaml", []sandbox.Credential{sandbox.Bearer("sk_test_sandbox")})
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(strings.TrimSuffix(s.VendorURL("stripe"), "/")),
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	sc := stripeclient.New("sk_test_sandbox", &stripe.Backends{API: backend, Connect: backend, Uploads: backend})

	cust, err := sc.Customers.New(&stripe.CustomerParams{Email: stripe.String("ada@example.com"), Name: stripe.String("Ada")})
	if err != nil {
		t.Fatalf("customers create: %v", err)
	}
	if _, err := sc.Customers.Get(cust.ID, nil); err != nil {
		t.Errorf("customers retrieve: %v", err)
	}
	if _, err := sc.Customers.Update(cust.ID, &stripe.CustomerParams{Description: stripe.String("first customer")}); err != nil {
		t.Errorf("customers update: %v", err)
	}
	it := sc.Customers.List(&stripe.CustomerListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(3)}})
	for n := 0; it.Next() && n < 5; n++ {
	}
	if err := it.Err(); err != nil {
		t.Errorf("customers list: %v", err)
	}
	if _, err := sc.Charges.New(&stripe.ChargeParams{Amount: stripe.Int64(500), Currency: stripe.String("usd"), Customer: stripe.String(cust.ID)}); err != nil {
		t.Errorf("charges create: %v", err)
	}
	journalClean(t, s, 5)
}

func TestSDKGitHub(t *testing.T) {
	s := serveSDK(t, "github", "github-api.github.com-v0.0.6.json", []sandbox.Credential{sandbox.Bearer("ghp_sandbox")},
		shippedOverlay(t, "github.overlay.yaml"))
	gh := github.NewClient(&http.Client{}).WithAuthToken("ghp_sandbox")
	base, err := url.Parse(s.VendorURL("github") + "/")
	if err != nil {
		t.Fatal(err)
	}
	gh.BaseURL = base
	ctx := context.Background()

	if _, _, err := gh.Repositories.Get(ctx, "octo", "hello"); err != nil {
		t.Errorf("repos get: %v", err)
	}
	if _, _, err := gh.Issues.Create(ctx, "octo", "hello", &github.IssueRequest{Title: github.String("It broke"), Body: github.String("details")}); err != nil {
		t.Errorf("issues create: %v", err)
	}
	if _, _, err := gh.Issues.Get(ctx, "octo", "hello", 1); err != nil {
		t.Errorf("issues get: %v", err)
	}
	if _, _, err := gh.Issues.ListByRepo(ctx, "octo", "hello", &github.IssueListByRepoOptions{State: "open"}); err != nil {
		t.Errorf("issues list: %v", err)
	}
	if _, _, err := gh.Issues.CreateComment(ctx, "octo", "hello", 1, &github.IssueComment{Body: github.String("looking")}); err != nil {
		t.Errorf("issues create comment: %v", err)
	}
	// GitHub's own media type, as octokit and other GitHub clients send it
	// for the request body and ask for in Accept.
	req, err := gh.NewRequest(http.MethodPost, "repos/octo/hello/issues", &github.IssueRequest{Title: github.String("vendor media type")})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.github+json")
	req.Header.Set("Accept", "application/vnd.github+json")
	if _, err := gh.Do(ctx, req, nil); err != nil {
		t.Errorf("issues create as application/vnd.github+json: %v", err)
	}
	dep := journalClean(t, s, 6)
	if dep["issues/create"] != 1 {
		t.Errorf("departures %v: want one, for the call in GitHub's media type", dep)
	}
}
