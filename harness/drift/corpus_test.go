package drift_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/harness/drift"
	"github.com/tetherkit/tether/sandbox"
)

// TestDriftCorpusSlack records a connector's Slack calls through the
// recording proxy against a sandbox of Slack's Web API 1.0.6, then checks
// them against a sandbox of 1.2.0, which removed rtm.start: the drift
// found is what changed between the two documents for the operations
// recorded, no more.
func TestDriftCorpusSlack(t *testing.T) {
	corpus := os.Getenv("TETHER_CORPUS")
	if corpus == "" {
		t.Skip("TETHER_CORPUS is not set: the Slack contract pair lives in the corpus")
	}
	pair := filepath.Join(corpus, "pairs", "slack-web-1.0.6-to-1.2.0")
	oldData, err := os.ReadFile(filepath.Join(pair, "old.json"))
	if err != nil {
		t.Fatal(err)
	}
	oldC, err := contracts.Parse("old.json", oldData)
	if err != nil {
		t.Fatal(err)
	}
	newC, err := contracts.Load(filepath.Join(pair, "new.json"))
	if err != nil {
		t.Fatal(err)
	}

	// Record, as `tether record --as` does, through the proxy.
	oldSb, err := sandbox.Start([]sandbox.Vendor{{Name: "slack", Contract: oldC}}, sandbox.Stateless())
	if err != nil {
		t.Fatal(err)
	}
	defer oldSb.Close()
	proxy, err := fixtures.NewProxy(oldSb.VendorURL("slack"), fixtures.RecordAs("https://slack.com/api"))
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(proxy)
	defer ps.Close()
	const token = "xoxb-1111-2222-driftcheck"
	recorded := []string{"/rtm.start", "/rtm.connect", "/users.list", "/auth.test"}
	for _, p := range recorded {
		req, _ := http.NewRequest("GET", ps.URL+p, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("recording %s: status %d", p, resp.StatusCode)
		}
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "contracts", "slack.json"), string(oldData))
	write(t, filepath.Join(dir, "contracts", "events.yaml"), crmContract)
	write(t, filepath.Join(dir, "connector.yaml"), `name: slackbot
version: 1.0.0
summary: drift against the corpus
support: stable
vendors:
  slack: {contract: contracts/slack.json, secret: slack_token}
events: {contract: contracts/events.yaml}
scopes: []
run: {webhook: /events}
`)
	if err := os.MkdirAll(filepath.Join(dir, "cassettes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := proxy.Cassette().Save(filepath.Join(dir, "cassettes", "slack.yaml")); err != nil {
		t.Fatal(err)
	}

	// What changed, for the operations recorded, says the contracts package.
	var wantGone []string
	changed := map[string]bool{}
	for _, p := range recorded {
		if _, err := newC.Find("GET", "https://slack.com/api"+p); err != nil {
			wantGone = append(wantGone, p)
		}
	}
	for _, ch := range contracts.Compare(oldC.Spec(), newC.Spec()) {
		changed[ch.Path] = true
	}

	newSb, err := sandbox.Start([]sandbox.Vendor{{Name: "slack", Contract: newC}}, sandbox.Stateless())
	if err != nil {
		t.Fatal(err)
	}
	defer newSb.Close()
	res, err := drift.Check(context.Background(), load(t, dir), "slack", newSb.VendorURL("slack"), drift.WithCredential(token))
	if err != nil {
		t.Fatal(err)
	}
	if res.Checked != len(recorded) {
		t.Errorf("checked %d, want %d", res.Checked, len(recorded))
	}
	var gotGone []string
	for _, f := range res.Findings {
		switch f.ID {
		case drift.RuleOperationGone:
			gotGone = append(gotGone, opPath(f.Operation))
		case drift.RuleCassetteDrift, drift.RuleLiveContractViolation:
			if !changed[opPath(f.Operation)] {
				t.Errorf("%v: the contract did not change there", f)
			}
		}
	}
	slices.Sort(gotGone)
	slices.Sort(wantGone)
	if len(wantGone) == 0 || !slices.Equal(gotGone, wantGone) {
		t.Errorf("gone %v, want %v (from the contracts' difference)", gotGone, wantGone)
	}
}

// opPath is the Slack path of an operationId: rtm_start is /rtm.start.
func opPath(id string) string {
	b := []byte(id)
	for i, c := range b {
		if c == '_' {
			b[i] = '.'
			break
		}
	}
	return "/" + string(b)
}
