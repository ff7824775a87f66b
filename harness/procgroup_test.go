//go:build unix

package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
)

// TestWrappedCommandStops runs a connector whose run.command is a shell
// that starts it in the background: stopping the shell alone would leave
// the connector running and holding the output, and the run would hang.
func TestWrappedCommandStops(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example as a process; the plain pass runs it")
	}
	work := t.TempDir()
	bin := filepath.Join(work, "dealnotify-bin")
	build := exec.Command("go", "build", "-o", bin, "./cmd/dealnotify")
	build.Dir = dealnotifyDir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build dealnotify: %v\n%s", err, out)
	}
	dir := copyDir(t, dealnotifyDir)
	edit(t, dir, "connector.yaml", `command: [go, run, ./cmd/dealnotify, --config, "{config}"]`,
		`command: [sh, -c, "'`+bin+`' --config '{config}' & wait"]`)
	scenarios, err := filepath.Glob(filepath.Join(dir, "scenarios", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scenarios {
		if filepath.Base(s) != "won.yaml" {
			os.Remove(s)
		}
	}
	c, err := manifest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Execute(context.Background(), c, Drive(Process()), Only(report.SuiteReplay))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if strings.Contains(f.Message, "did not stop") || f.Level == contracts.LevelError {
			t.Errorf("%s: %s", f.ID, f.Message)
		}
	}
	if out, _ := exec.Command("pgrep", "-f", bin).Output(); len(out) > 0 {
		t.Errorf("the connector is still running after the run: pids %s", out)
	}
}
