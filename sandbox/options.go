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
	addr        string
	strict      bool
	seed        uint64
	faults      []Fault
	tenants     []tenantSpec
	journalCap  int
	onCall      func(Entry)
	now         func() time.Time
	adminToken  string
	adminHosts  []string
	targetHosts []string
	eventDirs   []string
	bodyBudget  int64
	bodyTimeout time.Duration
	stateless   bool
	stateCap    int64
	strictState bool
	stateFile   *stateFile
	problems    []string

	tokenTTL        time.Duration
	refreshRotation bool
}

// DefaultJournalCap is how many entries the journal keeps unless
// [WithJournalCap] says otherwise. The journal is a ring: once full, each
// new entry evicts the oldest, and the number evicted is reported.
const DefaultJournalCap = 10000

func configure(opts []Option) (*config, error) {
	c := &config{addr: "127.0.0.1:0", seed: 1, journalCap: DefaultJournalCap, now: time.Now,
		bodyBudget: DefaultBodyBudget, bodyTimeout: DefaultBodyTimeout, tokenTTL: DefaultTokenTTL}
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

// MinAdminTokenLen is the shortest admin token [WithAdminToken] takes.
const MinAdminTokenLen = 16

// WithAdminToken sets the admin token: the credential the admin API
// requires, sent as "Authorization: Bearer TOKEN". By default the sandbox
// makes a random one at start ([Sandbox.AdminToken]; [Sandbox.Client]
// sends it). It must be at least [MinAdminTokenLen] characters and must not
// be a tenant's credential.
func WithAdminToken(token string) Option {
	return Option{func(c *config) {
		if len(token) < MinAdminTokenLen || strings.ContainsAny(token, " \t\r\n") {
			c.problems = append(c.problems, fmt.Sprintf("WithAdminToken: the token must be at least %d characters, without spaces", MinAdminTokenLen))
		}
		c.adminToken = token
	}}
}

// WithAdminHost adds host names the admin API answers at. By default it
// answers only requests whose Host is an IP address or localhost, so that a
// web page cannot reach it by pointing a name of its own at the sandbox
// (DNS rebinding). Give the name clients use when it is neither, such as
// the host of a remote Docker engine.
func WithAdminHost(names ...string) Option {
	return Option{func(c *config) {
		for _, n := range names {
			if n == "" || strings.ContainsAny(n, "/:[] ") {
				c.problems = append(c.problems, fmt.Sprintf("WithAdminHost(%q): give a host name, without port or scheme", n))
			}
			c.adminHosts = append(c.adminHosts, strings.ToLower(strings.TrimSuffix(n, ".")))
		}
	}}
}

// WithTargetHost adds hosts webhooks may be delivered to, as "HOST" (any
// port) or "HOST:PORT". Besides these, the sandbox delivers only to the
// loopback interface and to targets registered with [Sandbox.AllowTarget]
// or [Client.AllowTarget]: it is not a proxy to the rest of the network.
func WithTargetHost(hosts ...string) Option {
	return Option{func(c *config) {
		for _, h := range hosts {
			if _, err := parseTargetHost(h); err != nil {
				c.problems = append(c.problems, fmt.Sprintf("WithTargetHost(%q): %v", h, err))
			}
			c.targetHosts = append(c.targetHosts, h)
		}
	}}
}

// WithEventsDir adds directories whose files a webhook's File may name.
// Without one, File is refused: the admin API does not read the sandbox's
// host files at a caller's choosing. Files are opened through [os.Root], so
// neither ".." nor a symbolic link leads out of the directory, and only
// regular files of at most [MaxEventsFile] bytes are read.
func WithEventsDir(dirs ...string) Option {
	return Option{func(c *config) {
		for _, d := range dirs {
			if d == "" {
				c.problems = append(c.problems, "WithEventsDir: give a directory")
			}
			c.eventDirs = append(c.eventDirs, d)
		}
	}}
}

// DefaultBodyBudget is how many bytes of request bodies the sandbox holds
// at once unless [WithBodyBudget] says otherwise.
const DefaultBodyBudget = 64 << 20

// WithBodyBudget bounds the bytes of request bodies held at once, across
// all calls; a call whose body does not fit is answered 503 with
// Retry-After, as a busy vendor would. Each body is also bounded on its own
// by [MaxRequestBody]; the budget cannot be smaller.
func WithBodyBudget(bytes int64) Option {
	return Option{func(c *config) {
		if bytes < MaxRequestBody {
			c.problems = append(c.problems, fmt.Sprintf("WithBodyBudget(%d): the budget must hold one body of MaxRequestBody (%d) bytes", bytes, MaxRequestBody))
		}
		c.bodyBudget = bytes
	}}
}

// DefaultBodyTimeout is how long the sandbox waits for a request body
// unless [WithBodyTimeout] says otherwise.
const DefaultBodyTimeout = 30 * time.Second

// WithBodyTimeout bounds how long a request body may take to arrive, from
// the end of its headers; a slower one is answered 408 and its connection
// closed. Headers have their own bound of 10 seconds.
func WithBodyTimeout(d time.Duration) Option {
	return Option{func(c *config) {
		if d <= 0 {
			c.problems = append(c.problems, fmt.Sprintf("WithBodyTimeout(%s): give a positive duration", d))
		}
		c.bodyTimeout = d
	}}
}

// WithClock replaces the sandbox's clock, for tests of time windows: the
// expiry of the access tokens it issues and the fault plan's windows
// follow now. The journal's timestamps and timings, and what fosite
// checks of codes, keep the wall clock.
func WithClock(now func() time.Time) Option {
	return Option{func(c *config) {
		if now == nil {
			c.problems = append(c.problems, "WithClock(nil): pass a function")
			return
		}
		c.now = now
	}}
}

// WithTokenTTL sets how long the access tokens the vendors' authorization
// servers issue last, by the sandbox's clock ([WithClock]); the default
// is [DefaultTokenTTL]. A call with an expired token is answered 401 with
// WWW-Authenticate: Bearer error="invalid_token".
func WithTokenTTL(d time.Duration) Option {
	return Option{func(c *config) {
		if d < time.Second {
			c.problems = append(c.problems, fmt.Sprintf("WithTokenTTL(%s): give at least a second, the unit of expires_in", d))
		}
		c.tokenTTL = d
	}}
}

// WithRefreshRotation makes each use of a refresh token retire it: the
// answer carries a new refresh token and the old one is refused with
// invalid_grant from then on. Without it a refresh token stays valid until
// revoked ([Sandbox.RevokeRefreshTokens]), as at vendors that do not
// rotate.
func WithRefreshRotation() Option {
	return Option{func(c *config) { c.refreshRotation = true }}
}

// Stateless turns the sandbox's state off for every vendor: each call is
// answered on its own, from cassettes, examples and synthesis, as before
// state existed. [Vendor.Stateless] turns it off for one vendor.
func Stateless() Option {
	return Option{func(c *config) { c.stateless = true }}
}

// WithStateCap bounds each tenant's objects of each vendor, in bytes of
// their JSON; see [state.DefaultCap]. At the cap the oldest objects are
// forgotten, and the call that made room says so in the journal
// (state-evicted).
func WithStateCap(bytes int64) Option {
	return Option{func(c *config) {
		if bytes < 1<<10 {
			c.problems = append(c.problems, fmt.Sprintf("WithStateCap(%d): give at least 1024 bytes", bytes))
		}
		c.stateCap = bytes
	}}
}

// StrictState answers a read, update or delete of an identifier the state
// has never seen with the vendor's not-found answer. By default such a read
// is answered with a synthesised object under that identifier, which is
// kept, so that a connector can read what already exists at the vendor.
func StrictState() Option {
	return Option{func(c *config) { c.strictState = true }}
}
