package contracts

import (
	"os"
	"path/filepath"
	"runtime/metrics"
	"testing"
	"time"
)

// BenchmarkLint lints a generated 8 MB contract (about 25,000 path items)
// whole and in segments, and reports the peak of the live heap per byte
// of the file (peak-heap/B), sampled every 5 ms. The command-line figures
// in the README come from the tether binary on 20 MB and 200 MB files:
//
//	go test ./contracts -run '^$' -bench Lint -benchtime 1x
//	nice -n 10 /usr/bin/time -f '%e s %M KB' tether contract lint FILE
func BenchmarkLint(b *testing.B) {
	file := filepath.Join(b.TempDir(), "big.yaml")
	data := bigContract(25000, nil)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"whole", []Option{segmentedLint(1<<40, 0)}},
		{"segments", []Option{segmentedLint(0, lintSegmentBytes)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			peak := int64(0)
			for b.Loop() {
				stop := sampleHeap(&peak)
				if _, err := Lint(file, tc.opts...); err != nil {
					b.Fatal(err)
				}
				stop()
			}
			b.ReportMetric(float64(peak)/float64(len(data)), "peak-heap/B")
		})
	}
}

// sampleHeap records in peak the largest live heap seen until stop is
// called.
func sampleHeap(peak *int64) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(finished)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := int64(sample[0].Value.Uint64()); v > *peak {
				*peak = v
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
