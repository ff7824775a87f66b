package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness"
	"github.com/tetherkit/tether/harness/container"
	"github.com/tetherkit/tether/harness/fleet"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/release/oci"
	"github.com/tetherkit/tether/harness/report"
	"github.com/tetherkit/tether/internal/atomicfile"
)

const testHelp = `Usage:
  tether test DIR [--target process|container] [--sandbox inproc|container] [--suite NAME]...
              [--parallel N] [--seed N] [--update] [--baseline DIR|BUNDLE|git:REF]
              [--releases DIR]

test runs the suites over the connector in DIR (a directory with
connector.yaml) and prints each scenario as it finishes, then every
finding and a summary:

  contract   every call and answer valid against the vendors' contracts,
             cassettes lint clean and hold no secret, sample events valid,
             no scope used beyond the manifest's, no credential sent to the
             wrong vendor or logged
  negative   cases derived from the happy-path scenario: invalid events,
             each error status the contract declares for each operation
             used, a timeout, a reset and a malformed answer, duplicate
             and out-of-order deliveries, forged and expired signatures
  replay     each scenario's outcome and dead letters as expected, its
             calls equal to its golden file, Retry-After honoured
  compatibility  with --baseline or --releases only: the vendor
             contracts, config schema and manifest compared with each
             baseline release, contract changes marked by what the
             connector uses, the version bump they need, and the
             baseline's scenarios replayed against this connector

The sandbox runs in this process (--sandbox inproc, the default), or in a
container per scenario (--sandbox container: the tether binary in a FROM
scratch image, reached through a published port). The connector runs as
its manifest says: --target process (the default) starts run.command for
each scenario; --target container builds run.image and starts a container
for each. Both container modes need a Docker engine.

  --suite NAME    run only this suite; repeat for several
  --baseline B    also run the compatibility suite against the release in
                  B: a connector directory, a release bundle (.tar.gz, as
                  'tether package' writes), git:REF for this
                  connector's directory at a git tag or commit, or
                  oci://REGISTRY/REPOSITORY:VERSION for a pushed release
  --releases DIR  the compatibility window: runs the compatibility suite
                  against each of the last compatibility.window releases
                  in DIR (bundles written by 'tether package') and reports
                  the matrix; may be combined with --baseline. DIR may be
                  oci://REGISTRY/REPOSITORY: its version tags are the
                  releases ('tether push'), pulled once into the user
                  cache folder, tether/releases
  --parallel N    run at most N scenarios at once (default 4)
  --seed N        fix the sandbox's draws (default 1)
  --update        rewrite golden files with the calls made now

Exit codes: 0 no error findings, 1 error findings, 2 could not run.

Example:
  tether test ./connectors/dealnotify --suite replay
  tether test ./connectors/dealnotify --suite compatibility --releases dist
`

const gateHelp = `Usage:
  tether gate DIR [--out DIR] [--policy FILE] [--sandbox inproc|container]
              [--target process|container] [--parallel N] [--seed N]
              [--baseline DIR|BUNDLE|git:REF] [--releases DIR]
  tether gate --fleet DIR [--shard K/N] [--timings FILE] [--out DIR] [...]

gate runs every suite over the connector in DIR, as 'tether test' does,
writes the report in every format to --out (default DIR/report), and
decides with the policy whether the release may ship:

  report.json    the report: findings, results per suite, scenario and
                 check, metrics, input digests, versions, seed; the same
                 inputs and seed give the same bytes
  timings.json   how long each suite and scenario took, latency and lag
  junit.xml      one test case per check per scenario, for CI systems
  summary.md     a summary for a pull request comment or a step summary
  report.html    one self-contained page with the findings and diffs

The policy file says which levels fail and which findings are waived,
each waiver with a reason and an expiry date (see the report package's
Policy). Without --policy the gate takes the connector's own
DIR/policy.yaml when there is one, else any error fails. An expired
waiver fails. The report records the policy's file and SHA-256.
A policy may set coverage minimums, in percent per vendor, such as
coverage: {used-operations: 100, declared-statuses: 80}; below one, the
gate fails with a coverage-below-minimum error naming what was missed.

--releases DIR is the compatibility window: the gate runs the
compatibility suite against each of the last compatibility.window
releases in DIR (the bundles 'tether package' wrote, newest first) and
reports the matrix. --baseline B adds one release, a directory, a
release bundle, git:REF or oci://REGISTRY/REPOSITORY:VERSION; the two may
be combined. --releases oci://REGISTRY/REPOSITORY reads the window from
the repository's version tags.

--fleet DIR gates every connector in DIR (each folder holding a
connector.yaml), one after the other, and writes each one's reports to
--out/connectors/NAME, and the fleet's report.json, summary.md, junit.xml
and timings.json to --out (default DIR/report). --shard K/N gates only
the K-th of N slices, so that N CI jobs share a fleet; every job computes
the same split, each connector in exactly one slice. --timings FILE, the
timings.json of an earlier run, balances the slices by how long each
connector took. 'tether report merge' joins the slices' reports into the
one an unsharded run writes, byte for byte: the fleet report holds no
times and nothing of the split (timings.json holds the times).
--baseline and --releases do not apply to a fleet.

Exit codes: 0 the gate passes, 1 it fails, 2 the run could not be made
(for a fleet: for some connector).

Example:
  tether gate ./connectors/dealnotify --out build/report --policy gate.yaml
  tether gate ./connectors/escalate --sandbox container
  tether gate ./connectors/dealnotify --baseline git:v1.0.0
  tether gate ./connectors/dealnotify --releases dist
  tether gate --fleet connectors --shard 2/4 --timings last/timings.json --out shard-2
`

// suiteFlag collects the values of a repeatable flag: --suite, --baseline.
type suiteFlag []string

func (s *suiteFlag) String() string     { return strings.Join(*s, ",") }
func (s *suiteFlag) Set(v string) error { *s = append(*s, v); return nil }

// runFlags are the flags test and gate share.
type runFlags struct {
	target   string
	sandbox  string
	parallel int
	seed     uint64
	baseline suiteFlag // --baseline, repeatable: each a release to compare with
	releases string    // --releases: a directory of release bundles
}

func (rf *runFlags) register(fl *flag.FlagSet) {
	fl.StringVar(&rf.target, "target", "process", "")
	fl.StringVar(&rf.sandbox, "sandbox", "inproc", "")
	fl.IntVar(&rf.parallel, "parallel", 4, "")
	fl.Uint64Var(&rf.seed, "seed", 1, "")
	fl.Var(&rf.baseline, "baseline", "")
	fl.StringVar(&rf.releases, "releases", "", "")
}

func (rf *runFlags) options() ([]harness.Option, error) {
	opts := []harness.Option{harness.Seed(rf.seed), harness.Parallel(rf.parallel)}
	for _, b := range rf.baseline {
		opts = append(opts, harness.Baseline(b))
	}
	switch rf.target {
	case "process":
		opts = append(opts, harness.Drive(harness.Process()))
	case "container":
		opts = append(opts, harness.Drive(container.Target()))
	default:
		return nil, usageError{fmt.Sprintf("--target %q: use process or container", rf.target)}
	}
	switch rf.sandbox {
	case "inproc":
	case "container":
		opts = append(opts, harness.WithSandboxes(container.Sandboxes()))
	default:
		return nil, usageError{fmt.Sprintf("--sandbox %q: use inproc or container", rf.sandbox)}
	}
	if rf.parallel < 1 {
		return nil, usageError{"--parallel must be 1 or more"}
	}
	if rf.sandbox == "container" || rf.target == "container" {
		containerDefaults()
	}
	return opts, nil
}

// containerDefaults gives testcontainers-go, before its first call, the
// settings a machine with a local engine and no registry needs, unless
// the environment sets them: no reaper container (its image would have
// to be pulled), and published ports reached on localhost.
func containerDefaults() {
	if _, ok := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !ok {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	if host := os.Getenv("DOCKER_HOST"); host == "" || strings.HasPrefix(host, "unix://") {
		if _, ok := os.LookupEnv("TESTCONTAINERS_HOST_OVERRIDE"); !ok {
			os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
		}
	}
}

// interruptible returns a context that ends on the first Ctrl-C.
func interruptible(env *environ) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	cancelOnInterrupt(ctx, env, cancel)
	return ctx, cancel
}

// progress prints each scenario run as it finishes.
func progress(env *environ) harness.Option {
	var mu sync.Mutex
	return harness.OnScenario(func(r harness.ScenarioResult) {
		mu.Lock()
		defer mu.Unlock()
		mark := "ok  "
		if r.Failed() {
			mark = "FAIL"
		}
		outcomes := make([]string, 0, len(r.Deliveries))
		for _, d := range r.Deliveries {
			outcomes = append(outcomes, d.Outcome)
		}
		fmt.Fprintf(env.stderr, "  %s %-40s %d call(s), %s in %s\n", mark, r.Scenario.Name, len(r.Calls),
			strings.Join(outcomes, ","), r.Took.Round(time.Millisecond))
	})
}

// parseRun parses the arguments of test or gate: the shared flags, those
// own adds, and the connector's directory. When done is true the command
// ends with code: help was asked for, or the arguments are wrong.
func parseRun(env *environ, name, help string, args []string, own func(fl *flag.FlagSet)) (dir string, opts []harness.Option, code int, done bool) {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	var rf runFlags
	rf.register(fl)
	own(fl)
	dir, err := parseOne(fl, args, "connector directory", "give the connector's directory, the one with connector.yaml")
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.stdout, help)
		return "", nil, exitOK, true
	}
	if err == nil {
		err = rf.pullBaselines(env)
	}
	if err == nil {
		opts, err = rf.options()
	}
	if err == nil && rf.releases != "" {
		var window []harness.Option
		window, err = releaseBaselines(env, dir, rf.releases)
		opts = append(opts, window...)
	}
	if err != nil {
		return "", nil, fail(env, err), true
	}
	return dir, opts, exitOK, false
}

// releaseBaselines is --releases: a baseline for each release in the
// directory releases that the compatibility window of the connector in
// dir names, newest first.
func releaseBaselines(env *environ, dir, releases string) ([]harness.Option, error) {
	m, err := manifest.Read(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	if oci.IsReference(releases) {
		paths, err = pullWindow(env, m, releases)
	} else if paths, err = release.ReleasesIn(releases, m); err != nil {
		err = fmt.Errorf("--releases: %w", err)
	}
	if err != nil {
		return nil, err
	}
	opts := make([]harness.Option, 0, len(paths))
	for _, p := range paths {
		opts = append(opts, harness.Baseline(p))
	}
	return opts, nil
}

func runTest(env *environ, args []string) int {
	var suites suiteFlag
	var update *bool
	dir, opts, code, done := parseRun(env, "test", testHelp, args, func(fl *flag.FlagSet) {
		fl.Var(&suites, "suite", "")
		update = fl.Bool("update", false, "")
	})
	if done {
		return code
	}
	var only []string
	for _, s := range suites {
		switch {
		case s == report.SuiteCompatibility:
			// It runs whenever a baseline is given; alone, without one,
			// it would check nothing and pass.
			if !slices.ContainsFunc(args, func(a string) bool {
				a = strings.TrimLeft(a, "-")
				return strings.HasPrefix(a, "baseline") || strings.HasPrefix(a, "releases")
			}) {
				return fail(env, usageError{"--suite compatibility needs --baseline or --releases: the releases to compare with"})
			}
		case !slices.Contains(harness.AllSuites, s):
			return fail(env, usageError{fmt.Sprintf("--suite %q: use %s or %s", s, strings.Join(harness.AllSuites, ", "), report.SuiteCompatibility)})
		default:
			only = append(only, s)
		}
	}
	if len(suites) > 0 {
		opts = append(opts, harness.Only(only...))
	}
	opts = append(opts, harness.Update(*update), progress(env))
	rep, code := execute(env, dir, *update, opts)
	if rep == nil {
		return code
	}
	printSummary(env, rep)
	if rep.Summary.Status == report.StatusFail {
		return exitFindings
	}
	return exitOK
}

func runGate(env *environ, args []string) int {
	if slices.ContainsFunc(args, isFleetFlag) {
		return runFleetGate(env, args)
	}
	var out, policyFile *string
	dir, opts, code, done := parseRun(env, "gate", gateHelp, args, func(fl *flag.FlagSet) {
		out = fl.String("out", "", "")
		policyFile = fl.String("policy", "", "")
	})
	if done {
		return code
	}
	policy, err := loadPolicy(*policyFile)
	if err != nil {
		return fail(env, err)
	}
	if *out == "" {
		*out = filepath.Join(dir, "report")
	}
	if policy != nil {
		opts = append(opts, harness.WithPolicy(policy))
	}
	rep, code := execute(env, dir, false, append(opts, progress(env)))
	if rep == nil {
		return code
	}
	written, err := writeReports(rep, *out)
	if err != nil {
		return fail(env, err)
	}
	printSummary(env, rep)
	if p := rep.Run.Policy; p.File != "" {
		fmt.Fprintf(env.stdout, "policy: %s (sha256 %.12s), %d findings waived\n", p.File, p.Digest, rep.Summary.Waived)
	}
	fmt.Fprintf(env.stdout, "wrote %s\n", strings.Join(written, ", "))
	if rep.Summary.Status == report.StatusFail {
		fmt.Fprintln(env.stdout, "gate: FAIL")
		return exitFindings
	}
	fmt.Fprintln(env.stdout, "gate: PASS")
	return exitOK
}

// loadPolicy reads --policy; none given is nil: the connector's own
// policy file, else the default.
func loadPolicy(path string) (*report.Policy, error) {
	if path == "" {
		return nil, nil
	}
	return report.LoadPolicy(path)
}

// parseOne parses flags around the one argument a command takes, in any
// order; what names it in the error for a second one, missing is the error
// when there is none.
func parseOne(fl *flag.FlagSet, args []string, what, missing string) (string, error) {
	var dir string
	for {
		if err := fl.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", err
			}
			return "", usageError{err.Error()}
		}
		if fl.NArg() == 0 {
			break
		}
		if dir != "" {
			return "", usageError{fmt.Sprintf("unexpected argument %q: give one %s", fl.Arg(0), what)}
		}
		dir, args = fl.Arg(0), fl.Args()[1:]
	}
	if dir == "" {
		return "", usageError{missing}
	}
	return dir, nil
}

// execute loads and runs the connector, printing what it does; a nil
// report comes with the exit code to end with.
func execute(env *environ, dir string, update bool, opts []harness.Option) (*report.Report, int) {
	c, err := manifest.Load(dir, manifest.ForUpdate(update))
	if err != nil {
		return nil, fail(env, err)
	}
	return runSuites(env, c, opts)
}

// runSuites runs the suites over the loaded connector c, printing what it does;
// a nil report comes with the exit code to end with.
func runSuites(env *environ, c *manifest.Connector, opts []harness.Option) (*report.Report, int) {
	fmt.Fprintf(env.stderr, "tether: %s %s, %d scenario(s)\n", c.Manifest.Name, c.Manifest.Version, len(c.Scenarios))
	ctx, cancel := interruptible(env)
	defer cancel()
	rep, err := harness.Execute(ctx, c, opts...)
	if err != nil {
		return nil, fail(env, err)
	}
	return rep, exitOK
}

func printSummary(env *environ, r *report.Report) {
	for _, f := range r.Findings {
		if f.Level == contracts.LevelInfo {
			continue
		}
		where := f.Suite
		if f.Scenario != "" {
			where += "/" + f.Scenario
		}
		if f.Check != "" {
			where += "/" + f.Check
		}
		waived := ""
		if f.Waived != "" {
			waived = " [waived: " + f.Waived + "]"
		}
		at := f.Position.String()
		if f.Path != "" {
			at += " " + f.Path
		}
		if c := f.ContractShown(); c != "" {
			waived = " [contract " + c + "]" + waived
		}
		fmt.Fprintf(env.stdout, "%s %s: %s %s: %s%s\n", f.Level, where, f.ID, at, f.Message, waived)
	}
	for _, s := range r.Suites {
		fmt.Fprintf(env.stdout, "%-9s %-4s %3d checks, %d failed, %d errors, %d warnings, %s\n", s.Name, s.Status, s.Checks, s.Failed, s.Errors, s.Warnings,
			r.Timings.Suites[s.Name].Round(time.Millisecond))
	}
	for _, line := range r.Coverage.Lines() {
		fmt.Fprintln(env.stdout, line)
	}
	fmt.Fprintf(env.stdout, "%s: %s: %d checks, %d failed; %d errors, %d warnings, %d waived; %s\n", r.Connector.Name, strings.ToUpper(r.Summary.Status),
		r.Summary.Checks, r.Summary.Failed, r.Summary.Errors, r.Summary.Warnings, r.Summary.Waived, r.Timings.Total.Round(time.Millisecond))
}

// writeReports writes every rendering of r into dir, each atomically.
func writeReports(r *report.Report, dir string) ([]string, error) {
	return writeRenderings(dir, []rendering{
		{"report.json", func(w io.Writer) error { return writeBytes(w, r.JSON) }},
		{"timings.json", func(w io.Writer) error { return writeBytes(w, r.TimingsJSON) }},
		{"junit.xml", r.JUnit},
		{"summary.md", r.Markdown},
		{"report.html", r.HTML},
	})
}

// rendering is one file of a report's forms: its name and its writer.
type rendering struct {
	name   string
	render func(w io.Writer) error
}

// writeRenderings writes each rendering into dir, whole or not at all
// (atomically), and returns the paths written.
func writeRenderings(dir string, files []rendering) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	for _, f := range files {
		var buf bytes.Buffer
		if err := f.render(&buf); err != nil {
			return written, fmt.Errorf("render %s: %w", f.name, err)
		}
		p := filepath.Join(dir, f.name)
		if err := atomicfile.WriteBytes(p, 0o644, buf.Bytes()); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}

func writeBytes(w io.Writer, f func() ([]byte, error)) error {
	data, err := f()
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// isFleetFlag reports whether a gate argument is --fleet, which makes the
// gate a fleet's.
func isFleetFlag(a string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
	return strings.HasPrefix(a, "-") && name == "fleet"
}

// runFleetGate is tether gate --fleet: the gate over each connector of a
// fleet directory, or of one shard of it.
func runFleetGate(env *environ, args []string) int {
	fl := newFlags("gate", env, gateHelp)
	var rf runFlags
	rf.register(fl)
	out := fl.String("out", "", "")
	policyFile := fl.String("policy", "", "")
	fleetDir := fl.String("fleet", "", "")
	shardSpec := fl.String("shard", "", "")
	timingsFile := fl.String("timings", "", "")
	rest, code, ok := parseFlags(fl, env, gateHelp, args)
	if !ok {
		return code
	}
	switch {
	case len(rest) > 0:
		return fail(env, usageError{fmt.Sprintf("unexpected argument %q: --fleet gates the connectors in its directory; give no other", rest[0])})
	case *fleetDir == "":
		return fail(env, usageError{"--fleet needs the directory whose folders hold the connectors"})
	case len(rf.baseline) > 0 || rf.releases != "":
		return fail(env, usageError{"--baseline and --releases name one connector's releases; they do not apply to --fleet"})
	case *timingsFile != "" && *shardSpec == "":
		return fail(env, usageError{"--timings balances the slices of --shard K/N; give --shard too"})
	}
	opts, err := rf.options()
	if err != nil {
		return fail(env, err)
	}
	policy, err := loadPolicy(*policyFile)
	if err != nil {
		return fail(env, err)
	}
	if policy != nil {
		opts = append(opts, harness.WithPolicy(policy))
	}
	names, err := fleet.Connectors(*fleetDir)
	if err != nil {
		return fail(env, err)
	}
	pick := names
	var shard *fleet.Shard
	if *shardSpec != "" {
		s, err := fleet.ParseShard(*shardSpec)
		if err != nil {
			return fail(env, usageError{"--shard: " + err.Error()})
		}
		var t fleet.Timings
		if *timingsFile != "" {
			data, err := readBounded(*timingsFile, maxReportFile)
			if err != nil {
				return fail(env, fmt.Errorf("--timings: %w", err))
			}
			if t, err = fleet.ParseTimings(*timingsFile, data); err != nil {
				return fail(env, fmt.Errorf("--timings: %w", err))
			}
		}
		shard, pick = &s, s.Pick(names, t)
	}
	if *out == "" {
		*out = filepath.Join(*fleetDir, "report")
	}
	ctx, cancel := interruptible(env)
	defer cancel()
	fmt.Fprintf(env.stderr, "tether: fleet %s: gating %d of %d connectors\n", *fleetDir, len(pick), len(names))
	timings := fleet.Timings{}
	var results []fleet.GateResult
	for _, name := range pick {
		dir := filepath.Join(*fleetDir, name)
		start := time.Now()
		res, err := gateOne(ctx, env, dir, name, filepath.Join(*out, "connectors", name), append(slices.Clone(opts), progress(env)))
		if ctx.Err() != nil {
			return fail(env, fmt.Errorf("fleet gate interrupted at %s; no fleet report written", name))
		}
		if err != nil {
			res = fleet.ErrorResult(name, err)
		}
		timings[name] = time.Since(start).Seconds()
		fmt.Fprintf(env.stdout, "%-4s %s %s\n", strings.ToUpper(res.Status), name, res.Version)
		results = append(results, res)
	}
	r := fleet.NewGateReport(*fleetDir, names, shard, results)
	written, err := writeFleetReports(r, timings, *out)
	if err != nil {
		return fail(env, err)
	}
	fmt.Fprintf(env.stdout, "%s\nwrote %s\n", r.Line(), strings.Join(written, ", "))
	return fleetExit(r)
}

// gateOne runs the gate over one connector of a fleet and writes its
// reports into out.
func gateOne(ctx context.Context, env *environ, dir, name, out string, opts []harness.Option) (fleet.GateResult, error) {
	c, err := manifest.Load(dir)
	if err != nil {
		return fleet.GateResult{}, err
	}
	fmt.Fprintf(env.stderr, "tether: %s %s, %d scenario(s)\n", c.Manifest.Name, c.Manifest.Version, len(c.Scenarios))
	rep, err := harness.Execute(ctx, c, opts...)
	if err != nil {
		return fleet.GateResult{}, err
	}
	if _, err := writeReports(rep, out); err != nil {
		return fleet.GateResult{}, err
	}
	return fleet.ResultOf(name, rep)
}
