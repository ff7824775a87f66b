package release

import (
	"testing"
)

// BenchmarkVerifyBundle verifies the dealnotify bundle: read and
// decompress it, check every digest, extract it to check the manifest,
// decode the report and gate it under the default policy. The target is
// well under a second per verification:
//
//	go test ./harness -run '^$' -bench VerifyBundle -benchmem
func BenchmarkVerifyBundle(b *testing.B) {
	dir, rep := gatedConnector(b)
	path := writeTestBundle(b, dir, rep)
	b.ReportAllocs()
	for b.Loop() {
		v, err := VerifyBundle(path, nil, bundleToday)
		if err != nil {
			b.Fatal(err)
		}
		if !v.OK {
			b.Fatalf("problems: %s", findingLines(v.Problems))
		}
	}
}
