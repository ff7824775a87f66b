package ginkgo_test

import (
	"testing"

	g "github.com/onsi/ginkgo/v2"
)

// TestGinkgo runs the Ginkgo suite of this package: the specs of the one
// connector that the build declares (dealnotify_test.go, or one of the
// failing suites that specs_test.go builds with a tag).
func TestGinkgo(t *testing.T) {
	g.RunSpecs(t, "harness/ginkgo")
}
