//go:build tetherginkgo_missing

package ginkgo_test

import (
	"github.com/tetherkit/tether/harness"
	"github.com/tetherkit/tether/harness/ginkgo"
)

var _ = ginkgo.Describe("nowhere", "testdata/no-such-connector", harness.Only(harness.SuiteReplay))
