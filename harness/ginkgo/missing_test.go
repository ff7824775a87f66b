//go:build tetherginkgo_missing

package ginkgo_test

import (
	"github.com/tetherkit/tether/harness"
	"github.com/tetherkit/tether/harness/ginkgo"
	"github.com/tetherkit/tether/harness/report"
)

var _ = ginkgo.Describe("nowhere", "testdata/no-such-connector", harness.Only(report.SuiteReplay))
