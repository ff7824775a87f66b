package harness

import (
	"context"
	"fmt"

	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/sandbox"
	"github.com/tetherkit/tether/sandbox/state"
)

// Sandboxes starts the sandbox each scenario run plays the vendors with. The
// default plays them in this process; package harness/container plays them
// in a container, driven through the same admin API.
type Sandboxes interface {
	// Name names where the sandboxes run in reports: "inproc",
	// "container".
	Name() string
	// Prepare does the work shared by every scenario's sandbox, such as
	// building an image, keeping its files in work; it is called once
	// per run, before Start.
	Prepare(ctx context.Context, c *manifest.Connector, work string) error
	// Start starts the sandbox of one scenario run.
	Start(ctx context.Context, c *manifest.Connector, spec SandboxSpec) (VendorSandbox, error)
}

// VendorSandbox is the running sandbox of one scenario run.
type VendorSandbox interface {
	VendorURL(ctx context.Context, name string) (string, error)
	SetFaults(ctx context.Context, plan *sandbox.FaultPlan) error
	Deliver(ctx context.Context, wh sandbox.Webhook) ([]sandbox.Entry, error)
	// Calls are the journal's entries of vendor calls, in order.
	Calls(ctx context.Context) ([]sandbox.Entry, error)
	// Reach turns the connector's URL on this host into one the sandbox
	// reaches it at.
	Reach(url string) string
	Close() error
}

// authorizer is a running sandbox that serves its vendors' authorization
// servers.
type authorizer interface {
	// OAuth2Endpoints are the token and authorize endpoints of vendor's
	// authorization server, as the connector reaches them.
	OAuth2Endpoints(ctx context.Context, vendor string) (token, authorize string, err error)
}

// SandboxSpec is what a scenario's sandbox impersonates.
type SandboxSpec struct {
	Vendors   []string              // the vendors' names, sorted
	Cassettes map[string][]Cassette // the scenario's cassettes, by vendor
	Tenant    string
	// Credentials are the tenant's, by vendor, with their scopes.
	Credentials map[string]TestCredential
	Seed        uint64
	Addr        string // where to listen; empty means a free port of the loopback interface
	// State seeds the vendors' state, by vendor, beside what the
	// cassettes' answers seed.
	State map[string]state.Document
	// Stateless names the vendors whose state is off.
	Stateless map[string]bool
}

// credentials are the tenant's: one for each vendor that has one, in the
// order of Vendors, which is the order a sandbox registers them in (in
// this process, and as --tenant flags for a container).
func (s SandboxSpec) credentials() []sandbox.Credential {
	var creds []sandbox.Credential
	for _, name := range s.Vendors {
		if tc, ok := s.Credentials[name]; ok {
			creds = append(creds, tc.Sandbox())
		}
	}
	return creds
}

// Cassette is a cassette a sandbox answers from: parsed, and its file on
// disk for a sandbox that reads its own.
type Cassette struct {
	File     string
	Cassette *fixtures.Cassette
}

// WithSandboxes plays the vendors with s instead of a sandbox in this
// process.
func WithSandboxes(s Sandboxes) Option { return func(o *options) { o.sandboxes = s } }

// inProcessSandboxes starts sandboxes in this process.
type inProcessSandboxes struct{}

func (inProcessSandboxes) Name() string { return "inproc" }

func (inProcessSandboxes) Prepare(context.Context, *manifest.Connector, string) error { return nil }

func (inProcessSandboxes) Start(_ context.Context, c *manifest.Connector, spec SandboxSpec) (VendorSandbox, error) {
	var vendors []sandbox.Vendor
	for _, name := range spec.Vendors {
		v := sandbox.Vendor{Name: name, Contract: c.Contracts[name], Stateless: spec.Stateless[name], State: spec.State[name]}
		// Corrections of the inferred resource model live beside the
		// contract, as `tether sandbox model` and `serve` read them.
		rel := state.OverridesFile(c.Manifest.Vendors[name].Contract)
		if data, ok := c.File(rel); ok && !spec.Stateless[name] {
			ov, err := state.ParseOverrides(rel, data)
			if err != nil {
				return nil, err
			}
			v.Overrides = ov
		}
		for _, cas := range spec.Cassettes[name] {
			v.Cassettes = append(v.Cassettes, cas.Cassette)
		}
		vendors = append(vendors, v)
	}
	creds := spec.credentials()
	opts := []sandbox.Option{sandbox.WithSeed(spec.Seed)}
	if spec.Addr != "" {
		opts = append(opts, sandbox.WithAddr(spec.Addr))
	}
	if len(creds) > 0 {
		opts = append(opts, sandbox.WithTenant(spec.Tenant, creds...))
	}
	sb, err := sandbox.Start(vendors, opts...)
	if err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	tenant := "" // calls without a registered tenant are the default tenant's
	if len(creds) > 0 {
		tenant = spec.Tenant
	}
	return inProcessSandbox{sb, tenant}, nil
}

type inProcessSandbox struct {
	sb     *sandbox.Sandbox
	tenant string
}

func (s inProcessSandbox) VendorURL(_ context.Context, name string) (string, error) {
	return s.sb.VendorURL(name), nil
}
func (s inProcessSandbox) SetFaults(_ context.Context, p *sandbox.FaultPlan) error {
	return s.sb.SetFaults(p)
}
func (s inProcessSandbox) Deliver(ctx context.Context, wh sandbox.Webhook) ([]sandbox.Entry, error) {
	return s.sb.Deliver(ctx, wh)
}
func (s inProcessSandbox) Calls(context.Context) ([]sandbox.Entry, error) {
	return s.sb.Journal(sandbox.JournalFilter{Kind: sandbox.KindCall}).Entries, nil
}
func (s inProcessSandbox) Close() error          { return s.sb.Close() }
func (s inProcessSandbox) Reach(u string) string { return u }

func (s inProcessSandbox) OAuth2Endpoints(_ context.Context, vendor string) (string, string, error) {
	return s.sb.OAuth2Endpoints(vendor)
}
