package fleet_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tetherkit/tether/harness/fleet"
)

// The whole impact run over 1,000 local connector bundles: one
// comparison, then each bundle read and marked. The target is under 10 s;
// it reports the seconds per run as s/run.
//
//	go test ./harness/fleet/ -run '^$' -bench BenchmarkImpact1000 -benchtime 3x
func BenchmarkImpact1000(b *testing.B) {
	// Bundles that carry their usage, as tether packages them now; an
	// older bundle is loaded whole, which is the slow path.
	dir, releases := makeFleet(b, 250, 4, func(tpl template) bool { return !strings.HasSuffix(tpl.name, "-old") })
	if len(releases) != 1000 {
		b.Fatalf("%d bundles, want 1000", len(releases))
	}
	oldFile, newFile := newChatContract(b)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		r, err := fleet.Impact(context.Background(), fleet.Dir(dir), oldFile, newFile)
		if err != nil {
			b.Fatal(err)
		}
		if r.Summary.Releases != 1000 || r.Summary.Affected == 0 {
			b.Fatalf("summary %+v", r.Summary)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/run")
}
