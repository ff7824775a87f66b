package escalate_test

import (
	"flag"
	"testing"

	"github.com/tetherkit/tether/harness"
	"github.com/tetherkit/tether/internal/dockertest"
)

var update = flag.Bool("update", false, "rewrite the golden files with the calls the connector makes now")

func TestMain(m *testing.M) { dockertest.Main(m) }

// TestScenarios runs every scenario in scenarios/ against an in-process
// sandbox, with the connector as a separate process: its run.command,
// built once.
func TestScenarios(t *testing.T) {
	harness.Test(t, ".", harness.Drive(harness.Process()), harness.Update(*update))
}

// TestScenariosInContainer runs the scenarios (the replay suite) with the
// connector in a container of its own image, built from its Dockerfile: a
// container per scenario. The other suites run against the process above.
func TestScenariosInContainer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image and starts a container per scenario; skipped with -short")
	}
	dockertest.Require(t)
	harness.Test(t, ".", harness.Drive(harness.Container()), harness.Only(harness.SuiteReplay))
}
