package connectors_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tetherkit/tether/connectors"
)

var checkNow = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func vendorAnswer(status int, header http.Header, body string) *http.Response {
	u, _ := url.Parse("https://user:pw@chat.example/api/messages?token=secret#frag")
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{
		StatusCode: status,
		Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header:     header,
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    &http.Request{Method: http.MethodPost, URL: u},
	}
}

func TestCheckResponse(t *testing.T) {
	retryAfter := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	const (
		ok = iota
		permanent
		retryable
	)
	tests := []struct {
		reason    string
		status    int
		header    http.Header
		wantClass int
		wantAfter time.Duration // 0: no hint
	}{
		{reason: "200 is a success", status: 200, wantClass: ok},
		{reason: "204 is a success", status: 204, wantClass: ok},
		{reason: "a 3xx the client did not follow is the caller's", status: 304, wantClass: ok},
		{reason: "400: the same request gets the same answer", status: 400, wantClass: permanent},
		{reason: "401: credentials do not mend themselves", status: 401, wantClass: permanent},
		{reason: "403: neither do grants", status: 403, wantClass: permanent},
		{reason: "404 is permanent", status: 404, wantClass: permanent},
		{reason: "409 is permanent", status: 409, wantClass: permanent},
		{reason: "410 is permanent", status: 410, wantClass: permanent},
		{reason: "422 is permanent", status: 422, wantClass: permanent},
		{reason: "another 4xx (418) is permanent", status: 418, wantClass: permanent},
		{reason: "a 4xx's Retry-After does not make it retryable", status: 400, header: retryAfter("5"), wantClass: permanent},
		{reason: "408 is retryable", status: 408, wantClass: retryable},
		{reason: "429 without Retry-After is retryable with no hint", status: 429, wantClass: retryable},
		{reason: "429 with Retry-After in seconds", status: 429, header: retryAfter("7"), wantClass: retryable, wantAfter: 7 * time.Second},
		{reason: "429 with Retry-After as a future HTTP date", status: 429,
			header: retryAfter(checkNow.Add(90 * time.Second).Format(http.TimeFormat)), wantClass: retryable, wantAfter: 90 * time.Second},
		{reason: "503 with Retry-After as a past HTTP date: no wait", status: 503,
			header: retryAfter(checkNow.Add(-time.Hour).Format(http.TimeFormat)), wantClass: retryable},
		{reason: "503 with a garbage Retry-After: no hint", status: 503, header: retryAfter("soon"), wantClass: retryable},
		{reason: "500 is retryable", status: 500, wantClass: retryable},
		{reason: "502 is retryable", status: 502, wantClass: retryable},
		{reason: "504 is retryable", status: 504, wantClass: retryable},
	}
	for _, tt := range tests {
		const body = `{"ok":false,"error":"nope"}`
		resp := vendorAnswer(tt.status, tt.header, body)
		err := connectors.CheckResponse(resp, checkNow)
		var gotClass int
		switch {
		case err == nil:
			gotClass = ok
		case connectors.IsPermanent(err):
			gotClass = permanent
		default:
			gotClass = retryable
		}
		if gotClass != tt.wantClass {
			t.Errorf("%s: CheckResponse = %v, class %d, want class %d", tt.reason, err, gotClass, tt.wantClass)
		}
		after, hasAfter := connectors.RetryAfter(err)
		if after != tt.wantAfter || hasAfter != (tt.wantAfter > 0) {
			t.Errorf("%s: RetryAfter = %v, %v, want %v", tt.reason, after, hasAfter, tt.wantAfter)
		}
		if err != nil {
			msg := err.Error()
			want := fmt.Sprintf("POST https://chat.example/api/messages: %d %s: %s", tt.status, http.StatusText(tt.status), body)
			if msg != want {
				t.Errorf("%s: error %q, want %q", tt.reason, msg, want)
			}
			se, found := errors.AsType[*connectors.StatusError](err)
			if !found || se.StatusCode != tt.status {
				t.Errorf("%s: no *StatusError with status %d in %v", tt.reason, tt.status, err)
			}
		}
		got, rerr := io.ReadAll(resp.Body)
		if rerr != nil || string(got) != body {
			t.Errorf("%s: body after CheckResponse = %q, %v; want it whole", tt.reason, got, rerr)
		}
	}
}

func TestCheckResponseLongBody(t *testing.T) {
	body := strings.Repeat("é", 5000) // 10000 bytes, beyond what is read
	closed := false
	resp := vendorAnswer(500, nil, "")
	resp.Body = closeRecorder{strings.NewReader(body), func() { closed = true }}
	err := connectors.CheckResponse(resp, checkNow)
	msg := err.Error()
	if !strings.HasSuffix(msg, "é…") || len(msg) > 300 {
		t.Errorf("error %q: want a short excerpt cut at a character", msg)
	}
	got, _ := io.ReadAll(resp.Body)
	if string(got) != body {
		t.Errorf("read %d bytes after CheckResponse, want %d", len(got), len(body))
	}
	resp.Body.Close()
	if !closed {
		t.Errorf("closing the body after CheckResponse did not close the original")
	}
}

type closeRecorder struct {
	io.Reader
	close func()
}

func (c closeRecorder) Close() error { c.close(); return nil }

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		reason string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"delay-seconds", "120", 2 * time.Minute, true},
		{"zero seconds", "0", 0, true},
		{"spaces around", " 3 ", 3 * time.Second, true},
		{"an IMF-fixdate in the future", "Fri, 01 Mar 2024 12:00:30 GMT", 30 * time.Second, true},
		{"an RFC 850 date", "Friday, 01-Mar-24 12:01:00 GMT", time.Minute, true},
		{"an asctime date", "Fri Mar  1 12:00:05 2024", 5 * time.Second, true},
		{"a date in the past is no wait", "Fri, 01 Mar 2024 11:00:00 GMT", 0, true},
		{"empty", "", 0, false},
		{"garbage", "soon", 0, false},
		{"negative seconds", "-5", 0, false},
		{"fractional seconds", "1.5", 0, false},
		{"seconds beyond a Duration", "99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := connectors.ParseRetryAfter(tt.value, checkNow)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.reason, tt.value, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestErrorClasses(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		reason        string
		err           error
		wantPermanent bool
		wantAfter     time.Duration
	}{
		{"nil is no class", nil, false, 0},
		{"an error of no class is not permanent", base, false, 0},
		{"Permanent", connectors.Permanent(base), true, 0},
		{"a wrapped Permanent", fmt.Errorf("post: %w", connectors.Permanent(base)), true, 0},
		{"Retryable with a hint", connectors.Retryable(base, time.Second), false, time.Second},
		{"Retryable without a hint", connectors.Retryable(base, 0), false, 0},
		{"a negative hint is none", connectors.Retryable(base, -time.Second), false, 0},
		{"the outer class decides: permanent", connectors.Permanent(connectors.Retryable(base, time.Second)), true, 0},
		{"the outer class decides: retryable", connectors.Retryable(connectors.Permanent(base), time.Second), false, time.Second},
	}
	for _, tt := range tests {
		if got := connectors.IsPermanent(tt.err); got != tt.wantPermanent {
			t.Errorf("%s: IsPermanent = %v", tt.reason, got)
		}
		if got, _ := connectors.RetryAfter(tt.err); got != tt.wantAfter {
			t.Errorf("%s: RetryAfter = %v, want %v", tt.reason, got, tt.wantAfter)
		}
		if tt.err != nil && !errors.Is(tt.err, base) {
			t.Errorf("%s: %v does not wrap its cause", tt.reason, tt.err)
		}
	}
	if connectors.Permanent(nil) != nil || connectors.Retryable(nil, time.Second) != nil {
		t.Errorf("Permanent(nil) or Retryable(nil) is not nil")
	}
}

// A vendor call classified with CheckResponse and retried under a
// RetryPolicy: the 429's Retry-After is waited out, the 404 is not retried.
func ExampleCheckResponse() {
	answers := []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusOK}
	chat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := answers[0]
		answers = answers[1:]
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"ok":%t}`, status == http.StatusOK)
	}))
	defer chat.Close()

	post := func(ctx context.Context, path string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, chat.URL+path+"?token=secret", nil)
		resp, err := chat.Client().Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return connectors.CheckResponse(resp, time.Now())
	}
	policy := connectors.RetryPolicy{Base: time.Millisecond, Seed: 1}
	attempts, err := policy.Do(context.Background(), func(ctx context.Context, attempt int) error {
		err := post(ctx, "/messages")
		if err != nil {
			fmt.Println("attempt", attempt, "failed:", strings.Replace(err.Error(), chat.URL, "URL", 1))
		}
		return err
	})
	fmt.Println("attempts:", attempts, "error:", err)

	answers = []int{http.StatusNotFound}
	attempts, err = policy.Do(context.Background(), func(ctx context.Context, _ int) error { return post(ctx, "/channels/gone") })
	fmt.Println("attempts:", attempts, "permanent:", connectors.IsPermanent(err))

	// Output:
	// attempt 1 failed: POST URL/messages: 429 Too Many Requests: {"ok":false}
	// attempt 2 failed: POST URL/messages: 503 Service Unavailable: {"ok":false}
	// attempts: 3 error: <nil>
	// attempts: 1 permanent: true
}

// The waits of a policy under a seed are the same on every run.
func ExampleRetryPolicy_Delays() {
	p := connectors.RetryPolicy{Base: 100 * time.Millisecond, Max: time.Second, Seed: 42}
	for _, d := range p.Delays(6) {
		fmt.Println(d.Round(time.Millisecond))
	}
	// Output:
	// 73ms
	// 197ms
	// 344ms
	// 538ms
	// 919ms
	// 972ms
}
