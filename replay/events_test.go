package replay

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherkit/tether/contracts"
)

const (
	eventsSecret    = "whsec-test-0123456789"
	eventsSigHeader = "X-Crm-Signature"
	eventsChatToken = "xoxb-live-chat-token-77"
)

// signedDealConnector is a tiny connector written for these tests: it takes a
// signed CRM deal webhook, checks the HMAC-SHA256 in X-Crm-Signature, and
// posts a message to a chat vendor through the client it was given.
func signedDealConnector(secret string, client *http.Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		got, err := hex.DecodeString(r.Header.Get(eventsSigHeader))
		if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var deal struct {
			ID    int    `json:"id"`
			Stage string `json:"stage"`
		}
		if err := json.Unmarshal(body, &deal); err != nil {
			http.Error(w, "bad payload", http.StatusUnprocessableEntity)
			return
		}
		msg := fmt.Sprintf(`{"channel":"deals","text":"deal %d is %s"}`, deal.ID, deal.Stage)
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, "https://chat.example.com/api/messages", strings.NewReader(msg))
		req.Header.Set("Authorization", "Bearer "+eventsChatToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, "vendor: "+err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.WriteHeader(http.StatusAccepted)
	})
}

// eventsVendor answers every call with 200 and counts them.
type eventsVendor struct {
	mu    sync.Mutex
	calls int
}

func (v *eventsVendor) RoundTrip(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	v.mu.Lock()
	v.calls++
	v.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"ok":true}`)), Request: r}, nil
}

// newEventsRig returns a capture in front of a vendor stub, and the test
// connector wired to it.
func newEventsRig(t *testing.T, secret string) (*Capture, *eventsVendor, http.Handler) {
	t.Helper()
	vendor := &eventsVendor{}
	capture, err := NewCapture(vendor)
	if err != nil {
		t.Fatal(err)
	}
	return capture, vendor, signedDealConnector(secret, &http.Client{Transport: capture})
}

func mustLoadEvents(t *testing.T, path string) []Event {
	t.Helper()
	events, err := LoadEvents(path)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func deliveredStatuses(ds []Delivery) []int {
	var out []int
	for _, d := range ds {
		out = append(out, d.Status)
	}
	return out
}

func deliveredIndexes(ds []Delivery) []int {
	var out []int
	for _, d := range ds {
		out = append(out, d.Index)
	}
	return out
}

func TestDeliverToHandlerCapturesCalls(t *testing.T) {
	capture, vendor, conn := newEventsRig(t, eventsSecret)
	events := mustLoadEvents(t, "testdata/events/deals.yaml")
	ds, err := Deliver(context.Background(), Handler(conn), events, SignWith(HMACSHA256(eventsSigHeader, eventsSecret)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := deliveredStatuses(ds), []int{202, 202}; !reflect.DeepEqual(got, want) {
		t.Fatalf("statuses %v, want %v (deliveries %+v)", got, want, ds)
	}
	calls := capture.Calls()
	if len(calls) != 2 || vendor.calls != 2 {
		t.Fatalf("captured %d calls, vendor saw %d; want 2 and 2", len(calls), vendor.calls)
	}
	wantBodies := []string{
		`{"channel":"deals","text":"deal 42 is won"}`,
		`{"channel":"deals","text":"deal 7 is lost"}`,
	}
	for i, c := range calls {
		if c.Method != "POST" || c.URL != "https://chat.example.com/api/messages" || c.Body != wantBodies[i] {
			t.Errorf("call %d = %s %s %s; want POST https://chat.example.com/api/messages %s", i, c.Method, c.URL, c.Body, wantBodies[i])
		}
		if ct := c.Headers.Get("Content-Type"); ct != "application/json" {
			t.Errorf("call %d Content-Type %q", i, ct)
		}
		auth := c.Headers.Get("Authorization")
		if auth == "" || strings.Contains(auth, eventsChatToken) {
			t.Errorf("call %d Authorization %q: want it kept, redacted", i, auth)
		}
	}
	if ds[0].Name != "deal.updated" || ds[0].Copy != 1 || ds[1].Index != 1 {
		t.Errorf("deliveries %+v", ds)
	}
}

func TestDeliverBadSignatureIsRejected(t *testing.T) {
	tests := []struct {
		signer Signer
		reason string
	}{
		{HMACSHA256(eventsSigHeader, "not-the-secret"), "signed with the wrong secret"},
		{HMACSHA256("X-Other-Signature", eventsSecret), "signed into the wrong header"},
		{nil, "not signed at all"},
	}
	for _, tt := range tests {
		capture, _, conn := newEventsRig(t, eventsSecret)
		var opts []DeliverOption
		if tt.signer != nil {
			opts = append(opts, SignWith(tt.signer))
		}
		ds, err := Deliver(context.Background(), Handler(conn), mustLoadEvents(t, "testdata/events/deals.yaml"), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := deliveredStatuses(ds), []int{401, 401}; !reflect.DeepEqual(got, want) {
			t.Errorf("statuses %v, want %v (%s)", got, want, tt.reason)
		}
		if n := len(capture.Calls()); n != 0 {
			t.Errorf("captured %d calls, want none (%s)", n, tt.reason)
		}
	}
}

func TestHMACSHA256(t *testing.T) {
	// RFC 4231, test case 2.
	const want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	h := http.Header{}
	HMACSHA256("X-Sig", "Jefe").Sign(h, []byte("what do ya want for nothing?"))
	if got := h.Get("X-Sig"); got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
	HMACSHA256("X-Hub-Signature-256", "Jefe", SignaturePrefix("sha256=")).Sign(h, []byte("what do ya want for nothing?"))
	if got := h.Get("X-Hub-Signature-256"); got != "sha256="+want {
		t.Errorf("prefixed signature %q, want sha256=%s", got, want)
	}
}

func TestDuplicate(t *testing.T) {
	capture, vendor, conn := newEventsRig(t, eventsSecret)
	ds, err := Deliver(context.Background(), Handler(conn), mustLoadEvents(t, "testdata/events/deals.yaml"),
		SignWith(HMACSHA256(eventsSigHeader, eventsSecret)), Duplicate(2))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := deliveredIndexes(ds), []int{0, 0, 1, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("delivered events %v, want %v", got, want)
	}
	var copies []int
	for _, d := range ds {
		copies = append(copies, d.Copy)
	}
	if want := []int{1, 2, 1, 2}; !reflect.DeepEqual(copies, want) {
		t.Errorf("copies %v, want %v", copies, want)
	}
	if got, want := deliveredStatuses(ds), []int{202, 202, 202, 202}; !reflect.DeepEqual(got, want) {
		t.Errorf("statuses %v, want %v: each copy must carry a valid signature", got, want)
	}
	// This connector has no idempotency, so a duplicate shows as a second call.
	if n := len(capture.Calls()); n != 4 || vendor.calls != 4 {
		t.Errorf("captured %d calls, vendor %d; want 4", n, vendor.calls)
	}
}

func TestOutOfOrderIsDeterministic(t *testing.T) {
	events := make([]Event, 5)
	for i := range events {
		events[i] = Event{Name: fmt.Sprintf("e%d", i), Body: []byte("{}")}
	}
	record := func(seed int64, opts ...DeliverOption) []int {
		var mu sync.Mutex
		var seen []int
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			var i int
			fmt.Sscanf(r.Header.Get("X-N"), "%d", &i)
			seen = append(seen, i)
		})
		for i := range events {
			events[i].Headers = http.Header{"X-N": {fmt.Sprint(i)}}
		}
		ds, err := Deliver(context.Background(), Handler(h), events, append(opts, OutOfOrder(seed))...)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(deliveredIndexes(ds), seen) {
			t.Fatalf("deliveries say %v, the connector saw %v", deliveredIndexes(ds), seen)
		}
		return seen
	}
	given := []int{0, 1, 2, 3, 4}
	orders := map[string]bool{}
	for seed := range int64(8) {
		a, b := record(seed), record(seed)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("seed %d gave %v then %v", seed, a, b)
		}
		if reflect.DeepEqual(a, given) {
			t.Errorf("seed %d left the order as given", seed)
		}
		orders[fmt.Sprint(a)] = true
	}
	if len(orders) < 2 {
		t.Errorf("8 seeds gave %d distinct orders: %v", len(orders), orders)
	}
	withCopies := record(3, Duplicate(2))
	count := map[int]int{}
	for _, i := range withCopies {
		count[i]++
	}
	for i := range events {
		if count[i] != 2 {
			t.Errorf("with Duplicate(2), event %d delivered %d times: %v", i, count[i], withCopies)
		}
	}
	// One event, shuffled: nothing to reorder, and no error.
	if got := deliveryOrder(1, &deliverConfig{copies: 2, shuffle: true, seed: 9}); !reflect.DeepEqual(got, []int{0, 0}) {
		t.Errorf("one event twice, shuffled: %v", got)
	}
}

func TestDeliveryOrderPinned(t *testing.T) {
	// The same seed must give the same order in every release: scenarios
	// and their golden files depend on it.
	got := deliveryOrder(6, &deliverConfig{copies: 1, shuffle: true, seed: 42})
	want := pinnedShuffle
	if !reflect.DeepEqual(got, want) {
		t.Errorf("seed 42 over 6 events: %v, want %v", got, want)
	}
}

var pinnedShuffle = []int{2, 5, 1, 3, 0, 4}

func TestDelay(t *testing.T) {
	const d = 40 * time.Millisecond
	var mu sync.Mutex
	var at []time.Time
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
	})
	events := []Event{{Name: "a", Body: []byte("1")}, {Name: "b", Body: []byte("2")}, {Name: "c", Body: []byte("3")}}
	if _, err := Deliver(context.Background(), Handler(h), events, Delay(d)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < d {
			t.Errorf("gap before delivery %d was %s, want at least %s", i, gap, d)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*d)
	defer cancel()
	ds, err := Deliver(ctx, Handler(h), events, Delay(time.Hour))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled during a delay: err %v, want DeadlineExceeded", err)
	}
	if len(ds) != 1 {
		t.Errorf("cancelled during the first delay: %d deliveries, want 1", len(ds))
	}
}

func TestDeliverToEndpoint(t *testing.T) {
	capture, _, conn := newEventsRig(t, eventsSecret)
	mux := http.NewServeMux()
	mux.Handle("POST /events", conn)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	events := mustLoadEvents(t, "testdata/events/deals.yaml")
	ds, err := Deliver(context.Background(), Endpoint(srv.URL+"/events"), events, SignWith(HMACSHA256(eventsSigHeader, eventsSecret)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := deliveredStatuses(ds), []int{202, 202}; !reflect.DeepEqual(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if n := len(capture.Calls()); n != 2 {
		t.Errorf("captured %d calls, want 2", n)
	}

	ds, err = Deliver(context.Background(), Endpoint(srv.URL+"/nowhere"), events)
	if err != nil || deliveredStatuses(ds)[0] != 404 {
		t.Errorf("wrong path: %v, %+v; want 404s", err, ds)
	}

	srv.Close()
	ds, err = Deliver(context.Background(), Endpoint(srv.URL+"/events"), events)
	if err != nil {
		t.Fatalf("a connector that is down is recorded per delivery, not returned: %v", err)
	}
	if len(ds) != 2 || ds[0].Err == nil || ds[1].Err == nil || ds[0].Status != 0 {
		t.Errorf("connector down: %+v; want two deliveries with errors", ds)
	}
}

func TestDeliverHandlerPanic(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	ds, err := Deliver(context.Background(), Handler(h), []Event{{Name: "x", Body: []byte("{}")}})
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].Err == nil || !strings.Contains(ds[0].Err.Error(), "boom") {
		t.Errorf("panic recorded as %v", ds[0].Err)
	}
}

func TestDeliverMisuse(t *testing.T) {
	ok := http.NotFoundHandler()
	events := []Event{{Name: "x", Body: []byte("{}")}}
	tests := []struct {
		to     Target
		opts   []DeliverOption
		want   string
		reason string
	}{
		{Handler(ok), []DeliverOption{Duplicate(0)}, "Duplicate(0)", "no deliveries is no test"},
		{Handler(ok), []DeliverOption{Delay(-time.Second)}, "cannot be negative", "negative delay"},
		{Handler(ok), []DeliverOption{SignWith(nil)}, "SignWith(nil)", "nil signer"},
		{Handler(ok), []DeliverOption{Retry(-1, time.Second)}, "cannot be negative", "negative attempts"},
		{Handler(ok), []DeliverOption{Retry(2, -time.Second)}, "backoff cannot be negative", "negative backoff"},
		{Handler(ok), []DeliverOption{OnAttempt(nil)}, "OnAttempt(nil)", "nil hook"},
		{nil, nil, "no target", "nil target"},
		{Endpoint("localhost:8080/events"), nil, "not an http or https URL", "scheme forgotten"},
	}
	for _, tt := range tests {
		_, err := Deliver(context.Background(), tt.to, events, tt.opts...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Deliver: err %v, want it to contain %q (%s)", err, tt.want, tt.reason)
		}
	}
	ds, err := Deliver(context.Background(), Handler(nil), events)
	if err != nil || ds[0].Err == nil {
		t.Errorf("Handler(nil): %v %+v; want the delivery to say what to pass", err, ds)
	}
}

func TestCapture(t *testing.T) {
	if _, err := NewCapture(nil, RedactWith(nil)); err == nil || !strings.Contains(err.Error(), "RedactWith(nil)") {
		t.Errorf("NewCapture with no redactor: %v, want an error naming RedactWith(nil)", err)
	}

	vendor := &eventsVendor{}
	capture, err := NewCapture(vendor)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: capture}
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := client.Post(fmt.Sprintf("https://crm.example.com/v1/deals/%d", i), "application/json", strings.NewReader(fmt.Sprintf(`{"i":%d}`, i)))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	calls := capture.Calls()
	if len(calls) != n || vendor.calls != n {
		t.Fatalf("captured %d, vendor %d; want %d", len(calls), vendor.calls, n)
	}
	seen := map[string]bool{}
	for _, c := range calls {
		id := strings.TrimPrefix(c.URL, "https://crm.example.com/v1/deals/")
		if c.Body != `{"i":`+id+`}` {
			t.Errorf("call %s has body %q", c.URL, c.Body)
		}
		seen[id] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct calls, want %d", len(seen), n)
	}

	// Calls is a copy: changing it changes nothing kept.
	calls[0].Headers.Set("X-Mutated", "1")
	if capture.Calls()[0].Headers.Get("X-Mutated") != "" {
		t.Error("Calls shares headers with the capture")
	}

	// The next transport gets the body too, and a GET has none.
	got := &eventsBodyEcho{}
	capture, _ = NewCapture(got)
	req, _ := http.NewRequest(http.MethodGet, "https://crm.example.com/v1/deals?limit=2", nil)
	resp, err := (&http.Client{Transport: capture}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodPut, "https://crm.example.com/v1/deals/1", strings.NewReader("payload"))
	if _, err := capture.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if want := []string{"", "payload"}; !reflect.DeepEqual(got.bodies, want) {
		t.Errorf("next got bodies %q, want %q", got.bodies, want)
	}
	calls = capture.Calls()
	if calls[0].Method != "GET" || calls[0].URL != "https://crm.example.com/v1/deals?limit=2" || calls[0].Body != "" || calls[1].Body != "payload" {
		t.Errorf("calls %+v", calls)
	}
}

type eventsBodyEcho struct{ bodies []string }

func (b *eventsBodyEcho) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
	}
	b.bodies = append(b.bodies, string(body))
	return &http.Response{StatusCode: 204, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

func TestLoadEvents(t *testing.T) {
	yamlEvents := mustLoadEvents(t, "testdata/events/deals.yaml")
	if len(yamlEvents) != 2 {
		t.Fatalf("%d events, want 2", len(yamlEvents))
	}
	first := yamlEvents[0]
	if first.Name != "deal.updated" || string(first.Body) != `{"id":42,"stage":"won","amount":1200.5}` {
		t.Errorf("first event %s %s", first.Name, first.Body)
	}
	if first.Headers.Get("Content-Type") != "application/json" || first.Headers.Get("X-Crm-Event") != "deal.updated" {
		t.Errorf("first event headers %v", first.Headers)
	}
	if got := yamlEvents[1].Headers.Values("X-Crm-Delivery"); !reflect.DeepEqual(got, []string{"d-2", "retry"}) {
		t.Errorf("a header given as a list: %q", got)
	}

	jsonEvents := mustLoadEvents(t, "testdata/events/deals.json")
	if got, want := string(jsonEvents[0].Body), `{"stage":"new","id":9,"tags":["vip",null,true]}`; got != want {
		t.Errorf("JSON body %s, want %s (keys in the order written)", got, want)
	}
	if got := string(jsonEvents[1].Body); got != "ping\n" {
		t.Errorf("string body %q, want it exactly as written", got)
	}
	if got := jsonEvents[1].Headers.Get("Content-Type"); got != "text/plain" {
		t.Errorf("Content-Type %q: the file's own must win", got)
	}
}

func TestLoadEventsErrors(t *testing.T) {
	tests := []struct {
		file   string
		line   int
		want   string
		reason string
	}{
		{"missing_body.yaml", 3, "event 2: deal.deleted has no body", "the second event has no body"},
		{"unclosed.yaml", 2, "invalid YAML", "a flow map left open"},
		{"unknown_field.yaml", 2, `unknown field "header"`, "a typo for headers"},
		{"not_a_list.yaml", 1, "want a list of events", "a single event, not a list"},
		{"null_body.yaml", 6, "event 3: body is null", "body: with nothing after it"},
		{"no_name.yaml", 1, "event 1: no name", "name left out"},
		{"bad_header.yaml", 3, "header X-Crm-Event", "a header value that is a map"},
		{"infinite.yaml", 2, "not a JSON number", ".inf has no JSON form"},
		{"nosuch.yaml", 0, "read events", "no such file"},
	}
	for _, tt := range tests {
		path := filepath.Join("testdata/events", tt.file)
		_, err := LoadEvents(path)
		var fe *contracts.Error
		if !errors.As(err, &fe) {
			t.Errorf("%s: err %v, want a *contracts.Error (%s)", tt.file, err, tt.reason)
			continue
		}
		if fe.File != path || fe.Line != tt.line || !strings.Contains(fe.Msg, tt.want) {
			t.Errorf("%s: %v; want line %d and %q (%s)", tt.file, err, tt.line, tt.want, tt.reason)
		}
	}

	for _, empty := range []string{"", "# nothing\n", "[]\n"} {
		if _, err := ParseEvents("empty.yaml", []byte(empty)); err == nil || !strings.Contains(err.Error(), "no events") {
			t.Errorf("%q: %v, want holds no events", empty, err)
		}
	}
}

func FuzzLoadEvents(f *testing.F) {
	seeds, err := filepath.Glob("testdata/events/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("- &a {name: x, body: *a}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		events, err := ParseEvents("fuzz.yaml", data)
		if err != nil {
			var fe *contracts.Error
			if !errors.As(err, &fe) || fe.File != "fuzz.yaml" {
				t.Fatalf("error %v is not a located *contracts.Error", err)
			}
			return
		}
		if len(events) == 0 {
			t.Fatal("no error and no events")
		}
		for _, ev := range events {
			if strings.TrimSpace(ev.Name) == "" || ev.Headers == nil {
				t.Fatalf("event %+v lacks a name or headers", ev)
			}
		}
	})
}

func TestLoadEventsAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("- name: bomb\n  body:\n    l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "    l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	_, err := ParseEvents("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("ten levels of tenfold aliases: %v, want a size error", err)
	}
}

func ExampleHMACSHA256() {
	h := http.Header{}
	HMACSHA256("X-Hub-Signature-256", "Jefe", SignaturePrefix("sha256=")).Sign(h, []byte("what do ya want for nothing?"))
	fmt.Println(h.Get("X-Hub-Signature-256"))
	// Output: sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843
}

func ExampleDeliver() {
	// The vendor the connector calls; in a real test, a replay Transport
	// answering from cassettes.
	vendor := eventsRoundTripper(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	})
	capture, err := NewCapture(vendor)
	if err != nil {
		panic(err)
	}
	// The connector: it tells the vendor about each event it receives.
	client := &http.Client{Transport: capture}
	connector := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp, err := client.Post("https://vendor.example.com/notes", "application/json", bytes.NewReader(body))
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.WriteHeader(http.StatusAccepted)
	})

	events := []Event{{Name: "deal.updated", Body: []byte(`{"id":42}`)}}
	deliveries, err := Deliver(context.Background(), Handler(connector), events, Duplicate(2))
	if err != nil {
		panic(err)
	}
	for _, d := range deliveries {
		fmt.Println(d.Name, d.Copy, d.Status)
	}
	for _, c := range capture.Calls() {
		fmt.Println(c.Method, c.URL, c.Body)
	}
	// Output:
	// deal.updated 1 202
	// deal.updated 2 202
	// POST https://vendor.example.com/notes {"id":42}
	// POST https://vendor.example.com/notes {"id":42}
}

type eventsRoundTripper func(*http.Request) (*http.Response, error)

func (f eventsRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
