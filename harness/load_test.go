package harness

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/tetherkit/tether/connectors/dealnotify"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
)

// countingFS counts how often each file is opened.
type countingFS struct {
	fs.FS
	mu     sync.Mutex
	opened map[string]int
}

func (c *countingFS) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err == nil {
		if st, err := f.Stat(); err == nil && !st.IsDir() {
			c.mu.Lock()
			c.opened[name]++
			c.mu.Unlock()
		}
	}
	return f, err
}

// TestGateOpensEachInputOnce runs every suite over dealnotify, held in
// memory behind a file system that counts what is opened and under a
// directory that does not exist, so that nothing can read the files
// another way: loading reads each input file once, and the run, however
// many scenarios and derived cases it makes, opens none again.
func TestGateOpensEachInputOnce(t *testing.T) {
	mem := fstest.MapFS{}
	err := fs.WalkDir(os.DirFS(dealnotifyDir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(filepath.Join(dealnotifyDir, p))
		mem[p] = &fstest.MapFile{Data: data, Mode: 0o644}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	fsys := &countingFS{FS: mem, opened: map[string]int{}}
	c, err := manifest.Load(filepath.Join(t.TempDir(), "not-on-disk"), manifest.ReadFrom(fsys))
	if err != nil {
		t.Fatal(err)
	}
	loaded := len(fsys.opened)
	rep, err := Execute(t.Context(), c, Drive(InProcess(dealnotify.Setup)))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Status != report.StatusPass {
		t.Fatalf("the gate over dealnotify: %+v", rep.Summary)
	}
	for name, n := range fsys.opened {
		if n != 1 {
			t.Errorf("%s was opened %d times in one gate run; want once", name, n)
		}
	}
	if len(fsys.opened) != loaded {
		t.Errorf("the run opened %d files the loading had not", len(fsys.opened)-loaded)
	}
	var inputs []string
	for _, in := range rep.Inputs {
		inputs = append(inputs, in.Path)
	}
	for _, want := range []string{"connector.yaml", "contracts/crm.openapi.yaml", "cassettes/crm-deal-4207.yaml", "scenarios/won.yaml", "golden/won.json", "events/deal-won.yaml", "config.schema.json"} {
		if fsys.opened[want] != 1 || !slices.Contains(inputs, want) {
			t.Errorf("%s: opened %d times, among the report's inputs %v; want once, and listed", want, fsys.opened[want], slices.Contains(inputs, want))
		}
	}
}
