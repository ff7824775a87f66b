package replay

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/tetherkit/tether/fixtures"
)

// Option configures the replay transport ([NewTransport]) and golden
// comparison ([Compare]): a field that is volatile is ignored by both, so
// one rule serves matching and comparing. Each option says where it applies;
// passing it where it does not is an error.
type Option func(*config)

type config struct {
	ignoreHeaders []string // canonical header names
	matchHeaders  []string // canonical header names
	matchOn       []string // parts of the request the key is made of; empty means all
	ignoreQuery   []string // query parameter names
	ignoreFields  []string // JSON paths such as "$.meta.ts" or "$.items[*].id"
	repeatable    bool
	latency       bool
	redactor      *fixtures.Redactor
	names         []string
}

func (c *config) set(name string) { c.names = append(c.names, name) }

// IgnoreHeader leaves headers out of matching and of golden comparison.
// Matching compares no header unless [MatchHeader] names it, so this matters
// for comparison, and for headers MatchHeader would otherwise include.
func IgnoreHeader(names ...string) Option {
	return func(c *config) {
		c.set("IgnoreHeader")
		for _, n := range names {
			c.ignoreHeaders = append(c.ignoreHeaders, http.CanonicalHeaderKey(n))
		}
	}
}

// MatchHeader makes the transport compare these request headers too; by
// default it compares method, URL and body only. NewTransport only.
func MatchHeader(names ...string) Option {
	return func(c *config) {
		c.set("MatchHeader")
		for _, n := range names {
			c.matchHeaders = append(c.matchHeaders, http.CanonicalHeaderKey(n))
		}
	}
}

// MatchOn makes the transport match on these parts of a request only:
// "method", "host", "path", "query", "body". By default it matches on all
// of them (and on the headers MatchHeader names). MatchOn("method", "path")
// answers a search whatever its query and body. NewTransport only.
func MatchOn(parts ...string) Option {
	return func(c *config) { c.set("MatchOn"); c.matchOn = append(c.matchOn, parts...) }
}

// IgnoreQuery leaves query parameters out of matching and comparison, such
// as a cache buster or a timestamp.
func IgnoreQuery(names ...string) Option {
	return func(c *config) { c.set("IgnoreQuery"); c.ignoreQuery = append(c.ignoreQuery, names...) }
}

// IgnoreField leaves values at JSON paths out of matching and comparison:
// "$.meta.sent_at", "$.items[*].id". Timestamps, generated IDs and
// idempotency keys are what it is for.
func IgnoreField(paths ...string) Option {
	return func(c *config) { c.set("IgnoreField"); c.ignoreFields = append(c.ignoreFields, paths...) }
}

// Repeatable lets the transport give a recorded answer any number of times;
// by default each is given once, in recorded order, and identical requests
// get the answers in the order they were recorded. NewTransport only.
func Repeatable() Option {
	return func(c *config) { c.set("Repeatable"); c.repeatable = true }
}

// WithRecordedLatency makes the transport wait as long as each recorded
// answer took; by default it answers at once. NewTransport only.
func WithRecordedLatency() Option {
	return func(c *config) { c.set("WithRecordedLatency"); c.latency = true }
}

// RedactWith redacts live requests with r before matching, as the cassettes
// were redacted when they were recorded; the default is
// [fixtures.DefaultRedactor]. NewTransport and NewCapture (which redacts
// what it captures).
func RedactWith(r *fixtures.Redactor) Option {
	return func(c *config) { c.set("RedactWith"); c.redactor = r }
}

// configure applies opts for an entry point that accepts the options named
// in allowed.
func configure(entry string, opts []Option, allowed ...string) (*config, error) {
	c := &config{}
	for _, opt := range opts {
		opt(c)
	}
	for _, name := range c.names {
		if !slices.Contains(allowed, name) {
			return nil, fmt.Errorf("%s: option %s does not apply here (it takes %s)", entry, name, strings.Join(allowed, ", "))
		}
		if name == "RedactWith" && c.redactor == nil {
			return nil, fmt.Errorf("%s: RedactWith(nil): pass fixtures.DefaultRedactor() or a Redactor from fixtures.NewRedactor", entry)
		}
	}
	if c.redactor == nil {
		c.redactor = fixtures.DefaultRedactor()
	}
	return c, nil
}
