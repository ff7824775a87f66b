package replay_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gopkg.in/dnaeon/go-vcr.v2/cassette"
	"gopkg.in/dnaeon/go-vcr.v2/recorder"

	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/replay"
)

// replayWorkload is n recorded interactions with distinct URLs and JSON
// bodies, and the order in which a benchmark sends them again.
type replayWorkload struct {
	n     int
	reqs  []fixtures.Request
	resps []fixtures.Response
	order []int
}

// sampledRequests bounds how many requests one iteration sends: go-vcr scans
// every interaction for each request, so replaying all 100,000 would take it
// hours. Both transports send the same sample, so per-request times compare.
const sampledRequests = 2000

func newReplayWorkload(n int) *replayWorkload {
	w := &replayWorkload{n: n}
	for i := range n {
		w.reqs = append(w.reqs, fixtures.Request{
			Method:  http.MethodPost,
			URL:     fmt.Sprintf("https://api.example.com/v1/accounts/%d/notes?view=full&page=%d", i, i%7),
			Headers: http.Header{"Content-Type": {"application/json"}},
			Body:    fmt.Sprintf(`{"account":%d,"note":"note %d","tags":["a","b"],"meta":{"n":%d}}`, i, i, i*3),
		})
		w.resps = append(w.resps, fixtures.Response{
			Code: 200, Status: "200 OK",
			Headers: http.Header{"Content-Type": {"application/json"}},
			Body:    fmt.Sprintf(`{"ok":true,"id":%d}`, i),
		})
	}
	rng := rand.New(rand.NewPCG(uint64(n), 42)) // fixed seed: runs compare
	w.order = rng.Perm(n)
	if n > 10000 {
		w.order = w.order[:sampledRequests]
	}
	return w
}

// request builds the live request for interaction i.
func (w *replayWorkload) request(i int) *http.Request {
	r := w.reqs[i]
	req, err := http.NewRequest(r.Method, r.URL, strings.NewReader(r.Body))
	if err != nil {
		panic(err)
	}
	req.Header = r.Headers.Clone()
	return req
}

// run sends the workload's requests through tr b.N times and returns the
// time per request.
func (w *replayWorkload) run(b *testing.B, tr http.RoundTripper) float64 {
	b.Helper()
	send := func(order []int) {
		for _, i := range order {
			resp, err := tr.RoundTrip(w.request(i))
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	// A few requests first, so a one-iteration run does not time the
	// transport's first allocations; then the garbage of setting up is
	// collected, so it is not timed either.
	send(w.order[:min(100, len(w.order))])
	runtime.GC()
	b.ResetTimer()
	for range b.N {
		send(w.order)
	}
	b.StopTimer()
	perRequest := float64(b.Elapsed().Nanoseconds()) / float64(b.N*len(w.order))
	b.ReportMetric(perRequest, "ns/request")
	return perRequest
}

func (w *replayWorkload) tether(b *testing.B) http.RoundTripper {
	c := &fixtures.Cassette{Version: fixtures.FormatVersion}
	for i := range w.reqs {
		c.Interactions = append(c.Interactions, &fixtures.Interaction{ID: i, Request: w.reqs[i], Response: w.resps[i]})
	}
	// Repeatable, as go-vcr's replayable interactions, so every iteration
	// sends the same requests.
	tr, err := replay.NewTransport([]*fixtures.Cassette{c}, replay.Repeatable())
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

// govcr writes the workload as a go-vcr format 1 cassette and returns a
// recorder replaying it. Its default matcher compares method and URL only,
// less than tether compares.
func (w *replayWorkload) govcr(b *testing.B) http.RoundTripper {
	name := filepath.Join(b.TempDir(), "replay")
	c := cassette.New(name)
	for i := range w.reqs {
		c.AddInteraction(&cassette.Interaction{
			Request: cassette.Request{Method: w.reqs[i].Method, URL: w.reqs[i].URL, Headers: w.reqs[i].Headers, Body: w.reqs[i].Body},
			Response: cassette.Response{
				Body: w.resps[i].Body, Headers: w.resps[i].Headers, Status: w.resps[i].Status, Code: w.resps[i].Code,
			},
		})
	}
	if err := c.Save(); err != nil {
		b.Fatal(err)
	}
	rec, err := recorder.NewAsMode(name, recorder.ModeReplaying, nil)
	if err != nil {
		b.Fatal(err)
	}
	rec.SkipRequestLatency = true
	rec.SetReplayableInteractions(true)
	b.Cleanup(func() { rec.Stop() })
	return rec
}

// BenchmarkReplay compares tether's transport with go-vcr's recorder in
// replay mode on cassettes of growing size, requests sent in random order.
// At n=100000 each iteration sends a random sample of 2,000 requests (see
// sampledRequests). The summary reports govcr/tether at 10,000 (the target
// is ≥ 20) and tether's growth from 10,000 to 100,000 (the target is ≤ 1.5).
func BenchmarkReplay(b *testing.B) {
	perRequest := map[string]float64{}
	for _, n := range []int{1000, 10000, 100000} {
		var w *replayWorkload
		workload := func() *replayWorkload {
			if w == nil {
				w = newReplayWorkload(n)
			}
			return w
		}
		for _, tool := range []string{"tether", "govcr"} {
			name := fmt.Sprintf("%s/n=%d", tool, n)
			b.Run(name, func(b *testing.B) {
				w := workload()
				var tr http.RoundTripper
				if tool == "govcr" {
					tr = w.govcr(b)
				} else {
					tr = w.tether(b)
				}
				checkAnswer(b, w, tr)
				perRequest[name] = w.run(b, tr)
			})
		}
	}
	b.Run("summary", func(b *testing.B) {
		if t, g := perRequest["tether/n=10000"], perRequest["govcr/n=10000"]; t > 0 && g > 0 {
			b.ReportMetric(g/t, "govcr/tether@10k")
		}
		if t10, t100 := perRequest["tether/n=10000"], perRequest["tether/n=100000"]; t10 > 0 && t100 > 0 {
			b.ReportMetric(t100/t10, "tether-growth-100k/10k")
		}
	})
}

// checkAnswer makes sure tr answers with the recorded response before it is
// timed: a fast wrong answer would prove nothing.
func checkAnswer(b *testing.B, w *replayWorkload, tr http.RoundTripper) {
	b.Helper()
	i := w.order[len(w.order)/2]
	resp, err := tr.RoundTrip(w.request(i))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || string(data) != w.resps[i].Body {
		b.Fatalf("interaction %d: got %q, %v, want %q", i, data, err, w.resps[i].Body)
	}
}
