package container_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tetherkit/tether/internal/sandboxcheck"
	"github.com/tetherkit/tether/sandbox/container"
)

// TestStartSandbox starts the CRM sandbox in a container twice, cold (the
// image is built) and warm (the image is cached), drives each through the
// same checks as the in-process sandbox, and checks that each container is
// gone once terminated. It logs both times to the first healthy answer.
func TestStartSandbox(t *testing.T) {
	requireDocker(t)
	// On a fresh machine the first static build of tether compiles every
	// dependency again and takes minutes; later ones take seconds.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	docker := dockerClient(t)

	spec := container.SandboxSpec{
		Vendors: []container.Vendor{{
			Name:      "crm",
			Contract:  "../testdata/crm.yaml",
			Cassettes: []string{"../testdata/crm_deals.yaml"},
		}},
		// A seed unique to this run changes tether's arguments and so the
		// image's content: no earlier run has built it, and the first
		// start is honestly cold. Seeds change no answer the checks read.
		Seed:    uint64(time.Now().UnixNano()),
		Tenants: sandboxcheck.TenantFlags(),
	}

	var healthy [2]time.Duration
	for i, run := range []struct {
		name       string
		wantCached bool
	}{
		{name: "cold", wantCached: false},
		{name: "warm", wantCached: true},
	} {
		sb, err := container.StartSandbox(ctx, spec, container.WithStartupTimeout(60*time.Second))
		if err != nil {
			t.Fatalf("%s start: %v", run.name, err)
		}
		// Registered before any check, so the container goes even when one fails.
		t.Cleanup(func() {
			if err := sb.Terminate(context.Background()); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
		if i == 0 {
			t.Cleanup(func() { removeImage(t, docker, sb.Image.Ref) })
		}
		healthy[i] = sb.Healthy
		if sb.Image.Cached != run.wantCached {
			t.Errorf("%s start of %s: Image.Cached = %v, want %v", run.name, sb.Image.Ref, sb.Image.Cached, run.wantCached)
		}

		for _, v := range sandboxcheck.Drive(ctx, sb.Client, sb.Inside) {
			t.Errorf("%s: %s", run.name, v)
		}
		if body := getCassetteDeal(t, ctx, sb); !strings.Contains(body, "Globex expansion") {
			t.Errorf("%s: GET /deals/d_7 body %q, want the cassette's answer naming Globex expansion", run.name, body)
		}

		if err := sb.Terminate(ctx); err != nil {
			t.Fatalf("%s terminate: %v", run.name, err)
		}
		assertGone(t, ctx, docker, sb.ID())
	}
	t.Logf("time to first healthy answer: cold (image built) %v, warm (image cached) %v",
		healthy[0].Round(time.Millisecond), healthy[1].Round(time.Millisecond))
}

// getCassetteDeal asks the sandbox for the deal that only the cassette
// knows and returns the body of the answer.
func getCassetteDeal(t *testing.T, ctx context.Context, sb *container.Sandbox) string {
	t.Helper()
	base, err := sb.Client.VendorURL(ctx, "crm")
	if err != nil {
		t.Fatalf("vendor URL of crm: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/deals/d_7", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sandboxcheck.AcmeToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /deals/d_7: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET /deals/d_7: read body: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /deals/d_7: status %s, want 200", resp.Status)
	}
	return string(body)
}
