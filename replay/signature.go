package replay

import (
	"errors"
	"fmt"
	"time"
)

// Signature schemes, as a [Signature] and a connector's manifest name them.
const (
	SchemeHMAC             = "hmac-sha256"             // Header: Prefix<hex HMAC-SHA256 of the body>, as GitHub signs
	SchemeTimestampedHMAC  = "timestamped-hmac-sha256" // Header: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">, as Stripe signs
	SchemeStandardWebhooks = "standard-webhooks"       // webhook-id, webhook-timestamp, webhook-signature, per standardwebhooks.com
)

// Signature describes how a vendor signs its deliveries, as plain data: a
// connector's manifest holds one (with the secret named, not given), the
// sandbox's admin API takes one as JSON, and [Signature.Signer] makes the
// [Signer] that signs. The zero value signs nothing.
//
// Secret is the signing key itself: for standard-webhooks base64,
// optionally after "whsec_". It is never read from YAML, so that a file a
// person writes names a secret rather than holding one.
type Signature struct {
	Scheme string `json:"scheme,omitempty" yaml:"scheme"`
	// Header is the header the signature is sent in, for hmac-sha256 and
	// timestamped-hmac-sha256.
	Header string `json:"header,omitempty" yaml:"header"`
	// Prefix goes before the hex digest, such as GitHub's "sha256=",
	// for hmac-sha256.
	Prefix string `json:"prefix,omitempty" yaml:"prefix"`
	Secret string `json:"secret,omitempty" yaml:"-"`
}

// Schemes are the schemes a [Signature] can name.
var Schemes = []string{SchemeHMAC, SchemeTimestampedHMAC, SchemeStandardWebhooks}

// Check says what the signature lacks for its scheme, or nil; it does not
// look at Secret, which a description read from a file does not hold.
func (s Signature) Check() error {
	switch s.Scheme {
	case "":
		if s.Header != "" || s.Prefix != "" {
			return fmt.Errorf("signature: give a scheme (%s, %s or %s)", SchemeHMAC, SchemeTimestampedHMAC, SchemeStandardWebhooks)
		}
	case SchemeHMAC, SchemeTimestampedHMAC:
		if s.Header == "" {
			return fmt.Errorf("signature scheme %s needs the header the signature is sent in", s.Scheme)
		}
	case SchemeStandardWebhooks:
	default:
		return fmt.Errorf("signature scheme %q: use %s, %s or %s", s.Scheme, SchemeHMAC, SchemeTimestampedHMAC, SchemeStandardWebhooks)
	}
	return nil
}

// Timed reports whether the scheme signs the time of sending, so that a
// receiver can refuse an old delivery.
func (s Signature) Timed() bool {
	return s.Scheme == SchemeTimestampedHMAC || s.Scheme == SchemeStandardWebhooks
}

// Signer makes the signer the signature describes, signing at the wall
// clock's time, or at the time at when it is not zero (for a delivery
// signed long ago). It is nil for the zero Signature.
func (s Signature) Signer(at time.Time) (Signer, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	if s.Scheme == "" {
		if s.Secret != "" {
			return nil, errors.New("signature: a secret without a scheme")
		}
		return nil, nil
	}
	if s.Secret == "" {
		return nil, fmt.Errorf("signature scheme %s needs a secret", s.Scheme)
	}
	var opts []TimestampOption
	if !at.IsZero() {
		if !s.Timed() {
			return nil, fmt.Errorf("signature scheme %s carries no time to sign at", s.Scheme)
		}
		opts = append(opts, SignedAt(func() time.Time { return at }))
	}
	switch s.Scheme {
	case SchemeHMAC:
		return HMACSHA256(s.Header, s.Secret, SignaturePrefix(s.Prefix)), nil
	case SchemeTimestampedHMAC:
		return TimestampedHMAC(s.Header, s.Secret, opts...), nil
	default:
		return StandardWebhooks(s.Secret, opts...)
	}
}
