package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// FuzzAdminRequest sends arbitrary admin calls. Whatever comes in, the
// sandbox answers with a status of the API and, unless it has nothing to
// say, JSON; a fault plan it accepts is the one it then serves.
func FuzzAdminRequest(f *testing.F) {
	seeds := []struct{ method, target, body string }{
		{"GET", "/__tether/health", ""},
		{"GET", "/__tether/journal?vendor=crm&status=200&after=3&limit=2&findings=true", ""},
		{"GET", "/__tether/journal?limit=-1", ""},
		{"GET", "/__tether/journal?status=600", ""},
		{"GET", "/__tether/journal?%zz", ""},
		{"PUT", "/__tether/faults", "seed: 3\nfaults:\n  - {kind: status, status: 503, operation: getDeal}\n"},
		{"POST", "/__tether/faults", `{"faults":[{"kind":"latency","min":"1ms","max":"2ms"}]}`},
		{"POST", "/__tether/faults", `{"faults":[{"kind":"rate-limit","vendor":"erp"}]}`},
		{"DELETE", "/__tether/faults", ""},
		{"POST", "/__tether/reset", ""},
		{"POST", "/__tether/deliver", `{"vendor":"crm","event":"deal.updated","target":"http://127.0.0.1:1/","retries":2}`},
		{"POST", "/__tether/deliver", `{"vendor":"crm","events":[{"name":"a","body":"{}"}],"target":"http://127.0.0.1:1/","signature":{"scheme":"standard-webhooks","secret":"whsec_!!"}}`},
		{"POST", "/__tether/deliver", `[1,2]`},
		{"PATCH", "/__tether/", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.body)
	}
	s, err := newSandbox([]Vendor{{Name: "crm", Contract: loadContract(f, "crm.yaml")}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	// A cancelled context keeps deliveries from leaving the process.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	known := map[int]bool{200: true, 204: true, 400: true, 404: true, 405: true, 413: true, 499: true, 502: true}
	f.Fuzz(func(t *testing.T, method, target, body string) {
		u, err := url.Parse(target)
		if err != nil || !strings.HasPrefix(u.Path, AdminPrefix) || !validMethod(method) {
			return
		}
		req, err := http.NewRequestWithContext(ctx, method, "http://sandbox"+u.RequestURI(), strings.NewReader(body))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if !known[rec.Code] {
			t.Fatalf("%s %s answered %d: %s", method, target, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusNoContent && method != http.MethodHead && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s answered %d with a body that is not JSON: %q", method, target, rec.Code, rec.Body)
		}
		if u.Path == "/__tether/faults" && method == http.MethodPut && rec.Code == http.StatusOK {
			var sent FaultPlan
			if err := json.Unmarshal(rec.Body.Bytes(), &sent); err != nil {
				t.Fatal(err)
			}
			if got := s.Faults(); !reflect.DeepEqual(normalPlan(got), normalPlan(&sent)) {
				t.Fatalf("PUT answered %+v but the sandbox serves %+v", sent, got)
			}
		}
	})
}

// validMethod keeps to methods a client can send: a short run of letters.
func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for _, r := range m {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

func normalPlan(p *FaultPlan) FaultPlan {
	out := FaultPlan{Seed: p.Seed}
	out.Faults = append([]Fault{}, p.Faults...)
	return out
}

// FuzzJournalFilter: a filter that parses is written back to the same
// query.
func FuzzJournalFilter(f *testing.F) {
	for _, q := range []string{"", "vendor=crm", "tenant=a&operation=getDeal&kind=call", "status=404&after=10&limit=5&findings=1", "kind=x", "after=18446744073709551616", "limit=%"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		filter, err := parseJournalFilter(q)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		again, err := parseJournalFilter(filter.values())
		if err != nil || again != filter {
			t.Fatalf("%q parsed as %+v, which writes back as %q and parses as %+v (%v)", raw, filter, filter.values().Encode(), again, err)
		}
	})
}
