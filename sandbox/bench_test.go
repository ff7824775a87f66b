package sandbox

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherkit/tether/contracts"
)

// corpusSpec loads a contract of the corpus, or skips when TETHER_CORPUS
// is not set.
func corpusSpec(tb testing.TB, name string) *contracts.Contract {
	tb.Helper()
	dir := os.Getenv("TETHER_CORPUS")
	if dir == "" {
		tb.Skip("TETHER_CORPUS is not set; it names the corpus of real vendor material (.ci/run sets it)")
	}
	c, err := contracts.Load(filepath.Join(dir, "specs", name))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkTwilioConcurrent50 loads the sandbox as a connector suite
// would: 50 concurrent connections calling the Twilio Messaging contract,
// with request validation and journaling on. It reports requests per
// second and the 50th and 99th percentile latencies seen by the clients.
//
//	TETHER_CORPUS=../shared/corpus go test ./sandbox -run '^$' -bench TwilioConcurrent50 -benchtime 100000x
func BenchmarkTwilioConcurrent50(b *testing.B) {
	c := corpusSpec(b, "twilio-messaging-v1.yaml")
	s := startVendors(b, []Vendor{{Name: "twilio", Contract: c}})
	auth := basic("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "token")
	paths := []string{"/v1/Services", "/v1/Services/MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
	const conns = 50
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	// Warm up: compile the schemas and render the answers once.
	for _, p := range paths {
		req, _ := http.NewRequest("GET", s.VendorURL("twilio")+p, nil)
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("warm-up GET %s: %v %v", p, err, resp)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	var next atomic.Int64
	lat := make([][]time.Duration, conns)
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				req, _ := http.NewRequest("GET", s.VendorURL("twilio")+paths[i%2], nil)
				req.Header.Set("Authorization", auth)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d calls failed or were not 200", n, b.N)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	if j := s.Journal(JournalFilter{Limit: 1}); j.Last < uint64(b.N) {
		b.Fatalf("journal saw %d calls, want at least %d", j.Last, b.N)
	}
	if f := s.Journal(JournalFilter{Findings: true, Limit: 1}); len(f.Entries) > 0 {
		b.Fatalf("a benchmark call broke the contract: %v", fmt.Sprint(f.Entries[0].Findings))
	}
}
