package state

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tetherkit/tether/contracts"
)

// registry loads each contract once per test binary: the corpus's largest
// take seconds to load.
var registry = contracts.NewRegistry()

func load(tb testing.TB, path string) *contracts.Contract {
	tb.Helper()
	c, err := registry.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// corpus returns the path of a corpus file, or skips when TETHER_CORPUS is
// unset.
func corpus(tb testing.TB, rel string) string {
	tb.Helper()
	dir := os.Getenv("TETHER_CORPUS")
	if dir == "" {
		tb.Skip("TETHER_CORPUS is not set; it names the corpus of real vendor material (.ci/run sets it)")
	}
	return filepath.Join(dir, rel)
}

var inferOnce sync.Map // path -> *Model, for the corpus contracts

func infer(tb testing.TB, path string, opts ...Option) *Model {
	tb.Helper()
	m, err := Infer(load(tb, path), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func text(tb testing.TB, m *Model) string {
	var b strings.Builder
	if err := m.WriteText(&b); err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

func TestDebugPrint(t *testing.T) {
	for _, p := range strings.Split(os.Getenv("PRINT"), ",") {
		if p == "" {
			continue
		}
		t.Log(text(t, infer(t, p)))
	}
}
