package sandbox

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Option configures [Start]. Make one with the With... functions or
// [Strict].
type Option struct{ apply func(*config) }

type config struct {
	addr       string
	strict     bool
	seed       uint64
	faults     []Fault
	tenants    []tenantSpec
	journalCap int
	onCall     func(Entry)
	now        func() time.Time
	problems   []string
}

// DefaultJournalCap is how many entries the journal keeps unless
// [WithJournalCap] says otherwise. The journal is a ring: once full, each
// new entry evicts the oldest, and the number evicted is reported.
const DefaultJournalCap = 10000

func configure(opts []Option) (*config, error) {
	c := &config{addr: "127.0.0.1:0", seed: 1, journalCap: DefaultJournalCap, now: time.Now}
	for _, o := range opts {
		if o.apply == nil {
			return nil, errors.New("start sandbox: a zero sandbox.Option; make options with sandbox.With... or sandbox.Strict")
		}
		o.apply(c)
	}
	if len(c.problems) > 0 {
		return nil, fmt.Errorf("start sandbox: %s", strings.Join(c.problems, "; "))
	}
	return c, nil
}

// WithAddr sets the address to listen on, such as ":8080" or
// "127.0.0.1:0" (the default, a free port on the loopback interface).
func WithAddr(addr string) Option {
	return Option{func(c *config) { c.addr = addr }}
}

// Strict answers a request that breaks the contract with 400 and a
// problem+json body naming each violation, as a strict vendor would. By
// default violations are journaled and the call is answered anyway.
func Strict() Option {
	return Option{func(c *config) { c.strict = true }}
}

// WithSeed fixes the seed of everything the sandbox draws at random: fault
// probabilities, latency distributions and synthesised answers. The same
// seed and the same calls give the same run. The default is 1.
func WithSeed(seed uint64) Option {
	return Option{func(c *config) { c.seed = seed }}
}

// WithFault adds faults to the plan the sandbox starts with. The plan can
// be replaced while running with [Sandbox.SetFaults] or [Client.SetFaults].
func WithFault(faults ...Fault) Option {
	return Option{func(c *config) { c.faults = append(c.faults, faults...) }}
}

// WithTenant registers a tenant and the credentials that identify it. A
// call is answered as the tenant whose credential it carries; with no
// tenant registered, any credential of the right shape is accepted and
// belongs to the tenant "default". A credential may belong to one tenant
// only.
func WithTenant(name string, creds ...Credential) Option {
	return Option{func(c *config) {
		if name == "" {
			c.problems = append(c.problems, "WithTenant: the tenant needs a name")
		}
		if len(creds) == 0 {
			c.problems = append(c.problems, fmt.Sprintf("WithTenant(%q): give at least one credential, such as sandbox.Bearer(token, scopes...)", name))
		}
		c.tenants = append(c.tenants, tenantSpec{name: name, creds: creds})
	}}
}

// WithJournalCap bounds the journal to n entries; see [DefaultJournalCap].
func WithJournalCap(n int) Option {
	return Option{func(c *config) {
		if n < 1 {
			c.problems = append(c.problems, fmt.Sprintf("WithJournalCap(%d): the cap must be at least 1", n))
		}
		c.journalCap = n
	}}
}

// OnCall runs f after each call and each webhook delivery attempt is
// journaled, with its entry; the CLI prints a request line from it. f runs
// on the serving goroutine, so it should be quick.
func OnCall(f func(Entry)) Option {
	return Option{func(c *config) {
		if f == nil {
			c.problems = append(c.problems, "OnCall(nil): pass a function")
		}
		c.onCall = f
	}}
}

// withClock replaces the clock, for tests of time windows.
func withClock(now func() time.Time) Option {
	return Option{func(c *config) { c.now = now }}
}
