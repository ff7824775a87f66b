package fleet_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/fleet"
)

// A fleet made from the examples (many connectors, several versions each,
// some reading the chat answer's message and some not, some older bundles
// without usage/, some not using chat at all): Impact lists exactly the
// releases whose recorded usage the change breaks, with the operation
// and field, and counts the others.
func TestImpactFindsExactlyTheReleasesBroken(t *testing.T) {
	dir, releases := makeFleet(t, 12, 3, nil)
	oldFile, newFile := newChatContract(t)
	r, err := fleet.Impact(context.Background(), fleet.Dir(dir), oldFile, newFile)
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	using := 0
	for _, s := range releases {
		if s.affected {
			want = append(want, s.connector+" "+s.version)
		}
		if s.uses {
			using++
		}
	}
	if len(want) == 0 || using == len(want) || using == len(releases) {
		t.Fatalf("the fleet should hold affected, unaffected and non-using releases: %d affected, %d using, %d in all", len(want), using, len(releases))
	}
	kinds := map[string]bool{}
	for _, a := range r.Affected {
		got = append(got, a.Connector+" "+a.Version)
		kinds[a.Usage] = true
		if len(a.Changes) != 1 || a.Changes[0].ID != "response-required-property-removed" ||
			a.Changes[0].Operation() != "POST /chat.postMessage" || a.Changes[0].Field != "$.message" {
			t.Errorf("%s %s: changes %+v, want the removal of $.message from POST /chat.postMessage", a.Connector, a.Version, a.Changes)
		}
		if !slices.Equal(a.Vendors, []string{"chat"}) {
			t.Errorf("%s %s: vendors %v, want [chat]", a.Connector, a.Version, a.Vendors)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("affected releases:\n got %v\nwant %v", got, want)
	}
	if !kinds[fleet.UsageRecorded] || !kinds[fleet.UsageDerived] {
		t.Errorf("usage kinds among the affected %v: want both recorded and derived bundles", kinds)
	}
	s := r.Summary
	if s.Releases != len(releases) || s.Using != using || s.Affected != len(want) || s.Unaffected != using-len(want) || s.Unreadable != 0 || s.Status != "fail" {
		t.Errorf("summary %+v: want %d releases, %d using, %d affected, %d unaffected", s, len(releases), using, len(want), using-len(want))
	}
	var text bytes.Buffer
	if err := r.Text(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "POST /chat.postMessage response 200 $.message") || strings.Count(text.String(), "changes affect it") != len(want) {
		t.Errorf("text output does not list each affected release with operation and field:\n%s", text.String())
	}
}

// The same run on the same fleet gives the same bytes in each format,
// and the JUnit form is XML with one failing case per affected release.
func TestImpactOutputsAreStable(t *testing.T) {
	dir, releases := makeFleet(t, 4, 2, nil)
	oldFile, newFile := newChatContract(t)
	render := func() (js, md, ju []byte) {
		r, err := fleet.Impact(context.Background(), fleet.Dir(dir), oldFile, newFile, fleet.Workers(3))
		if err != nil {
			t.Fatal(err)
		}
		js, err = r.JSON()
		if err != nil {
			t.Fatal(err)
		}
		var m, j bytes.Buffer
		if err := r.Markdown(&m); err != nil {
			t.Fatal(err)
		}
		if err := r.JUnit(&j); err != nil {
			t.Fatal(err)
		}
		return js, m.Bytes(), j.Bytes()
	}
	j1, m1, u1 := render()
	j2, m2, u2 := render()
	if !bytes.Equal(j1, j2) || !bytes.Equal(m1, m2) || !bytes.Equal(u1, u2) {
		t.Error("two runs over the same fleet differ")
	}
	var suites struct {
		Failures int `xml:"failures,attr"`
		Tests    int `xml:"tests,attr"`
	}
	if err := xml.Unmarshal(u1, &suites); err != nil {
		t.Fatalf("junit: %v", err)
	}
	affected := 0
	for _, s := range releases {
		if s.affected {
			affected++
		}
	}
	if suites.Failures != affected || suites.Tests != affected+1 {
		t.Errorf("junit: %d tests, %d failures; want %d failing releases and one case counting the rest", suites.Tests, suites.Failures, affected)
	}
	if !strings.Contains(string(m1), "| error | `response-required-property-removed` | POST /chat.postMessage |") {
		t.Errorf("markdown lacks the change's row:\n%s", m1)
	}
}

// The comparison runs once per run, whatever the fleet's size.
func TestImpactComparesOnce(t *testing.T) {
	oldFile, newFile := newChatContract(t)
	for _, n := range []int{0, 1, 10, 60} {
		dir, releases := makeFleet(t, n, 1, func(tpl template) bool { return tpl.bundle != nil && !strings.HasSuffix(tpl.name, "-old") })
		var calls atomic.Int32
		count := func(a, b string) ([]contracts.Change, error) {
			calls.Add(1)
			return contracts.CompareFiles(a, b)
		}
		r, err := fleet.Impact(context.Background(), fleet.Dir(dir), oldFile, newFile, fleet.CompareWith(count))
		if err != nil {
			t.Fatal(err)
		}
		if calls.Load() != 1 {
			t.Errorf("fleet of %d: compared %d times, want once", n, calls.Load())
		}
		if r.Summary.Releases != len(releases) {
			t.Errorf("fleet of %d: %d releases read, want %d", n, r.Summary.Releases, len(releases))
		}
	}
}

// A hostile or broken bundle is listed as unreadable, not fatal; the
// rest of the fleet is still marked.
func TestImpactListsUnreadableBundles(t *testing.T) {
	dir, releases := makeFleet(t, 2, 1, nil)
	bad := filepath.Join(dir, "evil", "evil-1.0.0.tar.gz")
	if err := os.MkdirAll(filepath.Dir(bad), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not a gzip file"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A link is not followed out of the fleet.
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "evil", "link.tar.gz")); err != nil {
		t.Fatal(err)
	}
	oldFile, newFile := newChatContract(t)
	r, err := fleet.Impact(context.Background(), fleet.Dir(dir), oldFile, newFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Unreadable) != 1 || r.Unreadable[0].Bundle != "evil/evil-1.0.0.tar.gz" || !strings.Contains(r.Unreadable[0].Error, "gzip") {
		t.Errorf("unreadable %+v: want the one broken bundle, with why", r.Unreadable)
	}
	if r.Summary.Releases != len(releases)+1 {
		t.Errorf("%d releases: want %d, the link skipped", r.Summary.Releases, len(releases)+1)
	}
}

// ForVendor matches by the manifest's vendor name when the files are
// named otherwise; an oci:// fleet needs Registry; a cancelled
// run stops.
func TestImpactVendorAndSources(t *testing.T) {
	dir, releases := makeFleet(t, 3, 1, nil)
	oldFile, newFile := newChatContract(t)
	renamed := filepath.Join(t.TempDir(), "chat-2.0.yaml")
	data, _ := os.ReadFile(newFile)
	if err := os.WriteFile(renamed, data, 0o644); err != nil {
		t.Fatal(err)
	}
	byName, err := fleet.Impact(context.Background(), fleet.Dir(dir), oldFile, renamed)
	if err != nil {
		t.Fatal(err)
	}
	byVendor, err := fleet.Impact(context.Background(), fleet.Dir(dir), renamed, renamed, fleet.ForVendor("chat"), fleet.CompareWith(func(string, string) ([]contracts.Change, error) {
		return contracts.CompareFiles(oldFile, newFile)
	}))
	if err != nil {
		t.Fatal(err)
	}
	affected := 0
	for _, s := range releases {
		if s.affected {
			affected++
		}
	}
	if byName.Summary.Affected != affected || byVendor.Summary.Affected != affected {
		t.Errorf("affected: %d by file name, %d by vendor; want %d", byName.Summary.Affected, byVendor.Summary.Affected, affected)
	}
	if _, err := fleet.OpenSource("oci://registry.example/fleet"); !errors.Is(err, fleet.ErrSourceNotSupported) {
		t.Errorf("oci:// source: %v, want ErrSourceNotSupported", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := fleet.Impact(ctx, fleet.Dir(dir), oldFile, newFile); err == nil {
		t.Error("a cancelled run succeeded")
	}
}
