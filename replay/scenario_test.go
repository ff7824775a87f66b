package replay

import (
	"context"
	"flag"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/tetherkit/tether/fixtures"
)

var update = flag.Bool("update", false, "rewrite golden files with what the connector does now")

// TestScenarioMatchesGolden runs the whole replay loop: signed events go to
// the test connector, its vendor calls are answered from a cassette by the
// transport and captured, and the capture is compared with the golden file.
// Run with -update to rewrite the golden file; only a real change rewrites
// it.
func TestScenarioMatchesGolden(t *testing.T) {
	const secret = "scenario-secret"
	c, err := fixtures.Load(filepath.Join("testdata", "scenario", "chat.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	transport, err := NewTransport([]*fixtures.Cassette{c})
	if err != nil {
		t.Fatal(err)
	}
	capture, err := NewCapture(transport)
	if err != nil {
		t.Fatal(err)
	}
	connector := signedDealConnector(secret, &http.Client{Transport: capture})
	events := mustLoadEvents(t, filepath.Join("testdata", "events", "deals.yaml"))
	deliveries, err := Deliver(context.Background(), Handler(connector), events, SignWith(HMACSHA256(eventsSigHeader, secret)))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deliveries {
		if d.Err != nil || d.Status != 202 {
			t.Fatalf("delivery %d: status %d, err %v; want 202", d.Index, d.Status, d.Err)
		}
	}
	golden := filepath.Join("testdata", "golden", "deals.golden.json")
	ignore := []CompareOption{IgnoreHeader("User-Agent")}
	if *update {
		changed, err := UpdateGolden(golden, capture.Calls(), ignore...)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("golden file %s rewritten: %v", golden, changed)
		return
	}
	want, err := LoadGolden(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	for _, d := range Compare(want, capture.Calls(), ignore...) {
		t.Errorf("%s", d)
	}
}
