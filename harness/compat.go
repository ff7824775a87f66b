package harness

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/report"
	"github.com/tetherkit/tether/replay"
)

// openBaseline makes spec a connector to load: a directory, itself, or
// for "git:REF" the connector directory at REF, extracted under work with
// git archive; or a bundle, read into memory and loaded from there
// (nothing of it is written to disk), for which fsys is not nil.
func openBaseline(spec, dir, work string) (string, fs.FS, error) {
	if strings.HasSuffix(spec, ".tar.gz") {
		b, err := release.ReadBundle(spec)
		if err != nil {
			return "", nil, fmt.Errorf("baseline %s: %w", spec, err)
		}
		fsys, err := b.FS()
		if err != nil {
			return "", nil, fmt.Errorf("baseline %s: %w", spec, err)
		}
		return spec, fsys, nil
	}
	ref, ok := strings.CutPrefix(spec, "git:")
	if !ok {
		if st, err := os.Stat(spec); err != nil || !st.IsDir() {
			return "", nil, fmt.Errorf("baseline %s: not a directory (give a connector directory, or git:REF)", spec)
		}
		return spec, nil, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	top, err := gitOutput(abs, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", nil, fmt.Errorf("baseline %s: %s is not in a git repository: %w", spec, dir, err)
	}
	top = strings.TrimSpace(top)
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return "", nil, fmt.Errorf("baseline %s: %s is outside the repository %s", spec, dir, top)
	}
	out := filepath.Join(work, "baseline")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", nil, err
	}
	archive := exec.Command("git", "-C", top, "archive", "--format=tar", ref, "--", filepath.ToSlash(rel))
	var stderr bytes.Buffer
	archive.Stderr = &stderr
	tarball, err := archive.Output()
	if err != nil {
		return "", nil, fmt.Errorf("baseline %s: git archive: %v: %s", spec, err, strings.TrimSpace(stderr.String()))
	}
	untar := exec.Command("tar", "-x", "-C", out)
	untar.Stdin = bytes.NewReader(tarball)
	if msg, err := untar.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("baseline %s: unpacking: %v: %s", spec, err, msg)
	}
	return filepath.Join(out, rel), nil, nil
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// compatRun is the compatibility suite's work against one baseline,
// shared by its checks and done once.
type compatRun struct {
	spec  string // as given: a directory, git:REF or a bundle
	label string // names the release in check paths and the matrix
	index int

	once     sync.Once
	baseDir  string
	result   *compat.ReleaseComparison
	baseline *manifest.Connector
	err      error
}

func compatRuns(specs []string) []*compatRun {
	var out []*compatRun
	seen := map[string]int{}
	for i, spec := range specs {
		label := releaseLabel(spec)
		if seen[label]++; seen[label] > 1 {
			label = fmt.Sprintf("%s-%d", label, seen[label])
		}
		out = append(out, &compatRun{spec: spec, label: label, index: i})
	}
	return out
}

// releaseLabel names a baseline by what is left of its spec without the
// path and the bundle suffix: "v1.0.0" for git:v1.0.0, "dealnotify-1.0.0"
// for a bundle of that name.
func releaseLabel(spec string) string {
	if ref, ok := strings.CutPrefix(spec, "git:"); ok {
		return strings.ReplaceAll(ref, "/", "-")
	}
	return strings.TrimSuffix(filepath.Base(filepath.Clean(spec)), ".tar.gz")
}

func (x *execution) compare(r *compatRun) (*compatRun, error) {
	r.once.Do(func() {
		work := filepath.Join(x.work, fmt.Sprintf("baseline-%d", r.index))
		var fsys fs.FS
		if r.baseDir, fsys, r.err = openBaseline(r.spec, x.c.Manifest.Dir, work); r.err != nil {
			return
		}
		// The baseline is loaded once, for the comparison and the replay;
		// the connector is the one this run loaded.
		opts := []manifest.Option{manifest.ForUpdate(true)}
		if fsys != nil {
			opts = append(opts, manifest.ReadFrom(fsys))
		}
		if r.baseline, r.err = manifest.Load(r.baseDir, opts...); r.err != nil {
			r.err = fmt.Errorf("baseline: %w", r.err)
			return
		}
		if r.result, r.err = compat.Compare(r.baseline, x.c); r.err != nil {
			return
		}
		r.result.Baseline = r.label
		// A place in the baseline is named under the release's label.
		for i := range r.result.Changes {
			if old := r.result.Changes[i].Old; old != nil {
				q := r.qualify(*old)
				r.result.Changes[i].Old = &q
			}
		}
	})
	return r, r.err
}

// qualify names a file of the baseline under the release's label, so that
// it is told apart from the connector's own file of the same name.
func (r *compatRun) qualify(p contracts.Position) contracts.Position {
	if p.Known() {
		p.File = r.label + "/" + p.File
	}
	return p
}

// compatChecks plans the compatibility suite. The baseline's scenarios are
// read when the suite runs, so there is one replay check for all of them.
func (x *execution) compatChecks(run *compatRun) []PlannedCheck {
	mk := func(name string, fn func(*compatRun) []report.Finding) PlannedCheck {
		return PlannedCheck{Suite: report.SuiteCompatibility, Scenario: run.label, Name: name, run: func(context.Context) ([]report.Finding, error) {
			r, err := x.compare(run)
			if err != nil {
				return []report.Finding{baselineFinding(r, name, err)}, nil
			}
			fs := fn(r)
			for i := range fs {
				fs[i].Scenario = r.label
			}
			return fs, nil
		}}
	}
	return []PlannedCheck{
		mk(report.CheckContractChanges, func(r *compatRun) []report.Finding {
			return x.changeFindings(r, report.CheckContractChanges, isContractChange)
		}),
		mk(report.CheckConfigChanges, func(r *compatRun) []report.Finding {
			return x.changeFindings(r, report.CheckConfigChanges, func(c contracts.Change) bool { return strings.HasPrefix(c.ID, "config-") })
		}),
		mk(report.CheckManifestChanges, func(r *compatRun) []report.Finding {
			return x.changeFindings(r, report.CheckManifestChanges, func(c contracts.Change) bool { return strings.HasPrefix(c.ID, "manifest-") })
		}),
		mk(report.CheckSemver, func(r *compatRun) []report.Finding {
			if r.result.Satisfied {
				return nil
			}
			f := newFinding(RuleVersionBumpInsufficient, x.c.Manifest.Position("version"),
				bumpMessage(r.result.Version, r.result.BaselineVersion, r.result.RequiredBump, r.result.Why))
			f.Suite, f.Check = report.SuiteCompatibility, report.CheckSemver
			return []report.Finding{f}
		}),
		mkReplay(x, run),
	}
}

func mkReplay(x *execution, run *compatRun) PlannedCheck {
	return PlannedCheck{Suite: report.SuiteCompatibility, Scenario: run.label, Name: report.CheckBaselineReplay, run: func(ctx context.Context) ([]report.Finding, error) {
		r, err := x.compare(run)
		if err != nil {
			return []report.Finding{baselineFinding(r, report.CheckBaselineReplay, err)}, nil
		}
		return x.baselineReplay(ctx, r)
	}}
}

// baselineFinding reports a baseline that could not be read or compared:
// each of its checks fails with the reason, and the other releases are
// still compared.
func baselineFinding(r *compatRun, check string, err error) report.Finding {
	f := newFinding(RuleBaselineUnreadable, contracts.Position{}, fmt.Sprintf("baseline %s: %v", r.spec, err))
	f.Suite, f.Scenario, f.Check = report.SuiteCompatibility, r.label, check
	return f
}

func isContractChange(c contracts.Change) bool {
	return !strings.HasPrefix(c.ID, "config-") && !strings.HasPrefix(c.ID, "manifest-")
}

// changeFindings turns changes into findings. A contract change that does
// not affect the connector is folded: one info finding per ID.
func (x *execution) changeFindings(r *compatRun, check string, keep func(contracts.Change) bool) []report.Finding {
	var out []report.Finding
	folded := map[string]int{}
	for _, c := range r.result.Changes {
		if !keep(c) {
			continue
		}
		if c.Affects == contracts.AffectsElsewhere {
			folded[c.ID]++
			continue
		}
		f := report.Finding{Finding: c.Finding(), Suite: report.SuiteCompatibility, Check: check}
		if op := c.Operation(); op != "" {
			f.Message = op + ": " + c.Message
		}
		if c.New == nil && c.Old != nil {
			f.Position = *c.Old
		}
		out = append(out, f)
	}
	for _, id := range slices.Sorted(maps.Keys(folded)) {
		rule, _ := contracts.RuleFor(id)
		f := report.Finding{Finding: contracts.Finding{ID: id, Level: contracts.LevelInfo,
			Message: fmt.Sprintf("%d × %s in parts of the vendor APIs the connector does not use", folded[id], id)}, Suite: report.SuiteCompatibility, Check: check}
		f.Hint = rule.Hint
		out = append(out, f)
	}
	return out
}

// baselineReplay runs the baseline's scenarios against this connector:
// calls must validate against the current vendor contracts, and match the
// baseline's golden files, unless this release declares the change by an
// updated golden file of its own for the scenario that the calls match.
func (x *execution) baselineReplay(ctx context.Context, r *compatRun) ([]report.Finding, error) {
	own := map[string]*manifest.Scenario{}
	for _, sc := range x.c.Scenarios {
		own[sc.Name] = sc
	}
	scenarios := r.baseline.Scenarios
	results := make([]*ScenarioResult, len(scenarios))
	err := x.parallel(len(scenarios), func(i int) error {
		sc := *scenarios[i]
		sc.Name = r.label + "-" + sc.Name
		dir := filepath.Join(x.work, fmt.Sprintf("run-%d", x.seq.Add(1)))
		defer os.RemoveAll(dir)
		res, err := runScenario(ctx, x.c, &scenarioRun{Scenario: &sc, from: r.baseline}, x.start, dir, x.o)
		results[i] = res
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []report.Finding
	for i, res := range results {
		name := scenarios[i].Name
		for _, f := range append(replayFindings(res), x.scenarioContract(CheckOutboundCalls, res)...) {
			if f.Check == CheckGolden && x.declared(own[name], res) {
				f.Level = contracts.LevelInfo
				f.Message = "declared: this release's own golden file for the scenario holds the new calls; " + f.Message
			}
			if f.Check != CheckOutboundCalls {
				f.Position = r.qualify(f.Position) // a file of the baseline's scenario
			}
			f.Suite, f.Check, f.Scenario = report.SuiteCompatibility, report.CheckBaselineReplay, r.label
			f.Message = "scenario " + name + ": " + f.Message
			out = append(out, f)
		}
	}
	return out, nil
}

// declared reports whether the connector's own scenario of the same name
// has a golden file equal to the calls the baseline's scenario produced.
func (x *execution) declared(own *manifest.Scenario, res *ScenarioResult) bool {
	if own == nil || own.Expect.Golden == "" {
		return false
	}
	want, ok := x.c.Golden[own.Expect.Golden]
	if !ok {
		return false
	}
	return len(replay.Compare(want, res.Calls, own.IgnoreOptions()...)) == 0
}

// bumpMessage says once why a version does not rise enough: the
// comparison's reason when it gives one, else the bump the changes need.
func bumpMessage(version, baseline, required, why string) string {
	if why == "" {
		why = "the changes need a " + required + " release"
	}
	return fmt.Sprintf("version %s after %s: %s", version, baseline, why)
}
