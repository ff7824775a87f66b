package harness

import (
	"bytes"
	"context"
	"testing"

	"github.com/tetherkit/tether/connectors/dealnotify"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
)

// The same inputs and seed give a byte-identical JSON report, though the
// runs behind it are concurrent and take different times.
func TestReportIsDeterministic(t *testing.T) {
	c, err := manifest.Load(dealnotifyDir)
	if err != nil {
		t.Fatal(err)
	}
	var reports [][]byte
	for range 2 {
		r, err := Execute(context.Background(), c, Drive(InProcess(dealnotify.Setup)), Parallel(8))
		if err != nil {
			t.Fatal(err)
		}
		data, err := r.JSON()
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, data)
		if r.Summary.Status != report.StatusPass {
			t.Errorf("the example fails its gate: %+v", r.Summary)
		}
		if r.Timings.Total == 0 || r.Timings.Suites[report.SuiteReplay] == 0 {
			t.Errorf("timings not kept: %+v", r.Timings)
		}
	}
	if !bytes.Equal(reports[0], reports[1]) {
		t.Errorf("two runs gave different reports:\n%s\n---\n%s", reports[0], reports[1])
	}
	if bytes.Contains(reports[0], []byte("took")) || bytes.Contains(reports[0], []byte("_ns")) {
		t.Error("the JSON report holds timings")
	}
}
