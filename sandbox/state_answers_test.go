package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/sandbox/state"
)

// hasFinding says whether a journal entry carries a finding of rule.
func hasFinding(e Entry, rule string) bool {
	for _, f := range e.Findings {
		if f.ID == rule {
			return true
		}
	}
	return false
}

func widgetForm(name string) string { return url.Values{"name": {name}}.Encode() }

const formType = "application/x-www-form-urlencoded"

// listIDs pages through the widgets to the end and returns their ids.
func listWidgets(t *testing.T, s *Sandbox, headers ...string) []string {
	t.Helper()
	var ids []string
	cur := "/widgets?limit=100"
	for cur != "" && len(ids) < 10000 {
		resp, v := fetch(t, s, nil, "stripe", "GET", cur, "", "", headers...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", cur, resp.StatusCode, v)
		}
		page := itemsOf(t, v, "data", "id")
		ids = append(ids, page...)
		cur = ""
		if v.(map[string]any)["has_more"] == true {
			cur = "/widgets?limit=100&starting_after=" + page[len(page)-1]
		}
	}
	return ids
}

// The same idempotency key with the same request is answered as the first
// time, says so, and creates nothing; with another request it is the
// vendor's declared error for it.
func TestStateIdempotency(t *testing.T) {
	for _, tc := range []struct {
		name, contract, vendor, path, header, contentType string
		body, other                                       string
		conflict                                          int
		reason                                            string
	}{
		{"Idempotency-Key", "paging_cursor.yaml", "stripe", "/widgets", "Idempotency-Key", formType,
			widgetForm("first"), widgetForm("second"), http.StatusBadRequest,
			"Stripe's header; the create declares 400 and no 409, so a reused key is the 400"},
		{"declared header", "paging_next_cursor.yaml", "files", "/files", "X-Idempotency-Token", "application/json",
			`{"name": "first"}`, `{"name": "second"}`, http.StatusConflict,
			"the create declares its own header and a 409"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startVendors(t, []Vendor{{Name: tc.vendor, Contract: loadContract(t, tc.contract)}})
			c := s.vendors[tc.vendor].Contract
			resp, first := fetch(t, s, c, tc.vendor, "POST", tc.path, tc.contentType, tc.body, tc.header, "key-1")
			if resp.StatusCode >= 300 || resp.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("first create: %d, replayed %q", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"))
			}
			resp, again := fetch(t, s, c, tc.vendor, "POST", tc.path, tc.contentType, tc.body, tc.header, "key-1")
			if fmt.Sprint(again) != fmt.Sprint(first) || resp.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("%s: the same key and request again answered %v (replayed %q), want the first answer %v, replayed",
					tc.reason, again, resp.Header.Get("Idempotent-Replayed"), first)
			}
			if e := lastEntry(t, s); !hasFinding(e, RuleIdempotentReplay) {
				t.Errorf("the replay's journal entry has no %s finding: %v", RuleIdempotentReplay, e.Findings)
			}
			resp, refused := fetch(t, s, c, tc.vendor, "POST", tc.path, tc.contentType, tc.other, tc.header, "key-1")
			if resp.StatusCode != tc.conflict {
				t.Errorf("%s: the same key with another request answered %d %v, want %d", tc.reason, resp.StatusCode, refused, tc.conflict)
			}
			if e := lastEntry(t, s); !hasFinding(e, RuleIdempotencyConflict) || e.Source != SourceState {
				t.Errorf("the conflict's journal entry: source %q, findings %v; want the state's, with %s", e.Source, e.Findings, RuleIdempotencyConflict)
			}
			// Another key creates; a header the contract does not declare
			// for idempotency is no key at all.
			fetch(t, s, c, tc.vendor, "POST", tc.path, tc.contentType, tc.body, tc.header, "key-2")
			if tc.header != "Idempotency-Key" {
				fetch(t, s, c, tc.vendor, "POST", tc.path, tc.contentType, tc.body, "Idempotency-Key", "key-3")
				fetch(t, s, c, tc.vendor, "POST", tc.path, tc.contentType, tc.body, "Idempotency-Key", "key-3")
			}
			want := 2
			if tc.header != "Idempotency-Key" {
				want = 4
			}
			if n := len(s.vendors[tc.vendor].store.Snapshot(DefaultTenant)[tc.path[1:]]); n != want {
				t.Errorf("%d objects stored, want %d: a replay creates nothing, another key or an undeclared header does", n, want)
			}
		})
	}
}

// One tenant's objects are invisible to another: lists, reads, updates and
// deletes see only the caller's own state.
func TestStateTenantIsolation(t *testing.T) {
	c := loadContract(t, "paging_cursor.yaml")
	s := startVendors(t, []Vendor{{Name: "stripe", Contract: c}},
		WithTenant("acme", Bearer("tok-acme")), WithTenant("globex", Bearer("tok-globex")))
	acme := []string{"Authorization", "Bearer tok-acme"}
	globex := []string{"Authorization", "Bearer tok-globex"}
	var made []string
	for i := range 3 {
		_, v := fetch(t, s, c, "stripe", "POST", "/widgets", formType, widgetForm(fmt.Sprintf("acme %d", i)), acme...)
		made = append(made, v.(map[string]any)["id"].(string))
	}
	if e := lastEntry(t, s); e.Tenant != "acme" {
		t.Fatalf("the create was journaled as tenant %q", e.Tenant)
	}
	if got := listWidgets(t, s, globex...); len(got) != 0 {
		t.Errorf("globex lists %v, want none of acme's", got)
	}
	// A read of acme's id by globex synthesises an object: it must not be
	// acme's.
	_, v := fetch(t, s, c, "stripe", "GET", "/widgets/"+made[0], "", "", globex...)
	if name := v.(map[string]any)["name"]; name == "acme 0" {
		t.Errorf("globex read acme's widget %s: %v", made[0], v)
	}
	// globex deletes what it sees under that id; acme's stays.
	if resp, _ := fetch(t, s, c, "stripe", "DELETE", "/widgets/"+made[1], "", "", globex...); resp.StatusCode != http.StatusOK {
		t.Fatalf("globex delete: %d", resp.StatusCode)
	}
	resp, v := fetch(t, s, c, "stripe", "GET", "/widgets/"+made[1], "", "", acme...)
	if resp.StatusCode != http.StatusOK || v.(map[string]any)["name"] != "acme 1" {
		t.Errorf("acme's widget after globex deleted its id: %d %v, want acme's own", resp.StatusCode, v)
	}
	want := slices.Clone(made)
	slices.Reverse(want)
	if got := listWidgets(t, s, acme...); !slices.Equal(got, want) {
		t.Errorf("acme lists %v, want its own %v", got, want)
	}
	// A reset of one tenant leaves the other's state.
	s.vendors["stripe"].store.Reset("globex")
	if got := listWidgets(t, s, acme...); len(got) != 3 {
		t.Errorf("after resetting globex, acme lists %v", got)
	}
}

// A cassette's recorded answers seed the state: their objects are read
// back by other requests, and the exact recorded request still gets the
// recorded answer.
func TestStateSeededFromCassette(t *testing.T) {
	c := loadContract(t, "paging_cursor.yaml")
	s := startVendors(t, []Vendor{{Name: "stripe", Contract: c, Cassettes: []*fixtures.Cassette{loadCassette(t, "state_widgets_cassette.yaml")}}})
	for id, name := range map[string]string{"wid_RecordedNewest": "recorded newest", "wid_RecordedOldest": "recorded oldest", "wid_RecordedCreate": "recorded create"} {
		resp, v := fetch(t, s, c, "stripe", "GET", "/widgets/"+id, "", "")
		if resp.StatusCode != http.StatusOK || v.(map[string]any)["name"] != name {
			t.Errorf("GET /widgets/%s: %d %v, want the recorded %q", id, resp.StatusCode, v, name)
		}
		if e := lastEntry(t, s); e.Source != SourceState {
			t.Errorf("GET /widgets/%s answered from %q, want the state", id, e.Source)
		}
	}
	if got := listWidgets(t, s); len(got) != 3 {
		t.Errorf("the list holds %v, want the three recorded widgets", got)
	}
	_, v := fetch(t, s, c, "stripe", "GET", "/widgets?limit=2", "", "")
	if e := lastEntry(t, s); e.Source != SourceCassette {
		t.Errorf("the recorded request was answered from %q, want the cassette: %v", e.Source, v)
	}
	if ids := itemsOf(t, v, "data", "id"); !slices.Equal(ids, []string{"wid_RecordedNewest", "wid_RecordedOldest"}) {
		t.Errorf("the recorded request answered %v, want the recorded items", ids)
	}
	// A widget created now is seen beside the seeded ones; the seeds are
	// every tenant's start again after a reset.
	fetch(t, s, c, "stripe", "POST", "/widgets", formType, widgetForm("new"))
	if got := listWidgets(t, s); len(got) != 4 {
		t.Errorf("after a create the list holds %v, want four", got)
	}
	s.Reset()
	if got := listWidgets(t, s); len(got) != 3 {
		t.Errorf("after a reset the list holds %v, want the three seeds", got)
	}
}

// A state document given with the vendor seeds every tenant.
func TestStateSeededFromDocument(t *testing.T) {
	c := loadContract(t, "paging_link.yaml")
	seeded := state.Document{"issues": {{Keys: map[string]string{"owner": "octo", "repo": "hello"},
		Object: map[string]any{"number": 7, "title": "seeded", "state": "open"}}}}
	s := startVendors(t, []Vendor{{Name: "github", Contract: c, State: seeded}}, WithTenant("a", Bearer("ta")), WithTenant("b", Bearer("tb")))
	for _, tok := range []string{"ta", "tb"} {
		resp, v := fetch(t, s, c, "github", "GET", "/repos/octo/hello/issues/7", "", "", "Authorization", "Bearer "+tok)
		if resp.StatusCode != http.StatusOK || v.(map[string]any)["title"] != "seeded" {
			t.Errorf("tenant of %s reads the seeded issue as %d %v", tok, resp.StatusCode, v)
		}
	}
	_, v := fetch(t, s, c, "github", "GET", "/repos/octo/other/issues", "", "", "Authorization", "Bearer ta")
	if ids := itemsOf(t, v, "", "number"); len(ids) != 0 {
		t.Errorf("another repository's issues: %v, want none", ids)
	}
}

// With strict state, an identifier never seen is the vendor's declared
// not-found answer.
func TestStateStrictUnknownID(t *testing.T) {
	c := loadContract(t, "paging_cursor.yaml")
	s := startVendors(t, []Vendor{{Name: "stripe", Contract: c}}, StrictState())
	resp, v := fetch(t, s, c, "stripe", "GET", "/widgets/wid_NeverCreated00", "", "")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("strict state, unknown id: %d %v, want 404", resp.StatusCode, v)
	}
	if msg := v.(map[string]any)["error"].(map[string]any)["message"]; msg != "No such widget" {
		t.Errorf("the 404 body %v is not the declared one", v)
	}
	if resp, _ := fetch(t, s, c, "stripe", "DELETE", "/widgets/wid_NeverCreated00", "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("strict state, delete of an unknown id: %d, want 404", resp.StatusCode)
	}
	// Without strict state, the same read is a synthesised widget under
	// that id, kept for the next read.
	s2 := startVendors(t, []Vendor{{Name: "stripe", Contract: c}})
	resp, v = fetch(t, s2, c, "stripe", "GET", "/widgets/wid_NeverCreated00", "", "")
	if resp.StatusCode != http.StatusOK || v.(map[string]any)["id"] != "wid_NeverCreated00" {
		t.Errorf("lenient state, unknown id: %d %v, want a widget with that id", resp.StatusCode, v)
	}
}

// A deleted item is not found afterwards: the declared 404 where there is
// one; where the contract declares neither a 404 nor a default, a 404 all
// the same, with a journal finding saying the contract is silent.
func TestStateDeleteThenRead(t *testing.T) {
	t.Run("declared", func(t *testing.T) {
		c := loadContract(t, "paging_cursor.yaml")
		s := startVendors(t, []Vendor{{Name: "stripe", Contract: c}})
		_, v := fetch(t, s, c, "stripe", "POST", "/widgets", formType, widgetForm("doomed"))
		id := v.(map[string]any)["id"].(string)
		resp, v := fetch(t, s, c, "stripe", "DELETE", "/widgets/"+id, "", "")
		if resp.StatusCode != http.StatusOK || v.(map[string]any)["id"] != id || v.(map[string]any)["deleted"] != true {
			t.Errorf("delete: %d %v, want the deleted id", resp.StatusCode, v)
		}
		for _, method := range []string{"GET", "DELETE"} {
			resp, v = fetch(t, s, c, "stripe", method, "/widgets/"+id, "", "")
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s after delete: %d %v, want 404", method, resp.StatusCode, v)
			}
			if e := lastEntry(t, s); e.Source != SourceState || hasFinding(e, RuleNotFoundUndeclared) {
				t.Errorf("%s after delete: source %q, findings %v", method, e.Source, e.Findings)
			}
		}
		if got := listWidgets(t, s); len(got) != 0 {
			t.Errorf("the list after delete: %v", got)
		}
	})
	t.Run("undeclared", func(t *testing.T) {
		c := loadContract(t, "paging_offset.yaml")
		s := startVendors(t, []Vendor{{Name: "pagerduty", Contract: c}})
		_, v := fetch(t, s, c, "pagerduty", "POST", "/incidents", "application/json", `{"title": "doomed"}`)
		id := v.(map[string]any)["id"].(string)
		if resp, _ := fetch(t, s, c, "pagerduty", "DELETE", "/incidents/"+id, "", ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		// The contract allows no 404 here, so the answer is not checked
		// against it: the finding is what says so.
		resp, _ := fetch(t, s, nil, "pagerduty", "GET", "/incidents/"+id, "", "")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("read after delete: %d, want 404", resp.StatusCode)
		}
		if e := lastEntry(t, s); !hasFinding(e, RuleNotFoundUndeclared) {
			t.Errorf("read after delete: the journal has no %s finding: %v", RuleNotFoundUndeclared, e.Findings)
		}
	})
}

// At the cap the oldest objects are forgotten, the newest kept, and the
// call that made room says so.
func TestStateCapEvictsOldest(t *testing.T) {
	c := loadContract(t, "paging_cursor.yaml")
	s := startVendors(t, []Vendor{{Name: "stripe", Contract: c}}, WithStateCap(4<<10))
	var made []string
	evicted := 0
	for i := range 100 {
		_, v := fetch(t, s, c, "stripe", "POST", "/widgets", formType, widgetForm(fmt.Sprintf("widget %d", i)))
		made = append(made, v.(map[string]any)["id"].(string))
		if hasFinding(lastEntry(t, s), RuleStateEvicted) {
			evicted++
		}
	}
	got := listWidgets(t, s)
	if len(got) == 0 || len(got) >= 100 {
		t.Fatalf("%d widgets kept of 100 under a 4 KiB cap", len(got))
	}
	want := slices.Clone(made[100-len(got):])
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Errorf("kept %v\nwant the newest %d, newest first: %v", got, len(got), want)
	}
	if evicted == 0 || evicted > 100-len(got) {
		t.Errorf("%d creates journaled %s, for %d widgets forgotten", evicted, RuleStateEvicted, 100-len(got))
	}
	snap := s.vendors["stripe"].store.Snapshot(DefaultTenant)
	if n := len(snap["widgets"]); n != len(got) {
		t.Errorf("the snapshot holds %d widgets, the list %d", n, len(got))
	}
}

// Creates, reads and lists of one tenant run side by side: every create
// is kept once, and every list is a consistent page of what was kept.
func TestStateConcurrentCalls(t *testing.T) {
	c := loadContract(t, "paging_cursor.yaml")
	s := startVendors(t, []Vendor{{Name: "stripe", Contract: c}})
	const workers, each = 8, 15
	ids := make([][]string, workers)
	errs := make(chan string, workers*each)
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				resp, body := call(t, "POST", s.VendorURL("stripe")+"/widgets", widgetForm(fmt.Sprintf("w%d-%d", w, i)),
					"Authorization", "Bearer t", "Content-Type", formType)
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Sprintf("create: %d %s", resp.StatusCode, body)
					return
				}
				var v struct{ ID string }
				if err := json.Unmarshal([]byte(body), &v); err != nil || v.ID == "" {
					errs <- fmt.Sprintf("create answered %s", body)
					return
				}
				ids[w] = append(ids[w], v.ID)
				if resp, body := call(t, "GET", s.VendorURL("stripe")+"/widgets/"+v.ID, "", "Authorization", "Bearer t"); resp.StatusCode != http.StatusOK || !strings.Contains(body, v.ID) {
					errs <- fmt.Sprintf("read back %s: %d %s", v.ID, resp.StatusCode, body)
				}
				if resp, body := call(t, "GET", s.VendorURL("stripe")+"/widgets?limit=3", "", "Authorization", "Bearer t"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"has_more"`) {
					errs <- fmt.Sprintf("list: %d %s", resp.StatusCode, body)
				}
			}
		}()
	}
	for range workers {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	all := slices.Concat(ids...)
	listed := listWidgets(t, s)
	slices.Sort(all)
	slices.Sort(listed)
	if !slices.Equal(all, listed) || len(slices.Compact(slices.Clone(listed))) != workers*each {
		t.Errorf("%d created, %d listed; every create is kept once", len(all), len(listed))
	}
	for _, e := range s.Journal(JournalFilter{Findings: true}).Entries {
		t.Errorf("%s %s: %v", e.Method, e.Path, e.Findings)
	}
}

// Twilio's contract takes form fields in one case (FriendlyName) and
// answers them in another (friendly_name): the created service holds what
// was sent, and reads and lists say so. A body's identifier (Sid) is never
// taken, in any spelling. Its url and links name its own sid, not the
// example's.
func TestStateTwilioFieldsEchoed(t *testing.T) {
	c := corpusSpec(t, "twilio-messaging-v1.yaml", contracts.IgnoreSecurity())
	s := startVendors(t, []Vendor{{Name: "twilio", Contract: c}})
	auth := []string{"Authorization", basic("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "token")}
	form := url.Values{"FriendlyName": {"Deal alerts"}, "StickySender": {"false"}, "ValidityPeriod": {"3600"}, "Sid": {"MG00000000000000000000000000000000"}}.Encode()
	resp, v := fetch(t, s, c, "twilio", "POST", "/v1/Services", formType, form, auth...)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("create: %d %v", resp.StatusCode, v)
	}
	created := v.(map[string]any)
	id, _ := created["sid"].(string)
	want := map[string]any{"friendly_name": "Deal alerts", "sticky_sender": false, "validity_period": json.Number("3600")}
	for k, w := range want {
		if created[k] != w {
			t.Errorf("create: %s is %v, want %v", k, created[k], w)
		}
	}
	if id == "" || id == "MG00000000000000000000000000000000" {
		t.Errorf("create: sid %q, want one the sandbox made", id)
	}
	// The example's url and links name the example's service; the new
	// service's name it.
	links, _ := created["links"].(map[string]any)
	if u, _ := created["url"].(string); !strings.HasSuffix(u, "/Services/"+id) || len(links) == 0 {
		t.Errorf("create: url %q and links %v, want them to name %s", u, links, id)
	}
	for k, l := range links {
		if s, _ := l.(string); !strings.Contains(s, "/Services/"+id+"/") {
			t.Errorf("create: links.%s is %q, want it to name %s", k, l, id)
		}
	}
	_, got := fetch(t, s, c, "twilio", "GET", "/v1/Services/"+id, "", "", auth...)
	if got.(map[string]any)["friendly_name"] != "Deal alerts" || got.(map[string]any)["url"] != created["url"] {
		t.Errorf("read: %v, want the friendly name sent and the service's url", got)
	}
	_, page := fetch(t, s, c, "twilio", "GET", "/v1/Services", "", "", auth...)
	if items := page.(map[string]any)["services"].([]any); len(items) == 0 || items[0].(map[string]any)["friendly_name"] != "Deal alerts" {
		t.Errorf("list: %v, want the new service first", page)
	}
	// A service read before it was ever created is synthesised with the
	// id read, and refers to it too.
	other := "MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	if _, got = fetch(t, s, c, "twilio", "GET", "/v1/Services/"+other, "", "", auth...); !strings.HasSuffix(got.(map[string]any)["url"].(string), other) {
		t.Errorf("read of an unseen service: url %v, want it to name %s", got.(map[string]any)["url"], other)
	}
}
