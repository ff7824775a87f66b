// Package sandboxcheck drives a sandbox serving the CRM test contract
// (sandbox/testdata/crm.yaml, vendor "crm") with the tenants of
// [TenantOptions] through its admin client, so the in-process sandbox and
// the containerised one are checked by the same code.
package sandboxcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tetherkit/tether/replay"
	"github.com/tetherkit/tether/sandbox"
)

// The credentials of the tenants Drive expects: acme may read and write
// deals, globex only read them.
const (
	AcmeToken   = "acme-check-token-1"
	GlobexToken = "globex-check-token-1"
)

// TenantOptions registers Drive's tenants with an in-process sandbox.
func TenantOptions() []sandbox.Option {
	return []sandbox.Option{
		sandbox.WithTenant("acme", sandbox.Bearer(AcmeToken, "deals:read", "deals:write")),
		sandbox.WithTenant("globex", sandbox.Bearer(GlobexToken, "deals:read")),
	}
}

// TenantFlags registers Drive's tenants as tether sandbox serve --tenant
// takes them.
func TenantFlags() []string {
	return []string{"acme=bearer:" + AcmeToken + ";deals:read,deals:write", "globex=bearer:" + GlobexToken + ";deals:read"}
}

// Drive exercises every admin endpoint and a vendor call through c, and
// returns every violation it sees. inside is the sandbox's root URL as the
// sandbox itself reaches it (for a container, its address inside the
// container), where it delivers a webhook to itself. c must hold the
// admin token.
func Drive(ctx context.Context, c *sandbox.Client, inside string) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }

	h, err := c.Health(ctx)
	if err != nil {
		return []string{"health: " + err.Error()}
	}
	if h.Status != "ok" || len(h.Vendors) != 1 || h.Vendors[0].Name != "crm" || h.Vendors[0].BasePath != "/crm/v2" || h.Vendors[0].Operations != 5 {
		fail("health = %+v, want vendor crm at /crm/v2 with 5 operations", h)
	}
	if err := c.Reset(ctx); err != nil {
		fail("reset: %v", err)
	}
	base, err := c.VendorURL(ctx, "crm")
	if err != nil {
		return append(bad, "vendor URL: "+err.Error())
	}
	get := func(path string) int {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+AcmeToken)
		req.Header.Set("X-Request-Id", "check-"+path)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fail("GET %s: %v", path, err)
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	if st := get("/deals/d_1"); st != 200 {
		fail("GET /deals/d_1 = %d, want 200", st)
	}
	page, err := c.Journal(ctx, sandbox.JournalFilter{Operation: "getDeal"})
	switch {
	case err != nil:
		fail("journal: %v", err)
	case len(page.Entries) != 1 || page.Entries[0].CorrelationID != "check-/deals/d_1" || page.Entries[0].Status != 200:
		fail("journal for getDeal = %+v, want the one call", page.Entries)
	}

	if err := c.AddFaults(ctx, sandbox.Status(503).On("getDeal").FirstN(1)); err != nil {
		fail("add faults: %v", err)
	}
	if plan, err := c.Faults(ctx); err != nil || len(plan.Faults) != 1 || plan.Faults[0].Status != 503 {
		fail("faults = %+v, %v; want the 503 just added", plan, err)
	}
	if st := get("/deals/d_1"); st != 503 {
		fail("GET /deals/d_1 under the fault = %d, want 503", st)
	}
	if st := get("/deals/d_1"); st != 200 {
		fail("GET /deals/d_1 after the first call = %d, want 200", st)
	}
	if err := c.SetFaults(ctx, &sandbox.FaultPlan{Faults: []sandbox.Fault{sandbox.Status(500)}}); err != nil {
		fail("set faults: %v", err)
	}
	if st := get("/ping"); st != 500 {
		fail("GET /ping under a global fault = %d, want 500", st)
	}
	if err := c.ClearFaults(ctx); err != nil {
		fail("clear faults: %v", err)
	}
	if st := get("/ping"); st != 204 {
		fail("GET /ping with the faults cleared = %d, want 204", st)
	}

	// A bad fault is refused with the reason.
	err = c.AddFaults(ctx, sandbox.Fault{Kind: "explode"})
	if err == nil || !strings.Contains(err.Error(), "explode") {
		fail("adding an unknown fault kind: %v, want a refusal naming it", err)
	}

	// Deliver a webhook to the sandbox's own ping, which takes GET only:
	// every attempt is refused with 405 and retried.
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	attempts, err := c.Deliver(dctx, sandbox.Webhook{
		Vendor: "crm", Event: "deal.updated", Target: inside + "/crm/v2/ping",
		Signature: replay.Signature{Scheme: replay.SchemeTimestampedHMAC, Header: "Crm-Signature", Secret: "whsec-check"},
		Retries:   2, Backoff: sandbox.Duration(10 * time.Millisecond),
	})
	if err != nil {
		fail("deliver: %v", err)
	} else if len(attempts) != 3 || attempts[2].Attempt != 3 || attempts[0].Status != http.StatusMethodNotAllowed ||
		!strings.HasPrefix(attempts[0].RequestHeader.Get("Crm-Signature"), "t=") {
		fail("deliver attempts = %+v, want 3 signed attempts answered 405", attempts)
	}
	if page, err := c.Journal(ctx, sandbox.JournalFilter{Kind: sandbox.KindDelivery}); err != nil || len(page.Entries) != 3 {
		fail("journal of deliveries: %v, %v; want 3 attempts", page, err)
	}

	bad = append(bad, checkAccess(ctx, c, base)...)

	if err := c.Reset(ctx); err != nil {
		fail("reset: %v", err)
	}
	if page, err := c.Journal(ctx, sandbox.JournalFilter{}); err != nil || len(page.Entries) != 0 {
		fail("journal after reset: %v, %v; want it empty", page, err)
	}
	return bad
}

// checkAccess checks the admin API's rules: who may call it, from where,
// with what, and what the journal shows of credentials. base is the crm
// vendor's URL.
func checkAccess(ctx context.Context, c *sandbox.Client, base string) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	do := func(method, path, body string, headers ...string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, method, c.URL()+path, strings.NewReader(body))
		if err != nil {
			fail("%s %s: %v", method, path, err)
			return 0, ""
		}
		if body == "" {
			req.Body, req.ContentLength = http.NoBody, 0
		}
		for i := 0; i+1 < len(headers); i += 2 {
			if headers[i] == "Host" {
				req.Host = headers[i+1]
			} else {
				req.Header.Set(headers[i], headers[i+1])
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fail("%s %s: %v", method, path, err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b)
	}

	// One call of each tenant, to tell their journals apart.
	for _, tok := range []string{AcmeToken, GlobexToken} {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/deals", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if resp, err := http.DefaultClient.Do(req); err != nil {
			fail("GET /deals: %v", err)
		} else {
			resp.Body.Close()
		}
	}

	for _, tc := range []struct {
		reason, method, path, body string
		headers                    []string
		status                     int
	}{
		{"no credential", "GET", "/__tether/journal", "", nil, http.StatusUnauthorized},
		{"a wrong credential", "GET", "/__tether/journal", "", []string{"Authorization", "Bearer not-the-admin-token"}, http.StatusUnauthorized},
		{"a foreign Host", "GET", "/__tether/health", "", []string{"Host", "rebound.example"}, http.StatusMisdirectedRequest},
		{"a text/plain post", "POST", "/__tether/faults", `{"faults":[{"kind":"reset"}]}`, []string{"Content-Type", "text/plain"}, http.StatusUnsupportedMediaType},
		{"a cross-site Origin", "POST", "/__tether/reset", "", []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"a tenant asks for another's journal", "GET", "/__tether/journal?tenant=globex", "", []string{"Authorization", "Bearer " + AcmeToken}, http.StatusForbidden},
		{"a tenant sets faults", "DELETE", "/__tether/faults", "", []string{"Authorization", "Bearer " + AcmeToken}, http.StatusForbidden},
	} {
		if st, body := do(tc.method, tc.path, tc.body, tc.headers...); st != tc.status {
			fail("admin API, %s: %s %s = %d %s, want %d", tc.reason, tc.method, tc.path, st, body, tc.status)
		}
	}

	acme := sandbox.NewClient(c.URL(), nil, sandbox.UseToken(AcmeToken))
	page, err := acme.Journal(ctx, sandbox.JournalFilter{})
	switch {
	case err != nil:
		fail("acme's journal: %v", err)
	case len(page.Entries) == 0:
		fail("acme's journal is empty; want its calls")
	}
	if page != nil {
		for _, e := range page.Entries {
			if e.Tenant != "acme" {
				fail("acme's credential read an entry of tenant %q", e.Tenant)
			}
			if auth := e.RequestHeader.Get("Authorization"); strings.Contains(auth, AcmeToken) || !strings.Contains(auth, sandbox.PlaceholderPrefix) || !strings.Contains(auth, "(acme/bearer)") {
				fail("acme's call journaled Authorization %q; want a placeholder naming acme/bearer", auth)
			}
		}
	}

	// Deliveries go only where they may, and files only from where they
	// may be read.
	for _, wh := range []sandbox.Webhook{
		{Vendor: "crm", Event: "deal.updated", Target: "http://192.0.2.1:9/events"},
		{Vendor: "crm", File: "/etc/passwd", Target: "http://127.0.0.1:9/events"},
	} {
		_, err := c.Deliver(ctx, wh)
		var ae *sandbox.AdminError
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || strings.Contains(ae.Detail, "root:") {
			fail("deliver to %s (file %q): %v; want a 400 refusal that quotes no file", wh.Target, wh.File, err)
		}
	}
	return bad
}
