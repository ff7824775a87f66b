package connectors

import (
	"bufio"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PrometheusContentType is the media type of what [Metrics.WritePrometheus]
// writes: version 0.0.4 of the Prometheus text exposition format.
const PrometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

// errorClasses are the classes [MetricsRow.Errors] counts, written even
// when zero so that a rate over them starts from the first scrape.
func errorClasses() []string {
	return []string{"permanent", "retryable", "signature", "invalid", "internal"}
}

// WritePrometheus writes what m counted to w in the Prometheus text
// exposition format, every series labelled with connector and tenant:
//
//	tether_connector_deliveries_total{outcome}     counter: handled, failed, duplicate
//	tether_connector_retries_total                 counter
//	tether_connector_dead_letters_total            counter
//	tether_connector_errors_total{class}           counter, by class as in MetricsRow.Errors
//	tether_connector_delivery_duration_seconds     histogram of MetricsRow.Latency
//	tether_connector_webhook_lag_seconds           histogram of MetricsRow.Lag
//
// The success rate is handled over handled plus failed. Histogram buckets
// run from 5ms to an hour; a negative lag (the sender's clock ahead) falls
// in the first. Label values are escaped as the format requires, and
// bytes that are not UTF-8 become U+FFFD. Every family's HELP and TYPE are
// written even when m has no rows; a nil m writes just those.
func (m *Metrics) WritePrometheus(w io.Writer) error {
	rows := m.Snapshot()
	bw := bufio.NewWriter(w)
	family := func(name, typ, help string, each func(r MetricsRow, labels string)) {
		bw.WriteString("# HELP " + name + " " + escapeHelp(help) + "\n")
		bw.WriteString("# TYPE " + name + " " + typ + "\n")
		for _, r := range rows {
			each(r, `connector="`+escapeLabel(r.Connector)+`",tenant="`+escapeLabel(r.Tenant)+`"`)
		}
	}
	sample := func(name, labels string, v int64) {
		bw.WriteString(name + "{" + labels + "} " + strconv.FormatInt(v, 10) + "\n")
	}

	family("tether_connector_deliveries_total", "counter",
		"Webhook deliveries answered, by outcome: handled by the connector; failed (refused, rejected, or still failing when answered); duplicate (an event already handled or in progress).",
		func(r MetricsRow, l string) {
			sample("tether_connector_deliveries_total", l+`,outcome="handled"`, r.Handled)
			sample("tether_connector_deliveries_total", l+`,outcome="failed"`, r.Failed)
			sample("tether_connector_deliveries_total", l+`,outcome="duplicate"`, r.Duplicates)
		})
	family("tether_connector_retries_total", "counter",
		"Attempts to handle an event after the first, over all events.",
		func(r MetricsRow, l string) { sample("tether_connector_retries_total", l, r.Retries) })
	family("tether_connector_dead_letters_total", "counter",
		"Events put in the dead-letter sink.",
		func(r MetricsRow, l string) { sample("tether_connector_dead_letters_total", l, r.DeadLetters) })
	family("tether_connector_errors_total", "counter",
		"Failed deliveries by error class: permanent or retryable (the connector's error), signature (not verified), invalid (not a well-formed event), internal (the idempotency store failed).",
		func(r MetricsRow, l string) {
			classes := errorClasses()
			for _, c := range slices.Sorted(maps.Keys(r.Errors)) {
				if !slices.Contains(classes, c) {
					classes = append(classes, c)
				}
			}
			for _, c := range classes {
				sample("tether_connector_errors_total", l+`,class="`+escapeLabel(c)+`"`, r.Errors[c])
			}
		})
	histogram := func(name, help string, stats func(MetricsRow) DurationStats) {
		family(name, "histogram", help, func(r MetricsRow, l string) {
			s := stats(r)
			var cumulative int64
			for i, bound := range durationBuckets() {
				cumulative += s.buckets[i]
				sample(name+"_bucket", l+`,le="`+seconds(bound)+`"`, cumulative)
			}
			sample(name+"_bucket", l+`,le="+Inf"`, s.Count)
			bw.WriteString(name + "_sum{" + l + "} " + seconds(s.Sum) + "\n")
			sample(name+"_count", l, s.Count)
		})
	}
	histogram("tether_connector_delivery_duration_seconds",
		"Time from receipt to answer of each delivery the connector ran for, all its attempts included.",
		func(r MetricsRow) DurationStats { return r.Latency })
	histogram("tether_connector_webhook_lag_seconds",
		"Receipt time minus the time the sender signed the delivery, for signatures that carry a timestamp.",
		func(r MetricsRow) DurationStats { return r.Lag })
	return bw.Flush()
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'g', -1, 64)
}

// escapeLabel escapes a label value for the text format: backslash, double
// quote and line feed.
func escapeLabel(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	var b strings.Builder
	for _, r := range v {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// escapeHelp escapes a HELP text: backslash and line feed.
func escapeHelp(v string) string {
	return strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), "\n", `\n`)
}
