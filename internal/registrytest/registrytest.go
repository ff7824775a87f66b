// Package registrytest runs a real OCI registry for tests: CNCF
// Distribution's registry, built from its Go module as a static binary,
// in a FROM scratch image started with testcontainers-go, as the sandbox
// is (see sandbox/container).
//
// The binary is built once per machine and version, into the user cache
// folder (tether/registry-VERSION/registry), and the image is tagged with
// the digest of the binary and its configuration, so a CI run builds it
// once and every later test reuses it.
package registrytest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherkit/tether/internal/dockertest"
	"github.com/tetherkit/tether/sandbox/container"
)

// Version is the Distribution release run.
const Version = "v3.1.2"

// module is the registry's main package.
const module = "github.com/distribution/distribution/v3/cmd/registry"

// config keeps content in memory: each container starts empty, and no
// volume is needed in a scratch image.
const config = `version: 0.1
log:
  level: warn
storage:
  inmemory: {}
  delete:
    enabled: true
http:
  addr: :5000
`

// buildMu serialises builds within one test binary; across binaries the
// rename into place keeps the cache whole.
var buildMu sync.Mutex

// Binary returns the path of the registry binary, building it into the
// user cache folder when it is not there yet. The build uses the module
// proxy, and takes minutes the first time.
func Binary(ctx context.Context) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a cache folder for the registry binary: %w", err)
	}
	dir := filepath.Join(cache, "tether", "registry-"+Version+"-"+runtime.GOARCH)
	bin := filepath.Join(dir, "registry")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "go", "install", "-trimpath", "-ldflags=-s -w", module+"@"+Version)
	cmd.Dir = tmp
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOBIN="+tmp, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", module, Version, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "registry"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// Start runs a registry for the test, and returns its address
// (127.0.0.1:PORT or localhost:PORT), which tether talks to in plain
// HTTP. The container is removed when the test ends. Start skips the test
// without Docker, unless TETHER_REQUIRE_DOCKER=1.
func Start(t *testing.T) string {
	t.Helper()
	dockertest.Require(t)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	bin, err := Binary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(conf, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := container.Build(ctx, container.BuildSpec{
		Main:   "registry",
		Repo:   "tether-registry",
		Binary: bin,
		Port:   5000,
		Args:   []string{"serve", "/etc/distribution/config.yml"},
		Files:  map[string]string{"/etc/distribution/config.yml": conf},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := container.Run(ctx, img, container.WithHealthPath("/v2/"), container.WithStartupTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c.Terminate(ctx)
	})
	return strings.TrimPrefix(strings.TrimPrefix(c.URL(), "http://"), "https://")
}
