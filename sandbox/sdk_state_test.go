package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v66/github"
	"github.com/stripe/stripe-go/v75"
	stripeclient "github.com/stripe/stripe-go/v75/client"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/sandbox"
	"github.com/tetherkit/tether/sandbox/state"
)

// The flows below are where connectors break in production, driven by the
// vendors' own SDKs against the corpus's contracts with state on (the
// default): what a call creates, a later call sees; lists page and end;
// idempotency keys are honoured. The assertions are on what the SDK
// returns.

func stripeFor(s *sandbox.Sandbox, key string) *stripeclient.API {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(strings.TrimSuffix(s.VendorURL("stripe"), "/")),
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return stripeclient.New(key, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
}

func TestSDKStripeFlow(t *testing.T) {
	s := serveStripe(t)
	stripeFlow(t, s)
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

// stripeFlow runs create, get, update, get, list to the end, delete, get
// against a sandbox serving Stripe's contract as "stripe".
func stripeFlow(t *testing.T, s *sandbox.Sandbox) {
	sc := stripeFor(s, "sk_test_sandbox")

	cust, err := sc.Customers.New(&stripe.CustomerParams{Email: stripe.String("ada@example.com"), Name: stripe.String("Ada"),
		Params: stripe.Params{Metadata: map[string]string{"crm_id": "D-7"}}})
	if err != nil {
		t.Fatalf("customers create: %v", err)
	}
	if !strings.HasPrefix(cust.ID, "cus_") || cust.Email != "ada@example.com" || cust.Name != "Ada" || cust.Metadata["crm_id"] != "D-7" {
		t.Errorf("created customer %q email %q name %q metadata %v: want a cus_ id and the fields sent", cust.ID, cust.Email, cust.Name, cust.Metadata)
	}
	got, err := sc.Customers.Get(cust.ID, nil)
	if err != nil {
		t.Fatalf("customers retrieve: %v", err)
	}
	if got.ID != cust.ID || got.Email != "ada@example.com" {
		t.Errorf("retrieved %q with email %q, want %q with ada@example.com", got.ID, got.Email, cust.ID)
	}
	if _, err := sc.Customers.Update(cust.ID, &stripe.CustomerParams{Email: stripe.String("ada@lovelace.example")}); err != nil {
		t.Fatalf("customers update: %v", err)
	}
	if got, err = sc.Customers.Get(cust.ID, nil); err != nil || got.Email != "ada@lovelace.example" || got.Name != "Ada" {
		t.Errorf("after update: %v, email %q name %q, want the new email and the old name", err, got.Email, got.Name)
	}

	// 11 more, so that the list of 12 in pages of 5 takes three pages.
	want := []string{cust.ID}
	for i := range 11 {
		c, err := sc.Customers.New(&stripe.CustomerParams{Email: stripe.String(fmt.Sprintf("c%d@example.com", i))})
		if err != nil {
			t.Fatalf("customers create %d: %v", i, err)
		}
		want = append(want, c.ID)
	}
	var listed []string
	it := sc.Customers.List(&stripe.CustomerListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(5)}})
	for it.Next() {
		listed = append(listed, it.Customer().ID)
		if len(listed) > 100 {
			t.Fatal("the list does not end")
		}
	}
	if err := it.Err(); err != nil {
		t.Fatalf("customers list: %v", err)
	}
	slices.Reverse(want) // newest first, as Stripe lists
	if !slices.Equal(listed, want) {
		t.Errorf("listed %v\nwant %v", listed, want)
	}
	// A filter the list declares selects by the field it names.
	it = sc.Customers.List(&stripe.CustomerListParams{Email: stripe.String("c3@example.com")})
	n := 0
	for it.Next() {
		n++
		if it.Customer().Email != "c3@example.com" {
			t.Errorf("filtered by email, got %q", it.Customer().Email)
		}
	}
	if n != 1 {
		t.Errorf("filtered by email: %d customers, want 1", n)
	}

	del, err := sc.Customers.Del(cust.ID, nil)
	if err != nil || !del.Deleted || del.ID != cust.ID {
		t.Fatalf("customers delete: %v %+v", err, del)
	}
	_, err = sc.Customers.Get(cust.ID, nil)
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusNotFound {
		t.Errorf("retrieve after delete: %v, want a 404 stripe.Error", err)
	}
}

func TestSDKStripeIdempotency(t *testing.T) {
	s := serveStripe(t)
	sc := stripeFor(s, "sk_test_sandbox")
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
	githubFlow(t, s)
}

// githubFlow runs create, get, update, get and list to the end on issues
// against a sandbox serving GitHub's contract as "github".
func githubFlow(t *testing.T, s *sandbox.Sandbox) {
	gh := github.NewClient(&http.Client{}).WithAuthToken("ghp_sandbox")
	base, err := url.Parse(s.VendorURL("github") + "/")
	if err != nil {
		t.Fatal(err)
	}
	gh.BaseURL = base
	ctx := context.Background()

	created, _, err := gh.Issues.Create(ctx, "octo", "hello", &github.IssueRequest{Title: github.String("It broke"), Body: github.String("details")})
	if err != nil {
		t.Fatalf("issues create: %v", err)
	}
	if created.GetTitle() != "It broke" || created.GetBody() != "details" || created.GetState() != "open" || created.GetNumber() == 0 {
		t.Errorf("created #%d %q %q %q: want the title and body sent, open", created.GetNumber(), created.GetTitle(), created.GetBody(), created.GetState())
	}
	n := created.GetNumber()
	got, _, err := gh.Issues.Get(ctx, "octo", "hello", n)
	if err != nil || got.GetTitle() != "It broke" {
		t.Fatalf("issues get: %v %q", err, got.GetTitle())
	}
	if _, _, err := gh.Issues.Edit(ctx, "octo", "hello", n, &github.IssueRequest{State: github.String("closed")}); err != nil {
		t.Fatalf("issues edit: %v", err)
	}
	if got, _, err = gh.Issues.Get(ctx, "octo", "hello", n); err != nil || got.GetState() != "closed" || got.GetTitle() != "It broke" {
		t.Errorf("after closing: %v, state %q title %q, want closed and the same title", err, got.GetState(), got.GetTitle())
	}
	// Another repository's issues are apart.
	if _, _, err := gh.Issues.Create(ctx, "octo", "other", &github.IssueRequest{Title: github.String("elsewhere")}); err != nil {
		t.Fatal(err)
	}

	var open []int
	for i := range 7 {
		is, _, err := gh.Issues.Create(ctx, "octo", "hello", &github.IssueRequest{Title: github.String(fmt.Sprintf("issue %d", i))})
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, is.GetNumber())
	}
	slices.Reverse(open)
	list := func(state string) []int {
		var nums []int
		opt := &github.IssueListByRepoOptions{State: state, ListOptions: github.ListOptions{PerPage: 3}}
		for pages := 0; ; pages++ {
			page, resp, err := gh.Issues.ListByRepo(ctx, "octo", "hello", opt)
			if err != nil {
				t.Fatalf("issues list: %v", err)
			}
			for _, is := range page {
				nums = append(nums, is.GetNumber())
			}
			if resp.NextPage == 0 || pages > 20 {
				return nums
			}
			opt.Page = resp.NextPage
		}
	}
	// The default filter (state=open) leaves the closed issue out.
	if got := list(""); !slices.Equal(got, open) {
		t.Errorf("open issues, paged by 3: %v, want %v", got, open)
	}
	if got := list("closed"); !slices.Equal(got, []int{n}) {
		t.Errorf("closed issues: %v, want [%d]", got, n)
	}
	if got := list("all"); len(got) != 8 {
		t.Errorf("all issues: %v, want 8", got)
	}
}
