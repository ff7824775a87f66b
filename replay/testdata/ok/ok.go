// Package ok gives each replay option to every entry point it applies to,
// and must compile (see TestOptionsCheckedByCompiler).
package ok

import (
	"time"

	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/replay"
)

func Use() {
	r := fixtures.DefaultRedactor()
	_, _ = replay.NewTransport(nil,
		replay.IgnoreHeader("Date"),
		replay.IgnoreQuery("cb"),
		replay.IgnoreField("$.ts"),
		replay.MatchHeader("Authorization"),
		replay.MatchOn("method", "path"),
		replay.Repeatable(),
		replay.WithRecordedLatency(),
		replay.RedactWith(r))
	_, _ = replay.NewCapture(nil, replay.RedactWith(r))
	_ = replay.Compare(nil, nil, replay.IgnoreHeader("Date"), replay.IgnoreQuery("cb"), replay.IgnoreField("$.ts"))
	_, _ = replay.UpdateGolden("g.json", nil, replay.IgnoreHeader("Date"), replay.IgnoreQuery("cb"), replay.IgnoreField("$.ts"))

	_ = replay.HMACSHA256("X-Sig", "s", replay.SignaturePrefix("sha256="))
	_ = replay.TimestampedHMAC("X-Sig", "s", replay.SignedAt(time.Now))
	_, _ = replay.StandardWebhooks("whsec_czNjcjN0", replay.SignedAt(time.Now))

	// One list of volatile fields serves matching and comparison.
	volatile := []replay.IgnoreOption{replay.IgnoreField("$.ts"), replay.IgnoreHeader("Date")}
	var match []replay.TransportOption
	var compare []replay.CompareOption
	for _, o := range volatile {
		match = append(match, o)
		compare = append(compare, o)
	}
	_, _ = replay.NewTransport(nil, match...)
	_ = replay.Compare(nil, nil, compare...)
}
