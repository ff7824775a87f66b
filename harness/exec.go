package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tetherkit/tether/sandbox/container"
)

// Parallel runs at most n scenarios (and negative cases) at once; the
// default is 4.
func Parallel(n int) Option { return func(o *options) { o.parallel = n } }

// Only runs these suites (of [AllSuites]) instead of all.
func Only(suites ...string) Option { return func(o *options) { o.suites = suites } }

// newExecution prepares the target for c.
func newExecution(ctx context.Context, c *Connector, o options, work string) (*execution, error) {
	if o.containerSandbox {
		if err := container.DockerAvailable(ctx); err != nil {
			return nil, fmt.Errorf("the container sandbox needs a Docker engine: %w", err)
		}
		o.sandboxBinary = &onceFile{path: filepath.Join(work, "sandbox-bin", "tether")}
	}
	start, err := o.target.prepare(ctx, c, work)
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
func (x *execution) result(ctx context.Context, sc *Scenario) (*ScenarioResult, error) {
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
			x.o.report(*l.res)
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
	run func(ctx context.Context) ([]Finding, error)
}

// Run runs the check and returns its findings; see [Session].
func (p PlannedCheck) Run(ctx context.Context) ([]Finding, error) { return p.run(ctx) }

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
	scenario := func(sc *Scenario) func(ctx context.Context) (*ScenarioResult, error) {
		return func(ctx context.Context) (*ScenarioResult, error) { return x.result(ctx, sc) }
	}
	for _, suite := range AllSuites {
		if !slices.Contains(x.o.suites, suite) {
			continue
		}
		switch suite {
		case SuiteContract:
			for _, check := range []string{CheckCassetteLint, CheckCassetteScan, CheckEvents} {
				out = append(out, PlannedCheck{Suite: suite, Name: check, run: func(context.Context) ([]Finding, error) {
					return x.staticContract(check), nil
				}})
			}
			out = append(out, PlannedCheck{Suite: suite, Name: CheckScopes, run: func(ctx context.Context) ([]Finding, error) {
				results := make([]*ScenarioResult, len(c.Scenarios))
				err := x.parallel(len(c.Scenarios), func(i int) (err error) {
					results[i], err = x.result(ctx, c.Scenarios[i])
					return err
				})
				if err != nil {
					return nil, err
				}
				return x.scopesCheck(results), nil
			}})
			for _, sc := range c.Scenarios {
				get := scenario(sc)
				for _, check := range []string{CheckOutboundCalls, CheckSecrets} {
					out = append(out, PlannedCheck{Suite: suite, Scenario: sc.Name, Name: check, run: func(ctx context.Context) ([]Finding, error) {
						r, err := get(ctx)
						if err != nil {
							return nil, err
						}
						return x.scenarioContract(check, r), nil
					}})
				}
			}
		case SuiteNegative:
			base := x.baseScenario()
			if base == nil {
				out = append(out, PlannedCheck{Suite: suite, Name: "derive", run: func(context.Context) ([]Finding, error) {
					return []Finding{noBaseFinding(c)}, nil
				}})
				continue
			}
			getBase := scenario(base)
			for _, nc := range x.negativeCases(base) {
				get := scenario(nc.sc)
				out = append(out, PlannedCheck{Suite: suite, Name: nc.name, run: func(ctx context.Context) ([]Finding, error) {
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
		case SuiteReplay:
			for _, sc := range c.Scenarios {
				get := scenario(sc)
				for _, check := range replayChecks {
					out = append(out, PlannedCheck{Suite: suite, Scenario: sc.Name, Name: check, run: func(ctx context.Context) ([]Finding, error) {
						r, err := get(ctx)
						if err != nil {
							return nil, err
						}
						var fs []Finding
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
	c, err := Load(dir, o.update)
	if err != nil {
		return nil, err
	}
	if len(c.Scenarios) == 0 {
		return nil, fmt.Errorf("%s has no scenarios; write one in %s", dir, filepath.Join(dir, ScenarioDir))
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
func (s *Session) Connector() *Connector { return s.x.c }

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

// Execute runs the suites over c and returns the report. The error is for
// a run that could not be made at all: the connector would not build or
// start, or the sandbox would not.
func Execute(ctx context.Context, c *Connector, opts ...Option) (*Report, error) {
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
	findings := make([][]Finding, len(checks))
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
		rep.addCheck(pc.Suite, pc.Scenario, pc.Name)
		rep.addFindings(findings[i])
		if pc.Suite == SuiteCompatibility {
			rep.Timings.Suites[SuiteCompatibility] += took[i]
		}
		if pc.Suite == SuiteContract && pc.Scenario == "" && pc.Name != CheckScopes {
			rep.Timings.Suites[SuiteContract] += took[i]
		}
	}
	var runs []*ScenarioResult
	rep.Timings.Scenarios = map[string]time.Duration{}
	for _, sc := range c.Scenarios {
		if r, err := x.result(ctx, sc); err == nil {
			rep.addScenario(r)
			rep.Timings.Scenarios[sc.Name] = r.Took
		}
	}
	x.mu.Lock()
	for _, name := range slices.Sorted(maps.Keys(x.results)) {
		if l := x.results[name]; l.res != nil {
			runs = append(runs, l.res)
			suite := SuiteNegative
			if _, ok := rep.Timings.Scenarios[name]; ok {
				suite = SuiteReplay
			}
			if slices.Contains(o.suites, suite) {
				rep.Timings.Suites[suite] += l.res.Took
			}
		}
	}
	x.mu.Unlock()
	var tm Timings
	rep.Metrics, tm = metricsOf(runs)
	rep.Timings.LatencyP50, rep.Timings.LatencyP95, rep.Timings.LagMean = tm.LatencyP50, tm.LatencyP95, tm.LagMean
	rep.Timings.Total = time.Since(began)
	if len(x.compat) > 0 {
		rep.Run.Suites = append(rep.Run.Suites, SuiteCompatibility)
		rep.Compatibility = x.compat[0].result
		for _, r := range x.compat {
			row := ReleaseRow{Release: r.label}
			if r.result != nil {
				row.Version = r.result.BaselineVersion
			}
			rep.Releases = append(rep.Releases, row)
		}
	}
	rep.finish(nil)
	return rep, nil
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
func replayFindings(r *ScenarioResult) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if suiteOfCheck[f.Check] == SuiteReplay {
			f.Suite, f.Scenario = SuiteReplay, r.Scenario.Name
			out = append(out, f)
		}
	}
	return out
}

func noBaseFinding(c *Connector) Finding {
	return Finding{ID: "negative-no-base-scenario", Level: LevelWarning, Suite: SuiteNegative, Check: "derive", Location: c.Manifest.File,
		Message: "no scenario expects its events handled with no faults and plain deliveries, so the negative suite has nothing to derive cases from",
		Hint:    "add a happy-path scenario"}
}

// newReport starts the report of a run over x's connector.
func (x *execution) newReport() *Report {
	m := x.c.Manifest
	r := &Report{
		Version:   ReportVersion,
		Connector: ConnectorInfo{Name: m.Name, Version: m.Version, Summary: m.Summary, Dir: filepath.ToSlash(m.Dir)},
		Run:       RunInfo{Seed: x.o.seed, Target: targetName(x.o.target), Sandbox: sandboxName(x.o), Suites: slices.Clone(x.o.suites)},
		Tools:     toolVersions(),
		Checks:    []Check{},
		Findings:  []Finding{},
		Scenarios: []ScenarioReport{},
	}
	r.Inputs = digests(m.Dir)
	return r
}

func sandboxName(o options) string {
	if o.containerSandbox {
		return "container"
	}
	return "inproc"
}

func targetName(t Target) string {
	switch t.(type) {
	case inProcess:
		return "in-process"
	case process:
		return "process"
	case containerTarget:
		return "container"
	}
	return fmt.Sprintf("%T", t)
}

// toolVersions reads the module versions this binary was built with.
func toolVersions() Tools {
	t := Tools{Tether: "(devel)", Go: runtime.Version(), Modules: map[string]string{}}
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

// inputDirs are the directories of a connector whose files are inputs of
// a run, besides the files at its top level.
var inputDirs = []string{"contracts", "cassettes", "scenarios", "events", "golden", "cmd"}

// digests hashes the connector's inputs, in path order: the files at the
// top of its directory and those under inputDirs, hidden ones skipped.
// Reports written into the directory are not inputs.
func digests(dir string) []Input {
	var out []Input
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			top, _, _ := strings.Cut(rel, "/")
			if p != dir && (strings.HasPrefix(d.Name(), ".") || !slices.Contains(inputDirs, top)) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") || !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return nil
		}
		out = append(out, Input{Path: rel, SHA256: hex.EncodeToString(h.Sum(nil))})
		return nil
	})
	return out
}

// volatile matches what changes from run to run in a message: the ports
// of local servers. Messages hold no durations.
var volatile = regexp.MustCompile(`(127\.0\.0\.1|localhost|host\.docker\.internal):\d+`)

func (r *Report) addFindings(fs []Finding) {
	for _, f := range fs {
		f.Message = volatile.ReplaceAllString(f.Message, "$1:PORT")
		r.Findings = append(r.Findings, f)
	}
}

func (r *Report) addCheck(suite, scenario, name string) {
	r.Checks = append(r.Checks, Check{Suite: suite, Scenario: scenario, Name: name})
}

func (r *Report) addScenario(res *ScenarioResult) {
	sc := res.Scenario
	s := ScenarioReport{Name: sc.Name, File: filepath.ToSlash(sc.File), Description: sc.Description, Expected: sc.Expect.Outcome,
		Outcomes: []string{}, Calls: len(res.Calls)}
	if rel, err := filepath.Rel(r.Connector.Dir, sc.File); err == nil {
		s.File = filepath.ToSlash(rel)
	}
	for _, d := range res.Deliveries {
		s.Outcomes = append(s.Outcomes, d.Outcome)
	}
	for _, f := range res.Findings {
		if f.ID == "golden-mismatch" {
			s.Diff = append(s.Diff, f.Message)
		}
	}
	r.Scenarios = append(r.Scenarios, s)
}

var suiteRank = map[string]int{SuiteContract: 0, SuiteNegative: 1, SuiteReplay: 2, SuiteCompatibility: 3}
var levelRank = map[string]int{LevelError: 0, LevelWarning: 1, LevelInfo: 2}

// finish sorts the findings and checks into their fixed order, ties each
// finding to its check, applies the waivers and fills the summaries.
func (r *Report) finish(waive func(f Finding) (string, bool)) {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if suiteRank[a.Suite] != suiteRank[b.Suite] {
			return suiteRank[a.Suite] < suiteRank[b.Suite]
		}
		if a.Scenario != b.Scenario {
			return a.Scenario < b.Scenario
		}
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		if levelRank[a.Level] != levelRank[b.Level] {
			return levelRank[a.Level] < levelRank[b.Level]
		}
		return a.ID+a.Location+a.Message < b.ID+b.Location+b.Message
	})
	r.Findings = slices.CompactFunc(r.Findings, func(a, b Finding) bool { return a == b })
	sort.SliceStable(r.Checks, func(i, j int) bool {
		a, b := r.Checks[i], r.Checks[j]
		if suiteRank[a.Suite] != suiteRank[b.Suite] {
			return suiteRank[a.Suite] < suiteRank[b.Suite]
		}
		if a.Scenario != b.Scenario {
			return a.Scenario < b.Scenario
		}
		return a.Name < b.Name
	})
	index := map[[3]string]int{}
	for i := range r.Checks {
		c := &r.Checks[i]
		c.Findings, c.Status = nil, StatusPass
		index[[3]string{c.Suite, c.Scenario, c.Name}] = i
	}
	r.Summary = Summary{}
	for i := range r.Findings {
		f := &r.Findings[i]
		if waive != nil {
			if reason, ok := waive(*f); ok {
				f.Waived = reason
			}
		}
		k, ok := index[[3]string{f.Suite, f.Scenario, f.Check}]
		if !ok {
			r.Checks = append(r.Checks, Check{Suite: f.Suite, Scenario: f.Scenario, Name: f.Check, Status: StatusPass})
			k = len(r.Checks) - 1
			index[[3]string{f.Suite, f.Scenario, f.Check}] = k
		}
		c := &r.Checks[k]
		c.Findings = append(c.Findings, i)
		switch {
		case f.Waived != "":
			r.Summary.Waived++
		case f.Level == LevelError:
			r.Summary.Errors++
			c.Status = StatusFail
		case f.Level == LevelWarning:
			r.Summary.Warnings++
		default:
			r.Summary.Infos++
		}
	}
	r.Suites = nil
	for _, s := range r.Run.Suites {
		sr := SuiteReport{Name: s, Status: StatusPass}
		for _, c := range r.Checks {
			if c.Suite != s {
				continue
			}
			sr.Checks++
			if c.Status == StatusFail {
				sr.Failed++
				sr.Status = StatusFail
			}
		}
		for _, f := range r.Findings {
			if f.Suite == s && f.Waived == "" {
				switch f.Level {
				case LevelError:
					sr.Errors++
				case LevelWarning:
					sr.Warnings++
				}
			}
		}
		r.Suites = append(r.Suites, sr)
	}
	r.Summary.Checks = len(r.Checks)
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			r.Summary.Failed++
		}
	}
	r.Summary.Status = StatusPass
	if r.Summary.Errors > 0 {
		r.Summary.Status = StatusFail
	}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		s.Status = StatusPass
		for _, c := range r.Checks {
			if c.Scenario == s.Name && c.Status == StatusFail {
				s.Status = StatusFail
			}
		}
	}
	for i := range r.Releases {
		r.Releases[i].fill(r.Checks)
	}
}

// metricsOf sums what the connector's SDK counted over the runs, and the
// latency of its answers as the sandbox measured them.
func metricsOf(runs []*ScenarioResult) (MetricsSummary, Timings) {
	m := MetricsSummary{Errors: map[string]int64{}}
	var t Timings
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
