// Package dockertest holds what tests that need a Docker engine share:
// the testcontainers-go settings this machine kind needs, and the rule
// that a missing engine skips a test, unless TETHER_REQUIRE_DOCKER=1 (as
// in CI) makes it a failure.
package dockertest

import (
	"os"
	"strings"
	"testing"

	"github.com/tetherkit/tether/sandbox/container"
)

// Main sets testcontainers-go's settings before its first call, which is
// when it reads them, then runs the tests; call it from TestMain. Values
// already set win.
//   - The Ryuk reaper container is off because its image comes from a
//     registry that may be out of reach; each test removes what it starts.
//   - Published ports are reached on localhost when the engine is local.
//     Inside a container testcontainers-go would otherwise guess the
//     bridge gateway, which need not route to an engine running beside
//     the tests.
func Main(m *testing.M) {
	setDefault("TESTCONTAINERS_RYUK_DISABLED", "true")
	if host := os.Getenv("DOCKER_HOST"); host == "" || strings.HasPrefix(host, "unix://") {
		setDefault("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
	}
	os.Exit(m.Run())
}

func setDefault(key, value string) {
	if _, ok := os.LookupEnv(key); !ok {
		os.Setenv(key, value)
	}
}

// Require skips t when no Docker engine is reachable, or fails it when
// TETHER_REQUIRE_DOCKER=1, so that a missing engine is never mistaken for
// a pass there.
func Require(t *testing.T) {
	t.Helper()
	err := container.DockerAvailable(t.Context())
	if err == nil {
		return
	}
	if os.Getenv("TETHER_REQUIRE_DOCKER") == "1" {
		t.Fatalf("docker engine not reachable (%v); TETHER_REQUIRE_DOCKER=1 makes this a failure", err)
	}
	t.Skipf("docker engine not reachable (%v); set TETHER_REQUIRE_DOCKER=1 to make this a failure", err)
}
