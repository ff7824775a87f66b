package connectors

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The known answers below are what the sandbox's signers (replay's
// HMACSHA256, TimestampedHMAC and StandardWebhooks, as their examples
// print them) produce, and were checked with an HMAC outside Go; the hex
// one is RFC 4231's test case 2.
const (
	rfcKey    = "Jefe"
	rfcBody   = "what do ya want for nothing?"
	rfcDigest = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"

	stripeSecret = "sk_test_secret"
	stripeBody   = `{"id":"evt_1"}`
	stripeHeader = "t=1709294400,v1=7ae0a191d47a30bbbc230e05f43ffcd1b5f74c2b5fec91e2124f822a66db6397"

	swSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	swID     = "msg_eeda84e7bad3591de94def5c959f2cc3"
	swTS     = "1709294400"
	swBody   = `{"type":"user.created"}`
	swSig    = "v1,6pJn8HdfTUrcYlTvxxGWRlM7YGzG5lovKJbQ7fwByTg="
)

var signedAt = time.Unix(1709294400, 0)

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestVerify(t *testing.T) {
	std, err := VerifyStandardWebhooks(swSecret, 0)
	if err != nil {
		t.Fatal(err)
	}
	stdNoPrefix, err := VerifyStandardWebhooks(strings.TrimPrefix(swSecret, "whsec_"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	gh := VerifyHex("X-Hub-Signature-256", "sha256=", rfcKey)
	stripe := VerifyTimestamped("Stripe-Signature", stripeSecret, 0)
	other := hex.EncodeToString(make([]byte, 32))
	swHeaders := func(kv ...string) http.Header {
		h := header("webhook-id", swID, "webhook-timestamp", swTS, "webhook-signature", swSig)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				h.Del(kv[i])
			} else {
				h.Set(kv[i], kv[i+1])
			}
		}
		return h
	}

	tests := []struct {
		reason string
		v      Verifier
		h      http.Header
		body   string
		now    time.Time
		want   error // nil, or the sentinel the error wraps
	}{
		{"hex: the RFC 4231 answer, with GitHub's prefix", gh, header("X-Hub-Signature-256", "sha256="+rfcDigest), rfcBody, signedAt, nil},
		{"hex: upper-case digits are the same MAC", gh, header("X-Hub-Signature-256", "sha256="+strings.ToUpper(rfcDigest)), rfcBody, signedAt, nil},
		{"hex: no prefix expected, none given", VerifyHex("X-Sig", "", rfcKey), header("X-Sig", rfcDigest), rfcBody, signedAt, nil},
		{"hex: no header", gh, header(), rfcBody, signedAt, ErrSignatureMissing},
		{"hex: prefix missing", gh, header("X-Hub-Signature-256", rfcDigest), rfcBody, signedAt, ErrSignatureMalformed},
		{"hex: not hex", gh, header("X-Hub-Signature-256", "sha256=zz"), rfcBody, signedAt, ErrSignatureMalformed},
		{"hex: a digest of the wrong length", gh, header("X-Hub-Signature-256", "sha256="+rfcDigest[:40]), rfcBody, signedAt, ErrSignatureMalformed},
		{"hex: forged digest", gh, header("X-Hub-Signature-256", "sha256="+other), rfcBody, signedAt, ErrSignatureMismatch},
		{"hex: body changed after signing", gh, header("X-Hub-Signature-256", "sha256="+rfcDigest), rfcBody + " ", signedAt, ErrSignatureMismatch},
		{"hex: wrong secret", VerifyHex("X-Hub-Signature-256", "sha256=", "jefe"), header("X-Hub-Signature-256", "sha256="+rfcDigest), rfcBody, signedAt, ErrSignatureMismatch},
		{"hex: an empty secret refuses everything", VerifyHex("X-Sig", "", ""), header("X-Sig", hex.EncodeToString(macSHA256(nil, []byte(rfcBody)))), rfcBody, signedAt, ErrSignatureMismatch},

		{"timestamped: the sandbox's answer", stripe, header("Stripe-Signature", stripeHeader), stripeBody, signedAt, nil},
		{"timestamped: within tolerance, late", stripe, header("Stripe-Signature", stripeHeader), stripeBody, signedAt.Add(DefaultTolerance), nil},
		{"timestamped: within tolerance, early", stripe, header("Stripe-Signature", stripeHeader), stripeBody, signedAt.Add(-DefaultTolerance), nil},
		{"timestamped: one of several v1 entries matches, others of other schemes ignored", stripe,
			header("Stripe-Signature", "t=1709294400,v1="+other+",v0=abc,v1="+strings.TrimPrefix(stripeHeader, "t=1709294400,v1=")), stripeBody, signedAt, nil},
		{"timestamped: too old", stripe, header("Stripe-Signature", stripeHeader), stripeBody, signedAt.Add(DefaultTolerance + time.Second), ErrSignatureExpired},
		{"timestamped: from the future", stripe, header("Stripe-Signature", stripeHeader), stripeBody, signedAt.Add(-DefaultTolerance - time.Second), ErrSignatureExpired},
		{"timestamped: a tighter tolerance", VerifyTimestamped("Stripe-Signature", stripeSecret, time.Second), header("Stripe-Signature", stripeHeader), stripeBody, signedAt.Add(2 * time.Second), ErrSignatureExpired},
		{"timestamped: timestamp changed, so the MAC fails", stripe, header("Stripe-Signature", strings.Replace(stripeHeader, "t=1709294400", "t=1709294401", 1)), stripeBody, signedAt, ErrSignatureMismatch},
		{"timestamped: no header", stripe, header(), stripeBody, signedAt, ErrSignatureMissing},
		{"timestamped: no t", stripe, header("Stripe-Signature", "v1="+other), stripeBody, signedAt, ErrSignatureMalformed},
		{"timestamped: no v1", stripe, header("Stripe-Signature", "t=1709294400"), stripeBody, signedAt, ErrSignatureMalformed},
		{"timestamped: two t", stripe, header("Stripe-Signature", "t=1,"+stripeHeader), stripeBody, signedAt, ErrSignatureMalformed},
		{"timestamped: an entry without =", stripe, header("Stripe-Signature", stripeHeader+",junk"), stripeBody, signedAt, ErrSignatureMalformed},
		{"timestamped: forged", stripe, header("Stripe-Signature", "t=1709294400,v1="+other), stripeBody, signedAt, ErrSignatureMismatch},
		{"timestamped: forged with a fresh timestamp", stripe, header("Stripe-Signature", "t=1709294400,v1="+hex.EncodeToString(macSHA256([]byte("guess"), []byte("1709294400."+stripeBody)))), stripeBody, signedAt, ErrSignatureMismatch},

		{"standard: the sandbox's answer", std, swHeaders(), swBody, signedAt, nil},
		{"standard: secret without whsec_", stdNoPrefix, swHeaders(), swBody, signedAt, nil},
		{"standard: several entries, one v1 matching", std, swHeaders("webhook-signature", "v1a,abc v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))+" "+swSig), swBody, signedAt, nil},
		{"standard: too old", std, swHeaders(), swBody, signedAt.Add(DefaultTolerance + time.Second), ErrSignatureExpired},
		{"standard: too old for its tolerance", stdNoPrefix, swHeaders(), swBody, signedAt.Add(2 * time.Minute), ErrSignatureExpired},
		{"standard: id changed", std, swHeaders("webhook-id", "msg_other"), swBody, signedAt, ErrSignatureMismatch},
		{"standard: body changed", std, swHeaders(), swBody + "\n", signedAt, ErrSignatureMismatch},
		{"standard: forged", std, swHeaders("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))), swBody, signedAt, ErrSignatureMismatch},
		{"standard: no id", std, swHeaders("webhook-id", ""), swBody, signedAt, ErrSignatureMissing},
		{"standard: no timestamp", std, swHeaders("webhook-timestamp", ""), swBody, signedAt, ErrSignatureMissing},
		{"standard: no signature", std, swHeaders("webhook-signature", ""), swBody, signedAt, ErrSignatureMissing},
		{"standard: timestamp not a number", std, swHeaders("webhook-timestamp", "soon"), swBody, signedAt, ErrSignatureMalformed},
		{"standard: no v1 entry", std, swHeaders("webhook-signature", "v1a,abc"), swBody, signedAt, ErrSignatureMalformed},
		{"standard: entry without a comma", std, swHeaders("webhook-signature", "v1"), swBody, signedAt, ErrSignatureMalformed},
		{"standard: v1 not base64", std, swHeaders("webhook-signature", "v1,!!"), swBody, signedAt, ErrSignatureMalformed},
	}
	for _, tt := range tests {
		err := tt.v.Verify(tt.h, []byte(tt.body), tt.now)
		switch {
		case tt.want == nil && err != nil:
			t.Errorf("%s: Verify: %v, want nil", tt.reason, err)
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("%s: Verify: %v, want an error wrapping %q", tt.reason, err, tt.want)
		}
		for _, secret := range []string{rfcKey, stripeSecret, swSecret, strings.TrimPrefix(swSecret, "whsec_")} {
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error %q shows the secret", tt.reason, err)
			}
		}
	}
}

// TestVerifyIndependent signs with crypto/hmac here, from the schemes'
// descriptions, at the verifier's own clock, and checks the verifiers
// accept it.
func TestVerifyIndependent(t *testing.T) {
	body := []byte(`{"id":"evt_9","type":"deal.updated"}`)
	now := time.Date(2025, 6, 1, 8, 30, 0, 0, time.UTC)
	ts := "1748766600"
	sign := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	std, err := VerifyStandardWebhooks("whsec_"+base64.StdEncoding.EncodeToString(key), 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		reason string
		v      Verifier
		h      http.Header
	}{
		{"hex", VerifyHex("X-Crm-Signature", "", "s3cret"), header("X-Crm-Signature", hex.EncodeToString(sign([]byte("s3cret"), string(body))))},
		{"timestamped", VerifyTimestamped("X-Sig", "s3cret", 0), header("X-Sig", "t="+ts+",v1="+hex.EncodeToString(sign([]byte("s3cret"), ts+"."+string(body))))},
		{"standard webhooks", std, header("webhook-id", "evt_9", "webhook-timestamp", ts,
			"webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(sign(key, "evt_9."+ts+"."+string(body))))},
	}
	for _, tt := range tests {
		if err := tt.v.Verify(tt.h, body, now); err != nil {
			t.Errorf("%s: Verify: %v", tt.reason, err)
		}
	}
}

func TestVerifyStandardWebhooksSecret(t *testing.T) {
	tests := []struct {
		reason, secret string
	}{
		{"empty", ""},
		{"only the prefix", "whsec_"},
		{"not base64", "whsec_not base64!"},
	}
	for _, tt := range tests {
		v, err := VerifyStandardWebhooks(tt.secret, 0)
		if err == nil || v != nil {
			t.Errorf("%s: VerifyStandardWebhooks(%q) = %v, %v; want an error", tt.reason, tt.secret, v, err)
		}
	}
}

func TestSentAt(t *testing.T) {
	std, _ := VerifyStandardWebhooks(swSecret, 0)
	tests := []struct {
		reason string
		v      Verifier
		h      http.Header
		want   time.Time
		ok     bool
	}{
		{"timestamped", VerifyTimestamped("Stripe-Signature", stripeSecret, 0), header("Stripe-Signature", stripeHeader), signedAt, true},
		{"standard", std, header("webhook-timestamp", swTS), signedAt, true},
		{"timestamped, no header", VerifyTimestamped("Stripe-Signature", stripeSecret, 0), header(), time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := tt.v.(interface {
			sentAt(http.Header) (time.Time, bool)
		}).sentAt(tt.h)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("%s: sentAt = %v, %v; want %v, %v", tt.reason, got, ok, tt.want, tt.ok)
		}
	}
}
