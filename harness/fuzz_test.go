package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseManifest: no manifest makes the loader panic, and every error
// names the manifest.
func FuzzParseManifest(f *testing.F) {
	data, err := os.ReadFile(filepath.Join(dealnotifyDir, ManifestFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	for _, seed := range []string{"", "name: x", "[1, 2]", "vendors: {a: {contract: 7}}", "name: a\nversion: 1.0.0\nvendors: {crm: {contract: ../x}}", "run: {command: [\"\"]}\n\t"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseManifest("connector.yaml", dealnotifyDir, data)
		if err != nil && !strings.HasPrefix(err.Error(), "connector.yaml") {
			t.Errorf("error without the file name: %v", err)
		}
	})
}

// FuzzLoadScenario: no scenario makes the loader panic, and every error
// names the scenario.
func FuzzLoadScenario(f *testing.F) {
	for _, name := range []string{"won.yaml", "chat-rate-limited.yaml", "duplicate.yaml"} {
		data, err := os.ReadFile(filepath.Join(dealnotifyDir, ScenarioDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{"", "events: 7", "events: [../../etc/passwd]", "faults: {seed: x}", "expect: {outcome: handled, ignore: [nope]}", "cassettes: {crm: [1]}"} {
		f.Add([]byte(seed))
	}
	dir, err := filepath.Abs(dealnotifyDir)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "s.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadScenario(dir, path, false)
		if err != nil && !strings.Contains(err.Error(), path) {
			t.Errorf("error without the file name: %v", err)
		}
	})
}
