package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherkit/tether/replay"
)

// receiver records what it is sent and answers with the statuses given,
// then 200.
type receiver struct {
	mu       sync.Mutex
	got      []received
	statuses []int
}

type received struct {
	header http.Header
	body   []byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, received{req.Header.Clone(), b})
	st := http.StatusOK
	if len(r.statuses) > 0 {
		st, r.statuses = r.statuses[0], r.statuses[1:]
	}
	w.WriteHeader(st)
	fmt.Fprintf(w, "answer %d", len(r.got))
}

// received returns what has arrived so far.
func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func startReceiver(t *testing.T, statuses ...int) (*receiver, string) {
	r := &receiver{statuses: statuses}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL + "/events"
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// TestDeliverySignatures verifies each style the way a receiver would,
// written here from the vendors' descriptions rather than with the code
// that signs.
func TestDeliverySignatures(t *testing.T) {
	s := startCRM(t)
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a shared secret of 32 bytes!!!!!"))
	tests := []struct {
		reason string
		sig    replay.Signature
		verify func(h http.Header, body []byte) string // "" when valid
	}{
		{"plain hex", replay.Signature{Scheme: replay.SchemeHMAC, Header: "X-Hub-Signature-256", Prefix: "sha256=", Secret: "s3cret"}, func(h http.Header, body []byte) string {
			want := "sha256=" + hex.EncodeToString(mac([]byte("s3cret"), string(body)))
			if !hmac.Equal([]byte(h.Get("X-Hub-Signature-256")), []byte(want)) {
				return "hex signature " + h.Get("X-Hub-Signature-256") + " is not " + want
			}
			return ""
		}},
		{"timestamped t=,v1=", replay.Signature{Scheme: replay.SchemeTimestampedHMAC, Header: "Crm-Signature", Secret: "s3cret"}, func(h http.Header, body []byte) string {
			var ts, v1 string
			for _, part := range strings.Split(h.Get("Crm-Signature"), ",") {
				k, v, _ := strings.Cut(part, "=")
				switch k {
				case "t":
					ts = v
				case "v1":
					v1 = v
				}
			}
			sec, err := strconv.ParseInt(ts, 10, 64)
			if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
				return "timestamp " + ts + " is not recent"
			}
			want := hex.EncodeToString(mac([]byte("s3cret"), ts, ".", string(body)))
			if !hmac.Equal([]byte(v1), []byte(want)) {
				return "v1 " + v1 + " is not " + want
			}
			return ""
		}},
		{"Standard Webhooks", replay.Signature{Scheme: replay.SchemeStandardWebhooks, Secret: secret}, func(h http.Header, body []byte) string {
			id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
			if id == "" {
				return "no webhook-id"
			}
			sec, err := strconv.ParseInt(ts, 10, 64)
			if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
				return "webhook-timestamp " + ts + " is not recent"
			}
			key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
			want := "v1," + base64.StdEncoding.EncodeToString(mac(key, id, ".", ts, ".", string(body)))
			for _, sig := range strings.Fields(h.Get("webhook-signature")) {
				if hmac.Equal([]byte(sig), []byte(want)) {
					return ""
				}
			}
			return "webhook-signature " + h.Get("webhook-signature") + " has no " + want
		}},
	}
	for _, tc := range tests {
		rc, target := startReceiver(t)
		attempts, err := s.Deliver(context.Background(), Webhook{Vendor: "crm", Event: "deal.updated", Target: target, Signature: tc.sig})
		if err != nil {
			t.Fatalf("%s: %v", tc.reason, err)
		}
		if len(attempts) != 1 || len(rc.received()) != 1 {
			t.Fatalf("%s: %d attempts, %d received", tc.reason, len(attempts), len(rc.received()))
		}
		if why := tc.verify(rc.received()[0].header, rc.received()[0].body); why != "" {
			t.Errorf("%s: %s", tc.reason, why)
		}
		if ps := s.vendors["crm"].Contract.ValidateEvent("deal.updated", rc.received()[0].body); len(ps) > 0 {
			t.Errorf("%s: the synthesised event breaks the contract: %v", tc.reason, ps)
		}
	}
}

func TestDeliveryDuplicatesReorderRetries(t *testing.T) {
	s := startCRM(t, WithSeed(3), WithEventsDir("testdata"))
	var events []WebhookEvent
	for i := 0; i < 6; i++ {
		events = append(events, WebhookEvent{Name: "deal.updated", Body: `{"n":` + strconv.Itoa(i) + `}`})
	}

	t.Run("duplicates arrive identical, in a row", func(t *testing.T) {
		rc, target := startReceiver(t)
		if _, err := s.Deliver(context.Background(), Webhook{Vendor: "crm", Events: events[:2], Target: target, Duplicates: 3}); err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, g := range rc.received() {
			bodies = append(bodies, string(g.body))
		}
		want := []string{`{"n":0}`, `{"n":0}`, `{"n":0}`, `{"n":1}`, `{"n":1}`, `{"n":1}`}
		if strings.Join(bodies, " ") != strings.Join(want, " ") {
			t.Errorf("received %v, want %v", bodies, want)
		}
	})
	t.Run("reordering is a permutation, the same for the seed", func(t *testing.T) {
		order := func() string {
			rc, target := startReceiver(t)
			if _, err := s.Deliver(context.Background(), Webhook{Vendor: "crm", Events: events, Target: target, Reorder: true}); err != nil {
				t.Fatal(err)
			}
			var ns []string
			for _, g := range rc.received() {
				var v struct{ N int }
				json.Unmarshal(g.body, &v)
				ns = append(ns, strconv.Itoa(v.N))
			}
			return strings.Join(ns, ",")
		}
		a, b := order(), order()
		if a != b {
			t.Errorf("two deliveries with one seed came in orders %s and %s", a, b)
		}
		if a == "0,1,2,3,4,5" || len(strings.Split(a, ",")) != 6 {
			t.Errorf("order %s is not a shuffle of the six events", a)
		}
	})
	t.Run("non-2xx answers are retried and every attempt journaled", func(t *testing.T) {
		s.Reset()
		rc, target := startReceiver(t, 500, 503)
		attempts, err := s.Deliver(context.Background(), Webhook{Vendor: "crm", Events: events[:1], Target: target, Retries: 3, Backoff: Duration(time.Millisecond),
			Signature: replay.Signature{Scheme: replay.SchemeStandardWebhooks, Secret: "whsec_" + base64.StdEncoding.EncodeToString([]byte("k"))}})
		if err != nil {
			t.Fatal(err)
		}
		var statuses []int
		for _, a := range attempts {
			statuses = append(statuses, a.Status)
		}
		if !equalInts(statuses, []int{500, 503, 200}) || len(rc.received()) != 3 {
			t.Fatalf("attempts answered %v, want 500, 503, 200", statuses)
		}
		if id := rc.received()[0].header.Get("webhook-id"); id == "" || rc.received()[2].header.Get("webhook-id") != id {
			t.Errorf("a retry changed the webhook-id: %q then %q", id, rc.received()[2].header.Get("webhook-id"))
		}
		j := s.Journal(JournalFilter{Kind: KindDelivery})
		if len(j.Entries) != 3 || j.Entries[2].Attempt != 3 || j.Entries[0].RequestBody != `{"n":0}` || j.Entries[0].Event != "deal.updated" ||
			j.Entries[1].ResponseBody != "answer 2" || j.Entries[1].Status != 503 {
			t.Errorf("journal of deliveries: %+v", j.Entries)
		}
	})
	t.Run("an unreachable receiver is journaled, not an error", func(t *testing.T) {
		attempts, err := s.Deliver(context.Background(), Webhook{Vendor: "crm", Events: events[:1], Target: "http://127.0.0.1:1/events"})
		if err != nil || len(attempts) != 1 || attempts[0].Error == "" || attempts[0].Status != 0 {
			t.Errorf("got %+v, %v", attempts, err)
		}
	})
	t.Run("events from a file", func(t *testing.T) {
		rc, target := startReceiver(t)
		if _, err := s.Deliver(context.Background(), Webhook{Vendor: "crm", File: "testdata/events.yaml", Target: target}); err != nil {
			t.Fatal(err)
		}
		if len(rc.received()) != 2 || rc.received()[0].header.Get("Content-Type") != "application/json" {
			t.Errorf("received %d events", len(rc.received()))
		}
	})
}

func TestDeliveryTimeout(t *testing.T) {
	s := startCRM(t)
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	t0 := time.Now()
	attempts, err := s.Deliver(context.Background(), Webhook{Vendor: "crm", Event: "deal.updated", Target: srv.URL, Timeout: Duration(200 * time.Millisecond)})
	if err == nil || time.Since(t0) > 5*time.Second {
		t.Errorf("a receiver that never answers: %v after %s, want the timeout's error", err, time.Since(t0))
	}
	if len(attempts) != 1 || attempts[0].Error == "" {
		t.Errorf("attempts %+v, want the one attempt with its error", attempts)
	}
}
