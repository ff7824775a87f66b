package harness_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tetherkit/tether/connectors/dealnotify"
	"github.com/tetherkit/tether/harness"
	"github.com/tetherkit/tether/harness/manifest"
)

// A connector's test is one call, in its own package: each check becomes
// a subtest, Test/<suite>/<scenario>/<check>, so go test -run selects
// suites, scenarios and checks.
func ExampleTest() {
	// In connectors/dealnotify/dealnotify_test.go:
	_ = func(t *testing.T) {
		harness.Test(t, ".", harness.Drive(harness.InProcess(dealnotify.Setup)))
	}
}

// Execute runs the suites over a loaded connector and returns its report,
// gated by the policy (by default, failing on errors).
func ExampleExecute() {
	c, err := manifest.Load("../connectors/dealnotify")
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := harness.Execute(context.Background(), c, harness.Drive(harness.InProcess(dealnotify.Setup)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Connector.Name, r.Connector.Version, r.Summary.Status)
	for _, s := range r.Suites {
		fmt.Println(s.Name, s.Status, s.Checks, "checks")
	}
	// Output:
	// dealnotify 1.0.0 pass
	// contract pass 18 checks
	// negative pass 31 checks
	// replay pass 28 checks
}
