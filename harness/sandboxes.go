package harness

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/sandbox"
	"github.com/tetherkit/tether/sandbox/container"
)

// InContainerSandbox plays the vendors with a sandbox in a container (the
// tether binary in a FROM scratch image, with the scenario's contracts and
// cassettes) instead of one in this process: the same sandbox, reached
// through a published port and its admin API, as a CI system that keeps
// the sandbox apart from the connector runs it. It needs a Docker engine.
func InContainerSandbox() Option { return func(o *options) { o.containerSandbox = true } }

// vendorSandbox is the sandbox of one scenario run, in this process or in
// a container, driven the same way.
type vendorSandbox interface {
	vendorURL(ctx context.Context, name string) (string, error)
	setFaults(ctx context.Context, plan *sandbox.FaultPlan) error
	deliver(ctx context.Context, wh sandbox.Webhook) ([]sandbox.Entry, error)
	calls(ctx context.Context) ([]sandbox.Entry, error)
	close() error
	// reach turns the connector's URL on this host into one the sandbox
	// reaches it at.
	reach(url string) string
}

// sandboxSpec is what a scenario's sandbox impersonates.
type sandboxSpec struct {
	names     []string
	cassettes map[string][]string // files, by vendor
	tenant    string
	tokens    map[string]string // by vendor
	scopes    []string
	seed      uint64
	addr      string // for the in-process one; empty means the loopback
}

// onceFile is a file made once, by the first caller that needs it.
type onceFile struct {
	once sync.Once
	path string
	err  error
}

func (f *onceFile) get(make func(path string) error) (string, error) {
	f.once.Do(func() { f.err = make(f.path) })
	return f.path, f.err
}

func startSandbox(ctx context.Context, c *Connector, spec sandboxSpec, o options) (vendorSandbox, error) {
	if o.containerSandbox {
		bin, err := o.sandboxBinary.get(func(path string) error {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			return container.Compile(ctx, container.SandboxMain, "", path)
		})
		if err != nil {
			return nil, fmt.Errorf("compile the sandbox for its image: %w", err)
		}
		return startContainerSandbox(ctx, c, spec, bin)
	}
	var vendors []sandbox.Vendor
	var creds []sandbox.Credential
	for _, name := range spec.names {
		v := sandbox.Vendor{Name: name, Contract: c.Contracts[name]}
		for _, p := range spec.cassettes[name] {
			cas, err := fixtures.Load(p)
			if err != nil {
				return nil, err
			}
			v.Cassettes = append(v.Cassettes, cas)
		}
		vendors = append(vendors, v)
		if tok := spec.tokens[name]; tok != "" {
			creds = append(creds, sandbox.Bearer(tok, spec.scopes...))
		}
	}
	opts := []sandbox.Option{sandbox.WithSeed(spec.seed)}
	if spec.addr != "" {
		opts = append(opts, sandbox.WithAddr(spec.addr))
	}
	if len(creds) > 0 {
		opts = append(opts, sandbox.WithTenant(spec.tenant, creds...))
	}
	sb, err := sandbox.Start(vendors, opts...)
	if err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	return inProcessSandbox{sb}, nil
}

type inProcessSandbox struct{ sb *sandbox.Sandbox }

func (s inProcessSandbox) vendorURL(_ context.Context, name string) (string, error) {
	return s.sb.VendorURL(name), nil
}
func (s inProcessSandbox) setFaults(_ context.Context, p *sandbox.FaultPlan) error {
	return s.sb.SetFaults(p)
}
func (s inProcessSandbox) deliver(ctx context.Context, wh sandbox.Webhook) ([]sandbox.Entry, error) {
	return s.sb.Deliver(ctx, wh)
}
func (s inProcessSandbox) calls(context.Context) ([]sandbox.Entry, error) {
	return s.sb.Journal(sandbox.JournalFilter{Kind: sandbox.KindCall}).Entries, nil
}
func (s inProcessSandbox) close() error          { return s.sb.Close() }
func (s inProcessSandbox) reach(u string) string { return u }

func startContainerSandbox(ctx context.Context, c *Connector, spec sandboxSpec, binary string) (vendorSandbox, error) {
	cs := container.SandboxSpec{Seed: spec.seed, Binary: binary}
	for _, name := range spec.names {
		cs.Vendors = append(cs.Vendors, container.Vendor{Name: name, Contract: c.Manifest.Path(c.Manifest.Vendors[name].Contract), Cassettes: spec.cassettes[name]})
	}
	for _, name := range slices.Sorted(maps.Keys(spec.tokens)) {
		cs.Tenants = append(cs.Tenants, fmt.Sprintf("%s=bearer:%s;%s", spec.tenant, spec.tokens[name], strings.Join(spec.scopes, ",")))
	}
	sb, err := container.StartSandbox(ctx, cs, container.WithHostGateway(), container.WithStartupTimeout(2*time.Minute))
	if err != nil {
		return nil, err
	}
	return containerSandbox{sb}, nil
}

type containerSandbox struct{ sb *container.Sandbox }

func (s containerSandbox) vendorURL(ctx context.Context, name string) (string, error) {
	return s.sb.Client.VendorURL(ctx, name)
}
func (s containerSandbox) setFaults(ctx context.Context, p *sandbox.FaultPlan) error {
	return s.sb.Client.SetFaults(ctx, p)
}
func (s containerSandbox) deliver(ctx context.Context, wh sandbox.Webhook) ([]sandbox.Entry, error) {
	return s.sb.Client.Deliver(ctx, wh)
}
func (s containerSandbox) calls(ctx context.Context) ([]sandbox.Entry, error) {
	page, err := s.sb.Client.Journal(ctx, sandbox.JournalFilter{Kind: sandbox.KindCall})
	if err != nil {
		return nil, err
	}
	return page.Entries, nil
}
func (s containerSandbox) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.sb.Terminate(ctx)
}
func (s containerSandbox) reach(u string) string { return toHostGateway(u) }

// toHostGateway rewrites a URL on this host's loopback to the name a
// container reaches the host by.
func toHostGateway(u string) string {
	for _, h := range []string{"//127.0.0.1:", "//localhost:", "//0.0.0.0:"} {
		u = strings.Replace(u, h, "//"+container.HostGateway+":", 1)
	}
	return u
}
