package sandbox

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherkit/tether/contracts"
)

// corpusSpec loads a contract of the corpus, or skips when TETHER_CORPUS
// is not set.
func corpusSpec(tb testing.TB, name string, opts ...contracts.Option) *contracts.Contract {
	tb.Helper()
	dir := os.Getenv("TETHER_CORPUS")
	if dir == "" {
		tb.Skip("TETHER_CORPUS is not set; it names the corpus of real vendor material (.ci/run sets it)")
	}
	c, err := contracts.Load(filepath.Join(dir, "specs", name), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkTwilioConcurrent50 loads the sandbox as a connector suite
// would: 50 concurrent keep-alive connections calling two operations of the
// Twilio Messaging contract, with request validation and journaling on, and
// the collector set as `tether sandbox serve` sets it. It reports requests
// per second and the 50th and 99th percentile latencies the clients saw.
// Each connection sends its next call as soon as the last is answered, so
// the throughput is the most the sandbox serves.
//
// The clients write each request as prepared bytes and read the answer
// with http.ReadResponse, one call at a time per connection, as wrk does:
// on two cores, a full http.Client would take as much CPU as the sandbox
// and the figures would measure the client.
//
//	TETHER_CORPUS=../shared/corpus go test ./sandbox -run '^$' -bench TwilioConcurrent50 -benchtime 200000x
func BenchmarkTwilioConcurrent50(b *testing.B) {
	// As tether sandbox serve loads it: the sandbox checks credentials
	// itself, per tenant.
	c := corpusSpec(b, "twilio-messaging-v1.yaml", contracts.IgnoreSecurity())
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	s := startVendors(b, []Vendor{{Name: "twilio", Contract: c}})
	host := strings.TrimPrefix(s.URL(), "http://")
	auth := basic("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "token")
	var requests [][]byte
	for _, p := range []string{"/twilio/v1/Services", "/twilio/v1/Services/MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"} {
		requests = append(requests, []byte("GET "+p+" HTTP/1.1\r\nHost: "+host+"\r\nAuthorization: "+auth+"\r\nAccept: application/json\r\n\r\n"))
	}
	const conns = 50
	clients := make([]*rawClient, conns)
	for i := range clients {
		rc, err := dialRaw(host)
		if err != nil {
			b.Fatal(err)
		}
		defer rc.conn.Close()
		clients[i] = rc
	}
	// Warm up: compile the schemas and render the answers once.
	for _, r := range requests {
		if st, err := clients[0].do(r); err != nil || st != 200 {
			b.Fatalf("warm-up: %d %v", st, err)
		}
	}
	loadTest(b, s, clients, requests)
}

// loadTest makes b.N calls over clients, each as soon as the connection's
// last one is answered.
func loadTest(b *testing.B, s *Sandbox, clients []*rawClient, requests [][]byte) {
	s.Reset()
	var next atomic.Int64
	lat := make([][]time.Duration, len(clients))
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range clients {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				t0 := time.Now()
				st, err := clients[w].do(requests[i%2])
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil || st != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d, %v", st, err))
					if err != nil {
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d calls failed; the first: %v", n, b.N, firstErr.Load())
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	if j := s.Journal(JournalFilter{Limit: 1}); j.Last != uint64(b.N) {
		b.Fatalf("the journal saw %d calls, want %d", j.Last, b.N)
	}
	if f := s.Journal(JournalFilter{Findings: true, Limit: 1}); len(f.Entries) > 0 {
		b.Fatalf("a benchmark call broke the contract: %v", f.Entries[0].Findings)
	}
}

// rawClient is one keep-alive HTTP/1.1 connection that sends prepared
// requests.
type rawClient struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(host string) (*rawClient, error) {
	conn, err := net.Dial("tcp", host)
	if err != nil {
		return nil, err
	}
	return &rawClient{conn: conn, r: bufio.NewReaderSize(conn, 16<<10)}, nil
}

func (c *rawClient) do(req []byte) (int, error) {
	if _, err := c.conn.Write(req); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}
