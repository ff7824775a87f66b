package container

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tetherkit/tether/harness"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/sandbox"
	"github.com/tetherkit/tether/sandbox/container"
	"github.com/tetherkit/tether/sandbox/state"
)

// Sandboxes plays the vendors of each scenario run with a sandbox in a
// container (the tether binary in a FROM scratch image, with the
// scenario's contracts and cassettes) instead of one in this process: the
// same sandbox, reached through a published port and its admin API, as a
// CI system that keeps the sandbox apart from the connector runs it. The
// binary is compiled once per run, in the run's work directory. It needs a
// Docker engine.
func Sandboxes() harness.Sandboxes { return &sandboxes{} }

type sandboxes struct{ bin, work string }

func (*sandboxes) Name() string { return "container" }

// Prepare checks for a Docker engine and compiles the sandbox.
func (s *sandboxes) Prepare(ctx context.Context, _ *manifest.Connector, work string) error {
	if err := container.DockerAvailable(ctx); err != nil {
		return fmt.Errorf("the container sandbox needs a Docker engine: %w", err)
	}
	bin := filepath.Join(work, "sandbox-bin", "tether")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	if err := container.Compile(ctx, container.SandboxMain, "", bin); err != nil {
		return fmt.Errorf("compile the sandbox for its image: %w", err)
	}
	s.bin, s.work = bin, work
	return nil
}

func (s *sandboxes) Start(ctx context.Context, c *manifest.Connector, spec harness.SandboxSpec) (harness.VendorSandbox, error) {
	if s.bin == "" {
		return nil, fmt.Errorf("start the container sandbox: Prepare was not called")
	}
	cs := container.SandboxSpec{Seed: spec.Seed, Binary: s.bin}
	// State is on or off for the whole container sandbox.
	if n := len(spec.Stateless); n > 0 {
		if n < len(spec.Vendors) {
			return nil, fmt.Errorf("start the container sandbox: the manifest turns state off for %s only; a container sandbox keeps state for all its vendors or none, so mark every vendor stateless or none", strings.Join(slices.Sorted(maps.Keys(spec.Stateless)), ", "))
		}
		cs.Stateless = true
	}
	if len(spec.State) > 0 {
		f, err := os.CreateTemp(s.work, "state-*.json")
		if err != nil {
			return nil, err
		}
		err = json.NewEncoder(f).Encode(spec.State)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("write the scenario's state for the container: %w", err)
		}
		cs.State = f.Name()
	}
	for _, name := range spec.Vendors {
		v := container.Vendor{Name: name, Contract: c.Path(c.Manifest.Vendors[name].Contract)}
		for _, cas := range spec.Cassettes[name] {
			v.Cassettes = append(v.Cassettes, cas.File)
		}
		cs.Vendors = append(cs.Vendors, v)
	}
	// In the order of the vendors, as the harness registers them in
	// process: a journal's placeholder names a credential by its place.
	for _, name := range spec.Vendors {
		if tc, ok := spec.Credentials[name]; ok {
			cs.Tenants = append(cs.Tenants, tc.Flag(spec.Tenant))
		}
	}
	sb, err := container.StartSandbox(ctx, cs, container.WithHostGateway(), container.WithStartupTimeout(2*time.Minute))
	if err != nil {
		return nil, err
	}
	tenant := "" // calls without a registered tenant are the default tenant's
	if len(cs.Tenants) > 0 {
		tenant = spec.Tenant
	}
	return containerSandbox{sb, tenant, cs.Stateless}, nil
}

type containerSandbox struct {
	sb        *container.Sandbox
	tenant    string
	stateless bool
}

// State reads the tenant's state through the admin API; a stateless
// sandbox has none.
func (s containerSandbox) State(ctx context.Context) (map[string]state.Document, error) {
	if s.stateless {
		return nil, nil
	}
	return s.sb.Client.State(ctx, s.tenant)
}

func (s containerSandbox) SetState(ctx context.Context, docs map[string]state.Document) error {
	return s.sb.Client.SetState(ctx, s.tenant, docs)
}

func (s containerSandbox) VendorURL(ctx context.Context, name string) (string, error) {
	return s.sb.Client.VendorURL(ctx, name)
}
func (s containerSandbox) OAuth2Endpoints(ctx context.Context, vendor string) (string, string, error) {
	return s.sb.Client.OAuth2Endpoints(ctx, vendor)
}
func (s containerSandbox) SetFaults(ctx context.Context, p *sandbox.FaultPlan) error {
	return s.sb.Client.SetFaults(ctx, p)
}

// Deliver registers the target first: the connector's port is chosen per
// run, and the sandbox delivers only where it is told it may.
func (s containerSandbox) Deliver(ctx context.Context, wh sandbox.Webhook) ([]sandbox.Entry, error) {
	if err := s.sb.Client.AllowTarget(ctx, wh.Target); err != nil {
		return nil, fmt.Errorf("register the delivery target: %w", err)
	}
	return s.sb.Client.Deliver(ctx, wh)
}
func (s containerSandbox) Calls(ctx context.Context) ([]sandbox.Entry, error) {
	page, err := s.sb.Client.Journal(ctx, sandbox.JournalFilter{Kind: sandbox.KindCall})
	if err != nil {
		return nil, err
	}
	return page.Entries, nil
}
func (s containerSandbox) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.sb.Terminate(ctx)
}
func (s containerSandbox) Reach(u string) string { return toHostGateway(u) }

// toHostGateway rewrites a URL on this host's loopback to the name a
// container reaches the host by.
func toHostGateway(u string) string {
	for _, h := range []string{"//127.0.0.1:", "//localhost:", "//0.0.0.0:"} {
		u = strings.Replace(u, h, "//"+container.HostGateway+":", 1)
	}
	return u
}
