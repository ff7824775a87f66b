// Package misuse gives replay options to entry points they do not apply
// to; each marked line must fail to compile (see TestOptionsCheckedByCompiler).
package misuse

import (
	"time"

	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/replay"
)

func misuse() {
	r := fixtures.DefaultRedactor()
	_, _ = replay.NewTransport(nil, replay.SignedAt(time.Now))        // want "does not implement replay.TransportOption (missing method applyTransport)"
	_, _ = replay.NewCapture(nil, replay.IgnoreField("$.ts"))         // want "does not implement replay.CaptureOption (missing method applyCapture)"
	_, _ = replay.NewCapture(nil, replay.Repeatable())                // want "does not implement replay.CaptureOption (missing method applyCapture)"
	_ = replay.Compare(nil, nil, replay.Repeatable())                 // want "does not implement replay.CompareOption (missing method applyCompare)"
	_ = replay.Compare(nil, nil, replay.RedactWith(r))                // want "does not implement replay.CompareOption (missing method applyCompare)"
	_, _ = replay.UpdateGolden("g.json", nil, replay.MatchOn("path")) // want "does not implement replay.CompareOption (missing method applyCompare)"

	_ = replay.HMACSHA256("X-Sig", "s", replay.SignedAt(time.Now))                  // want "does not implement replay.HMACOption (missing method applyHMAC)"
	_ = replay.TimestampedHMAC("X-Sig", "s", replay.SignaturePrefix("sha256="))     // want "does not implement replay.TimestampOption (missing method applyTimestamp)"
	_, _ = replay.StandardWebhooks("whsec_czNjcjN0", replay.SignaturePrefix("v1=")) // want "does not implement replay.TimestampOption (missing method applyTimestamp)"
}
