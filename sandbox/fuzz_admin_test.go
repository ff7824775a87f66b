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

	"github.com/tetherkit/tether/sandbox/state"
)

// FuzzAdminRequest sends arbitrary admin calls, from arbitrary hosts and
// origins, with any content type and as any caller: nobody, the admin,
// tenant acme, or a wrong token. Whatever comes in, the sandbox answers
// with a status of the API and, unless it has nothing to say, JSON; the
// checks refuse in their order (a foreign Host 421, a cross-site request
// 403, a body that is not JSON or YAML 415, no credential 401); a tenant
// never changes anything but its own state, nor reads another tenant's
// entries or state; and a fault plan or a state the admin sets is the one
// the sandbox then serves.
func FuzzAdminRequest(f *testing.F) {
	seeds := []struct {
		method, target, body, host, contentType, origin string
		as                                              uint8
	}{
		{"GET", "/__tether/health", "", "127.0.0.1:8787", "", "", asAdmin},
		{"GET", "/__tether/journal?vendor=crm&status=200&after=3&limit=2&findings=true", "", "localhost:1", "", "", asAdmin},
		{"GET", "/__tether/journal?limit=-1", "", "[::1]:9", "", "", asAdmin},
		{"GET", "/__tether/journal?status=600", "", "127.0.0.1", "", "", asAdmin},
		{"GET", "/__tether/journal?%zz", "", "127.0.0.1", "", "", asAdmin},
		{"PUT", "/__tether/faults", "seed: 3\nfaults:\n  - {kind: status, status: 503, operation: getDeal}\n", "127.0.0.1", "application/yaml", "", asAdmin},
		{"POST", "/__tether/faults", `{"faults":[{"kind":"latency","min":"1ms","max":"2ms"}]}`, "127.0.0.1", "application/json", "", asAdmin},
		{"POST", "/__tether/faults", `{"faults":[{"kind":"rate-limit","vendor":"erp"}]}`, "127.0.0.1", "application/json", "", asAdmin},
		{"DELETE", "/__tether/faults", "", "127.0.0.1", "", "", asAdmin},
		{"POST", "/__tether/reset", "", "127.0.0.1", "", "", asAdmin},
		{"POST", "/__tether/deliver", `{"vendor":"crm","event":"deal.updated","target":"http://127.0.0.1:1/","retries":2}`, "127.0.0.1", "application/json", "", asAdmin},
		{"POST", "/__tether/deliver", `{"vendor":"crm","events":[{"name":"a","body":"{}"}],"target":"http://127.0.0.1:1/","signature":{"scheme":"standard-webhooks","secret":"whsec_!!"}}`, "127.0.0.1", "application/json", "", asAdmin},
		{"POST", "/__tether/deliver", `{"vendor":"crm","file":"/etc/passwd","target":"http://127.0.0.1:1/"}`, "127.0.0.1", "application/json", "", asAdmin},
		{"POST", "/__tether/deliver", `{"vendor":"crm","event":"deal.updated","target":"http://192.0.2.1/"}`, "127.0.0.1", "application/json", "", asAdmin},
		{"POST", "/__tether/deliver", `[1,2]`, "127.0.0.1", "application/json", "", asAdmin},
		{"POST", "/__tether/targets", `{"url":"http://connector.example:8080/events"}`, "127.0.0.1", "application/json", "", asAdmin},
		{"PATCH", "/__tether/", "", "127.0.0.1", "", "", asAdmin},
		{"GET", "/__tether/journal", "", "127.0.0.1", "", "", asNobody},
		{"GET", "/__tether/journal", "", "127.0.0.1", "", "", asWrong},
		{"GET", "/__tether/journal?tenant=globex", "", "127.0.0.1", "", "", asTenant},
		{"GET", "/__tether/journal", "", "127.0.0.1", "", "", asTenant},
		{"POST", "/__tether/reset", "", "127.0.0.1", "", "", asTenant},
		{"GET", "/__tether/journal", "", "evil.example:80", "", "", asAdmin},
		{"POST", "/__tether/reset", "", "127.0.0.1", "text/plain", "", asAdmin},
		{"POST", "/__tether/faults", `{"faults":[]}`, "127.0.0.1", "", "https://evil.example", asAdmin},
		{"GET", "/__tether/state?tenant=acme", "", "127.0.0.1", "", "", asAdmin},
		{"GET", "/__tether/state?tenant=globex&vendor=crm", "", "127.0.0.1", "", "", asAdmin},
		{"GET", "/__tether/state?tenant=globex", "", "127.0.0.1", "", "", asTenant},
		{"GET", "/__tether/state", "", "127.0.0.1", "", "", asTenant},
		{"PUT", "/__tether/state?tenant=acme", "crm:\n  deals:\n    - object: {id: d_9, name: n}\n", "127.0.0.1", "application/yaml", "", asAdmin},
		{"PUT", "/__tether/state?tenant=globex", `{"crm":{"deals":[{"object":{"id":"d_1"}}]}}`, "127.0.0.1", "application/json", "", asTenant},
		{"PUT", "/__tether/state", `{"crm":{"deals":[{"object":{"name":"x"}}]}}`, "127.0.0.1", "application/json", "", asTenant},
		{"PUT", "/__tether/state?tenant=acme", `{"erp":{}}`, "127.0.0.1", "application/json", "", asAdmin},
		{"DELETE", "/__tether/state?tenant=globex", "", "127.0.0.1", "", "", asTenant},
		{"DELETE", "/__tether/state", "", "127.0.0.1", "", "", asAdmin},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.body, s.host, s.contentType, s.origin, s.as)
	}
	s, err := newSandbox([]Vendor{{Name: "crm", Contract: loadContract(f, "crm.yaml")}}, []Option{
		WithTenant("acme", Bearer("acme-fuzz-token")), WithTenant("globex", Bearer("globex-fuzz-token")),
	})
	if err != nil {
		f.Fatal(err)
	}
	// A call of each tenant, so there is something not to leak.
	for _, tok := range []string{"acme-fuzz-token", "globex-fuzz-token"} {
		req := httptest.NewRequest("GET", "http://127.0.0.1/crm/v2/deals/d_1", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		s.ServeHTTP(httptest.NewRecorder(), req)
	}
	// A cancelled context keeps deliveries from leaving the process.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	known := map[int]bool{200: true, 204: true, 400: true, 401: true, 403: true, 404: true, 405: true, 413: true,
		415: true, 421: true, 499: true, 502: true}
	f.Fuzz(func(t *testing.T, method, target, body, host, contentType, origin string, as uint8) {
		u, err := url.Parse(target)
		if err != nil || !strings.HasPrefix(u.Path, AdminPrefix) || !validMethod(method) || !validHeader(host) || !validHeader(contentType) || !validHeader(origin) {
			return
		}
		req, err := http.NewRequestWithContext(ctx, method, "http://sandbox"+u.RequestURI(), strings.NewReader(body))
		if err != nil {
			return
		}
		req.Host = host
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		switch as % 4 {
		case asAdmin:
			req.Header.Set("Authorization", "Bearer "+s.AdminToken())
		case asTenant:
			req.Header.Set("Authorization", "Bearer acme-fuzz-token")
		case asWrong:
			req.Header.Set("Authorization", "Bearer "+s.AdminToken()+"!")
		}
		before := s.Faults()
		globex, err := s.State("globex")
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if !known[rec.Code] {
			t.Fatalf("%s %s answered %d: %s", method, target, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusNoContent && method != http.MethodHead && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s answered %d with a body that is not JSON: %q", method, target, rec.Code, rec.Body)
		}
		// The checks, in their order.
		want := 0
		switch {
		case !s.adminHost(host):
			want = http.StatusMisdirectedRequest
		case crossSite(req) != "":
			want = http.StatusForbidden
		case !adminContent(req):
			want = http.StatusUnsupportedMediaType
		case as%4 == asNobody || as%4 == asWrong:
			want = http.StatusUnauthorized
		}
		if want != 0 && rec.Code != want {
			t.Fatalf("%s %s (Host %q, Content-Type %q, Origin %q, as %d) answered %d, want %d", method, target, host, contentType, origin, as%4, rec.Code, want)
		}
		if want == 0 && as%4 == asTenant {
			if !reflect.DeepEqual(s.Faults(), before) {
				t.Fatalf("tenant acme changed the fault plan with %s %s", method, target)
			}
			if after, _ := s.State("globex"); !reflect.DeepEqual(after, globex) {
				t.Fatalf("tenant acme changed globex's state with %s %s", method, target)
			}
			if strings.Contains(rec.Body.String(), `"tenant":"globex"`) || strings.Contains(rec.Body.String(), "globex-fuzz-token") {
				t.Fatalf("tenant acme read globex's entries with %s %s: %s", method, target, rec.Body)
			}
		}
		if strings.Contains(rec.Body.String(), "fuzz-token") || strings.Contains(rec.Body.String(), s.AdminToken()) {
			t.Fatalf("%s %s answered with a credential in clear: %s", method, target, rec.Body)
		}
		if want == 0 && as%4 == asAdmin && u.Path == "/__tether/faults" && method == http.MethodPut && rec.Code == http.StatusOK {
			var sent FaultPlan
			if err := json.Unmarshal(rec.Body.Bytes(), &sent); err != nil {
				t.Fatal(err)
			}
			if got := s.Faults(); !reflect.DeepEqual(normalPlan(got), normalPlan(&sent)) {
				t.Fatalf("PUT answered %+v but the sandbox serves %+v", sent, got)
			}
		}
		if want == 0 && u.Path == "/__tether/state" && method == http.MethodPut && rec.Code == http.StatusOK {
			var sent map[string]state.Document
			if err := json.Unmarshal(rec.Body.Bytes(), &sent); err != nil {
				t.Fatal(err)
			}
			tenant := u.Query().Get("tenant")
			if as%4 == asTenant {
				tenant = "acme"
			}
			got, err := s.State(tenant)
			if err != nil {
				t.Fatal(err)
			}
			// The sandbox holds numbers as json.Number; read both alike.
			var served map[string]state.Document
			b, _ := json.Marshal(got)
			if err := json.Unmarshal(b, &served); err != nil || !reflect.DeepEqual(served, sent) {
				t.Fatalf("PUT answered %v but tenant %q's state is %v (%v)", sent, tenant, served, err)
			}
		}
	})
}

// Who a fuzzed admin call comes from.
const (
	asAdmin uint8 = iota
	asTenant
	asNobody
	asWrong
)

// validHeader keeps to header values a client can send.
func validHeader(v string) bool {
	for _, r := range v {
		if r < ' ' || r == 0x7f || r > '~' {
			return false
		}
	}
	return true
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
