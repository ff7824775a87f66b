package container_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tetherkit/tether/sandbox"
	"github.com/tetherkit/tether/sandbox/container"
	"github.com/tetherkit/tether/sandbox/internal/sdkflows"
	"github.com/tetherkit/tether/sandbox/state"
)

// TestStartSandboxState serves the corpus's Stripe contract (with Stripe's
// fixtures as samples) and GitHub's (with the overlay the repository
// ships) in a container, seeded from a state file, and drives them with
// the vendors' SDKs through the same flows as the in-process sandbox; then
// reads, replaces and resets a tenant's state through the admin client.
func TestStartSandboxState(t *testing.T) {
	requireDocker(t)
	corpus := os.Getenv("TETHER_CORPUS")
	if corpus == "" {
		t.Skip("TETHER_CORPUS is not set; it names the corpus of real vendor material (.ci/run sets it)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	stateFile := filepath.Join(t.TempDir(), "state.yaml")
	seed := "stripe:\n  products:\n    - object: {id: prod_seeded, name: Seeded, object: product, active: true}\n" +
		"github:\n  repos/issues:\n    - keys: {owner: octo, repo: seeded}\n      object: {number: 41, title: Seeded, state: open}\n"
	if err := os.WriteFile(stateFile, []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := container.SandboxSpec{
		Vendors: []container.Vendor{
			{Name: "stripe", Contract: filepath.Join(corpus, "specs", "stripe-spec3-2023-08-16.yaml"),
				Samples: []string{filepath.Join(corpus, "specs", "stripe-fixtures3-2023-08-16.json")}},
			{Name: "github", Contract: filepath.Join(corpus, "specs", "github-api.github.com-v0.0.6.json"),
				Overlays: []string{"../../contracts/overlays/github.overlay.yaml"}},
		},
		State:   stateFile,
		Strict:  true,
		Tenants: []string{"acme=bearer:sk_test_sandbox", "acme=bearer:ghp_sandbox", "globex=bearer:ghp_globex"},
	}
	sb, err := container.StartSandbox(ctx, spec, container.WithStartupTimeout(2*time.Minute))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Terminate(context.Background()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	t.Logf("healthy after %v (image cached: %v)", sb.Healthy.Round(time.Millisecond), sb.Image.Cached)

	h, err := sb.Client.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range h.Vendors {
		if v.State == nil || v.State.Resources == 0 || v.State.Seeded == 0 {
			t.Errorf("vendor %s: state %+v, want resources and the seeded objects", v.Name, v.State)
		}
	}

	stripeURL, err := sb.Client.VendorURL(ctx, "stripe")
	if err != nil {
		t.Fatal(err)
	}
	githubURL, err := sb.Client.VendorURL(ctx, "github")
	if err != nil {
		t.Fatal(err)
	}
	sdkflows.Stripe(t, stripeURL, "sk_test_sandbox")
	sdkflows.GitHub(t, githubURL, "ghp_sandbox")

	// What the flows left is in their tenants' state, and only there:
	// Stripe's calls carry acme's key; GitHub's contract declares no
	// security, so its calls are the default tenant's.
	acme, err := sb.Client.State(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	def, err := sb.Client.State(ctx, sandbox.DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	if n, m := len(acme["stripe"]["customers"]), len(def["stripe"]["customers"]); n != 11 || m != 0 {
		t.Errorf("customers: acme %d, default %d; want the 11 the flow left, all acme's", n, m)
	}
	if n, m := countUnder(def["github"]["repos/issues"], "hello"), countUnder(acme["github"]["repos/issues"], "hello"); n != 8 || m != 0 {
		t.Errorf("issues of octo/hello: default %d, acme %d; want the 8 the flow made, all default's", n, m)
	}
	for tenant, st := range map[string]map[string]state.Document{"acme": acme, "default": def} {
		if n := countUnder(st["github"]["repos/issues"], "seeded"); n != 1 {
			t.Errorf("%s's issues of octo/seeded: %d, want the seeded one", tenant, n)
		}
	}

	put := map[string]state.Document{"github": {"repos/issues": {{Keys: map[string]string{"owner": "octo", "repo": "hello"},
		Object: map[string]any{"number": 99.0, "title": "Put", "state": "open"}}}}}
	if err := sb.Client.SetState(ctx, sandbox.DefaultTenant, put); err != nil {
		t.Fatal(err)
	}
	if def, err = sb.Client.State(ctx, sandbox.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	if got := def["github"]["repos/issues"]; len(got) != 1 || got[0].Object["title"] != "Put" {
		t.Errorf("default after SetState: %v, want the one issue put", got)
	}
	err = sb.Client.SetState(ctx, "acme", map[string]state.Document{"stripe": {"customers": {{Object: map[string]any{"email": "no id"}}}}})
	var ae *sandbox.AdminError
	if !errors.As(err, &ae) || ae.Status != 400 {
		t.Errorf("SetState of a customer without an id: %v, want a 400", err)
	}

	// Reset every tenant: the flows run again from the seeds.
	if err := sb.Client.ResetState(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if def, err = sb.Client.State(ctx, sandbox.DefaultTenant); err != nil {
		t.Fatal(err)
	}
	if n := countUnder(def["github"]["repos/issues"], "hello"); n != 0 {
		t.Errorf("default after ResetState: %d issues of octo/hello, want none", n)
	}
	sdkflows.Stripe(t, stripeURL, "sk_test_sandbox")
	sdkflows.GitHub(t, githubURL, "ghp_sandbox")
}

// countUnder counts the issues of repository repo of octo.
func countUnder(entries []state.Entry, repo string) int {
	n := 0
	for _, e := range entries {
		if e.Keys["owner"] == "octo" && e.Keys["repo"] == repo {
			n++
		}
	}
	return n
}
