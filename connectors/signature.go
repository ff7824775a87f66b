package connectors

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

// A Verifier checks that a delivery was signed by its sender. Verify
// returns nil for an authentic delivery, and otherwise an error that wraps
// one of [ErrSignatureMissing], [ErrSignatureMalformed],
// [ErrSignatureMismatch] or [ErrSignatureExpired] and says why, without
// the secret. Every comparison of MACs takes constant time.
//
// [VerifyHex], [VerifyTimestamped] and [VerifyStandardWebhooks] check the
// three schemes most vendors use; other schemes implement Verify.
type Verifier interface {
	Verify(h http.Header, body []byte, now time.Time) error
}

// What a failed verification wraps, so a caller can tell a sender that
// forgot to sign from a forger or a replay of an old delivery.
var (
	ErrSignatureMissing   = errors.New("signature missing")
	ErrSignatureMalformed = errors.New("signature malformed")
	ErrSignatureMismatch  = errors.New("signature mismatch")
	ErrSignatureExpired   = errors.New("signature timestamp outside tolerance")
)

// DefaultTolerance is how far a signed timestamp may be from the
// verifier's clock, either way, when a constructor is given zero.
const DefaultTolerance = 5 * time.Minute

// VerifyHex returns a [Verifier] of signatures such as GitHub's: header
// holds prefix (such as "sha256=", or "") followed by the hex HMAC-SHA256
// of the exact body bytes, keyed with secret. The scheme has no
// timestamp, so it cannot refuse a replayed delivery; de-duplication by
// event ID does that.
//
// An empty secret verifies nothing: every delivery is refused.
func VerifyHex(header, prefix, secret string) Verifier {
	return &hexVerifier{header: header, prefix: prefix, secret: []byte(secret)}
}

type hexVerifier struct {
	header, prefix string
	secret         []byte
}

func (v *hexVerifier) Verify(h http.Header, body []byte, _ time.Time) error {
	if len(v.secret) == 0 {
		return errNoSecret
	}
	value := h.Get(v.header)
	if value == "" {
		return fmt.Errorf("header %s: %w", v.header, ErrSignatureMissing)
	}
	digest, ok := strings.CutPrefix(value, v.prefix)
	if !ok {
		return fmt.Errorf("header %s: does not start with %q: %w", v.header, v.prefix, ErrSignatureMalformed)
	}
	got, err := hex.DecodeString(digest)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("header %s: want %d hex digits: %w", v.header, 2*sha256.Size, ErrSignatureMalformed)
	}
	if !hmac.Equal(got, macSHA256(v.secret, body)) {
		return fmt.Errorf("header %s: %w", v.header, ErrSignatureMismatch)
	}
	return nil
}

// VerifyTimestamped returns a [Verifier] of signatures such as Stripe's:
// header holds "t=<unix seconds>,v1=<hex>", where hex is the HMAC-SHA256,
// keyed with secret, of the timestamp, a dot and the exact body bytes.
// The header may carry several v1 entries (while a secret is rotated);
// one match is enough. Entries of other schemes are ignored. A
// timestamp further than tolerance from now is refused; zero means
// [DefaultTolerance].
//
// An empty secret verifies nothing: every delivery is refused.
func VerifyTimestamped(header, secret string, tolerance time.Duration) Verifier {
	return &timestampedVerifier{header: header, secret: []byte(secret), tolerance: orDefaultTolerance(tolerance)}
}

type timestampedVerifier struct {
	header    string
	secret    []byte
	tolerance time.Duration
}

func (v *timestampedVerifier) Verify(h http.Header, body []byte, now time.Time) error {
	if len(v.secret) == 0 {
		return errNoSecret
	}
	ts, sigs, err := v.parse(h)
	if err != nil {
		return err
	}
	want := macSHA256(v.secret, []byte(ts), []byte("."), body)
	if !anyEqual(sigs, want) {
		return fmt.Errorf("header %s: no v1 entry matches: %w", v.header, ErrSignatureMismatch)
	}
	return checkTolerance("header "+v.header, ts, now, v.tolerance)
}

// parse returns the t value and the decoded v1 entries of the header.
func (v *timestampedVerifier) parse(h http.Header) (ts string, sigs [][]byte, err error) {
	value := h.Get(v.header)
	if value == "" {
		return "", nil, fmt.Errorf("header %s: %w", v.header, ErrSignatureMissing)
	}
	for part := range strings.SplitSeq(value, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", nil, fmt.Errorf("header %s: entry %d has no '=': %w", v.header, len(sigs), ErrSignatureMalformed)
		}
		switch key {
		case "t":
			if ts != "" {
				return "", nil, fmt.Errorf("header %s: two t= entries: %w", v.header, ErrSignatureMalformed)
			}
			ts = val
		case "v1":
			sig, err := hex.DecodeString(val)
			if err != nil || len(sig) != sha256.Size {
				return "", nil, fmt.Errorf("header %s: a v1 entry is not %d hex digits: %w", v.header, 2*sha256.Size, ErrSignatureMalformed)
			}
			sigs = append(sigs, sig)
		}
	}
	if ts == "" {
		return "", nil, fmt.Errorf("header %s: no t= entry: %w", v.header, ErrSignatureMalformed)
	}
	if len(sigs) == 0 {
		return "", nil, fmt.Errorf("header %s: no v1= entry: %w", v.header, ErrSignatureMalformed)
	}
	return ts, sigs, nil
}

// sentAt reads the time the sender signed at, for the webhook lag.
func (v *timestampedVerifier) sentAt(h http.Header) (time.Time, bool) {
	ts, _, err := v.parse(h)
	if err != nil {
		return time.Time{}, false
	}
	return parseUnix(ts)
}

// VerifyStandardWebhooks returns a [Verifier] of the Standard Webhooks
// scheme (standardwebhooks.com): the headers webhook-id and
// webhook-timestamp, and webhook-signature holding a space-separated list
// of "v1,<base64 HMAC-SHA256 of id.timestamp.body>", one match being
// enough. Entries of other versions are ignored. The key is secret
// decoded from base64 after an optional "whsec_" prefix. A timestamp
// further than tolerance from now is refused; zero means
// [DefaultTolerance].
//
// A secret that is empty or not base64 is an error.
func VerifyStandardWebhooks(secret string, tolerance time.Duration) (Verifier, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		// The decoder's error quotes an offset, not the secret.
		return nil, fmt.Errorf("standard webhooks secret: decode base64: %w", err)
	}
	if len(key) == 0 {
		return nil, errors.New("standard webhooks secret: empty; pass the whsec_... secret the sender signs with")
	}
	return &standardVerifier{key: key, tolerance: orDefaultTolerance(tolerance)}, nil
}

type standardVerifier struct {
	key       []byte
	tolerance time.Duration
}

func (v *standardVerifier) Verify(h http.Header, body []byte, now time.Time) error {
	id, ts, list := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	for _, hv := range [][2]string{{"webhook-id", id}, {"webhook-timestamp", ts}, {"webhook-signature", list}} {
		if hv[1] == "" {
			return fmt.Errorf("header %s: %w", hv[0], ErrSignatureMissing)
		}
	}
	if _, ok := parseUnix(ts); !ok {
		return fmt.Errorf("header webhook-timestamp: %q is not unix seconds: %w", ts, ErrSignatureMalformed)
	}
	var sigs [][]byte
	for entry := range strings.FieldsSeq(list) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok {
			return fmt.Errorf("header webhook-signature: an entry has no ',': %w", ErrSignatureMalformed)
		}
		if version != "v1" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(b) != sha256.Size {
			return fmt.Errorf("header webhook-signature: a v1 entry is not a base64 SHA-256 MAC: %w", ErrSignatureMalformed)
		}
		sigs = append(sigs, b)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("header webhook-signature: no v1 entry: %w", ErrSignatureMalformed)
	}
	want := macSHA256(v.key, []byte(id), []byte("."), []byte(ts), []byte("."), body)
	if !anyEqual(sigs, want) {
		return fmt.Errorf("header webhook-signature: no v1 entry matches: %w", ErrSignatureMismatch)
	}
	return checkTolerance("header webhook-timestamp", ts, now, v.tolerance)
}

func (v *standardVerifier) sentAt(h http.Header) (time.Time, bool) {
	return parseUnix(h.Get("webhook-timestamp"))
}

var errNoSecret = fmt.Errorf("verifier has no secret; give it the secret the sender signs with: %w", ErrSignatureMismatch)

func orDefaultTolerance(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultTolerance
	}
	return d
}

// checkTolerance refuses a timestamp ts further than tolerance from now.
func checkTolerance(where, ts string, now time.Time, tolerance time.Duration) error {
	at, ok := parseUnix(ts)
	if !ok {
		return fmt.Errorf("%s: timestamp %q is not unix seconds: %w", where, ts, ErrSignatureMalformed)
	}
	if d := now.Sub(at); d > tolerance || d < -tolerance {
		return fmt.Errorf("%s: timestamp %d is %s from now, beyond %s: %w", where, at.Unix(), d, tolerance, ErrSignatureExpired)
	}
	return nil
}

func parseUnix(s string) (time.Time, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

func anyEqual(sigs [][]byte, want []byte) bool {
	match := false
	for _, s := range sigs {
		// Check every entry, so the time taken does not say which matched.
		if hmac.Equal(s, want) {
			match = true
		}
	}
	return match
}

func macSHA256(key []byte, parts ...[]byte) []byte {
	mac := hmac.New(sha256.New, key)
	for _, p := range parts {
		mac.Write(p)
	}
	return mac.Sum(nil)
}
