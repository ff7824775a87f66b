package harness

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetherkit/tether/harness/report"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.* with what the renderers write now")

// checkGoldenReports renders the report of an example connector's run in
// every format people and CI systems read, and compares each with
// testdata/<name>.golden.<format>; -update rewrites them. The versions of
// the tools and the times are fixed first: they are of the machine, not of
// the connector.
func checkGoldenReports(t *testing.T, name string, r *report.Report) {
	t.Helper()
	fixed := *r
	fixed.Tools = report.Tools{Tether: "(devel)", Go: "go", Modules: map[string]string{}}
	fixed.Timings = report.Timings{}
	for _, f := range []struct {
		ext    string
		render func(w io.Writer) error
	}{
		{"report.json", func(w io.Writer) error {
			data, err := fixed.JSON()
			w.Write(data)
			return err
		}},
		{"summary.md", fixed.Markdown},
		{"junit.xml", fixed.JUnit},
		{"report.html", fixed.HTML},
	} {
		var got bytes.Buffer
		if err := f.render(&got); err != nil {
			t.Fatalf("%s: render %s: %v", name, f.ext, err)
		}
		path := filepath.Join("testdata", name+".golden."+f.ext)
		if *update {
			if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./harness -run ExamplesAreClean -update to write it)", err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s's %s differs from %s; if the change is meant, run with -update and review the diff", name, f.ext, path)
		}
	}
}
