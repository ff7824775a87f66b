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
	"time"
)

// Signer signs an event just before it is delivered, by setting the
// headers the connector checks. [HMACSHA256], [TimestampedHMAC] and
// [StandardWebhooks] are the schemes most vendors use; other schemes
// implement Sign.
//
// [Deliver] calls Sign once per attempt, on a fresh copy of the event's
// headers, so every copy and every retry carries its own signature.
type Signer interface {
	Sign(h http.Header, body []byte)
}

// HMACOption configures [HMACSHA256].
type HMACOption interface{ applyHMAC(*signConfig) }

// TimestampOption configures the signers that sign a timestamp:
// [TimestampedHMAC] and [StandardWebhooks].
type TimestampOption interface{ applyTimestamp(*signConfig) }

type (
	hmacOption      func(*signConfig)
	timestampOption func(*signConfig)
)

func (o hmacOption) applyHMAC(c *signConfig)           { o(c) }
func (o timestampOption) applyTimestamp(c *signConfig) { o(c) }

type signConfig struct {
	prefix string
	now    func() time.Time // nil after SignedAt(nil)
}

// SignaturePrefix puts p before the hex digest, as in GitHub's
// "sha256=<hex>". It applies to [HMACSHA256].
func SignaturePrefix(p string) HMACOption {
	return hmacOption(func(c *signConfig) { c.prefix = p })
}

// SignedAt makes a signer take the time it signs at from now rather than
// the wall clock, so that a test or a seeded run signs the same bytes
// every time. It applies to [TimestampedHMAC] and [StandardWebhooks]; a
// nil now is a mistake each of them reports.
func SignedAt(now func() time.Time) TimestampOption {
	return timestampOption(func(c *signConfig) { c.now = now })
}

// nilClock says what is wrong with SignedAt(nil).
const nilClock = "SignedAt(nil): pass a clock such as time.Now"

// newSignConfig applies the options of one signer constructor.
func newSignConfig[O any](opts []O, apply func(O, *signConfig)) *signConfig {
	c := &signConfig{now: time.Now}
	for _, opt := range opts {
		if any(opt) != nil {
			apply(opt, c)
		}
	}
	return c
}

// HMACSHA256 returns a [Signer] that sets header to the lowercase hex
// HMAC-SHA256 of the exact body bytes, keyed with secret: the
// {scheme: hmac-sha256} of a connector manifest. The signature has no
// timestamp, so every copy and retry of an event carries the same one.
func HMACSHA256(header, secret string, opts ...HMACOption) Signer {
	c := newSignConfig(opts, HMACOption.applyHMAC)
	return &hmacSigner{header: header, prefix: c.prefix, secret: []byte(secret)}
}

type hmacSigner struct {
	header, prefix string
	secret         []byte
}

func (s *hmacSigner) Sign(h http.Header, body []byte) {
	h.Set(s.header, s.prefix+hex.EncodeToString(hmacSHA256(s.secret, body)))
}

// TimestampedHMAC returns a [Signer] that signs as Stripe does: it sets
// header (such as "Stripe-Signature") to "t=<unix seconds>,v1=<hex>",
// where hex is the lowercase hex HMAC-SHA256, keyed with secret, of the
// timestamp, a dot and the exact body bytes. Each signature carries the
// time it was made, so a retry is signed afresh.
//
// It panics if given SignedAt(nil), a mistake in the calling code.
func TimestampedHMAC(header, secret string, opts ...TimestampOption) Signer {
	c := newSignConfig(opts, TimestampOption.applyTimestamp)
	if c.now == nil {
		panic("replay.TimestampedHMAC: " + nilClock)
	}
	return &timestampedSigner{header: header, secret: []byte(secret), now: c.now}
}

type timestampedSigner struct {
	header string
	secret []byte
	now    func() time.Time
}

func (s *timestampedSigner) Sign(h http.Header, body []byte) {
	ts := strconv.FormatInt(s.now().Unix(), 10)
	mac := hmacSHA256(s.secret, []byte(ts), []byte("."), body)
	h.Set(s.header, "t="+ts+",v1="+hex.EncodeToString(mac))
}

// StandardWebhooks returns a [Signer] that signs as the Standard Webhooks
// specification (standardwebhooks.com) says: it sets
//
//	webhook-id:        the message's id
//	webhook-timestamp: the unix seconds it was signed at
//	webhook-signature: "v1," and the base64 HMAC-SHA256 of "<id>.<timestamp>.<body>"
//
// keyed with secret decoded from base64, after any "whsec_" prefix.
// A secret that is empty or not base64 is an error, and so is
// SignedAt(nil).
//
// The id is the same for every copy and retry of an event, as the
// specification asks, and Deliver needs no help to keep it so: an event
// that has a webhook-id header keeps it, and any other gets "msg_"
// followed by 32 hex digits of the SHA-256 of its body. Two events with
// the same body therefore share an id unless their headers set one.
func StandardWebhooks(secret string, opts ...TimestampOption) (Signer, error) {
	c := newSignConfig(opts, TimestampOption.applyTimestamp)
	if c.now == nil {
		return nil, errors.New("standard webhooks signer: " + nilClock)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return nil, fmt.Errorf("standard webhooks secret: decode base64: %w", err)
	}
	if len(key) == 0 {
		return nil, errors.New("standard webhooks secret: empty; pass the whsec_... secret the connector verifies with")
	}
	return &standardSigner{key: key, now: c.now}, nil
}

type standardSigner struct {
	key []byte
	now func() time.Time
}

func (s *standardSigner) Sign(h http.Header, body []byte) {
	id := h.Get("webhook-id")
	if id == "" {
		sum := sha256.Sum256(body)
		id = "msg_" + hex.EncodeToString(sum[:16])
		h.Set("webhook-id", id)
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	mac := hmacSHA256(s.key, []byte(id), []byte("."), []byte(ts), []byte("."), body)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac))
}

func hmacSHA256(key []byte, parts ...[]byte) []byte {
	mac := hmac.New(sha256.New, key)
	for _, p := range parts {
		mac.Write(p)
	}
	return mac.Sum(nil)
}
