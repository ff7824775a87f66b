package sandbox_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/internal/sandboxcheck"
	"github.com/tetherkit/tether/sandbox"
)

func startCRM(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	c, err := contracts.Load(filepath.Join("testdata", "crm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sandbox.Start([]sandbox.Vendor{{Name: "crm", Contract: c}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestAdminThroughTheClient runs the checks the container test runs too.
func TestAdminThroughTheClient(t *testing.T) {
	c, err := contracts.Load(filepath.Join("testdata", "crm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sandbox.Start([]sandbox.Vendor{{Name: "crm", Contract: c}}, sandboxcheck.TenantOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, v := range sandboxcheck.Drive(context.Background(), s.Client(), s.URL()) {
		t.Error(v)
	}
}

func TestAdminOverHTTP(t *testing.T) {
	s := startCRM(t)
	tests := []struct {
		reason, method, path, body string
		status                     int
		contains                   string
	}{
		{"health", "GET", "/__tether/health", "", 200, `"base_path":"/crm/v2"`},
		{"an unknown endpoint names the real ones", "GET", "/__tether/nope", "", 404, "health, journal, faults, reset, deliver, targets, state and credentials"},
		{"a wrong method", "POST", "/__tether/health", "", 405, "use GET"},
		{"an unknown journal filter", "GET", "/__tether/journal?colour=red", "", 400, `\"colour\" is unknown`},
		{"a bad status filter", "GET", "/__tether/journal?status=abc", "", 400, "status"},
		{"a bad kind filter", "GET", "/__tether/journal?kind=everything", "", 400, "kind"},
		{"faults as YAML", "PUT", "/__tether/faults", "seed: 3\nfaults:\n  - {kind: status, status: 503}\n", 200, `"status":503`},
		{"a target registered", "POST", "/__tether/targets", `{"url":"http://connector.example:9000/events"}`, 200, `"http://connector.example:9000"`},
		{"a target that is no URL", "POST", "/__tether/targets", `{"url":"ftp://x/"}`, 400, "not an http or https URL"},
		{"a bad fault file names the line", "PUT", "/__tether/faults", "faults:\n  - kind: status\n    status: abc\n", 400, "request body:3"},
		{"a fault for an unknown vendor", "POST", "/__tether/faults", `{"faults":[{"kind":"reset","vendor":"erp"}]}`, 400, `no vendor \"erp\"`},
		{"faults cleared", "DELETE", "/__tether/faults", "", 204, ""},
		{"a wrong method on faults", "PATCH", "/__tether/faults", "", 405, "PATCH"},
		{"deliver with unknown fields", "POST", "/__tether/deliver", `{"vendor":"crm","colour":1}`, 400, "colour"},
		{"deliver without events", "POST", "/__tether/deliver", `{"vendor":"crm","target":"http://127.0.0.1:1/"}`, 400, "exactly one of"},
		{"deliver to an unknown vendor", "POST", "/__tether/deliver", `{"vendor":"erp","event":"x","target":"http://127.0.0.1:1/"}`, 400, `no vendor \"erp\"`},
		{"deliver an undeclared event", "POST", "/__tether/deliver", `{"vendor":"crm","event":"deal.deleted","target":"http://127.0.0.1:1/"}`, 400, "deal.deleted"},
		{"deliver with an unknown signature scheme", "POST", "/__tether/deliver", `{"vendor":"crm","event":"deal.updated","target":"http://127.0.0.1:1/","signature":{"scheme":"md5"}}`, 400, "md5"},
		{"reset", "POST", "/__tether/reset", "", 204, ""},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, s.URL()+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+s.AdminToken())
		if tc.body != "" {
			req.Header.Set("Content-Type", "application/json")
			if !strings.HasPrefix(tc.body, "{") {
				req.Header.Set("Content-Type", "application/yaml")
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.contains) {
			t.Errorf("%s: %s %s = %d %s, want %d containing %q", tc.reason, tc.method, tc.path, resp.StatusCode, b, tc.status, tc.contains)
		}
		if resp.StatusCode >= 400 {
			var p struct{ Detail string }
			if json.Unmarshal(b, &p) != nil || p.Detail == "" {
				t.Errorf("%s: refusal %s is not problem+json with a detail", tc.reason, b)
			}
		}
	}
}

func TestClientErrors(t *testing.T) {
	s := startCRM(t)
	c := sandbox.NewClient(s.URL(), nil, sandbox.UseToken(s.AdminToken()))
	_, err := c.VendorURL(context.Background(), "erp")
	if err == nil || !strings.Contains(err.Error(), "crm") {
		t.Errorf("VendorURL(erp) = %v, want an error listing crm", err)
	}
	err = c.AddFaults(context.Background(), sandbox.Status(200))
	var ae *sandbox.AdminError
	if !asAdminError(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Detail, "200") {
		t.Errorf("AddFaults(Status(200)) = %v, want a 400 AdminError about the status", err)
	}
	dead := sandbox.NewClient("http://127.0.0.1:1", nil)
	if _, err := dead.Health(context.Background()); err == nil {
		t.Error("Health of nothing succeeded")
	}
}

func asAdminError(err error, target **sandbox.AdminError) bool {
	ae, ok := err.(*sandbox.AdminError)
	if ok {
		*target = ae
	}
	return ok
}
