// Package sdkflows holds the flows that vendors' own SDKs drive through a
// sandbox with state, shared by the tests of the in-process sandbox and of
// the containerised one, so that both are held to the same flows. Only
// tests import it.
package sdkflows

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v66/github"
	"github.com/stripe/stripe-go/v75"
	stripeclient "github.com/stripe/stripe-go/v75/client"
)

// StripeClient is a stripe-go client of the Stripe base URL of a sandbox,
// without retries or logging.
func StripeClient(baseURL, key string) *stripeclient.API {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(strings.TrimSuffix(baseURL, "/")),
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return stripeclient.New(key, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
}

// Stripe runs create, get, update, get, list to the end, delete, get
// with stripe-go against the Stripe base URL of a sandbox serving
// Stripe's contract, with key as the secret key. The sandbox must hold no
// customers of that key's tenant yet.
func Stripe(t *testing.T, baseURL, key string) {
	t.Helper()
	sc := StripeClient(baseURL, key)

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

// GitHub runs create, get, update, get and list to the end on issues of
// octo/hello with go-github against the GitHub base URL of a sandbox
// serving GitHub's contract, with token as the credential. The sandbox
// must hold no issues of octo/hello for that token's tenant yet.
func GitHub(t *testing.T, baseURL, token string) {
	t.Helper()
	gh := github.NewClient(&http.Client{}).WithAuthToken(token)
	base, err := url.Parse(strings.TrimSuffix(baseURL, "/") + "/")
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
