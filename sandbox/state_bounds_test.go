package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Reads of unknown items under ever new parents leave nothing behind with
// strict state, and stay within the cap without: a client cannot grow a
// tenant's memory past its cap by naming parents.
func TestStateUnknownParentsBounded(t *testing.T) {
	const capBytes = 64 << 10
	c := loadContract(t, "tracker.yaml")
	for _, strict := range []bool{true, false} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			opts := []Option{WithStateCap(capBytes), WithJournalCap(16)}
			if strict {
				opts = append(opts, StrictState())
			}
			s := startVendors(t, []Vendor{{Name: "tracker", Contract: c}}, opts...)
			for i := range 3000 {
				resp, _ := fetch(t, s, nil, "tracker", "GET", fmt.Sprintf("/repos/owner%d/repo%d/issues/%d", i, i, i+1), "", "")
				if want := map[bool]int{true: http.StatusNotFound, false: http.StatusOK}[strict]; resp.StatusCode != want {
					t.Fatalf("read %d: %d, want %d", i, resp.StatusCode, want)
				}
			}
			u := s.vendors["tracker"].store.Usage(DefaultTenant)
			t.Logf("after 3000 reads under new parents: %+v", u)
			if u.Bytes > capBytes {
				t.Errorf("the state counts %d bytes, past its cap of %d", u.Bytes, capBytes)
			}
			if strict && (u.Buckets != 0 || u.Bytes != 0) {
				t.Errorf("strict reads of unknown items left %d buckets (%d bytes) behind", u.Buckets, u.Bytes)
			}
			if !strict && u.Buckets > capBytes/bucketCostFloor {
				t.Errorf("%d buckets kept under a cap of %d bytes", u.Buckets, capBytes)
			}
		})
	}
}

// bucketCostFloor is less than what the cap counts of a bucket holding
// one item, so that the bucket count above is a true bound.
const bucketCostFloor = 256

// Deletes of identifiers the state never held are remembered (a later
// read is not found) within the cap, the oldest forgotten first.
func TestStateTombstonesBounded(t *testing.T) {
	const capBytes = 64 << 10
	c := loadContract(t, "paging_cursor.yaml")
	s := startVendors(t, []Vendor{{Name: "stripe", Contract: c}}, WithStateCap(capBytes), WithJournalCap(16))
	for i := range 3000 {
		if resp, _ := fetch(t, s, nil, "stripe", "DELETE", fmt.Sprintf("/widgets/wid_gone%06d", i), "", ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("delete %d: %d", i, resp.StatusCode)
		}
	}
	u := s.vendors["stripe"].store.Usage(DefaultTenant)
	t.Logf("after 3000 deletes of unknown ids: %+v", u)
	if u.Bytes > capBytes || u.Tombstones == 0 || u.Tombstones >= 3000 {
		t.Errorf("%d tombstones in %d bytes under a cap of %d; want some, the oldest forgotten", u.Tombstones, u.Bytes, capBytes)
	}
	// The newest is still remembered.
	if resp, _ := fetch(t, s, nil, "stripe", "GET", "/widgets/wid_gone002999", "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a read of the latest deleted id: %d, want 404", resp.StatusCode)
	}
}

// Idempotency keys are remembered with their answers within the cap, and
// a key longer than vendors take is refused with the declared 400.
func TestStateIdempotencyBounded(t *testing.T) {
	const capBytes = 64 << 10
	c := loadContract(t, "paging_cursor.yaml")
	s := startVendors(t, []Vendor{{Name: "stripe", Contract: c}}, WithStateCap(capBytes), WithJournalCap(16))
	for i := range 1000 {
		key := fmt.Sprintf("key-%04d-%s", i, strings.Repeat("k", 200))
		if resp, _ := fetch(t, s, nil, "stripe", "POST", "/widgets", formType, widgetForm(strings.Repeat("w", 500)), "Idempotency-Key", key); resp.StatusCode != http.StatusOK {
			t.Fatalf("create %d: %d", i, resp.StatusCode)
		}
	}
	u := s.vendors["stripe"].store.Usage(DefaultTenant)
	t.Logf("after 1000 keyed creates: %+v", u)
	if u.Bytes > capBytes || u.IdempotencyKeys == 0 || u.IdempotencyKeys >= 1000 {
		t.Errorf("%d idempotency keys in %d bytes under a cap of %d; want some, the oldest forgotten", u.IdempotencyKeys, u.Bytes, capBytes)
	}

	resp, v := fetch(t, s, nil, "stripe", "POST", "/widgets", formType, widgetForm("long key"), "Idempotency-Key", strings.Repeat("x", 256))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a 256-byte idempotency key: %d %v, want 400", resp.StatusCode, v)
	}
	if _, ok := v.(map[string]any)["error"]; !ok {
		t.Errorf("the 400 body %v is not the contract's error", v)
	}
	if e := lastEntry(t, s); !hasFinding(e, RuleIdempotencyKeyLong) {
		t.Errorf("the journal has no %s finding: %v", RuleIdempotencyKeyLong, e.Findings)
	}
	if resp, _ := fetch(t, s, nil, "stripe", "POST", "/widgets", formType, widgetForm("key of 255"), "Idempotency-Key", strings.Repeat("x", 255)); resp.StatusCode != http.StatusOK {
		t.Errorf("a 255-byte idempotency key: %d, want 200", resp.StatusCode)
	}
}

// A page asked after an item the list does not hold is refused with the
// contract's 400 (the list declares a default error answer), as Stripe
// refuses it, not answered with the first page again; where the contract
// declares no error answer, it is the empty last page.
func TestPagingCursorUnknown(t *testing.T) {
	pl := pagedLists[0]
	s, c := pagingSandbox(t, pl)
	createItems(t, s, c, pl, 3)
	for _, q := range []string{"starting_after=wid_NeverMade000", "ending_before=wid_NeverMade000"} {
		resp, v := fetch(t, s, c, pl.vendor, "GET", "/widgets?limit=2&"+q, "", "")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %v, want 400", q, resp.StatusCode, v)
		}
		if e := lastEntry(t, s); !hasFinding(e, RuleCursorUnknown) {
			t.Errorf("%s: the journal has no %s finding: %v", q, RuleCursorUnknown, e.Findings)
		}
	}

	for _, pl := range pagedLists {
		if pl.contract != "paging_page_token.yaml" {
			continue
		}
		s, c := pagingSandbox(t, pl)
		createItems(t, s, c, pl, 3)
		target := withQuery(pl.list, "page_token", "not-a-token-it-gave")
		resp, v := fetch(t, s, c, pl.vendor, "GET", target, "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d, want 200 (no error declared)", target, resp.StatusCode)
		}
		if ids := itemsOf(t, v, pl.items, pl.idField); len(ids) != 0 {
			t.Errorf("%s: answered %v, want the empty last page", target, ids)
		}
	}
}

// An object that keeps only its JSON (its list filters by no field) is
// updated and snapshotted from that JSON: the update keeps the fields it
// does not name, and the snapshot holds what the last answer said.
func TestStateLeanObjectUpdate(t *testing.T) {
	c := loadContract(t, "lean_update.yaml")
	s := startVendors(t, []Vendor{{Name: "notes", Contract: c}})
	resp, v := fetch(t, s, c, "notes", "POST", "/notes", "application/json", `{"text":"first","pinned":true}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, v)
	}
	id := v.(map[string]any)["id"].(string)
	resp, v = fetch(t, s, c, "notes", "PATCH", "/notes/"+id, "application/json", `{"text":"second"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("update: %d %v", resp.StatusCode, v)
	}
	_, v = fetch(t, s, c, "notes", "GET", "/notes/"+id, "", "")
	got := v.(map[string]any)
	if got["text"] != "second" || got["pinned"] != true || got["id"] != id {
		t.Errorf("after the update the note is %v, want text second, still pinned, id %s", got, id)
	}
	snap := s.vendors["notes"].store.Snapshot(DefaultTenant)["notes"]
	if len(snap) != 1 || snap[0].Object["text"] != "second" || snap[0].Object["pinned"] != true {
		t.Errorf("the snapshot holds %v, want the updated note", snap)
	}
}
