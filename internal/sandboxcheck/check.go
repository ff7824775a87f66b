// Package sandboxcheck drives a sandbox serving the CRM test contract
// (sandbox/testdata/crm.yaml, vendor "crm") through its admin client, so
// the in-process sandbox and the containerised one are checked by the same
// code.
package sandboxcheck

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tetherkit/tether/replay"
	"github.com/tetherkit/tether/sandbox"
)

// Drive exercises every admin endpoint and a vendor call through c, and
// returns every violation it sees. inside is the sandbox's root URL as the
// sandbox itself reaches it (for a container, its address inside the
// container), where it delivers a webhook to itself.
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
		req.Header.Set("Authorization", "Bearer check-token")
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

	if err := c.Reset(ctx); err != nil {
		fail("reset: %v", err)
	}
	if page, err := c.Journal(ctx, sandbox.JournalFilter{}); err != nil || len(page.Entries) != 0 {
		fail("journal after reset: %v, %v; want it empty", page, err)
	}
	return bad
}
