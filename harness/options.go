package harness

import (
	"time"

	"github.com/tetherkit/tether/harness/report"
)

// Option configures [Test], [Execute] and [NewSession].
type Option func(*options)

type options struct {
	target    Target
	sandboxes Sandboxes
	update    bool
	seed      uint64
	report    func(ScenarioResult)
	parallel  int
	suites    []string
	policy    *report.Policy
	today     func() time.Time
	// baselines are the releases the compatibility suite compares with,
	// newest first; none: the suite does not run.
	baselines []string
}

// AllSuites are the suites [Execute] runs unless told otherwise; the
// compatibility suite runs when a [Baseline] is given.
var AllSuites = []string{report.SuiteContract, report.SuiteNegative, report.SuiteReplay}

func configure(opts []Option) options {
	o := options{seed: 1, parallel: 4, suites: AllSuites, today: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.target == nil {
		o.target = Process()
	}
	if o.sandboxes == nil {
		o.sandboxes = inProcessSandboxes{}
	}
	return o
}

// Drive runs the connector with target: [InProcess], [Process], or the
// container target of package harness/container. The default is
// [Process], the manifest's command.
func Drive(target Target) Option { return func(o *options) { o.target = target } }

// Update rewrites each scenario's golden file with the calls the connector
// makes now, instead of comparing them. A file is rewritten only when the
// calls differ from it.
func Update(update bool) Option { return func(o *options) { o.update = update } }

// Seed fixes the sandbox's draws (synthesised answers, fault
// probabilities, reordered deliveries). The default is 1.
func Seed(seed uint64) Option { return func(o *options) { o.seed = seed } }

// OnScenario calls f with each scenario's result as it finishes, for
// progress output. The result's findings are those of the suites the run
// reports, so a run of the compatibility suite alone shows no replay
// failure that its report would not explain.
func OnScenario(f func(ScenarioResult)) Option { return func(o *options) { o.report = f } }

// Parallel runs at most n scenarios (and negative cases) at once; the
// default is 4.
func Parallel(n int) Option { return func(o *options) { o.parallel = n } }

// Only runs these suites (of [AllSuites]) instead of all.
func Only(suites ...string) Option { return func(o *options) { o.suites = suites } }

// Baseline adds the compatibility suite, comparing the connector with an
// earlier release: a directory, a release bundle (.tar.gz), or "git:REF"
// for the connector's directory at REF of the repository it is in, read
// without touching the work tree. Give it once per release to compare
// with, newest first: each is a row of the compatibility matrix.
func Baseline(spec string) Option {
	return func(o *options) { o.baselines = append(o.baselines, spec) }
}

// WithPolicy gates the run with p: its fail-on levels and waivers decide
// which findings fail [Test] and the report's status. The default is the
// connector's own policy file ([manifest.PolicyFile]) when it has one,
// else [report.DefaultPolicy], failing on errors.
func WithPolicy(p *report.Policy) Option { return func(o *options) { o.policy = p } }

// Today sets the day waivers are judged against; the default is the day
// of the run.
func Today(day time.Time) Option {
	return func(o *options) { o.today = func() time.Time { return day } }
}
