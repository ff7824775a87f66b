package connectors

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"time"
)

// Metrics counts what [NewWebhookHandler] does, per connector and tenant.
// The zero value is ready to use and is safe for concurrent use; a nil
// *Metrics counts nothing. Read it with [Metrics.Snapshot], or in the
// Prometheus text format with [Metrics.WritePrometheus].
//
// The tenant comes from the request, so a sender chooses how many there
// are: once there are 1000 rows, a connector and tenant not counted yet
// are counted under the tenant [OtherTenant].
type Metrics struct {
	mu   sync.Mutex
	rows map[metricsKey]*MetricsRow
}

type metricsKey struct{ connector, tenant string }

// maxMetricsRows bounds the rows of a [Metrics] (see there).
const maxMetricsRows = 1000

// OtherTenant is the tenant a [Metrics] counts under once it has as many
// rows as it keeps.
const OtherTenant = "(other)"

// MetricsRow is what was counted for one connector and tenant: plain data
// that serialises as JSON. Durations are in nanoseconds.
type MetricsRow struct {
	Connector string `json:"connector"`
	Tenant    string `json:"tenant"`
	// Handled counts deliveries the connector handled; Failed those not
	// handled: refused before it ran, rejected by it, or still failing
	// when the handler answered; Duplicates deliveries of an event
	// already handled or being handled, which are neither.
	Handled    int64 `json:"handled"`
	Failed     int64 `json:"failed"`
	Duplicates int64 `json:"duplicates"`
	// Retries counts attempts after the first, over all events.
	Retries int64 `json:"retries"`
	// DeadLetters counts events put in the dead-letter sink.
	DeadLetters int64 `json:"dead_letters"`
	// Errors counts failed deliveries by class: "permanent" and
	// "retryable" (the connector's error), "signature" (not verified),
	// "invalid" (not a well-formed event) and "internal" (the idempotency
	// store failed).
	Errors map[string]int64 `json:"errors,omitempty"`
	// Latency is the time from receipt to answer of each delivery the
	// connector ran for, over all its attempts.
	Latency DurationStats `json:"latency"`
	// Lag is receipt time minus the time the sender signed at, for
	// deliveries whose signature carries a timestamp.
	Lag DurationStats `json:"lag"`
}

// DurationStats summarises a set of durations.
type DurationStats struct {
	Count int64         `json:"count"`
	Sum   time.Duration `json:"sum"`
	Min   time.Duration `json:"min"`
	Max   time.Duration `json:"max"`
	// buckets[i] counts the durations in (bounds[i-1], bounds[i]] of
	// durationBuckets; those above the last bound are only in Count.
	buckets [numBuckets]int64
}

const numBuckets = 16

// durationBuckets are the upper bounds of the histogram buckets of
// [DurationStats], from a few milliseconds (a fast delivery) to an hour
// (the lag of an event a sender delivered again much later).
func durationBuckets() [numBuckets]time.Duration {
	return [numBuckets]time.Duration{
		5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
		100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
		2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, 30 * time.Second,
		time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour,
	}
}

// Mean returns Sum/Count, or 0 when Count is 0.
func (s DurationStats) Mean() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.Sum / time.Duration(s.Count)
}

func (s *DurationStats) add(d time.Duration) {
	if s.Count == 0 || d < s.Min {
		s.Min = d
	}
	if s.Count == 0 || d > s.Max {
		s.Max = d
	}
	s.Count++
	s.Sum += d
	bounds := durationBuckets()
	if i, _ := slices.BinarySearch(bounds[:], d); i < numBuckets {
		s.buckets[i]++
	}
}

// Snapshot returns a copy of every row, ordered by connector and tenant.
func (m *Metrics) Snapshot() []MetricsRow {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]MetricsRow, 0, len(m.rows))
	for _, r := range m.rows {
		c := *r
		c.Errors = maps.Clone(r.Errors)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b MetricsRow) int {
		return cmp.Or(cmp.Compare(a.Connector, b.Connector), cmp.Compare(a.Tenant, b.Tenant))
	})
	return out
}

// update calls f with the row of connector and tenant, under the lock.
func (m *Metrics) update(connector, tenant string, f func(*MetricsRow)) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := metricsKey{connector, tenant}
	r, ok := m.rows[k]
	if !ok && len(m.rows) >= maxMetricsRows {
		// Past the bound by at most one row per connector, and connectors
		// are named by code, not by requests.
		k.tenant = OtherTenant
		r, ok = m.rows[k]
	}
	if !ok {
		if m.rows == nil {
			m.rows = map[metricsKey]*MetricsRow{}
		}
		r = &MetricsRow{Connector: k.connector, Tenant: k.tenant}
		m.rows[k] = r
	}
	f(r)
}

// outcome records the end of one delivery the connector ran for.
func (m *Metrics) outcome(connector, tenant string, handled bool, class string, attempts int, latency time.Duration) {
	m.update(connector, tenant, func(r *MetricsRow) {
		if handled {
			r.Handled++
		} else {
			r.Failed++
			r.countError(class)
		}
		if attempts > 1 {
			r.Retries += int64(attempts - 1)
		}
		r.Latency.add(latency)
	})
}

// rejected records a delivery refused before the connector ran.
func (m *Metrics) rejected(connector, tenant, class string) {
	m.update(connector, tenant, func(r *MetricsRow) {
		r.Failed++
		r.countError(class)
	})
}

func (m *Metrics) deadLettered(connector, tenant string) {
	m.update(connector, tenant, func(r *MetricsRow) { r.DeadLetters++ })
}

func (m *Metrics) duplicate(connector, tenant string) {
	m.update(connector, tenant, func(r *MetricsRow) { r.Duplicates++ })
}

func (m *Metrics) lag(connector, tenant string, d time.Duration) {
	m.update(connector, tenant, func(r *MetricsRow) { r.Lag.add(d) })
}

func (r *MetricsRow) countError(class string) {
	if r.Errors == nil {
		r.Errors = map[string]int64{}
	}
	r.Errors[class]++
}
