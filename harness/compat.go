package harness

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/replay"
)

// SuiteCompatibility compares the connector with an earlier release of
// itself; it runs only when a baseline is given ([Baseline]).
const SuiteCompatibility = "compatibility"

// Checks of the compatibility suite.
const (
	CheckContractChanges = "contract-changes" // vendor contract changes that affect the connector
	CheckConfigChanges   = "config-changes"   // configurations of the baseline still accepted
	CheckManifestChanges = "manifest-changes" // scopes, events, vendors, support
	CheckSemver          = "semver"           // the version rises as much as the changes need
	CheckBaselineReplay  = "baseline-replay"  // the baseline's scenarios against this connector
)

// Baseline adds the compatibility suite, comparing the connector with an
// earlier release: a directory, a release bundle (.tar.gz), or "git:REF"
// for the connector's directory at REF of the repository it is in, read
// without touching the work tree. Give it once per release to compare
// with, newest first: each is a row of the compatibility matrix.
func Baseline(spec string) Option {
	return func(o *options) { o.baselines = append(o.baselines, spec) }
}

// ReleaseComparison is the compatibility suite's verdict, in the report.
type ReleaseComparison struct {
	Baseline        string `json:"baseline"`
	BaselineVersion string `json:"baseline_version"`
	Version         string `json:"version"`
	RequiredBump    string `json:"required_bump"` // none, patch, minor or major
	Satisfied       bool   `json:"satisfied"`
	Why             string `json:"why,omitempty"`
	// Changes holds every change found, contract changes marked with
	// whether they affect the connector.
	Changes []contracts.Change `json:"changes"`
}

// CompareReleases compares the connector in dir with the release in
// baseDir: each vendor contract (changes marked by what the connector
// uses), the configuration schema (with the baseline's scenario and
// generated configurations), the manifest, and the version rule.
func CompareReleases(baseDir, dir string) (*ReleaseComparison, error) {
	old, err := Load(baseDir, true)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	cur, err := Load(dir, true)
	if err != nil {
		return nil, err
	}
	return compareReleases(old, cur)
}

// compareReleases is [CompareReleases] on connectors already loaded.
func compareReleases(old, cur *Connector) (*ReleaseComparison, error) {
	res := &ReleaseComparison{BaselineVersion: old.Manifest.Version, Version: cur.Manifest.Version, Changes: []contracts.Change{}}
	compared := map[string]bool{}
	for _, vendor := range slices.Sorted(maps.Keys(cur.Manifest.Vendors)) {
		ov, ok := old.Manifest.Vendors[vendor]
		if !ok {
			continue // a new vendor is the manifest check's
		}
		oldPath, newPath := old.Manifest.Path(ov.Contract), cur.Manifest.Path(cur.Manifest.Vendors[vendor].Contract)
		if compared[oldPath+"\x00"+newPath] {
			continue
		}
		compared[oldPath+"\x00"+newPath] = true
		changes, err := contracts.CompareFiles(oldPath, newPath)
		if err != nil {
			return nil, err
		}
		// What the connector uses is read from the baseline: its
		// recordings were made against the old contract.
		usage, err := usageOf(old, ov.Contract)
		if err != nil {
			return nil, err
		}
		usage.Mark(changes)
		res.Changes = append(res.Changes, changes...)
	}
	if oe, ne := old.Manifest.Path(old.Manifest.Events.Contract), cur.Manifest.Path(cur.Manifest.Events.Contract); !compared[oe+"\x00"+ne] {
		changes, err := contracts.CompareFiles(oe, ne)
		if err != nil {
			return nil, err
		}
		usage, err := usageOf(old, old.Manifest.Events.Contract)
		if err != nil {
			return nil, err
		}
		usage.Mark(changes)
		// A webhook gone is the manifest check's (an event dropped);
		// here are the changes to the payloads that remain.
		for _, c := range changes {
			if c.Webhook != "" && c.ID != "webhook-removed" && c.ID != "webhook-added" {
				res.Changes = append(res.Changes, c)
			}
		}
	}
	if old.Manifest.Config.Schema != "" && cur.Manifest.Config.Schema != "" {
		changes, err := CompareConfigSchemas(old.Manifest.Path(old.Manifest.Config.Schema), cur.Manifest.Path(cur.Manifest.Config.Schema), ScenarioConfigs(old.Scenarios))
		if err != nil {
			return nil, err
		}
		res.Changes = append(res.Changes, changes...)
	}
	res.Changes = append(res.Changes, CompareManifests(old.Manifest, cur.Manifest)...)
	bump := RequiredBump(res.Changes)
	res.RequiredBump = bump.String()
	res.Satisfied, res.Why = CheckBump(res.BaselineVersion, res.Version, bump)
	return res, nil
}

// openBaseline makes spec a directory: itself, or for "git:REF" the
// connector directory at REF, extracted under work with git archive.
func openBaseline(spec, dir, work string) (string, error) {
	if strings.HasSuffix(spec, ".tar.gz") {
		b, err := ReadBundle(spec)
		if err != nil {
			return "", fmt.Errorf("baseline %s: %w", spec, err)
		}
		if err := b.Extract(work); err != nil {
			return "", fmt.Errorf("baseline %s: %w", spec, err)
		}
		return work, nil
	}
	ref, ok := strings.CutPrefix(spec, "git:")
	if !ok {
		if st, err := os.Stat(spec); err != nil || !st.IsDir() {
			return "", fmt.Errorf("baseline %s: not a directory (give a connector directory, or git:REF)", spec)
		}
		return spec, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	top, err := gitOutput(abs, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", fmt.Errorf("baseline %s: %s is not in a git repository: %w", spec, dir, err)
	}
	top = strings.TrimSpace(top)
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return "", fmt.Errorf("baseline %s: %s is outside the repository %s", spec, dir, top)
	}
	out := filepath.Join(work, "baseline")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	archive := exec.Command("git", "-C", top, "archive", "--format=tar", ref, "--", filepath.ToSlash(rel))
	var stderr bytes.Buffer
	archive.Stderr = &stderr
	tarball, err := archive.Output()
	if err != nil {
		return "", fmt.Errorf("baseline %s: git archive: %v: %s", spec, err, strings.TrimSpace(stderr.String()))
	}
	untar := exec.Command("tar", "-x", "-C", out)
	untar.Stdin = bytes.NewReader(tarball)
	if msg, err := untar.CombinedOutput(); err != nil {
		return "", fmt.Errorf("baseline %s: unpacking: %v: %s", spec, err, msg)
	}
	return filepath.Join(out, rel), nil
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
	result   *ReleaseComparison
	baseline *Connector
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
		if r.baseDir, r.err = openBaseline(r.spec, x.c.Manifest.Dir, work); r.err != nil {
			return
		}
		// The baseline is loaded once, for the comparison and the replay;
		// the connector is the one this run loaded.
		if r.baseline, r.err = Load(r.baseDir, true); r.err != nil {
			r.err = fmt.Errorf("baseline: %w", r.err)
			return
		}
		if r.result, r.err = compareReleases(r.baseline, x.c); r.err != nil {
			return
		}
		r.result.Baseline = r.label
		for i := range r.result.Changes {
			c := &r.result.Changes[i]
			for _, p := range []*contracts.Position{c.Old, c.New} {
				if p != nil {
					p.File = x.relAny(r, p.File)
				}
			}
			c.Message = x.relText(r, c.Message)
		}
	})
	return r, r.err
}

// ReleaseRow is one row of the compatibility matrix: a baseline release
// and the status (pass or fail) of each part of the comparison with it.
type ReleaseRow struct {
	Release  string `json:"release"`
	Version  string `json:"version"`
	Contract string `json:"contract"`
	Config   string `json:"config"`
	Manifest string `json:"manifest"`
	Replay   string `json:"replay"`
	Semver   string `json:"semver"`
}

// Passed reports whether every part of the row passed.
func (w ReleaseRow) Passed() bool {
	for _, s := range []string{w.Contract, w.Config, w.Manifest, w.Replay, w.Semver} {
		if s != StatusPass {
			return false
		}
	}
	return true
}

// fill sets the row's statuses from the compatibility checks of its
// release; a check that is missing (it could not run) is a fail.
func (row *ReleaseRow) fill(checks []Check) {
	cols := map[string]*string{CheckContractChanges: &row.Contract, CheckConfigChanges: &row.Config,
		CheckManifestChanges: &row.Manifest, CheckBaselineReplay: &row.Replay, CheckSemver: &row.Semver}
	for _, ch := range checks {
		if ch.Suite == SuiteCompatibility && ch.Scenario == row.Release {
			if col, ok := cols[ch.Name]; ok {
				*col = ch.Status
			}
		}
	}
	for _, col := range cols {
		if *col == "" {
			*col = StatusFail
		}
	}
}

// compatChecks plans the compatibility suite. The baseline's scenarios are
// read when the suite runs, so there is one replay check for all of them.
func (x *execution) compatChecks(run *compatRun) []PlannedCheck {
	mk := func(name string, fn func(*compatRun) []Finding) PlannedCheck {
		return PlannedCheck{Suite: SuiteCompatibility, Scenario: run.label, Name: name, run: func(context.Context) ([]Finding, error) {
			r, err := x.compare(run)
			if err != nil {
				return []Finding{baselineFinding(r, name, err)}, nil
			}
			fs := fn(r)
			for i := range fs {
				fs[i].Scenario = r.label
			}
			return fs, nil
		}}
	}
	return []PlannedCheck{
		mk(CheckContractChanges, func(r *compatRun) []Finding { return x.changeFindings(r, CheckContractChanges, isContractChange) }),
		mk(CheckConfigChanges, func(r *compatRun) []Finding {
			return x.changeFindings(r, CheckConfigChanges, func(c contracts.Change) bool { return strings.HasPrefix(c.ID, "config-") })
		}),
		mk(CheckManifestChanges, func(r *compatRun) []Finding {
			return x.changeFindings(r, CheckManifestChanges, func(c contracts.Change) bool { return strings.HasPrefix(c.ID, "manifest-") })
		}),
		mk(CheckSemver, func(r *compatRun) []Finding {
			if r.result.Satisfied {
				return nil
			}
			return []Finding{{ID: "version-bump-insufficient", Level: LevelError, Suite: SuiteCompatibility, Check: CheckSemver,
				Location: x.rel(x.c.Manifest.File),
				Message: fmt.Sprintf("version %s after %s: the changes need a %s bump; %s",
					r.result.Version, r.result.BaselineVersion, r.result.RequiredBump, r.result.Why)}}
		}),
		mkReplay(x, run),
	}
}

func mkReplay(x *execution, run *compatRun) PlannedCheck {
	return PlannedCheck{Suite: SuiteCompatibility, Scenario: run.label, Name: CheckBaselineReplay, run: func(ctx context.Context) ([]Finding, error) {
		r, err := x.compare(run)
		if err != nil {
			return []Finding{baselineFinding(r, CheckBaselineReplay, err)}, nil
		}
		return x.baselineReplay(ctx, r)
	}}
}

// baselineFinding reports a baseline that could not be read or compared:
// each of its checks fails with the reason, and the other releases are
// still compared.
func baselineFinding(r *compatRun, check string, err error) Finding {
	return Finding{ID: "baseline-unreadable", Level: LevelError, Suite: SuiteCompatibility, Scenario: r.label, Check: check,
		Message: fmt.Sprintf("baseline %s: %v", r.spec, err), Hint: "give a connector directory, git:REF or a release bundle"}
}

func isContractChange(c contracts.Change) bool {
	return !strings.HasPrefix(c.ID, "config-") && !strings.HasPrefix(c.ID, "manifest-")
}

// changeFindings turns changes into findings. A contract change that does
// not affect the connector is folded: one info finding per ID.
func (x *execution) changeFindings(r *compatRun, check string, keep func(contracts.Change) bool) []Finding {
	var out []Finding
	folded := map[string]int{}
	for _, c := range r.result.Changes {
		if !keep(c) {
			continue
		}
		if c.Affects == contracts.AffectsElsewhere {
			folded[c.ID]++
			continue
		}
		at := c.New
		if at == nil {
			at = c.Old
		}
		loc := ""
		if at != nil {
			loc = x.relAny(r, at.File)
			if at.Line > 0 {
				loc += fmt.Sprintf(":%d", at.Line)
			}
		}
		msg := c.Message
		if op := c.Operation(); op != "" {
			msg = op + ": " + msg
		}
		out = append(out, Finding{ID: c.ID, Level: c.Severity.String(), Suite: SuiteCompatibility, Check: check, Location: loc, Message: msg})
	}
	for _, id := range slices.Sorted(maps.Keys(folded)) {
		out = append(out, Finding{ID: id, Level: LevelInfo, Suite: SuiteCompatibility, Check: check,
			Message: fmt.Sprintf("%d × %s in parts of the vendor APIs the connector does not use", folded[id], id)})
	}
	return out
}

// relAny names a file relative to the connector, or to the baseline, or
// by its base name.
func (x *execution) relAny(r *compatRun, p string) string {
	if !filepath.IsAbs(p) {
		return filepath.ToSlash(p)
	}
	if rel, err := filepath.Rel(r.baseDir, p); err == nil && filepath.IsLocal(rel) {
		return r.label + "/" + filepath.ToSlash(rel)
	}
	if abs, err := filepath.Abs(x.c.Manifest.Dir); err == nil {
		if rel, err := filepath.Rel(abs, p); err == nil && filepath.IsLocal(rel) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.Base(p)
}

// relText rewrites the absolute paths of the baseline and the connector
// in a message as relAny names them.
func (x *execution) relText(r *compatRun, msg string) string {
	if abs, err := filepath.Abs(r.baseDir); err == nil {
		msg = strings.ReplaceAll(msg, abs+string(filepath.Separator), r.label+"/")
	}
	if abs, err := filepath.Abs(x.c.Manifest.Dir); err == nil {
		msg = strings.ReplaceAll(msg, abs+string(filepath.Separator), "")
	}
	return msg
}

// relLocation is relAny for a location that may end in :line[:col].
func (x *execution) relLocation(r *compatRun, loc string) string {
	path, rest := loc, ""
	for i := 0; i < 2; i++ {
		j := strings.LastIndexByte(path, ':')
		if j < 0 || strings.Trim(path[j+1:], "0123456789") != "" || j == len(path)-1 {
			break
		}
		path, rest = path[:j], path[j:]+rest
	}
	if path == "" {
		return loc
	}
	return x.relAny(r, path) + rest
}

// baselineReplay runs the baseline's scenarios against this connector:
// calls must validate against the current vendor contracts, and match the
// baseline's golden files, unless this release declares the change by an
// updated golden file of its own for the scenario that the calls match.
func (x *execution) baselineReplay(ctx context.Context, r *compatRun) ([]Finding, error) {
	own := map[string]*Scenario{}
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
		res, err := runScenario(ctx, x.c, &sc, x.start, dir, x.o)
		results[i] = res
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []Finding
	for i, res := range results {
		name := scenarios[i].Name
		for _, f := range append(replayFindings(res), x.scenarioContract(CheckOutboundCalls, res)...) {
			if f.Check == CheckGolden && declared(own[name], res) {
				f.Level = LevelInfo
				f.Message = "declared: this release's own golden file for the scenario holds the new calls; " + f.Message
			}
			f.Suite, f.Check, f.Scenario = SuiteCompatibility, CheckBaselineReplay, r.label
			f.Message = "scenario " + name + ": " + x.relText(r, f.Message)
			f.Location = x.relLocation(r, f.Location)
			out = append(out, f)
		}
	}
	return out, nil
}

// declared reports whether the connector's own scenario of the same name
// has a golden file equal to the calls the baseline's scenario produced.
func declared(own *Scenario, res *ScenarioResult) bool {
	if own == nil || own.Expect.Golden == "" {
		return false
	}
	want, err := replay.LoadGolden(own.Expect.Golden)
	if err != nil {
		return false
	}
	return len(replay.Compare(want, res.Calls, own.ignoreOptions()...)) == 0
}
