package connectors

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestMetrics(t *testing.T) {
	var m Metrics // the zero value is ready
	m.outcome("b", "acme", true, "", 1, 3*time.Millisecond)
	m.outcome("a", "acme", false, "permanent", 1, time.Millisecond)
	m.outcome("a", "acme", true, "", 3, 5*time.Millisecond)
	m.rejected("a", "acme", "signature")
	m.duplicate("a", "acme")
	m.lag("a", "acme", 2*time.Second)
	m.lag("a", "acme", -time.Second) // a sender's clock may run ahead

	tests := []struct {
		reason string
		got    any
		want   any
	}{
		{"rows are ordered by connector, then tenant", len(m.Snapshot()), 2},
		{"handled", m.Snapshot()[0].Handled, int64(1)},
		{"failed counts rejections and refusals", m.Snapshot()[0].Failed, int64(2)},
		{"retries are attempts after the first", m.Snapshot()[0].Retries, int64(2)},
		{"duplicates", m.Snapshot()[0].Duplicates, int64(1)},
		{"errors by class", m.Snapshot()[0].Errors, map[string]int64{"permanent": 1, "signature": 1}},
		{"latency", m.Snapshot()[0].Latency, DurationStats{Count: 2, Sum: 6 * time.Millisecond, Min: time.Millisecond, Max: 5 * time.Millisecond}},
		{"latency mean", m.Snapshot()[0].Latency.Mean(), 3 * time.Millisecond},
		{"lag, negative included", m.Snapshot()[0].Lag, DurationStats{Count: 2, Sum: time.Second, Min: -time.Second, Max: 2 * time.Second}},
		{"the other connector", m.Snapshot()[1].Connector, "b"},
		{"the mean of nothing", DurationStats{}.Mean(), time.Duration(0)},
	}
	for _, tt := range tests {
		got, _ := json.Marshal(tt.got)
		want, _ := json.Marshal(tt.want)
		if string(got) != string(want) {
			t.Errorf("%s: %s, want %s", tt.reason, got, want)
		}
	}

	snap := m.Snapshot()
	snap[0].Errors["permanent"] = 99
	if m.Snapshot()[0].Errors["permanent"] != 1 {
		t.Error("changing a snapshot changed the metrics")
	}
}

func TestMetricsNil(t *testing.T) {
	var m *Metrics
	m.outcome("a", "t", true, "", 1, time.Second)
	m.rejected("a", "t", "invalid")
	if got := m.Snapshot(); got != nil {
		t.Errorf("Snapshot of nil = %v, want nil", got)
	}
}

func TestMetricsConcurrent(t *testing.T) {
	var m Metrics
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			m.outcome("a", []string{"x", "y"}[i%2], true, "", 2, time.Millisecond)
			m.Snapshot()
		})
	}
	wg.Wait()
	var handled, retries int64
	for _, r := range m.Snapshot() {
		handled += r.Handled
		retries += r.Retries
	}
	if handled != 50 || retries != 50 {
		t.Errorf("handled %d, retries %d; want 50 and 50", handled, retries)
	}
}

// TestMetricsBoundsTenants: a sender that makes up a tenant per delivery
// grows the rows only to the bound, and the rest is still counted.
func TestMetricsBoundsTenants(t *testing.T) {
	var m Metrics
	for i := range maxMetricsRows + 500 {
		m.rejected("a", fmt.Sprintf("tenant-%d", i), "signature")
	}
	m.rejected("b", "late", "signature")
	m.rejected("a", "tenant-0", "signature") // a row that exists still counts
	rows := m.Snapshot()
	if len(rows) != maxMetricsRows+2 {
		t.Fatalf("%d rows, want %d and one %q row per connector", len(rows), maxMetricsRows, OtherTenant)
	}
	var failed int64
	other := map[string]int64{}
	for _, r := range rows {
		failed += r.Failed
		if r.Tenant == OtherTenant {
			other[r.Connector] = r.Failed
		}
		if r.Tenant == "tenant-0" && r.Failed != 2 {
			t.Errorf("tenant-0 failed %d, want 2", r.Failed)
		}
	}
	if failed != maxMetricsRows+502 || other["a"] != 500 || other["b"] != 1 {
		t.Errorf("failed %d in all, %v under %q; want %d, a 500 and b 1", failed, other, OtherTenant, maxMetricsRows+502)
	}
}
