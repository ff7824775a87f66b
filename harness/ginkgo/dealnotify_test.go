//go:build !tetherginkgo_broken && !tetherginkgo_missing

package ginkgo_test

import (
	"github.com/tetherkit/tether/connectors/dealnotify"
	"github.com/tetherkit/tether/harness"
	"github.com/tetherkit/tether/harness/ginkgo"
)

var _ = ginkgo.Describe("dealnotify", "../../connectors/dealnotify", harness.Drive(harness.InProcess(dealnotify.Setup)))
