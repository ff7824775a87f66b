// Package sandbox impersonates vendor APIs from their contracts, so that
// connectors are tested against something that behaves like the vendor,
// misbehaves on demand and sees every call.
//
// One [Sandbox] serves any number of vendors on one listener, each under its
// own base URL: http://HOST:PORT/<vendor><server base path>. Every request
// goes through one pipeline:
//
//  1. route: the vendor by the first path segment, then the operation by
//     the contract. An unknown path is answered 404 and a known path with
//     the wrong method 405, as the vendor would, and both are journaled as
//     findings.
//  2. validate: the request against the contract. Violations are journaled;
//     with [Strict] they are answered 400 with a problem+json body naming
//     each one.
//  3. authenticate: the operation's security requirements, against the
//     credentials registered per tenant with [WithTenant]. No credential,
//     or one nobody registered, is answered 401; a token without a scope
//     the operation needs, 403; both with the contract's declared error
//     body where it has one.
//  4. fault plan: the faults of [WithFault], or those set through the
//     admin API while running.
//  5. answer: from the vendor's cassettes (through a [replay.Transport],
//     one per tenant, so tenants never consume each other's recordings),
//     else from state, else the contract's example, else a synthesised
//     one. The status is the operation's success status, unless a fault
//     or a `Prefer: code=N` request header chooses another declared one.
//  6. journal: request, answer, timings, tenant, operation, correlation ID
//     and findings, in a ring of [WithJournalCap] entries.
//
// State is on by default ([Stateless] turns it off). Each vendor's
// resources are inferred from its contract ([state.Infer]); each tenant
// has its own objects, seeded from the cassettes' answers, the contract's
// examples of top-level lists and [Vendor.State]. A create keeps the
// request's fields merged into a synthesised object under a new identifier
// of the vendor's shape (a field matched by name, else by its spelling in
// another case, and the object's URLs naming the new identifier); reads, updates and lists (filtered by parameters
// named like item fields, paged as the contract's parameters say) answer
// from the store; a delete removes, and a later read is answered the
// vendor's not-found. A read of an unknown identifier answers a
// synthesised object and keeps it, unless [StrictState]. A write that
// repeats an idempotency key gets the first answer again, or the vendor's
// error when the request differs. Everything kept is validated against
// the contract first; each tenant holds at most [WithStateCap] bytes.
//
// The admin API lives under /__tether/ on the same listener; [Client]
// drives it, for an in-process sandbox and a containerised one alike.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/replay"
	"github.com/tetherkit/tether/sandbox/state"
)

// AdminPrefix is where the admin API is served.
const AdminPrefix = "/__tether/"

// Vendor is one impersonated API.
type Vendor struct {
	// Name is the first path segment of the vendor's base URL. Empty means
	// the contract file's base name without its extension.
	Name string
	// Contract is what the vendor promises. The sandbox checks credentials
	// itself, per tenant, so the contract's own credential check is not
	// reported as a validation finding.
	Contract *contracts.Contract
	// Cassettes answer the calls they recorded, before any example. Their
	// answers also seed the vendor's state.
	Cassettes []*fixtures.Cassette
	// Stateless turns state off for this vendor (see [Stateless]).
	Stateless bool
	// State holds objects every tenant starts with, beside those of the
	// cassettes and the contract's examples ([LoadState] reads a file).
	State state.Document
	// Samples are objects the vendor is known to answer with (a fixtures
	// file: [state.SamplesFromJSON]); their identifiers give the shape of
	// generated ones where the contract does not (Stripe's cus_...).
	Samples []state.Sample
	// Overrides correct the resource model inferred from the contract
	// ([state.LoadOverrides]).
	Overrides *state.Overrides
}

// Sandbox is a running impersonation of one or more vendors. Make one with
// [Start]; it is safe for concurrent use.
type Sandbox struct {
	cfg     *config
	vendors map[string]*vendor
	order   []*vendor
	tenants *tenants
	faults  atomic.Pointer[faultState]
	faultMu sync.Mutex // serialises changes to the plan
	journal *journal
	client  *Client
	seq     atomic.Uint64 // correlation IDs handed out

	adminToken string
	targets    *targets
	events     *eventDirs
	redactor   *redactor
	bodies     *budget

	ln       net.Listener
	srv      *http.Server
	stop     context.CancelFunc // ends the calls and deliveries in progress
	url      string
	closeErr error
	closed   sync.Once
}

// vendor is a Vendor with what the pipeline caches for it.
type vendor struct {
	Vendor
	basePath string
	schemes  map[string]contracts.SecurityScheme
	// tokenParam is set when a scheme takes its token as an argument,
	// which may be a form field.
	tokenParam bool

	answers sync.Map // operation ID -> *opAnswers, built on first call

	mu      sync.Mutex
	replays map[string]*replay.Transport // by tenant

	store     *state.Store // nil when stateless
	stateInfo *StateInfo   // what store models, counted once at start

	auth *authServer // nil when the contract declares no oauth2 flow
}

// opAnswers is what the contract declares an operation answers, rendered
// once.
type opAnswers struct {
	success  *answer
	byStatus map[int]*answer
	deflt    *answer // the default response, for a status not declared on its own
	err      error
	// jsonSuccess says whether the success answer is JSON (or has no
	// content type), which state can shape.
	jsonSuccess bool
	// refuse is the status the operation declares for a request it
	// refuses: 400, else 404, else its default answer's 400; 0 for none.
	refuse int
}

// Start makes a sandbox for vendors and starts serving it, on a free port of
// 127.0.0.1 unless [WithAddr] says otherwise. Close it when done.
func Start(vendors []Vendor, opts ...Option) (*Sandbox, error) {
	s, err := newSandbox(vendors, opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", s.cfg.addr)
	if err != nil {
		s.events.close()
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	s.ln = ln
	s.url = "http://" + listenURLHost(ln.Addr())
	base, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.srv = &http.Server{
		Handler: s, BaseContext: func(net.Listener) context.Context { return base },
		// Headers have their own bound; bodies get theirs per request
		// (bodyDeadline), and an idle connection goes after a while.
		ReadHeaderTimeout: headerTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: MaxHeaderBytes,
	}
	s.client = NewClient(s.url, nil, UseToken(s.adminToken))
	go s.srv.Serve(ln)
	return s, nil
}

// listenURLHost names a listening address the way a client reaches it: an
// unspecified IP becomes the loopback address.
func listenURLHost(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return tcp.String()
}

func newSandbox(vendors []Vendor, opts []Option) (*Sandbox, error) {
	cfg, err := configure(opts)
	if err != nil {
		return nil, err
	}
	if len(vendors) == 0 {
		return nil, errors.New("start sandbox: no vendors: pass at least one sandbox.Vendor with a contract")
	}
	s := &Sandbox{cfg: cfg, vendors: map[string]*vendor{}, journal: newJournal(cfg.journalCap)}
	for i, v := range vendors {
		if v.Contract == nil {
			return nil, fmt.Errorf("start sandbox: vendor %d (%q) has no contract", i, v.Name)
		}
		if v.Name == "" {
			base := filepath.Base(v.Contract.File())
			v.Name = strings.TrimSuffix(base, filepath.Ext(base))
		}
		if !validName(v.Name) {
			return nil, fmt.Errorf("start sandbox: vendor name %q must be letters, digits, '-', '_' or '.', and not start with '_'", v.Name)
		}
		if _, dup := s.vendors[v.Name]; dup {
			return nil, fmt.Errorf("start sandbox: two vendors are called %q; set Vendor.Name to tell them apart", v.Name)
		}
		vd := &vendor{Vendor: v, schemes: v.Contract.SecuritySchemes(), replays: map[string]*replay.Transport{}}
		for _, sc := range vd.schemes {
			vd.tokenParam = vd.tokenParam || sc.TokenParam != ""
		}
		if servers := v.Contract.Servers(); len(servers) > 0 {
			vd.basePath = servers[0].BasePath
		}
		if _, err := vd.replayFor(""); err != nil {
			return nil, fmt.Errorf("start sandbox: vendor %q: %w", v.Name, err)
		}
		if !cfg.stateless && !v.Stateless {
			if vd.store, err = newStore(vd, cfg); err != nil {
				return nil, fmt.Errorf("start sandbox: vendor %q: %w", v.Name, err)
			}
			vd.stateInfo = &StateInfo{Resources: len(vd.store.Model().Resources), Seeded: vd.store.Seeded()}
			for _, r := range vd.store.Model().Resources {
				if r.IDField != "" {
					vd.stateInfo.Stored++
				}
			}
		}
		s.vendors[v.Name] = vd
		s.order = append(s.order, vd)
	}
	if cfg.stateFile != nil {
		if err := cfg.stateFile.check(s); err != nil {
			return nil, fmt.Errorf("start sandbox: %w", err)
		}
	}
	ts, err := newTenants(cfg.tenants)
	if err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	s.tenants = ts
	for _, v := range s.order {
		if v.auth, err = newAuthServer(v, ts, cfg); err != nil {
			return nil, fmt.Errorf("start sandbox: vendor %q: %w", v.Name, err)
		}
	}
	if err := s.SetFaults(&FaultPlan{Seed: cfg.seed, Faults: cfg.faults}); err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	s.adminToken = cfg.adminToken
	if s.adminToken == "" {
		s.adminToken = newAdminToken()
	}
	for _, kind := range []string{"bearer", "api-key"} {
		if t, ok := ts.owner(kind, s.adminToken); ok {
			return nil, fmt.Errorf("start sandbox: the admin token is also a credential of tenant %q; the admin token must be a secret of its own", t)
		}
	}
	s.targets = newTargets(cfg.targetHosts)
	s.redactor = newRedactor(ts)
	s.bodies = newBudget(cfg.bodyBudget)
	// Last, as the only part that holds something to close.
	if s.events, err = openEventDirs(cfg.eventDirs); err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	return s, nil
}

func validName(n string) bool {
	if n == "" || n[0] == '_' || n == "." || n == ".." {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// URL is the sandbox's root, "http://127.0.0.1:PORT", without a trailing
// slash. The admin API is under URL + "/__tether/".
func (s *Sandbox) URL() string { return s.url }

// VendorURL is the base URL of the vendor called name: the root, the
// vendor's name and its contract's first server base path, so that it
// plus a path template of the contract is a call the contract declares.
// It panics if no vendor has that name, which is a mistake in the test.
func (s *Sandbox) VendorURL(name string) string {
	v, ok := s.vendors[name]
	if !ok {
		panic(fmt.Sprintf("sandbox: no vendor %q; the vendors are %s", name, strings.Join(s.Vendors(), ", ")))
	}
	return s.url + "/" + v.Name + v.basePath
}

// Vendors lists the vendors' names in the order given to [Start].
func (s *Sandbox) Vendors() []string {
	out := make([]string, len(s.order))
	for i, v := range s.order {
		out[i] = v.Name
	}
	return out
}

// Client is the sandbox's admin client, the same on every call.
func (s *Sandbox) Client() *Client { return s.client }

// Close stops serving and waits for calls in progress to end, as
// httptest.Server.Close does. Calls held by a hang or latency fault, and
// deliveries asked for through the admin API, are cancelled first; a
// delivery started with [Sandbox.Deliver] ends with its own context.
func (s *Sandbox) Close() error {
	s.closed.Do(func() {
		s.stop()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.closeErr = s.srv.Close()
		}
		s.client.hc.CloseIdleConnections()
		s.events.close()
	})
	return s.closeErr
}

// faultState is the plan in force and the table that applies it, swapped
// together.
type faultState struct {
	plan  *FaultPlan
	table *faultTable
}

// SetFaults replaces the fault plan while the sandbox runs; a nil plan or
// one without faults clears it. Counters (first N calls, windows) restart.
// A plan's Seed of 0 means the sandbox's own seed ([WithSeed]).
func (s *Sandbox) SetFaults(plan *FaultPlan) error {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.setFaults(plan)
}

// AddFaults adds faults to the plan in force; counters restart.
func (s *Sandbox) AddFaults(faults ...Fault) error {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	cur := s.faults.Load().plan
	return s.setFaults(&FaultPlan{Seed: cur.Seed, Faults: append(slices.Clone(cur.Faults), faults...)})
}

func (s *Sandbox) setFaults(plan *FaultPlan) error {
	if plan == nil {
		plan = &FaultPlan{}
	}
	for i, f := range plan.Faults {
		if err := f.Validate(); err != nil {
			return fmt.Errorf("fault %d (%s): %w", i+1, f, err)
		}
		if f.Vendor != "" {
			if _, ok := s.vendors[f.Vendor]; !ok {
				return fmt.Errorf("fault %d (%s): no vendor %q; the vendors are %s", i+1, f, f.Vendor, strings.Join(s.Vendors(), ", "))
			}
		}
		if err := s.checkOperation(f); err != nil {
			return fmt.Errorf("fault %d (%s): %w", i+1, f, err)
		}
	}
	cp := &FaultPlan{Seed: plan.Seed, Faults: slices.Clone(plan.Faults)}
	if cp.Seed == 0 {
		cp.Seed = s.cfg.seed
	}
	s.faults.Store(&faultState{plan: cp, table: newFaultTable(cp.Seed, cp.Faults, s.cfg.now)})
	return nil
}

// checkOperation makes sure a fault's operation exists, so that a typo in
// a fault file is an error rather than a fault that never fires.
func (s *Sandbox) checkOperation(f Fault) error {
	if f.Operation == "" {
		return nil
	}
	var names []string
	for _, v := range s.order {
		if f.Vendor != "" && v.Name != f.Vendor {
			continue
		}
		for _, op := range v.Contract.Operations() {
			if op.ID == f.Operation || strings.EqualFold(op.Method+" "+op.Path, f.Operation) {
				return nil
			}
			names = append(names, op.ID)
		}
	}
	msg := fmt.Sprintf("no operation %q; name one by its operationId or as \"METHOD /path/template\"", f.Operation)
	if near := closest(f.Operation, names); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return errors.New(msg)
}

// Faults returns a copy of the fault plan in force.
func (s *Sandbox) Faults() *FaultPlan {
	p := s.faults.Load().plan
	return &FaultPlan{Seed: p.Seed, Faults: slices.Clone(p.Faults)}
}

// Reset empties the journal, restarts the fault counters, rewinds every
// cassette and returns every tenant's state to its seeds, as if the sandbox had just started with the faults in force.
func (s *Sandbox) Reset() {
	s.journal.reset()
	s.faultMu.Lock()
	s.setFaults(s.faults.Load().plan)
	s.faultMu.Unlock()
	for _, v := range s.order {
		v.mu.Lock()
		v.replays = map[string]*replay.Transport{}
		v.mu.Unlock()
		if v.store != nil {
			v.store.Reset()
		}
	}
}

// Journal returns the journaled entries that pass f, oldest first.
func (s *Sandbox) Journal(f JournalFilter) JournalPage { return s.journal.query(f) }

// replayFor is the cassette transport of one tenant, made on first use.
func (v *vendor) replayFor(tenant string) (*replay.Transport, error) {
	if len(v.Cassettes) == 0 {
		return nil, nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if t := v.replays[tenant]; t != nil {
		return t, nil
	}
	t, err := replay.NewTransport(v.Cassettes, replay.MatchOn("method", "path", "query", "body"))
	if err != nil {
		return nil, err
	}
	v.replays[tenant] = t
	return t, nil
}

// declared renders what the contract declares op answers, once.
func (v *vendor) declared(op *contracts.Operation, seed uint64) *opAnswers {
	if a, ok := v.answers.Load(op.ID); ok {
		return a.(*opAnswers)
	}
	a := &opAnswers{byStatus: map[int]*answer{}}
	rs, err := v.Contract.ExampleResponses(op.ID, seed)
	a.err = err
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Status < rs[j].Status })
	for i := range rs {
		r := &rs[i]
		if _, seen := a.byStatus[r.Status]; !seen && !r.Default {
			a.byStatus[r.Status] = exampleAnswer(r)
		}
		if r.Default && a.deflt == nil {
			a.deflt = exampleAnswer(r)
		}
		if a.success == nil && r.Status >= 200 && r.Status < 300 {
			a.success = exampleAnswer(r)
		}
	}
	// An operation that only redirects (a download link, say) answers
	// with its redirect.
	for i := range rs {
		if a.success == nil && rs[i].Status >= 300 && rs[i].Status < 400 {
			a.success = exampleAnswer(&rs[i])
		}
	}
	if a.success == nil {
		for i := range rs {
			if rs[i].Default {
				ok := rs[i]
				ok.Status, ok.Default = http.StatusOK, false
				a.success = exampleAnswer(&ok)
				break
			}
		}
	}
	if a.success != nil {
		ct := a.success.header.Get("Content-Type")
		mt, _, _ := mime.ParseMediaType(ct)
		a.jsonSuccess = ct == "" || isJSON(mt)
	}
	switch {
	case a.byStatus[http.StatusBadRequest] != nil:
		a.refuse = http.StatusBadRequest
	case a.byStatus[http.StatusNotFound] != nil:
		a.refuse = http.StatusNotFound
	case a.deflt != nil:
		a.refuse = http.StatusBadRequest
	}
	prev, _ := v.answers.LoadOrStore(op.ID, a)
	return prev.(*opAnswers)
}
