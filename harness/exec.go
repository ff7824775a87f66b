package harness

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/tetherkit/tether/harness/coverage"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
)

// newExecution prepares the target for c.
func newExecution(ctx context.Context, c *manifest.Connector, o options, work string) (*execution, error) {
	if o.policy == nil {
		p, err := ConnectorPolicy(c)
		if err != nil {
			return nil, err
		}
		o.policy = p
	}
	if err := o.sandboxes.Prepare(ctx, c, work); err != nil {
		return nil, err
	}
	start, err := o.target.Prepare(ctx, c, work)
	if err != nil {
		return nil, err
	}
	return &execution{c: c, o: o, start: start, work: work, results: map[string]*lazyResult{}, compat: compatRuns(o.baselines)}, nil
}

// lazyResult is a scenario run made once, by whichever suite needs it
// first.
type lazyResult struct {
	once sync.Once
	res  *ScenarioResult
	err  error
}

// result runs sc, or returns its earlier run.
func (x *execution) result(ctx context.Context, sc *scenarioRun) (*ScenarioResult, error) {
	x.mu.Lock()
	l := x.results[sc.Name]
	if l == nil {
		l = &lazyResult{}
		x.results[sc.Name] = l
	}
	x.mu.Unlock()
	l.once.Do(func() {
		dir := filepath.Join(x.work, fmt.Sprintf("run-%d", x.seq.Add(1)))
		l.res, l.err = runScenario(ctx, x.c, sc, x.start, dir, x.o)
		os.RemoveAll(dir)
		if l.err == nil && x.o.report != nil {
			shown := *l.res
			shown.Findings = slices.DeleteFunc(slices.Clone(shown.Findings), func(f report.Finding) bool {
				suite, known := suiteOfCheck[f.Check]
				return known && !slices.Contains(x.o.suites, suite)
			})
			x.o.report(shown)
		}
	})
	return l.res, l.err
}

// PlannedCheck is one check of a run, known before anything runs: the unit
// a test framework makes a test or spec of, and a CI system a test case.
type PlannedCheck struct {
	Suite    string
	Scenario string // empty for a check of the whole connector
	Name     string
	// run runs what the check needs (scenario runs are shared between
	// checks and made once) and returns its findings.
	run func(ctx context.Context) ([]report.Finding, error)
}

// Run runs the check and returns its findings; see [Session].
func (p PlannedCheck) Run(ctx context.Context) ([]report.Finding, error) { return p.run(ctx) }

// Path names the check as a test path: suite/scenario/name.
func (p PlannedCheck) Path() string {
	if p.Scenario == "" {
		return p.Suite + "/" + p.Name
	}
	return p.Suite + "/" + p.Scenario + "/" + p.Name
}

// plan lists every check of the suites o asks for, in report order.
func (x *execution) plan() []PlannedCheck {
	var out []PlannedCheck
	c := x.c
	scenario := func(sc *scenarioRun) func(ctx context.Context) (*ScenarioResult, error) {
		return func(ctx context.Context) (*ScenarioResult, error) { return x.result(ctx, sc) }
	}
	own := func(sc *manifest.Scenario) *scenarioRun { return x.own(sc) }
	for _, suite := range AllSuites {
		if !slices.Contains(x.o.suites, suite) {
			continue
		}
		switch suite {
		case report.SuiteContract:
			for _, check := range []string{CheckCassetteLint, CheckCassetteScan, CheckEvents} {
				out = append(out, PlannedCheck{Suite: suite, Name: check, run: func(context.Context) ([]report.Finding, error) {
					return x.staticContract(check), nil
				}})
			}
			out = append(out, PlannedCheck{Suite: suite, Name: CheckScopes, run: func(ctx context.Context) ([]report.Finding, error) {
				results := make([]*ScenarioResult, len(c.Scenarios))
				err := x.parallel(len(c.Scenarios), func(i int) (err error) {
					results[i], err = x.result(ctx, own(c.Scenarios[i]))
					return err
				})
				if err != nil {
					return nil, err
				}
				return x.scopesCheck(results), nil
			}})
			for _, sc := range c.Scenarios {
				get := scenario(own(sc))
				for _, check := range []string{CheckOutboundCalls, CheckSecrets} {
					out = append(out, PlannedCheck{Suite: suite, Scenario: sc.Name, Name: check, run: func(ctx context.Context) ([]report.Finding, error) {
						r, err := get(ctx)
						if err != nil {
							return nil, err
						}
						return x.scenarioContract(check, r), nil
					}})
				}
			}
		case report.SuiteNegative:
			base := x.baseScenario()
			if base == nil {
				out = append(out, PlannedCheck{Suite: suite, Name: "derive", run: func(context.Context) ([]report.Finding, error) {
					return []report.Finding{noBaseFinding()}, nil
				}})
				continue
			}
			out = append(out, PlannedCheck{Suite: suite, Name: "derive", run: func(context.Context) ([]report.Finding, error) {
				fs := x.baseFindings(base)
				for i := range fs {
					fs[i].Suite, fs[i].Check = report.SuiteNegative, "derive"
				}
				return fs, nil
			}})
			getBase := scenario(base)
			for _, nc := range x.negativeCases(base) {
				get := scenario(nc.sc)
				out = append(out, PlannedCheck{Suite: suite, Name: nc.name, run: func(ctx context.Context) ([]report.Finding, error) {
					b, err := getBase(ctx)
					if err != nil {
						return nil, err
					}
					r, err := get(ctx)
					if err != nil {
						return nil, err
					}
					return judgeNegative(nc, b, r), nil
				}})
			}
		case report.SuiteReplay:
			for _, sc := range c.Scenarios {
				get := scenario(own(sc))
				for _, check := range replayChecks {
					out = append(out, PlannedCheck{Suite: suite, Scenario: sc.Name, Name: check, run: func(ctx context.Context) ([]report.Finding, error) {
						r, err := get(ctx)
						if err != nil {
							return nil, err
						}
						var fs []report.Finding
						for _, f := range replayFindings(r) {
							if f.Check == check {
								fs = append(fs, f)
							}
						}
						return fs, nil
					}})
				}
			}
		}
	}
	for _, r := range x.compat {
		out = append(out, x.compatChecks(r)...)
	}
	return out
}

// Session is a connector ready to be checked: its target prepared (a
// binary built, an image built) and its checks planned, none run yet. Test
// frameworks make a test of each check ([Session.Checks]) and run it when
// they like, in any order and in parallel; the scenario runs the checks
// need are made once and shared.
type Session struct {
	x      *execution
	checks []PlannedCheck
}

// NewSession loads the connector in dir and prepares it, keeping its
// files in work (an existing directory the caller removes).
func NewSession(ctx context.Context, dir, work string, opts ...Option) (*Session, error) {
	o := configure(opts)
	c, err := manifest.Load(dir, manifest.ForUpdate(o.update))
	if err != nil {
		return nil, err
	}
	if len(c.Scenarios) == 0 {
		return nil, fmt.Errorf("%s has no scenarios; write one in %s", dir, filepath.Join(dir, manifest.ScenarioDir))
	}
	x, err := newExecution(ctx, c, o, work)
	if err != nil {
		return nil, err
	}
	return &Session{x: x, checks: x.plan()}, nil
}

// Checks are the session's checks, in report order.
func (s *Session) Checks() []PlannedCheck { return slices.Clone(s.checks) }

// Connector is the session's connector.
func (s *Session) Connector() *manifest.Connector { return s.x.c }

// Policy is the policy the session gates with.
func (s *Session) Policy() *report.Policy { return s.x.policy() }

// Log returns the end of what the connector logged in the named
// scenario's run, when it has run.
func (s *Session) Log(scenario string, lines int) string {
	s.x.mu.Lock()
	l := s.x.results[scenario]
	s.x.mu.Unlock()
	if l == nil || l.res == nil {
		return ""
	}
	return tail(l.res.Logs, lines)
}

// Execute runs the suites over c and returns the report, gated with the
// policy ([WithPolicy]; by default failing on errors). The error is for a
// run that could not be made at all: the connector would not build or
// start, or the sandbox would not.
func Execute(ctx context.Context, c *manifest.Connector, opts ...Option) (*report.Report, error) {
	began := time.Now()
	o := configure(opts)
	work, err := os.MkdirTemp("", "tether-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	x, err := newExecution(ctx, c, o, work)
	if err != nil {
		return nil, err
	}
	rep := x.newReport()
	checks := x.plan()
	findings := make([][]report.Finding, len(checks))
	took := make([]time.Duration, len(checks))
	if err := x.parallel(len(checks), func(i int) error {
		t0 := time.Now()
		fs, err := checks[i].run(ctx)
		findings[i], took[i] = fs, time.Since(t0)
		return err
	}); err != nil {
		return nil, err
	}
	// A suite's time is that of its own runs and checks, summed: the
	// scenario runs count to replay (whichever check made them), the
	// derived cases to negative, the checks of shipped files to contract.
	rep.Timings.Suites = map[string]time.Duration{}
	for i, pc := range checks {
		rep.Checks = append(rep.Checks, report.Check{Suite: pc.Suite, Scenario: pc.Scenario, Name: pc.Name})
		rep.Findings = append(rep.Findings, findings[i]...)
		if pc.Suite == report.SuiteCompatibility {
			rep.Timings.Suites[report.SuiteCompatibility] += took[i]
		}
		if pc.Suite == report.SuiteContract && pc.Scenario == "" && pc.Name != CheckScopes {
			rep.Timings.Suites[report.SuiteContract] += took[i]
		}
	}
	var runs []*ScenarioResult
	rep.Timings.Scenarios = map[string]time.Duration{}
	for _, sc := range c.Scenarios {
		if r, err := x.result(ctx, x.own(sc)); err == nil {
			rep.Scenarios = append(rep.Scenarios, scenarioReport(r))
			rep.Timings.Scenarios[sc.Name] = r.Took
		}
	}
	var covered []coverage.Run
	x.mu.Lock()
	for _, name := range slices.Sorted(maps.Keys(x.results)) {
		if l := x.results[name]; l.res != nil {
			runs = append(runs, l.res)
			suite := report.SuiteNegative
			if _, ok := rep.Timings.Scenarios[name]; ok {
				suite = report.SuiteReplay
			}
			covered = append(covered, coverageRun(l.res, suite == report.SuiteReplay))
			if suite == report.SuiteNegative {
				rep.Cases = append(rep.Cases, report.CaseReport{Suite: suite, Name: name, Timeline: timelineOf(l.res)})
			}
			if slices.Contains(o.suites, suite) {
				rep.Timings.Suites[suite] += l.res.Took
			}
		}
	}
	x.mu.Unlock()
	var tm report.Timings
	rep.Metrics, tm = metricsOf(runs)
	rep.Timings.LatencyP50, rep.Timings.LatencyP95, rep.Timings.LagMean = tm.LatencyP50, tm.LatencyP95, tm.LagMean
	rep.Coverage = coverage.Measure(c, covered)
	if len(x.compat) > 0 {
		rep.Run.Suites = append(rep.Run.Suites, report.SuiteCompatibility)
		rep.Compatibility = x.compat[0].result
		for _, r := range x.compat {
			row := report.ReleaseRow{Release: r.label}
			if r.result != nil {
				row.Version = r.result.BaselineVersion
			}
			rep.Releases = append(rep.Releases, row)
		}
	}
	for i := range rep.Findings {
		rep.Findings[i].Message = volatile.ReplaceAllString(rep.Findings[i].Message, "$1:PORT")
	}
	gated := report.Gate(rep, x.policy(), o.today())
	gated.Timings.Total = time.Since(began)
	return gated, nil
}

// policy is the policy the run is gated with.
func (x *execution) policy() *report.Policy { return x.o.policy }

// ConnectorPolicy is the policy a connector is gated with when none is
// given: its own [manifest.PolicyFile] when it has one, else
// [report.DefaultPolicy]. A policy file with a mistake is an error at its
// line.
func ConnectorPolicy(c *manifest.Connector) (*report.Policy, error) {
	data, ok := c.File(manifest.PolicyFile)
	if !ok {
		return report.DefaultPolicy(), nil
	}
	return report.ParsePolicy(manifest.PolicyFile, data)
}

// parallel calls f(0..n-1), at most o.parallel at once, and returns the
// first error.
func (x *execution) parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, max(1, x.o.parallel))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// replayFindings are a scenario run's findings of the replay suite.
func replayFindings(r *ScenarioResult) []report.Finding {
	var out []report.Finding
	for _, f := range r.Findings {
		if suiteOfCheck[f.Check] == report.SuiteReplay {
			f.Suite, f.Scenario = report.SuiteReplay, r.Scenario.Name
			out = append(out, f)
		}
	}
	return out
}

func noBaseFinding() report.Finding {
	f := newFinding(RuleNoBaseScenario, at(manifest.ScenarioDir),
		"no scenario expects its events handled with no faults and plain deliveries, so the negative suite has nothing to derive cases from")
	f.Suite, f.Check = report.SuiteNegative, "derive"
	return f
}

// newReport starts the report of a run over x's connector.
func (x *execution) newReport() *report.Report {
	m := x.c.Manifest
	return &report.Report{
		Version:   report.Version,
		Connector: report.ConnectorInfo{Name: m.Name, Version: m.Version, Summary: m.Summary, Dir: filepath.ToSlash(m.Dir)},
		Run:       report.RunInfo{Seed: x.o.seed, Target: x.o.target.Name(), Sandbox: x.o.sandboxes.Name(), Suites: slices.Clone(x.o.suites)},
		Tools:     toolVersions(),
		Inputs:    slices.Clone(x.c.Inputs),
		Checks:    []report.Check{},
		Findings:  []report.Finding{},
		Scenarios: []report.ScenarioReport{},
	}
}

// toolVersions reads the module versions this binary was built with.
func toolVersions() report.Tools {
	t := report.Tools{Tether: "(devel)", Go: runtime.Version(), Modules: map[string]string{}}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return t
	}
	if v := info.Main.Version; v != "" && info.Main.Path == "github.com/tetherkit/tether" {
		t.Tether = v
	}
	for _, d := range info.Deps {
		if d.Path == "github.com/tetherkit/tether" {
			t.Tether = d.Version
		}
		for _, p := range []string{"github.com/pb33f/libopenapi", "github.com/pb33f/libopenapi-validator", "gopkg.in/dnaeon/go-vcr.v2", "github.com/google/go-cmp", "go.yaml.in/yaml/v3", "github.com/testcontainers/testcontainers-go"} {
			if d.Path == p {
				t.Modules[p] = d.Version
			}
		}
	}
	return t
}

// volatile matches what changes from run to run in a message: the ports
// of local servers. Messages hold no durations.
var volatile = regexp.MustCompile(`(127\.0\.0\.1|localhost|host\.docker\.internal):\d+`)

// scenarioReport is the report's row of a scenario run.
func scenarioReport(res *ScenarioResult) report.ScenarioReport {
	sc := res.Scenario
	s := report.ScenarioReport{Name: sc.Name, File: sc.File, Description: sc.Description, Expected: sc.Expect.Outcome,
		Outcomes: []string{}, Calls: len(res.Calls), Timeline: timelineOf(res)}
	for _, d := range res.Deliveries {
		s.Outcomes = append(s.Outcomes, d.Outcome)
	}
	for _, f := range res.Findings {
		if f.ID == RuleGoldenMismatch {
			s.Diff = append(s.Diff, f.Message)
		}
	}
	return s
}

// metricsOf sums what the connector's SDK counted over the runs, and the
// latency of its answers as the sandbox measured them.
func metricsOf(runs []*ScenarioResult) (report.MetricsSummary, report.Timings) {
	m := report.MetricsSummary{Errors: map[string]int64{}}
	var t report.Timings
	var lat []time.Duration
	var lagSum time.Duration
	var lagN int64
	for _, r := range runs {
		if r == nil {
			continue
		}
		m.Deliveries += len(r.Deliveries)
		for _, d := range r.Deliveries {
			if d.Status != 0 {
				lat = append(lat, d.Took)
			}
		}
		for _, row := range r.Metrics {
			m.Handled += row.Handled
			m.Failed += row.Failed
			m.Duplicates += row.Duplicates
			m.Retries += row.Retries
			for class, n := range row.Errors {
				m.Errors[class] += n
			}
			lagSum += row.Lag.Sum
			lagN += row.Lag.Count
		}
	}
	if n := m.Handled + m.Failed; n > 0 {
		m.SuccessRate = float64(m.Handled) / float64(n)
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		t.LatencyP50 = lat[(len(lat)-1)*50/100]
		t.LatencyP95 = lat[(len(lat)-1)*95/100]
	}
	if lagN > 0 {
		t.LagMean = lagSum / time.Duration(lagN)
	}
	return m, t
}

// own is one of the connector's own scenarios, to run as it is.
func (x *execution) own(sc *manifest.Scenario) *scenarioRun { return &scenarioRun{Scenario: sc} }
