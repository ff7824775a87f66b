package container

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tetherkit/tether/internal/atomicfile"
	"github.com/tetherkit/tether/sandbox"
)

// SandboxSpec says which vendors a containerised sandbox impersonates, and
// how. Paths are host paths; [StartSandbox] copies the files into the image.
type SandboxSpec struct {
	// Vendors are the vendors to impersonate; at least one.
	Vendors []Vendor
	// Faults is a fault plan file (YAML or JSON), optional.
	Faults string
	// Strict makes the sandbox answer calls that break a contract with 400.
	Strict bool
	// Seed seeds synthesised answers and fault draws. Zero leaves the
	// sandbox's default: 1, or the fault file's seed.
	Seed uint64
	// State is a state file (see [sandbox.LoadState]) whose objects every
	// tenant starts with; optional.
	State string
	// Stateless turns the sandbox's state off ([sandbox.Stateless]).
	Stateless bool
	// StateCap bounds each tenant's objects of each vendor, in bytes
	// ([sandbox.WithStateCap]); zero leaves the default.
	StateCap int64
	// StrictState answers an identifier state never saw with the vendor's
	// 404 ([sandbox.StrictState]).
	StrictState bool
	// Tenants registers credentials as `tether sandbox serve --tenant`
	// takes them: "acme=bearer:TOKEN;deals:read", "acme=api-key:KEY",
	// "acme=basic:USER:PASSWORD". None means any credential is accepted.
	Tenants []string
	// Binary is a tether binary already compiled with [Compile] (main
	// package [SandboxMain]); empty means StartSandbox compiles one.
	Binary string
	// Dir is the directory the tether binary is built in, with
	// `go build github.com/tetherkit/tether/cmd/tether`; empty means the
	// current one. It must lie in a module that is, or requires, tether.
	Dir string
}

// Vendor is one vendor of a [SandboxSpec]: its contract and the cassettes
// that answer for it.
type Vendor struct {
	// Name is the vendor's path segment in the sandbox's URLs: letters,
	// digits, '-' and '_'. Empty means the contract's file name without its
	// extension.
	Name string
	// Contract is the vendor's OpenAPI or Swagger file. Files it refers to
	// with a relative $ref are copied too, keeping their places relative to
	// it, so a contract split over several files loads as it does on the
	// host. Remote $refs are not fetched.
	Contract string
	// Cassettes are cassette files, or directories whose *.yaml and *.yml
	// files (at any depth) are cassettes. All of them answer for this vendor.
	Cassettes []string
	// Overlays are OpenAPI Overlay files applied to the contract, in order,
	// where the vendor behaves otherwise than its contract says.
	Overlays []string
	// Samples are JSON files of objects the vendor answers with, such as
	// Stripe's fixtures: their identifiers give the shape of those state
	// makes ([sandbox.Vendor.Samples]).
	Samples []string
	// Overrides is a file of corrections to the resource model inferred
	// from the contract ([sandbox.Vendor.Overrides]); optional.
	Overrides string
}

// Sandbox is a sandbox running in a container, started by [StartSandbox].
// Stop it with [Container.Terminate].
type Sandbox struct {
	*Container
	// Client drives the sandbox's admin API, as [sandbox.Sandbox.Client]
	// does for one in the same process: it sends the admin token.
	Client *sandbox.Client
	// AdminToken is the sandbox's admin token, which [StartSandbox] draws
	// at random and hands the container in its environment, never in the
	// image.
	AdminToken string
	// Inside is the sandbox's root URL as seen from inside the container,
	// where the sandbox can reach itself, e.g. as a webhook target.
	Inside string
	// Image is the image the container runs; Image.Cached says whether it
	// was already built.
	Image Image
	// Healthy is the time from the call of StartSandbox to the first healthy
	// answer: compiling tether, building the image unless it was cached,
	// and starting the container.
	Healthy time.Duration
}

// SandboxMain is the main package of the tether binary a sandbox image
// runs.
const SandboxMain = "github.com/tetherkit/tether/cmd/tether"

// Where StartSandbox puts things in the image, and where tether listens.
const (
	sandboxPort     = 8080
	contractsDir    = "/contracts"
	cassettesDir    = "/cassettes"
	faultsDir       = "/faults"
	stateDir        = "/state"
	modelDir        = "/model"
	sandboxMain     = SandboxMain
	sandboxRepo     = "tether-sandbox"
	sandboxHealth   = sandbox.AdminPrefix + "health"
	sandboxInsideAt = "http://127.0.0.1:8080"
)

// StartSandbox builds (see [Build]) a FROM scratch image holding the tether
// binary and spec's contracts, cassettes and fault file, runs
// `tether sandbox serve` in a container of it (see [Run]) and returns once
// the sandbox answers GET /__tether/health with 200. The image is tagged by
// its content, so a later call with the same binary and files skips the
// build. The health path is set before opts, which may change the startup
// timeout.
//
// When StartSandbox returns an error no container is left behind.
// Otherwise the caller must call [Container.Terminate], with t.Cleanup or
// defer right after the call, so that the container goes even when a test
// fails.
func StartSandbox(ctx context.Context, spec SandboxSpec, opts ...Option) (*Sandbox, error) {
	start := time.Now()
	files, args, err := spec.layout()
	if err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	img, err := Build(ctx, BuildSpec{
		Main:   sandboxMain,
		Binary: spec.Binary,
		Dir:    spec.Dir,
		Repo:   sandboxRepo,
		Port:   sandboxPort,
		Args:   args,
		Files:  files,
	})
	if err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	token := newAdminToken()
	c, err := Run(ctx, img, append([]Option{WithHealthPath(sandboxHealth),
		withEnv(adminTokenEnv, token), withHealthHeader("Authorization", "Bearer "+token)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	return &Sandbox{
		Container:  c,
		Client:     sandbox.NewClient(c.URL(), nil, sandbox.UseToken(token)),
		AdminToken: token,
		Inside:     sandboxInsideAt,
		Image:      img,
		Healthy:    time.Since(start),
	}, nil
}

// adminTokenEnv is the environment variable tether sandbox serve reads
// its admin token from.
const adminTokenEnv = "TETHER_ADMIN_TOKEN"

// newAdminToken draws an admin token for one container.
func newAdminToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "tsa_" + base64.RawURLEncoding.EncodeToString(b)
}

// vendorName is the sandbox's rule for a vendor's path segment.
var vendorName = regexp.MustCompile(`^[A-Za-z0-9-.][A-Za-z0-9_.-]*$`)

// layout returns the files to copy into the image, keyed by image path,
// and the arguments that follow the tether binary.
func (s SandboxSpec) layout() (map[string]string, []string, error) {
	if len(s.Vendors) == 0 {
		return nil, nil, errors.New("no vendors given")
	}
	files := map[string]string{}
	args := []string{"sandbox", "serve"}
	seen := map[string]bool{}
	for _, v := range s.Vendors {
		name := v.Name
		if name == "" {
			base := filepath.Base(v.Contract)
			name = strings.TrimSuffix(base, filepath.Ext(base))
		}
		if !vendorName.MatchString(name) || name == "." || name == ".." {
			return nil, nil, fmt.Errorf("vendor %q of contract %s: want a name of letters, digits, '-', '_' and '.', not starting with '_'", name, v.Contract)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("vendor %q given twice", name)
		}
		seen[name] = true

		dst, err := addContract(files, path.Join(contractsDir, name), v.Contract)
		if err != nil {
			return nil, nil, fmt.Errorf("vendor %s: %w", name, err)
		}
		args = append(args, "--contract", name+"="+dst)
		for i, src := range v.Cassettes {
			dst, err := addCassettes(files, path.Join(cassettesDir, name, strconv.Itoa(i)), src)
			if err != nil {
				return nil, nil, fmt.Errorf("vendor %s: %w", name, err)
			}
			args = append(args, "--cassettes", name+"="+dst)
		}
		for i, src := range v.Overlays {
			dst, err := addFile(files, path.Join(contractsDir, name, "overlays", strconv.Itoa(i)), src)
			if err != nil {
				return nil, nil, fmt.Errorf("vendor %s: overlay: %w", name, err)
			}
			args = append(args, "--overlay", name+"="+dst)
		}
		for i, src := range v.Samples {
			dst, err := addFile(files, path.Join(modelDir, name, "samples", strconv.Itoa(i)), src)
			if err != nil {
				return nil, nil, fmt.Errorf("vendor %s: samples: %w", name, err)
			}
			args = append(args, "--samples", name+"="+dst)
		}
		if v.Overrides != "" {
			dst, err := addFile(files, path.Join(modelDir, name, "overrides"), v.Overrides)
			if err != nil {
				return nil, nil, fmt.Errorf("vendor %s: overrides: %w", name, err)
			}
			args = append(args, "--overrides", name+"="+dst)
		}
	}
	switch {
	case s.Stateless && (s.State != "" || s.StateCap != 0 || s.StrictState):
		return nil, nil, errors.New("Stateless turns state off; State, StateCap and StrictState are about state")
	case s.Stateless:
		args = append(args, "--stateless")
	case s.State != "":
		dst, err := addFile(files, stateDir, s.State)
		if err != nil {
			return nil, nil, fmt.Errorf("state: %w", err)
		}
		args = append(args, "--state", dst)
	}
	if s.StateCap != 0 {
		args = append(args, "--state-cap", strconv.FormatInt(s.StateCap, 10))
	}
	if s.StrictState {
		args = append(args, "--strict-state")
	}
	if s.Faults != "" {
		dst := path.Join(faultsDir, filepath.Base(s.Faults))
		files[dst] = s.Faults
		args = append(args, "--faults", dst)
	}
	if s.Strict {
		args = append(args, "--strict")
	}
	for _, t := range s.Tenants {
		args = append(args, "--tenant", t)
	}
	if s.Seed != 0 {
		args = append(args, "--seed", strconv.FormatUint(s.Seed, 10))
	}
	args = append(args, "--host", "0.0.0.0", "--port", strconv.Itoa(sandboxPort), "--quiet")
	return files, args, nil
}

// addContract adds the contract at src, and every file it refers to with a
// relative $ref, under dir, laid out as they are relative to their closest
// common directory. It returns the contract's image path.
func addContract(files map[string]string, dir, src string) (string, error) {
	src, err := filepath.Abs(src)
	if err != nil {
		return "", fmt.Errorf("contract %s: %w", src, err)
	}
	all := []string{src}
	queued := map[string]bool{src: true}
	for i := 0; i < len(all); i++ {
		refs, err := fileRefs(all[i])
		if err != nil {
			return "", err
		}
		for _, ref := range refs {
			if !queued[ref] {
				queued[ref] = true
				all = append(all, ref)
			}
		}
	}
	root := filepath.Dir(src)
	for _, f := range all {
		for !within(root, f) {
			root = filepath.Dir(root)
		}
	}
	var contract string
	for _, f := range all {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			return "", err
		}
		dst := path.Join(dir, filepath.ToSlash(rel))
		files[dst] = f
		if f == src {
			contract = dst
		}
	}
	return contract, nil
}

// within reports whether file lies under dir.
func within(dir, file string) bool {
	rel, err := filepath.Rel(dir, file)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// fileRefs returns the absolute paths of the files that the YAML or JSON
// document at file refers to with a relative $ref.
func fileRefs(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read contract: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("read contract %s: %w", file, err)
	}
	var refs []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "$ref" && v.Kind == yaml.ScalarNode {
					target, _, _ := strings.Cut(v.Value, "#")
					if target != "" && !strings.Contains(target, "://") {
						refs = append(refs, filepath.Join(filepath.Dir(file), filepath.FromSlash(target)))
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	for _, ref := range refs {
		if info, err := os.Stat(ref); err != nil {
			return nil, fmt.Errorf("contract %s refers to a file: %w", file, err)
		} else if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("contract %s refers to %s, which is not a regular file", file, ref)
		}
	}
	return refs, nil
}

// addFile adds the regular file src under dir, keeping its base name, and
// returns its image path.
func addFile(files map[string]string, dir, src string) (string, error) {
	info, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", src)
	}
	dst := path.Join(dir, filepath.Base(src))
	files[dst] = src
	return dst, nil
}

// addCassettes adds the cassette file src, or the cassettes in the
// directory src, under dir and returns the image path to pass to tether.
func addCassettes(files map[string]string, dir, src string) (string, error) {
	info, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("cassettes: %w", err)
	}
	if !info.IsDir() {
		dst := path.Join(dir, filepath.Base(src))
		files[dst] = src
		return dst, nil
	}
	n := 0
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		// The same files tether itself would load from the directory.
		if ext := filepath.Ext(p); (ext != ".yaml" && ext != ".yml") || atomicfile.IsTemp(p) || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		files[path.Join(dir, filepath.ToSlash(rel))] = p
		n++
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("cassettes in %s: %w", src, err)
	}
	if n == 0 {
		return "", fmt.Errorf("cassettes: no *.yaml or *.yml file in %s", src)
	}
	return dir, nil
}
