package issuepage_test

import (
	"flag"
	"testing"

	"github.com/tetherkit/tether/connectors/issuepage"
	"github.com/tetherkit/tether/harness"
)

var update = flag.Bool("update", false, "rewrite the golden files with the calls the connector makes now")

// TestScenarios runs every scenario in scenarios/ against an in-process
// sandbox, with the connector in this process.
func TestScenarios(t *testing.T) {
	harness.Test(t, ".", harness.Drive(harness.InProcess(issuepage.Setup)), harness.Update(*update))
}
