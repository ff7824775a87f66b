package escalate_test

import (
	"flag"
	"testing"

	"github.com/tetherkit/tether/harness"
)

var update = flag.Bool("update", false, "rewrite the golden files with the calls the connector makes now")

// TestScenarios runs every scenario in scenarios/ against an in-process
// sandbox, with the connector as a separate process: its run.command,
// built once. The same scenarios run with the connector in a container of
// its own image in package harness/container's tests.
func TestScenarios(t *testing.T) {
	harness.Test(t, ".", harness.Drive(harness.Process()), harness.Update(*update))
}
