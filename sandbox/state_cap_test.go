package sandbox

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// heapAfterGC is the heap in use once the garbage is collected.
func heapAfterGC() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// createWidgets makes n widgets for the tenant of token, through the
// handler without a network.
func createWidgets(tb testing.TB, s *Sandbox, token string, n int) {
	tb.Helper()
	for i := range n {
		req := httptest.NewRequest("POST", "/stripe/widgets", strings.NewReader(widgetForm(fmt.Sprintf("widget number %d of a long run", i))))
		req.Header.Set("Content-Type", formType)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			tb.Fatalf("create %d: %d %s", i, rec.Code, rec.Body)
		}
	}
}

// The state's memory stays near its cap however many objects are
// created: the heap grows by at most a small multiple of the cap while
// ten times the cap's worth of widgets are made.
func TestStateCapBoundsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 60000 widgets; -short skips it")
	}
	const capBytes = 1 << 20
	c := loadContract(t, "paging_cursor.yaml")
	s := startVendors(t, []Vendor{{Name: "stripe", Contract: c}}, WithStateCap(capBytes), WithJournalCap(16))
	createWidgets(t, s, "t", 100) // compile the schemas, render the answers
	before := heapAfterGC()
	createWidgets(t, s, "t", 20000)
	mid := heapAfterGC()
	createWidgets(t, s, "t", 40000)
	after := heapAfterGC()
	kept := len(s.vendors["stripe"].store.Snapshot(DefaultTenant)["widgets"])
	t.Logf("cap %d KiB: %d widgets kept; heap +%d KiB after 20000 creates, +%d KiB after 60000",
		capBytes>>10, kept, int64(mid-before)>>10, int64(after-before)>>10)
	if kept == 0 || kept >= 20000 {
		t.Fatalf("%d widgets kept under a cap of %d bytes", kept, capBytes)
	}
	if grown := int64(after - before); grown > 3*capBytes {
		t.Errorf("the heap grew by %d bytes over 60000 creates, more than three times the cap of %d", grown, capBytes)
	}
	// What grows with the number of creates, not with what is kept, shows
	// as growth between the second and the third measure.
	if grown := int64(after) - int64(mid); grown > capBytes {
		t.Errorf("the heap grew by %d bytes between 20000 and 60000 creates, with the state at its cap all along", grown)
	}
}
