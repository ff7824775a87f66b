package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/replay"
)

// FuzzParseManifest: no manifest makes the loader panic, and every error
// names the manifest.
func FuzzParseManifest(f *testing.F) {
	data, err := os.ReadFile(filepath.Join(dealnotifyDir, File))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	for _, seed := range []string{"", "name: x", "[1, 2]", "vendors: {a: {contract: 7}}", "name: a\nversion: 1.0.0\nvendors: {crm: {contract: ../x}}", "run: {command: [\"\"]}\n\t"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse(dealnotifyDir, data, func(string) bool { return true })
		if err != nil && !strings.HasPrefix(err.Error(), "connector.yaml") {
			t.Errorf("error without the file name: %v", err)
		}
	})
}

// FuzzParseScenario: no scenario makes the loader panic, and every error
// names the scenario.
func FuzzParseScenario(f *testing.F) {
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
	exists := func(rel string) bool {
		_, err := os.Stat(filepath.Join(dealnotifyDir, rel))
		return err == nil
	}
	events := func(rel string) ([]replay.Event, error) { return replay.LoadEvents(filepath.Join(dealnotifyDir, rel)) }
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseScenario("scenarios/s.yaml", data, false, exists, events)
		if err != nil && !strings.Contains(err.Error(), "scenarios/s.yaml") {
			t.Errorf("error without the file name: %v", err)
		}
	})
}

// dealnotifyDir is the example connector whose files seed the tests.
var dealnotifyDir = filepath.Join("..", "..", "connectors", "dealnotify")
