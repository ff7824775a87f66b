// Package ginkgo declares the harness's checks of a connector as Ginkgo
// specs, for projects whose tests run under Ginkgo v2. It is a thin layer
// over [harness.Session]: the checks, their findings and the shared
// scenario runs all come from the harness, as they do for [harness.Test].
//
// A connector's suite declares its specs at package level:
//
//	var _ = ginkgo.Describe("dealnotify", "../connectors/dealnotify",
//		harness.Drive(harness.InProcess(dealnotify.Setup)))
//
//	func TestDealnotify(t *testing.T) {
//		gomega.RegisterFailHandler(g.Fail)
//		g.RunSpecs(t, "dealnotify")
//	}
//
// There is one container per suite, labelled with the suite's name, and
// one spec per check, named <scenario>/<check>, or <check> for a check of
// the whole connector. So
//
//	ginkgo --label-filter=negative
//	ginkgo --focus='replay won/golden'
//
// run the negative suite, and the golden check of the won scenario.
//
// # Parallel runs
//
// Under `ginkgo -p` (or --procs=N) every process builds the same spec
// tree, so every process prepares its own session: it builds the
// connector, when the target is [harness.Process], and plans the same
// checks. Ginkgo then hands each spec to one process, and a scenario run
// is made by each process whose specs need it, at most once per process.
// Within one process specs run one at a time, as Ginkgo runs them; the
// harness's own parallelism applies only inside a check that needs many
// runs, such as the contract suite's scopes check.
package ginkgo

import (
	"context"
	"os"
	"strings"

	g "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness"
)

// logLines is how much of the connector's log a failed spec shows.
const logLines = 30

// Describe declares the checks of the connector in dir as specs under a
// container named name, and returns true so that it can be called at
// package level (var _ = Describe(...)). The options are those of
// [harness.NewSession]; the default target is [harness.Process].
//
// The session is made when Ginkgo builds the spec tree, after flags are
// parsed, not when the package is initialised; its files live in a
// temporary directory that an AfterSuite node removes. Describe therefore
// takes the suite's one AfterSuite node: call it once per Ginkgo suite,
// and do not declare another AfterSuite in that suite.
//
// A spec fails with every error finding of its check, and shows the end of
// the connector's log; warnings and informational findings do not fail
// it. Every finding is attached to its spec as a report entry named
// "<level> <id>" whose value is the [report.Finding], so JSON reports
// carry findings as data. A connector that cannot be loaded or prepared
// gives a single failing spec, "prepares the connector", that says why.
func Describe(name, dir string, opts ...harness.Option) bool {
	// Specs report the line that declared them, not a line of this
	// package.
	at := types.NewCodeLocation(1)
	var work string
	g.AfterSuite(at, func() {
		if work != "" {
			os.RemoveAll(work)
		}
	})
	return g.Describe(name, at, func() {
		var err error
		work, err = os.MkdirTemp("", "tether-ginkgo-")
		if err != nil {
			failing(at, err)
			return
		}
		// Tree construction has no spec context; preparing a target
		// (building a binary, at most) is bounded by the build itself.
		s, err := harness.NewSession(context.Background(), dir, work, opts...)
		if err != nil {
			failing(at, err)
			return
		}
		if suite, _ := g.GinkgoConfiguration(); suite.DryRun {
			// A dry run runs no check, so the files are not needed.
			os.RemoveAll(work)
			work = ""
		}
		declare(at, s)
	})
}

// failing declares the one spec of a connector that could not be made
// ready.
func failing(at types.CodeLocation, err error) {
	g.It("prepares the connector", at, func() {
		g.Fail("prepare the connector: " + err.Error())
	})
}

// declare declares a container for each suite of s, with a spec for each
// of its checks, in the session's order.
func declare(at types.CodeLocation, s *harness.Session) {
	checks := s.Checks()
	for _, suite := range harness.AllSuites {
		var own []harness.PlannedCheck
		for _, pc := range checks {
			if pc.Suite == suite {
				own = append(own, pc)
			}
		}
		if len(own) == 0 {
			continue
		}
		g.Describe(suite, g.Label(suite), at, func() {
			for _, pc := range own {
				name := pc.Name
				if pc.Scenario != "" {
					name = pc.Scenario + "/" + pc.Name
				}
				g.It(name, at, func(ctx g.SpecContext) { check(ctx, s, pc) })
			}
		})
	}
}

// check runs pc and fails the spec with its error findings, as
// [harness.Test] fails a subtest.
func check(ctx context.Context, s *harness.Session, pc harness.PlannedCheck) {
	fs, err := pc.Run(ctx)
	if err != nil {
		g.Fail("run " + pc.Path() + ": " + err.Error())
		return
	}
	var errs []string
	for _, f := range fs {
		// Every finding goes into the spec's report as data, for JSON and
		// JUnit reports; the console shows warnings and informational
		// findings when the spec fails or under -v, as go test shows
		// t.Logf, and errors in the failure message alone.
		show := g.ReportEntryVisibilityFailureOrVerbose
		if f.Level == contracts.LevelError {
			errs = append(errs, f.String())
			show = g.ReportEntryVisibilityNever
		}
		g.AddReportEntry(f.Level.String()+" "+f.ID, f, show)
	}
	if len(errs) == 0 {
		return
	}
	if pc.Scenario != "" {
		if log := s.Log(pc.Scenario, logLines); log != "" {
			g.GinkgoWriter.Printf("the connector's log ends with:\n%s\n", log)
		}
	}
	g.Fail(pc.Path() + ": " + strings.Join(errs, "\n"))
}
