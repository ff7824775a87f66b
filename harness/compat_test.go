package harness

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tetherkit/tether/connectors/dealnotify"
	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
)

// edit replaces old by new in a file of a connector copy, failing when the
// text is not there.
func edit(t *testing.T, dir, file, old, new string) {
	t.Helper()
	p := filepath.Join(dir, file)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s has no %q", file, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReleaseComparisonCatchesBreaks compares dealnotify 1.0.0 with a
// 1.0.1 that breaks one thing, and checks the change is caught with the
// right ID, is marked as affecting the connector where it is a contract
// change, and needs the right bump.
func TestReleaseComparisonCatchesBreaks(t *testing.T) {
	cases := []struct {
		name           string
		file, from, to string
		id             string
		affects        string
		bump           compat.Bump
	}{
		{"removed config field", "config.schema.json", `"template": {`, `"template_text": {`, compat.RuleConfigFieldRemoved, "", compat.BumpMajor},
		{"new required config field without a default", "config.schema.json", `"required": ["channel", "stages"],`, `"required": ["channel", "stages", "workspace"],
  "dependentRequired": {},`, "", "", compat.BumpNone},
		{"vendor contract change to a field the connector reads", "contracts/crm.openapi.yaml", "amount: {type: number, minimum: 0}", "amount: {type: string}", "response-property-type-changed", contracts.AffectsConnector, compat.BumpMajor},
		{"vendor contract change elsewhere", "contracts/crm.openapi.yaml", "      required: [data, next_cursor]", "      required: [data]", "response-property-became-optional", contracts.AffectsElsewhere, compat.BumpPatch},
		{"new scope", "connector.yaml", "scopes: [deals:read, chat:write]", "scopes: [deals:read, deals:write, chat:write]", compat.RuleManifestScopeAdded, "", compat.BumpMinor},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := copyDir(t, dealnotifyDir)
			cur := copyDir(t, dealnotifyDir)
			edit(t, cur, "connector.yaml", "version: 1.0.0", "version: 1.0.1")
			if tc.id == "" {
				// A new required field with no default: add it, so the
				// old configurations lack it.
				edit(t, cur, "config.schema.json", `"properties": {`, `"properties": {
    "workspace": {"type": "string"},`)
				// This release's own scenarios set it; the baseline's do not.
				files, _ := filepath.Glob(filepath.Join(cur, "scenarios", "*.yaml"))
				for _, f := range files {
					edit(t, filepath.Dir(f), filepath.Base(f), "  channel:", "  workspace: w1\n  channel:")
				}
				tc.id = compat.RuleConfigRequiredFieldAdded
				tc.bump = compat.BumpMajor
			}
			edit(t, cur, tc.file, tc.from, tc.to)
			res, err := compareDirs(base, cur)
			if err != nil {
				t.Fatal(err)
			}
			var affects []string
			for _, c := range res.Changes {
				if c.ID == tc.id {
					affects = append(affects, c.Affects)
				}
			}
			if len(affects) == 0 {
				t.Fatalf("no %s among:\n%s", tc.id, changesOf(res))
			}
			// A change the connector meets is marked so on the operation
			// it calls; one elsewhere is marked elsewhere on every one.
			switch tc.affects {
			case contracts.AffectsConnector:
				if !slices.Contains(affects, contracts.AffectsConnector) {
					t.Errorf("%s marked %v, want one marked connector", tc.id, affects)
				}
			case contracts.AffectsElsewhere:
				for _, a := range affects {
					if a != contracts.AffectsElsewhere {
						t.Errorf("%s marked %v, want all elsewhere", tc.id, affects)
					}
				}
			}
			if res.RequiredBump != tc.bump.String() {
				t.Errorf("required bump %s, want %s:\n%s", res.RequiredBump, tc.bump, changesOf(res))
			}
			if wantOK := tc.bump <= compat.BumpPatch; res.Satisfied != wantOK {
				t.Errorf("1.0.0 -> 1.0.1 satisfied=%v, want %v (%s)", res.Satisfied, wantOK, res.Why)
			}
		})
	}
}

func changesOf(r *compat.ReleaseComparison) string {
	var b strings.Builder
	for _, c := range r.Changes {
		b.WriteString("  " + c.String() + " [" + c.Affects + "]\n")
	}
	return b.String()
}

// TestCompatibilitySuitePasses runs the compatibility suite on dealnotify
// against an earlier release of itself (0.9.0, the same files): it passes,
// the baseline's scenarios replay against the current connector, and the
// report carries the verdict.
func TestCompatibilitySuitePasses(t *testing.T) {
	base := copyDir(t, dealnotifyDir)
	edit(t, base, "connector.yaml", "version: 1.0.0", "version: 0.9.0")
	c, err := manifest.Load(dealnotifyDir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Execute(context.Background(), c, Drive(InProcess(dealnotify.Setup)), Only(), Baseline(base))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Errors > 0 {
		t.Fatalf("errors: %+v", rep.Findings)
	}
	if rep.Compatibility == nil || rep.Compatibility.BaselineVersion != "0.9.0" || !rep.Compatibility.Satisfied {
		t.Fatalf("compatibility: %+v", rep.Compatibility)
	}
	checks := 0
	for _, ch := range rep.Checks {
		if ch.Suite == report.SuiteCompatibility {
			checks++
		}
	}
	if checks != 5 {
		t.Errorf("%d compatibility checks, want 5", checks)
	}
	if len(rep.Releases) != 1 || !rep.Releases[0].Passed() || rep.Releases[0].Version != "0.9.0" {
		t.Errorf("matrix: %+v", rep.Releases)
	}

	// The baseline pinned other calls for "won" (as if 0.9.0 posted
	// another text). This release's own golden file holds the new calls,
	// which declares the change: an info finding. Without that scenario
	// of its own, nothing declares it: an error.
	edit(t, base, "golden/won.json", "moved to won", "is now won")
	for _, drop := range []bool{false, true} {
		dir := dealnotifyDir
		if drop {
			dir = copyDir(t, dealnotifyDir)
			if err := os.Remove(filepath.Join(dir, "scenarios", "won.yaml")); err != nil {
				t.Fatal(err)
			}
		}
		c, err := manifest.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Execute(context.Background(), c, Drive(InProcess(dealnotify.Setup)), Only(), Baseline(base))
		if err != nil {
			t.Fatal(err)
		}
		level := contracts.Level(-1)
		checkRegistered(t, rep.Findings)
		for _, f := range rep.Findings {
			if f.Check == report.CheckBaselineReplay && strings.HasPrefix(f.Message, "scenario won: ") && f.ID == "golden-mismatch" {
				level = f.Level
			}
		}
		want := contracts.LevelInfo
		if drop {
			want = contracts.LevelError
		}
		if level != want {
			t.Errorf("scenario dropped=%v: golden finding level %q, want %q: %+v", drop, level, want, rep.Findings)
		}
		// Places are named relative to the connector or the baseline,
		// never by a temporary directory, so reports stay comparable.
		// (The connector's own directory is reported as given.)
		data, err := json.Marshal([]any{rep.Findings, rep.Compatibility, rep.Releases})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), os.TempDir()) {
			t.Errorf("the report names a temporary path:\n%s", data)
		}
	}
}

// TestGitBaseline reads the baseline from a tag without touching the work
// tree.
func TestGitBaseline(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	conn := filepath.Join(repo, "connectors", "dealnotify")
	if err := os.MkdirAll(filepath.Dir(conn), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(copyDir(t, dealnotifyDir), conn); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-qm", "one")
	git("tag", "v1.0.0")
	edit(t, conn, "connector.yaml", "version: 1.0.0", "version: 1.1.0")
	edit(t, conn, "connector.yaml", "scopes: [deals:read, chat:write]", "scopes: [deals:read, deals:write, chat:write]")

	dir, _, err := openBaseline("git:v1.0.0", conn, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Read(dir)
	if err != nil || m.Version != "1.0.0" {
		t.Fatalf("baseline manifest: %v %v", m, err)
	}
	res, err := compareDirs(dir, conn)
	if err != nil {
		t.Fatal(err)
	}
	if res.RequiredBump != compat.BumpMinor.String() || !res.Satisfied {
		t.Errorf("1.0.0 -> 1.1.0 with a new scope: %s %v %s", res.RequiredBump, res.Satisfied, res.Why)
	}
	cur, _ := os.ReadFile(filepath.Join(conn, "connector.yaml"))
	if !strings.Contains(string(cur), "version: 1.1.0") {
		t.Error("the work tree was changed")
	}
	if _, _, err := openBaseline("git:no-such-tag", conn, t.TempDir()); err == nil || !strings.Contains(err.Error(), "no-such-tag") {
		t.Errorf("unknown ref: %v", err)
	}
}

// compareDirs compares the connector in dir with the release in baseDir.
func compareDirs(baseDir, dir string) (*compat.ReleaseComparison, error) {
	old, err := manifest.Load(baseDir, manifest.ForUpdate(true))
	if err != nil {
		return nil, err
	}
	cur, err := manifest.Load(dir, manifest.ForUpdate(true))
	if err != nil {
		return nil, err
	}
	return compat.Compare(old, cur)
}

// The version-bump finding says what is needed once.
func TestBumpMessageSaysItOnce(t *testing.T) {
	got := bumpMessage("1.0.1", "1.0.0", "major", "the changes need a major release, but 1.0.0 to 1.0.1 is a patch release")
	if want := "version 1.0.1 after 1.0.0: the changes need a major release, but 1.0.0 to 1.0.1 is a patch release"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := bumpMessage("2.0.0", "1.0.0", "major", ""); got != "version 2.0.0 after 1.0.0: the changes need a major release" {
		t.Errorf("without a reason: %q", got)
	}
}

// TestProgressShowsTheReportedSuites: a run of the compatibility suite
// alone reports no replay finding, so its progress shows no scenario as
// failing for one; a replay run of the same connector does.
func TestProgressShowsTheReportedSuites(t *testing.T) {
	base := copyDir(t, dealnotifyDir)
	edit(t, base, "connector.yaml", "version: 1.0.0", "version: 0.9.0")
	dir := copyDir(t, dealnotifyDir)
	edit(t, dir, "golden/won.json", "moved to won", "is now won")
	c, err := manifest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, replay := range []bool{false, true} {
		var mu sync.Mutex
		var failed []string
		progress := OnScenario(func(r ScenarioResult) {
			mu.Lock()
			defer mu.Unlock()
			if r.Failed() {
				failed = append(failed, r.Scenario.Name)
			}
		})
		suites := Only()
		if replay {
			suites = Only(report.SuiteReplay)
		}
		rep, err := Execute(context.Background(), c, Drive(InProcess(dealnotify.Setup)), suites, Baseline(base), progress)
		if err != nil {
			t.Fatal(err)
		}
		if replay {
			if !slices.Contains(failed, "won") || rep.Summary.Errors == 0 {
				t.Errorf("replay run: progress failed %v, %d errors; want won failing in both", failed, rep.Summary.Errors)
			}
			continue
		}
		if len(failed) > 0 {
			t.Errorf("compatibility run: progress shows %v failing, the report has %d errors: %+v", failed, rep.Summary.Errors, rep.Findings)
		}
	}
}
