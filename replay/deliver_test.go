package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"
)

// tickingClock advances a second each time it is read, so every signature
// has a timestamp of its own while staying within tolerance of signNow.
func tickingClock() func() time.Time {
	var mu sync.Mutex
	t := signNow
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

// flakyConnector verifies Standard Webhooks signatures and answers with
// statuses in turn, then 200 once they run out. It keeps the headers of
// every request it saw.
type flakyConnector struct {
	t        *testing.T
	statuses []int
	mu       sync.Mutex
	seen     []http.Header
}

func (c *flakyConnector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	n := len(c.seen)
	c.seen = append(c.seen, r.Header.Clone())
	c.mu.Unlock()
	// The clock ticks a second a signature; a minute is plenty.
	if _, err := verifyStandard(r.Header, standardSecret, body, signNow.Add(time.Minute)); err != nil {
		c.t.Errorf("request %d: %v", n+1, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	// Changing the request must not change what Deliver reports as sent.
	r.Header.Set("webhook-id", "changed-by-connector")
	if n < len(c.statuses) {
		w.WriteHeader(c.statuses[n])
		return
	}
	w.WriteHeader(http.StatusOK)
}

func newTestStandardSigner(t *testing.T) Signer {
	t.Helper()
	s, err := StandardWebhooks(standardSecret, SignedAt(tickingClock()))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type attemptKey struct{ Index, Copy, Attempt, Status int }

func attemptKeys(ds []Delivery) []attemptKey {
	var out []attemptKey
	for _, d := range ds {
		out = append(out, attemptKey{d.Index, d.Copy, d.Attempt, d.Status})
	}
	return out
}

func TestRetry(t *testing.T) {
	conn := &flakyConnector{t: t, statuses: []int{500, 503}}
	events := []Event{{Name: "user.created", Headers: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"id":7}`)}}
	const backoff = 2 * time.Millisecond
	var hooked []Delivery
	ds, err := Deliver(context.Background(), Handler(conn), events,
		SignWith(newTestStandardSigner(t)), Retry(4, backoff), OnAttempt(func(d Delivery) { hooked = append(hooked, d) }))
	if err != nil {
		t.Fatal(err)
	}
	want := []attemptKey{{0, 1, 1, 500}, {0, 1, 2, 503}, {0, 1, 3, 200}}
	if got := attemptKeys(ds); !reflect.DeepEqual(got, want) {
		t.Fatalf("attempts %v, want %v: retried until 2xx, then stopped", got, want)
	}
	if got := attemptKeys(hooked); !reflect.DeepEqual(got, want) {
		t.Errorf("OnAttempt saw %v, want %v: once per attempt, in order", got, want)
	}

	id := ds[0].Header.Get("webhook-id")
	timestamps := map[string]bool{}
	for i, d := range ds {
		if got := d.Header.Get("webhook-id"); got != id {
			t.Errorf("attempt %d: webhook-id %q, want %q, the first attempt's", d.Attempt, got, id)
		}
		if got := conn.seen[i].Get("webhook-signature"); got != d.Header.Get("webhook-signature") {
			t.Errorf("attempt %d: reported signature %q, connector got %q", d.Attempt, d.Header.Get("webhook-signature"), got)
		}
		timestamps[d.Header.Get("webhook-timestamp")] = true
		if d.Header.Get("Content-Type") != "application/json" {
			t.Errorf("attempt %d: the event's own headers are missing from %v", d.Attempt, d.Header)
		}
		if !bytes.Equal(d.Body, events[0].Body) || d.Name != "user.created" || d.URL != "http://connector.invalid/" {
			t.Errorf("attempt %d: body %q, name %q, URL %q", d.Attempt, d.Body, d.Name, d.URL)
		}
		if d.Sent.IsZero() || d.Took < 0 {
			t.Errorf("attempt %d: sent %v, took %v", d.Attempt, d.Sent, d.Took)
		}
		// A timer never fires early, so these lower bounds cannot flake.
		if i > 0 {
			if gap, min := d.Sent.Sub(ds[i-1].Sent), retryWait(backoff, i); gap < min {
				t.Errorf("attempt %d was sent %s after the one before, want at least %s", d.Attempt, gap, min)
			}
		}
	}
	if len(timestamps) != len(ds) {
		t.Errorf("%d distinct timestamps over %d attempts: each retry must be signed afresh", len(timestamps), len(ds))
	}
}

func TestRetryGivesUp(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTooManyRequests) })
	events := []Event{{Name: "a", Body: []byte("1")}, {Name: "b", Body: []byte("2")}}
	ds, err := Deliver(context.Background(), Handler(h), events, Retry(2, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []attemptKey{{0, 1, 1, 429}, {0, 1, 2, 429}, {0, 1, 3, 429}, {1, 1, 1, 429}, {1, 1, 2, 429}, {1, 1, 3, 429}}
	if got := attemptKeys(ds); !reflect.DeepEqual(got, want) {
		t.Errorf("attempts %v, want %v: 1 try and 2 retries per event, and no error", got, want)
	}

	// Without Retry nothing is retried.
	ds, err = Deliver(context.Background(), Handler(h), events)
	if err != nil || len(ds) != 2 || ds[0].Attempt != 1 || ds[1].Attempt != 1 {
		t.Errorf("without Retry: %v %+v, want one attempt per event", err, ds)
	}
}

func TestRetryNoAnswer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	ds, err := Deliver(context.Background(), Endpoint(addr+"/events"), []Event{{Name: "a", Body: []byte("1")}}, Retry(2, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 {
		t.Fatalf("%d attempts, want 3: a connection refused is retried", len(ds))
	}
	for _, d := range ds {
		if d.Err == nil || d.Status != 0 || d.URL != addr+"/events" {
			t.Errorf("attempt %d: status %d, err %v, URL %q; want no answer from %s", d.Attempt, d.Status, d.Err, d.URL, addr)
		}
	}

	// A panic is no answer either.
	var n int
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n++; n == 1 {
			panic("boom")
		}
	})
	ds, err = Deliver(context.Background(), Handler(h), []Event{{Name: "a", Body: []byte("1")}}, Retry(3, 0))
	if err != nil || len(ds) != 2 || ds[0].Err == nil || ds[1].Status != 200 {
		t.Errorf("after a panic: %v %+v, want a retry answered 200", err, ds)
	}
}

func TestRetryCancelledDuringBackoff(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	events := []Event{{Name: "a", Body: []byte("1")}, {Name: "b", Body: []byte("2")}}

	// Cancelled by the hook, so certainly during the first backoff.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ds, err := Deliver(ctx, Handler(h), events, Retry(3, time.Hour), OnAttempt(func(Delivery) { cancel() }))
	if !errors.Is(err, context.Canceled) || len(ds) != 1 {
		t.Errorf("cancelled after the first attempt: %v, %d deliveries; want Canceled and 1", err, len(ds))
	}

	// Ended by a deadline while waiting.
	ctx, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	ds, err = Deliver(ctx, Handler(h), events, Retry(3, time.Hour))
	if !errors.Is(err, context.DeadlineExceeded) || len(ds) != 1 {
		t.Errorf("deadline during the first backoff: %v, %d deliveries; want DeadlineExceeded and 1", err, len(ds))
	}
}

func TestRetryWithDuplicates(t *testing.T) {
	// Every first attempt fails: each copy is retried once.
	var mu sync.Mutex
	var n int
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if n++; n%2 == 1 {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	events := []Event{{Name: "a", Body: []byte(`{"n":1}`)}, {Name: "b", Body: []byte(`{"n":2}`)}}
	var hooks int
	ds, err := Deliver(context.Background(), Handler(h), events,
		SignWith(newTestStandardSigner(t)), Duplicate(2), Retry(1, time.Millisecond), OnAttempt(func(Delivery) { hooks++ }))
	if err != nil {
		t.Fatal(err)
	}
	want := []attemptKey{
		{0, 1, 1, 502}, {0, 1, 2, 200}, {0, 2, 1, 502}, {0, 2, 2, 200},
		{1, 1, 1, 502}, {1, 1, 2, 200}, {1, 2, 1, 502}, {1, 2, 2, 200},
	}
	if got := attemptKeys(ds); !reflect.DeepEqual(got, want) {
		t.Errorf("attempts %v, want %v", got, want)
	}
	if hooks != len(ds) {
		t.Errorf("OnAttempt called %d times for %d attempts", hooks, len(ds))
	}
	ids := map[int]map[string]bool{}
	for _, d := range ds {
		if ids[d.Index] == nil {
			ids[d.Index] = map[string]bool{}
		}
		ids[d.Index][d.Header.Get("webhook-id")] = true
	}
	if len(ids[0]) != 1 || len(ids[1]) != 1 {
		t.Errorf("ids per event %v: every copy and retry of an event must share one id", ids)
	}
	for id := range ids[0] {
		if ids[1][id] {
			t.Errorf("events a and b share id %q", id)
		}
	}
}

func TestRetryWait(t *testing.T) {
	const b = 10 * time.Millisecond
	tests := []struct {
		backoff time.Duration
		retry   int
		want    time.Duration
		reason  string
	}{
		{b, 1, b, "the first retry waits backoff"},
		{b, 2, 2 * b, "then it doubles"},
		{b, 3, 4 * b, "and doubles"},
		{b, 7, 64 * b, "up to 64×backoff"},
		{b, 50, 64 * b, "and no further"},
		{0, 5, 0, "no backoff stays none"},
		{math.MaxInt64 / 4, 5, math.MaxInt64, "a huge backoff saturates rather than overflowing"},
	}
	for _, tt := range tests {
		if got := retryWait(tt.backoff, tt.retry); got != tt.want {
			t.Errorf("retryWait(%s, %d) = %s, want %s (%s)", tt.backoff, tt.retry, got, tt.want, tt.reason)
		}
	}
}

func ExampleRetry() {
	// A connector that fails twice before it copes.
	var calls int
	connector := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls++; calls <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	events := []Event{{Name: "deal.updated", Body: []byte(`{"id":42}`)}}
	_, err := Deliver(context.Background(), Handler(connector), events,
		Retry(3, time.Millisecond),
		OnAttempt(func(d Delivery) { fmt.Println(d.Name, "attempt", d.Attempt, d.Status) }))
	if err != nil {
		panic(err)
	}
	// Output:
	// deal.updated attempt 1 503
	// deal.updated attempt 2 503
	// deal.updated attempt 3 200
}
