//go:build tetherginkgo_broken

package ginkgo_test

import (
	"maps"
	"net/http"

	"github.com/tetherkit/tether/connectors"
	"github.com/tetherkit/tether/connectors/dealnotify"
	"github.com/tetherkit/tether/harness"
	"github.com/tetherkit/tether/harness/ginkgo"
)

// wrongChannel is dealnotify posting to another channel than the one its
// scenarios configure, so that the golden checks of scenarios that post
// fail.
func wrongChannel(env *connectors.Env) (http.Handler, error) {
	env.Config = maps.Clone(env.Config)
	env.Config["channel"] = "C0OTHER0001"
	return dealnotify.Setup(env)
}

var _ = ginkgo.Describe("dealnotify", "../../connectors/dealnotify", harness.Drive(harness.InProcess(wrongChannel)))
