package replay

import (
	"fmt"
	"net/http"

	"github.com/tetherkit/tether/fixtures"
)

// The option interfaces are sealed by their unexported methods: the
// constructors below (and SignaturePrefix and SignedAt in sign.go) are the
// only options there are.

// TransportOption configures [NewTransport].
type TransportOption interface{ applyTransport(*config) }

// CaptureOption configures [NewCapture].
type CaptureOption interface{ applyCapture(*config) }

// CompareOption configures [Compare] and [UpdateGolden].
type CompareOption interface{ applyCompare(*config) }

// IgnoreOption leaves a volatile part of a request out of matching
// ([NewTransport]) and of golden comparison ([Compare], [UpdateGolden]).
type IgnoreOption interface {
	TransportOption
	CompareOption
}

// LiveOption configures the two round trippers that see live requests:
// [NewTransport] and [NewCapture].
type LiveOption interface {
	TransportOption
	CaptureOption
}

// One implementation per option type: each satisfies the interfaces of its
// entry points and no other, so not even a type assertion turns an option
// into one for an entry point it does not apply to.
type (
	transportOption func(*config)
	ignoreOption    func(*config)
	liveOption      func(*config)
)

func (o transportOption) applyTransport(c *config) { o(c) }
func (o ignoreOption) applyTransport(c *config)    { o(c) }
func (o ignoreOption) applyCompare(c *config)      { o(c) }
func (o liveOption) applyTransport(c *config)      { o(c) }
func (o liveOption) applyCapture(c *config)        { o(c) }

type config struct {
	ignoreHeaders []string // canonical header names
	matchHeaders  []string // canonical header names
	matchOn       []string // parts of the request the key is made of; empty means all
	ignoreQuery   []string // query parameter names
	ignoreFields  []string // JSON paths such as "$.meta.ts" or "$.items[*].id"
	repeatable    bool
	latency       bool
	redactor      *fixtures.Redactor
	redactorSet   bool // RedactWith was given, nil or not
}

// IgnoreHeader leaves headers out of matching and of golden comparison.
// Matching compares no header unless [MatchHeader] names it, so this matters
// for comparison, and for headers MatchHeader would otherwise include. It
// applies to [NewTransport], [Compare] and [UpdateGolden].
func IgnoreHeader(names ...string) IgnoreOption {
	return ignoreOption(func(c *config) {
		for _, n := range names {
			c.ignoreHeaders = append(c.ignoreHeaders, http.CanonicalHeaderKey(n))
		}
	})
}

// MatchHeader makes the transport compare these request headers too; by
// default it compares method, URL and body only. It applies to
// [NewTransport].
func MatchHeader(names ...string) TransportOption {
	return transportOption(func(c *config) {
		for _, n := range names {
			c.matchHeaders = append(c.matchHeaders, http.CanonicalHeaderKey(n))
		}
	})
}

// MatchOn makes the transport match on these parts of a request only:
// "method", "host", "path", "query", "body". By default it matches on all
// of them (and on the headers MatchHeader names). MatchOn("method", "path")
// answers a search whatever its query and body. It applies to
// [NewTransport]; an unknown part is an error.
func MatchOn(parts ...string) TransportOption {
	return transportOption(func(c *config) { c.matchOn = append(c.matchOn, parts...) })
}

// IgnoreQuery leaves query parameters out of matching and comparison, such
// as a cache buster or a timestamp. It applies to [NewTransport], [Compare]
// and [UpdateGolden].
func IgnoreQuery(names ...string) IgnoreOption {
	return ignoreOption(func(c *config) { c.ignoreQuery = append(c.ignoreQuery, names...) })
}

// IgnoreField leaves values at JSON paths out of matching and comparison:
// "$.meta.sent_at", "$.items[*].id". Timestamps, generated IDs and
// idempotency keys are what it is for. It applies to [NewTransport],
// [Compare] and [UpdateGolden]; a path that does not parse is an error.
func IgnoreField(paths ...string) IgnoreOption {
	return ignoreOption(func(c *config) { c.ignoreFields = append(c.ignoreFields, paths...) })
}

// Repeatable lets the transport give a recorded answer any number of times;
// by default each is given once, in recorded order, and identical requests
// get the answers in the order they were recorded. It applies to
// [NewTransport].
func Repeatable() TransportOption {
	return transportOption(func(c *config) { c.repeatable = true })
}

// WithRecordedLatency makes the transport wait as long as each recorded
// answer took; by default it answers at once. It applies to [NewTransport].
func WithRecordedLatency() TransportOption {
	return transportOption(func(c *config) { c.latency = true })
}

// RedactWith redacts live requests with r before matching, as the cassettes
// were redacted when they were recorded; the default is
// [fixtures.DefaultRedactor]. It applies to [NewTransport] and [NewCapture]
// (which redacts what it captures); a nil r is an error.
func RedactWith(r *fixtures.Redactor) LiveOption {
	return liveOption(func(c *config) { c.redactor, c.redactorSet = r, true })
}

// configure applies the options of one entry point, named entry in errors,
// and checks the values they carry that the compiler cannot see.
func configure[O any](entry string, opts []O, apply func(O, *config)) (*config, error) {
	c := &config{}
	for _, opt := range opts {
		if any(opt) != nil {
			apply(opt, c)
		}
	}
	if c.redactor == nil {
		if c.redactorSet {
			return nil, fmt.Errorf("%s: RedactWith(nil): pass fixtures.DefaultRedactor() or a Redactor from fixtures.NewRedactor", entry)
		}
		c.redactor = fixtures.DefaultRedactor()
	}
	return c, nil
}
