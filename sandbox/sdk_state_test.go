package sandbox_test

import (
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/stripe/stripe-go/v75"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/sandbox"
	"github.com/tetherkit/tether/sandbox/internal/sdkflows"
	"github.com/tetherkit/tether/sandbox/state"
)

// The flows (in internal/sdkflows, shared with the container's tests) are
// where connectors break in production, driven by the vendors' own SDKs
// against the corpus's contracts with state on (the default): what a call
// creates, a later call sees; lists page and end; idempotency keys are
// honoured. The assertions are on what the SDK returns.

func TestSDKStripeFlow(t *testing.T) {
	s := serveStripe(t)
	sdkflows.Stripe(t, s.VendorURL("stripe"), "sk_test_sandbox")
}

// serveStripe serves Stripe's contract with Stripe's own fixture objects
// as samples, which show the shape of its identifiers (cus_...).
func serveStripe(t *testing.T, opts ...sandbox.Option) *sandbox.Sandbox {
	t.Helper()
	c, err := contracts.Load(corpusSpec(t, "stripe-spec3-2023-08-16.yaml"), contracts.IgnoreSecurity())
	if err != nil {
		t.Fatal(err)
	}
	fixturesFile := corpusSpec(t, "stripe-fixtures3-2023-08-16.json")
	data, err := os.ReadFile(fixturesFile)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := state.SamplesFromJSON(fixturesFile, data)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sandbox.Start([]sandbox.Vendor{{Name: "stripe", Contract: c, Samples: samples}},
		append([]sandbox.Option{sandbox.Strict(), sandbox.WithTenant("acme", sandbox.Bearer("sk_test_sandbox"))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSDKStripeIdempotency(t *testing.T) {
	s := serveStripe(t)
	sc := sdkflows.StripeClient(s.VendorURL("stripe"), "sk_test_sandbox")
	params := func(email, key string) *stripe.CustomerParams {
		p := &stripe.CustomerParams{Email: stripe.String(email)}
		p.SetIdempotencyKey(key)
		return p
	}
	first, err := sc.Customers.New(params("ada@example.com", "key-1"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := sc.Customers.New(params("ada@example.com", "key-1"))
	if err != nil || again.ID != first.ID {
		t.Errorf("the same key and request again: %v, id %q, want the first answer's %q", err, again.ID, first.ID)
	}
	other, err := sc.Customers.New(params("ada@example.com", "key-2"))
	if err != nil || other.ID == first.ID {
		t.Errorf("another key: %v, id %q, want a new customer", err, other.ID)
	}
	_, err = sc.Customers.New(params("bob@example.com", "key-1"))
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusBadRequest {
		t.Errorf("the same key with another request: %v, want Stripe's 400 error", err)
	}
	it := sc.Customers.List(&stripe.CustomerListParams{})
	n := 0
	for it.Next() {
		n++
	}
	if n != 2 {
		t.Errorf("%d customers listed, want 2: a replay creates nothing", n)
	}
}

func TestSDKGitHubFlow(t *testing.T) {
	s := serveSDK(t, "github", "github-api.github.com-v0.0.6.json", []sandbox.Credential{sandbox.Bearer("ghp_sandbox")},
		shippedOverlay(t, "github.overlay.yaml"))
	sdkflows.GitHub(t, s.VendorURL("github"), "ghp_sandbox")
}
