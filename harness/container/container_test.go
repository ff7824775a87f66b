package container_test

import (
	"testing"

	"github.com/tetherkit/tether/harness"
	"github.com/tetherkit/tether/harness/container"
	"github.com/tetherkit/tether/harness/report"
	"github.com/tetherkit/tether/internal/dockertest"
)

func TestMain(m *testing.M) { dockertest.Main(m) }

// TestEscalateInContainer runs escalate's scenarios (the replay suite)
// with the connector in a container of its own image, built from its
// Dockerfile, a container per scenario; the sandbox runs in this process
// and is reached from the containers through the host gateway.
func TestEscalateInContainer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds images and starts containers per scenario; skipped with -short")
	}
	dockertest.Require(t)
	harness.Test(t, "../../connectors/escalate", harness.Drive(container.Target()), harness.Only(report.SuiteReplay))
}
