package harness

import (
	"testing"
	"time"

	"github.com/tetherkit/tether/connectors"
	"github.com/tetherkit/tether/connectors/dealnotify"
	"github.com/tetherkit/tether/connectors/escalate"
	"github.com/tetherkit/tether/harness/manifest"
)

// BenchmarkSuitesInProcess runs every suite over both example connectors,
// in-process, as one gate run each, and reports the wall time of a run of
// both and the summed time of each suite's runs (runs overlap, up to 4 at
// once, so the suites add up to more than the wall time).
//
//	go test ./harness -run '^$' -bench SuitesInProcess -benchtime 3x
func BenchmarkSuitesInProcess(b *testing.B) {
	examples := []struct {
		dir   string
		setup connectors.Setup
	}{{dealnotifyDir, dealnotify.Setup}, {escalateDir, escalate.Setup}}
	var loaded []*manifest.Connector
	for _, ex := range examples {
		c, err := manifest.Load(ex.dir)
		if err != nil {
			b.Fatal(err)
		}
		loaded = append(loaded, c)
	}
	suites := map[string]time.Duration{}
	checks := 0
	b.ResetTimer()
	for b.Loop() {
		for i, ex := range examples {
			r, err := Execute(b.Context(), loaded[i], Drive(InProcess(ex.setup)))
			if err != nil {
				b.Fatal(err)
			}
			if r.Summary.Errors > 0 {
				b.Fatalf("%s: %d errors", r.Connector.Name, r.Summary.Errors)
			}
			for s, d := range r.Timings.Suites {
				suites[s] += d
			}
			checks += r.Summary.Checks
		}
	}
	n := float64(b.N)
	for _, s := range AllSuites {
		b.ReportMetric(suites[s].Seconds()/n, s+"-s/op")
	}
	b.ReportMetric(float64(checks)/n, "checks/op")
}
