package connectors

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// A tenant whose name needs every escape of the text format.
const oddTenant = "we\"ird\\ten\nant"

// TestServePrometheusMetrics delivers events through a served webhook
// handler, then reads /metrics with the Prometheus project's own parser
// and checks every family against what was delivered and against /metricz.
func TestServePrometheusMetrics(t *testing.T) {
	start := time.Unix(1709294400, 0)
	signed := start.Add(-100 * time.Second).Unix() // lag between 100 s and 300 s
	outcomes := map[string]error{
		"evt_ok":   nil,
		"evt_perm": Permanent(errors.New("archived")),
		"evt_busy": Retryable(errors.New("429"), time.Second),
	}
	rc := &RunConfig{Listen: "127.0.0.1:0", Vendors: map[string]string{"chat": "https://chat.example/api"}}
	setup := func(env *Env) (http.Handler, error) {
		c := ConnectorFunc(func(_ context.Context, _ *Env, ev Event) error { return outcomes[ev.ID] })
		return NewWebhookHandler(c, env,
			WithName("dealnotify"),
			WithTenant(func(r *http.Request) string { return r.URL.Query().Get("tenant") }),
			WithVerifier(VerifyTimestamped("X-Sig", testSecret, time.Hour)),
			WithRetry(testRetryPolicy(2)),
			WithDeadLetterExhausted(),
			WithClock(stepClock(start))), nil
	}
	ctx, cancel := context.WithCancel(t.Context())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, rc, setup, nil, func(a string) { addr <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	base := "http://" + <-addr

	deliver := func(tenant, id string, goodSignature bool, want int) {
		t.Helper()
		body := `{"id":"` + id + `","type":"deal.updated"}`
		m := hmac.New(sha256.New, []byte(testSecret))
		fmt.Fprintf(m, "%d.%s", signed, body)
		sig := hex.EncodeToString(m.Sum(nil))
		if !goodSignature {
			sig = strings.Repeat("0", len(sig))
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/events?tenant="+url.QueryEscape(tenant), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Sig", fmt.Sprintf("t=%d,v1=%s", signed, sig))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("delivery of %s for %q: %d, want %d", id, tenant, resp.StatusCode, want)
		}
	}
	deliver("acme", "evt_ok", true, http.StatusOK)
	deliver("acme", "evt_ok", true, http.StatusOK) // a duplicate
	deliver("acme", "evt_perm", true, http.StatusUnprocessableEntity)
	deliver(oddTenant, "evt_busy", true, http.StatusAccepted) // retried, then dead-lettered
	deliver(oddTenant, "evt_ok", false, http.StatusUnauthorized)
	deliver(oddTenant, "evt_ok", true, http.StatusOK)
	deliver("\xff", "evt_ok", true, http.StatusOK) // not UTF-8

	resp, err := http.Get(base + PrometheusPath)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || expfmt.ResponseFormat(resp.Header).FormatType() != expfmt.TypeTextPlain {
		t.Fatalf("GET %s: %d, Content-Type %q; want 200 and the text format", PrometheusPath, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if want := `tether_connector_retries_total{connector="dealnotify",tenant="we\"ird\\ten\nant"} 1` + "\n"; !strings.Contains(string(text), want) {
		t.Errorf("no line %q in:\n%s", want, text)
	}
	fams := parseExposition(t, text)

	type series struct{ tenant, label string }
	odd, bad := oddTenant, "\uFFFD"
	counters := []struct {
		family string
		want   map[series]float64
	}{
		{"tether_connector_deliveries_total", map[series]float64{
			{"acme", "handled"}: 1, {"acme", "failed"}: 1, {"acme", "duplicate"}: 1,
			{odd, "handled"}: 1, {odd, "failed"}: 2, {odd, "duplicate"}: 0,
			{bad, "handled"}: 1, {bad, "failed"}: 0, {bad, "duplicate"}: 0,
		}},
		{"tether_connector_retries_total", map[series]float64{{"acme", ""}: 0, {odd, ""}: 1, {bad, ""}: 0}},
		{"tether_connector_dead_letters_total", map[series]float64{{"acme", ""}: 1, {odd, ""}: 1, {bad, ""}: 0}},
		{"tether_connector_errors_total", map[series]float64{
			{"acme", "permanent"}: 1, {"acme", "retryable"}: 0, {"acme", "signature"}: 0, {"acme", "invalid"}: 0, {"acme", "internal"}: 0,
			{odd, "permanent"}: 0, {odd, "retryable"}: 1, {odd, "signature"}: 1, {odd, "invalid"}: 0, {odd, "internal"}: 0,
			{bad, "permanent"}: 0, {bad, "retryable"}: 0, {bad, "signature"}: 0, {bad, "invalid"}: 0, {bad, "internal"}: 0,
		}},
	}
	for _, c := range counters {
		f := family(t, fams, c.family, dto.MetricType_COUNTER)
		got := map[series]float64{}
		for _, m := range f.GetMetric() {
			l := labels(m)
			if l["connector"] != "dealnotify" {
				t.Errorf("%s: connector %q, want \"dealnotify\"", c.family, l["connector"])
			}
			got[series{l["tenant"], l["outcome"] + l["class"]}] = m.GetCounter().GetValue()
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.family, got, c.want)
		}
	}

	// Each delivery the connector ran for took one step of the clock; the
	// lag of each verified delivery is between 100 s and 300 s.
	histograms := []struct {
		family     string
		count      map[string]uint64
		empty, all float64 // the largest bound with no sample, the smallest with all
	}{
		{"tether_connector_delivery_duration_seconds", map[string]uint64{"acme": 2, odd: 2, bad: 1}, 0.5, 1},
		{"tether_connector_webhook_lag_seconds", map[string]uint64{"acme": 3, odd: 2, bad: 1}, 60, 300},
	}
	var metricz []MetricsRow
	getJSON(t, base+MetricsPath, &metricz)
	for _, h := range histograms {
		f := family(t, fams, h.family, dto.MetricType_HISTOGRAM)
		if len(f.GetMetric()) != len(h.count) {
			t.Errorf("%s: %d series, want %d", h.family, len(f.GetMetric()), len(h.count))
		}
		for _, m := range f.GetMetric() {
			tenant := labels(m)["tenant"]
			hist := m.GetHistogram()
			if hist.GetSampleCount() != h.count[tenant] {
				t.Errorf("%s{tenant=%q}: count %d, want %d", h.family, tenant, hist.GetSampleCount(), h.count[tenant])
			}
			prev := uint64(0)
			for _, b := range hist.GetBucket() {
				n, le := b.GetCumulativeCount(), b.GetUpperBound()
				switch {
				case n < prev:
					t.Errorf("%s{tenant=%q}: bucket le=%g has %d, fewer than the one before", h.family, tenant, le, n)
				case le <= h.empty && n != 0, le >= h.all && n != hist.GetSampleCount():
					t.Errorf("%s{tenant=%q}: bucket le=%g has %d of %d", h.family, tenant, le, n, hist.GetSampleCount())
				}
				prev = n
			}
			if len(hist.GetBucket()) < numBuckets {
				t.Errorf("%s{tenant=%q}: %d buckets, want %d and +Inf", h.family, tenant, len(hist.GetBucket()), numBuckets)
			}
			// The same sum as /metricz has.
			for _, row := range metricz {
				stats := row.Latency
				if strings.HasSuffix(h.family, "lag_seconds") {
					stats = row.Lag
				}
				if row.Tenant == tenant && math.Abs(hist.GetSampleSum()-stats.Sum.Seconds()) > 1e-9 {
					t.Errorf("%s{tenant=%q}: sum %g, /metricz says %g", h.family, tenant, hist.GetSampleSum(), stats.Sum.Seconds())
				}
			}
		}
	}
	if len(metricz) != 3 || metricz[1].Tenant != oddTenant || metricz[1].DeadLetters != 1 {
		t.Errorf("/metricz: %+v, want three rows, the second the odd tenant's with a dead letter", metricz)
	}
}

// FuzzWritePrometheus: whatever a connector and tenant are called, the
// Prometheus parser reads back what was written, with the names intact
// (invalid UTF-8 aside).
func FuzzWritePrometheus(f *testing.F) {
	for _, seed := range [][2]string{
		{"dealnotify", "acme"}, {"deal\"notify", oddTenant}, {"", ""}, {`\`, `\\n`}, {"a\x00b", "\xff\xfe"},
		{"tab\there", "cr\rhere"}, {"}", `"} 1` + "\n" + `x{a="`}, {"ünïcødé", "日本"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, connector, tenant string) {
		var m Metrics
		m.outcome(connector, tenant, false, "permanent", 3, 1500*time.Millisecond)
		m.lag(connector, tenant, -time.Second)
		var b strings.Builder
		if err := m.WritePrometheus(&b); err != nil {
			t.Fatal(err)
		}
		fams := parseExposition(t, []byte(b.String()))
		for _, name := range []string{"tether_connector_retries_total", "tether_connector_delivery_duration_seconds"} {
			ms := family(t, fams, name, -1).GetMetric()
			if len(ms) != 1 {
				t.Fatalf("%s: %d series, want 1", name, len(ms))
			}
			l := labels(ms[0])
			if l["connector"] != strings.ToValidUTF8(connector, "\uFFFD") || l["tenant"] != strings.ToValidUTF8(tenant, "\uFFFD") {
				t.Errorf("%s: read back connector %q tenant %q, wrote %q and %q", name, l["connector"], l["tenant"], connector, tenant)
			}
		}
		if got := family(t, fams, "tether_connector_retries_total", -1).GetMetric()[0].GetCounter().GetValue(); got != 2 {
			t.Errorf("retries read back as %g, want 2", got)
		}
		h := family(t, fams, "tether_connector_delivery_duration_seconds", -1).GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 1 || h.GetSampleSum() != 1.5 {
			t.Errorf("latency read back as count %d sum %g, want 1 and 1.5", h.GetSampleCount(), h.GetSampleSum())
		}
	})
}

// TestWritePrometheusNil: with nothing counted, every family is still
// described, which the parser accepts (and, having no samples, drops).
func TestWritePrometheusNil(t *testing.T) {
	var m *Metrics
	var b strings.Builder
	if err := m.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	if fams := parseExposition(t, []byte(b.String())); len(fams) != 0 {
		t.Errorf("%d families with samples from nil metrics, want none", len(fams))
	}
	for _, typ := range []string{
		"tether_connector_deliveries_total counter", "tether_connector_retries_total counter",
		"tether_connector_dead_letters_total counter", "tether_connector_errors_total counter",
		"tether_connector_delivery_duration_seconds histogram", "tether_connector_webhook_lag_seconds histogram",
	} {
		if !strings.Contains(b.String(), "\n# TYPE "+typ+"\n") {
			t.Errorf("no TYPE line %q after a HELP line in:\n%s", typ, b.String())
		}
	}
}

func parseExposition(t *testing.T, text []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(text)))
	if err != nil {
		t.Fatalf("parse the exposition: %v\n%s", err, text)
	}
	return fams
}

// family returns the family called name, of type typ unless typ is -1.
func family(t *testing.T, fams map[string]*dto.MetricFamily, name string, typ dto.MetricType) *dto.MetricFamily {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no family %s", name)
	}
	if typ != -1 && f.GetType() != typ {
		t.Errorf("%s: type %v, want %v", name, f.GetType(), typ)
	}
	if f.GetHelp() == "" {
		t.Errorf("%s: no help text", name)
	}
	return f
}

func labels(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// TestWritePrometheusBuckets: a bucket holds what equals its bound, what
// passes the last bound is only in +Inf, and a negative lag is in the first.
func TestWritePrometheusBuckets(t *testing.T) {
	var m Metrics
	for _, d := range []time.Duration{5 * time.Millisecond, 5*time.Millisecond + 1, 2 * time.Hour} {
		m.outcome("c", "t", true, "", 1, d)
	}
	m.lag("c", "t", -time.Second)
	var b strings.Builder
	if err := m.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	fams := parseExposition(t, []byte(b.String()))
	cumulative := func(name string) map[float64]uint64 {
		out := map[float64]uint64{}
		for _, bk := range family(t, fams, name, dto.MetricType_HISTOGRAM).GetMetric()[0].GetHistogram().GetBucket() {
			out[bk.GetUpperBound()] = bk.GetCumulativeCount()
		}
		return out
	}
	lat, lag := cumulative("tether_connector_delivery_duration_seconds"), cumulative("tether_connector_webhook_lag_seconds")
	for _, c := range []struct {
		reason string
		got    uint64
		want   uint64
	}{
		{"5ms is in the bucket le=0.005", lat[0.005], 1},
		{"5ms and a nanosecond is in the next", lat[0.01], 2},
		{"two hours are past the last bound", lat[3600], 2},
		{"+Inf holds every duration", lat[math.Inf(1)], 3},
		{"a negative lag is in the first bucket", lag[0.005], 1},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.reason, c.got, c.want)
		}
	}
}
