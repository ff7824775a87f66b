package replay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The verifiers below are written apart from sign.go, from the schemes'
// descriptions, as a connector would check a delivery: parse the header,
// recompute the MAC with crypto/hmac, compare in constant time, and refuse
// a timestamp too far from the verifier's clock.

const signTolerance = 5 * time.Minute

var signNow = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func checkTimestamp(raw string, now time.Time) (int64, error) {
	ts, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("timestamp %q: %v", raw, err)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > signTolerance || d < -signTolerance {
		return 0, fmt.Errorf("timestamp %d is %s from now", ts, d)
	}
	return ts, nil
}

// verifyTimestamped checks a "t=<ts>,v1=<hex>" header as Stripe documents it.
func verifyTimestamped(value, secret string, body []byte, now time.Time) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(value, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return fmt.Errorf("part %q has no =", part)
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil {
				return fmt.Errorf("v1 %q: %v", v, err)
			}
			sigs = append(sigs, b)
		}
	}
	if _, err := checkTimestamp(ts, now); err != nil {
		return err
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return errors.New("no v1 signature matches")
}

// verifyStandard checks the three webhook-* headers as the Standard
// Webhooks specification describes them, and returns the message id.
func verifyStandard(h http.Header, secret string, body []byte, now time.Time) (string, error) {
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	if id == "" {
		return "", errors.New("no webhook-id")
	}
	if _, err := checkTimestamp(ts, now); err != nil {
		return "", err
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	// The header is a space-separated list of "<version>,<base64>".
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return id, nil
		}
	}
	return "", fmt.Errorf("no v1 signature matches in %q", h.Get("webhook-signature"))
}

// A base64 secret of 24 bytes, as Standard Webhooks senders issue them.
var standardSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("tether-test-secret-24byt"))

func TestTimestampedHMAC(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"invoice.paid"}`)
	h := http.Header{}
	TimestampedHMAC("Stripe-Signature", "sk_test_secret", SignedAt(fixedClock(signNow))).Sign(h, body)
	got := h.Get("Stripe-Signature")

	// Known answer, worked out here step by step.
	ts := strconv.FormatInt(signNow.Unix(), 10)
	mac := hmac.New(sha256.New, []byte("sk_test_secret"))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	if want := "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("header %q, want %q", got, want)
	}

	tests := []struct {
		secret string
		body   []byte
		now    time.Time
		ok     bool
		reason string
	}{
		{"sk_test_secret", body, signNow, true, "as signed"},
		{"sk_test_secret", body, signNow.Add(4 * time.Minute), true, "within tolerance"},
		{"sk_test_secret", body, signNow.Add(10 * time.Minute), false, "too old: a replayed delivery"},
		{"sk_test_other", body, signNow, false, "wrong secret"},
		{"sk_test_secret", []byte(`{"id":"evt_2","type":"invoice.paid"}`), signNow, false, "body changed"},
	}
	for _, tt := range tests {
		err := verifyTimestamped(got, tt.secret, tt.body, tt.now)
		if (err == nil) != tt.ok {
			t.Errorf("verify: %v, want ok=%v (%s)", err, tt.ok, tt.reason)
		}
	}

	// Without SignedAt it signs at the wall clock.
	TimestampedHMAC("Stripe-Signature", "sk_test_secret").Sign(h, body)
	if err := verifyTimestamped(h.Get("Stripe-Signature"), "sk_test_secret", body, time.Now()); err != nil {
		t.Errorf("signed at the wall clock: %v", err)
	}
}

func TestStandardWebhooksKnownAnswer(t *testing.T) {
	// The example in the Standard Webhooks specification's test suite.
	s, err := StandardWebhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", SignedAt(fixedClock(time.Unix(1614265330, 0))))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Webhook-Id": {"msg_p5jXN8AQM9LWM0D4loKWxJek"}}
	s.Sign(h, []byte(`{"test": 2432232314}`))
	if got, want := h.Get("webhook-signature"), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("specification example: signature %q, want %q", got, want)
	}

	// And one worked out here from fixed inputs.
	const id, ts, body = "msg_fixed", "1700000000", `{"type":"user.created"}`
	key := []byte("tether-test-secret-24byt")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + body))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, secret := range []string{standardSecret, strings.TrimPrefix(standardSecret, "whsec_")} {
		s, err := StandardWebhooks(secret, SignedAt(fixedClock(time.Unix(1700000000, 0))))
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("webhook-id", id)
		s.Sign(h, []byte(body))
		if got := h.Get("webhook-signature"); got != want {
			t.Errorf("secret %q: signature %q, want %q", secret, got, want)
		}
		if got := h.Get("webhook-timestamp"); got != ts {
			t.Errorf("secret %q: timestamp %q, want %q", secret, got, ts)
		}
		if got := h.Get("webhook-id"); got != id {
			t.Errorf("secret %q: the event's webhook-id became %q", secret, got)
		}
	}
}

func TestStandardWebhooksID(t *testing.T) {
	s, err := StandardWebhooks(standardSecret, SignedAt(fixedClock(signNow)))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(body string) http.Header {
		h := http.Header{}
		s.Sign(h, []byte(body))
		if _, err := verifyStandard(h, standardSecret, []byte(body), signNow); err != nil {
			t.Errorf("body %q: %v", body, err)
		}
		return h
	}
	a1, a2, b := sign(`{"n":1}`), sign(`{"n":1}`), sign(`{"n":2}`)
	if a1.Get("webhook-id") != a2.Get("webhook-id") {
		t.Errorf("the same event got ids %q and %q; a retry must keep its id", a1.Get("webhook-id"), a2.Get("webhook-id"))
	}
	if a1.Get("webhook-id") == b.Get("webhook-id") {
		t.Errorf("two events share id %q", b.Get("webhook-id"))
	}
	if id := a1.Get("webhook-id"); !strings.HasPrefix(id, "msg_") || len(id) != len("msg_")+32 {
		t.Errorf("id %q, want msg_ and 32 hex digits", id)
	}
}

func TestStandardWebhooksErrors(t *testing.T) {
	tests := []struct {
		secret string
		opts   []TimestampOption
		want   string
		reason string
	}{
		{"whsec_not*base64", nil, "decode base64", "not base64"},
		{"", nil, "empty", "no secret"},
		{"whsec_", nil, "empty", "only the prefix"},
		{standardSecret, []TimestampOption{SignedAt(nil)}, "SignedAt(nil)", "no clock"},
	}
	for _, tt := range tests {
		s, err := StandardWebhooks(tt.secret, tt.opts...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || s != nil {
			t.Errorf("StandardWebhooks(%q): %v, %v; want an error containing %q (%s)", tt.secret, s, err, tt.want, tt.reason)
		}
		if key := strings.TrimPrefix(tt.secret, "whsec_"); err != nil && key != "" && strings.Contains(err.Error(), key) {
			t.Errorf("error %q shows the secret", err)
		}
	}
}

// TestTimestampedHMACPanicsWithoutAClock: it returns no error, and a nil
// clock would otherwise panic later, at the first delivery, far from the
// mistake.
func TestTimestampedHMACPanicsWithoutAClock(t *testing.T) {
	defer func() {
		p := recover()
		if msg, _ := p.(string); !strings.Contains(msg, "SignedAt(nil)") {
			t.Errorf("panic %v, want one naming SignedAt(nil)", p)
		}
	}()
	TimestampedHMAC("X-Sig", "s", SignedAt(nil))
}

func ExampleStandardWebhooks() {
	// A fixed clock makes the signature the same on every run.
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	s, err := StandardWebhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", SignedAt(func() time.Time { return at }))
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	s.Sign(h, []byte(`{"type":"user.created"}`))
	for _, name := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		fmt.Printf("%s: %s\n", name, h.Get(name))
	}
	// Output:
	// webhook-id: msg_eeda84e7bad3591de94def5c959f2cc3
	// webhook-timestamp: 1709294400
	// webhook-signature: v1,6pJn8HdfTUrcYlTvxxGWRlM7YGzG5lovKJbQ7fwByTg=
}

func ExampleTimestampedHMAC() {
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	TimestampedHMAC("Stripe-Signature", "sk_test_secret", SignedAt(func() time.Time { return at })).Sign(h, []byte(`{"id":"evt_1"}`))
	fmt.Println(h.Get("Stripe-Signature"))
	// Output: t=1709294400,v1=7ae0a191d47a30bbbc230e05f43ffcd1b5f74c2b5fec91e2124f822a66db6397
}
