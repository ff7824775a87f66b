package sandbox

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFaultsSeenByAPlainClient checks each fault kind from the outside, as
// a connector's own http.Client meets it.
func TestFaultsSeenByAPlainClient(t *testing.T) {
	get := func(t *testing.T, s *Sandbox, client *http.Client, path string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest("GET", s.VendorURL("crm")+path, nil)
		req.Header.Set("Authorization", "Bearer t")
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	plain := &http.Client{}

	t.Run("a declared error status with its example body", func(t *testing.T) {
		s := startCRM(t, WithFault(Status(503).On("createDeal")))
		resp, body := call(t, "POST", s.VendorURL("crm")+"/deals", `{"name":"n","amount":1}`, "Authorization", "Bearer t", "Content-Type", "application/json")
		if resp.StatusCode != 503 || !strings.Contains(body, "maintenance") {
			t.Errorf("got %d %s, want 503 with the contract's example", resp.StatusCode, body)
		}
		if e := lastEntry(t, s); e.Source != SourceFault || e.Fault == "" {
			t.Errorf("journaled source %q fault %q", e.Source, e.Fault)
		}
		// Another operation is untouched.
		if resp, _, _ := get(t, s, plain, "/deals"); resp.StatusCode != 200 {
			t.Errorf("listDeals got %d under a createDeal fault", resp.StatusCode)
		}
	})
	t.Run("an undeclared 5xx with a problem body", func(t *testing.T) {
		s := startCRM(t, WithFault(Status(502)))
		resp, body, err := get(t, s, plain, "/deals")
		if err != nil || resp.StatusCode != 502 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("got %v %v %s", err, resp, body)
		}
	})
	t.Run("429 with Retry-After in seconds", func(t *testing.T) {
		s := startCRM(t, WithFault(RateLimit(2, time.Minute)))
		for i := 1; i <= 3; i++ {
			resp, body, err := get(t, s, plain, "/deals")
			if err != nil {
				t.Fatal(err)
			}
			if i <= 2 && resp.StatusCode != 200 {
				t.Errorf("call %d: %d, want 200 within the limit", i, resp.StatusCode)
			}
			if i == 3 {
				if resp.StatusCode != 429 || !strings.Contains(string(body), "rate_limited") {
					t.Errorf("call 3: %d %s, want 429 with the declared body", resp.StatusCode, body)
				}
				n, err := strconv.Atoi(resp.Header.Get("Retry-After"))
				if err != nil || n < 1 || n > 60 {
					t.Errorf("Retry-After %q, want seconds up to 60", resp.Header.Get("Retry-After"))
				}
			}
		}
	})
	t.Run("429 with Retry-After as an HTTP date", func(t *testing.T) {
		s := startCRM(t, WithFault(RateLimit(0, 30*time.Second).RetryAfterDate()))
		resp, _, err := get(t, s, plain, "/deals")
		if err != nil || resp.StatusCode != 429 {
			t.Fatalf("%v %v", err, resp)
		}
		when, err := http.ParseTime(resp.Header.Get("Retry-After"))
		if err != nil || when.Before(time.Now().Add(-time.Second)) || when.After(time.Now().Add(31*time.Second)) {
			t.Errorf("Retry-After %q is not an HTTP date within the window (%v)", resp.Header.Get("Retry-After"), err)
		}
	})
	t.Run("fixed latency", func(t *testing.T) {
		s := startCRM(t, WithFault(Latency(150*time.Millisecond)))
		t0 := time.Now()
		resp, _, err := get(t, s, plain, "/deals")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", err, resp)
		}
		if took := time.Since(t0); took < 150*time.Millisecond {
			t.Errorf("answered in %s, before the 150ms latency", took)
		}
	})
	t.Run("a hang past the client's timeout", func(t *testing.T) {
		s := startCRM(t, WithFault(Hang(time.Minute)))
		_, _, err := get(t, s, &http.Client{Timeout: 200 * time.Millisecond}, "/deals")
		var ne interface{ Timeout() bool }
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("got %v, want a client timeout", err)
		}
	})
	t.Run("a connection reset", func(t *testing.T) {
		s := startCRM(t, WithFault(Reset()))
		_, _, err := get(t, s, plain, "/deals")
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("got %v, want a reset connection", err)
		}
	})
	t.Run("a truncated answer without a body resets instead", func(t *testing.T) {
		s := startCRM(t, WithFault(Truncate().On("ping")))
		_, _, err := get(t, s, plain, "/ping")
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("got %v, want a reset connection for a 204", err)
		}
	})
	t.Run("Close does not wait for a hang", func(t *testing.T) {
		s, err := Start([]Vendor{{Name: "crm", Contract: loadContract(t, "crm.yaml")}}, WithFault(Hang(time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		go get(t, s, plain, "/deals")
		time.Sleep(200 * time.Millisecond) // the call reaches its hang
		t0 := time.Now()
		s.Close()
		if took := time.Since(t0); took > 2*time.Second {
			t.Errorf("Close took %s with a call hanging", took)
		}
	})
	t.Run("a truncated body", func(t *testing.T) {
		s := startCRM(t, WithFault(Truncate()))
		resp, _, err := get(t, s, plain, "/deals")
		if resp == nil || resp.StatusCode != 200 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got %v, %v; want 200 and an unexpected EOF in the body", resp, err)
		}
	})
	t.Run("a malformed body", func(t *testing.T) {
		s := startCRM(t, WithFault(Malformed()))
		resp, body, err := get(t, s, plain, "/deals")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", err, resp)
		}
		var v any
		if json.Unmarshal(body, &v) == nil {
			t.Errorf("the malformed body %s parses as JSON", body)
		}
	})
	t.Run("fail the first N calls, then succeed", func(t *testing.T) {
		s := startCRM(t, WithFault(Status(503).FirstN(2)))
		var got []int
		for i := 0; i < 4; i++ {
			resp, _, err := get(t, s, plain, "/deals")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, resp.StatusCode)
		}
		if want := []int{503, 503, 200, 200}; !equalInts(got, want) {
			t.Errorf("statuses %v, want %v", got, want)
		}
	})
	t.Run("a probability, the same for the same seed", func(t *testing.T) {
		run := func(seed uint64) []int {
			s := startCRM(t, WithSeed(seed), WithFault(Status(500).WithProbability(0.5)))
			var got []int
			for i := 0; i < 40; i++ {
				resp, _, err := get(t, s, plain, "/deals")
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, resp.StatusCode)
			}
			return got
		}
		a, b, c := run(7), run(7), run(8)
		if !equalInts(a, b) {
			t.Errorf("seed 7 gave two runs:\n%v\n%v", a, b)
		}
		if equalInts(a, c) {
			t.Errorf("seeds 7 and 8 gave the same run %v", a)
		}
		fails := 0
		for _, st := range a {
			if st == 500 {
				fails++
			}
		}
		if fails < 8 || fails > 32 {
			t.Errorf("%d of 40 calls failed at probability 0.5", fails)
		}
	})
	t.Run("set and cleared while running", func(t *testing.T) {
		s := startCRM(t)
		if err := s.SetFaults(&FaultPlan{Faults: []Fault{Status(500)}}); err != nil {
			t.Fatal(err)
		}
		if resp, _, _ := get(t, s, plain, "/deals"); resp.StatusCode != 500 {
			t.Errorf("after SetFaults: %d, want 500", resp.StatusCode)
		}
		if err := s.SetFaults(nil); err != nil {
			t.Fatal(err)
		}
		if resp, _, _ := get(t, s, plain, "/deals"); resp.StatusCode != 200 {
			t.Errorf("after clearing: %d, want 200", resp.StatusCode)
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
