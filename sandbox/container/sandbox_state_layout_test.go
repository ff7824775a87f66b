package container

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSandboxLayoutState checks where the state file, samples, overrides
// and overlays go in the image, and the flags tether gets for them.
func TestSandboxLayoutState(t *testing.T) {
	spec := SandboxSpec{
		Vendors: []Vendor{{Name: "crm", Contract: "../testdata/crm.yaml",
			Overlays:  []string{"../../contracts/overlays/github.overlay.yaml"},
			Samples:   []string{"../testdata/state/seed.json", "../testdata/state/anchors.yaml"},
			Overrides: "../testdata/tracker.yaml"}},
		State:       "../testdata/state/seed.yaml",
		StateCap:    1 << 20,
		StrictState: true,
	}
	files, args, err := spec.layout()
	if err != nil {
		t.Fatal(err)
	}
	for dst, src := range map[string]string{
		"/contracts/crm/overlays/0/github.overlay.yaml": "../../contracts/overlays/github.overlay.yaml",
		"/model/crm/samples/0/seed.json":                "../testdata/state/seed.json",
		"/model/crm/samples/1/anchors.yaml":             "../testdata/state/anchors.yaml",
		"/model/crm/overrides/tracker.yaml":             "../testdata/tracker.yaml",
		"/state/seed.yaml":                              "../testdata/state/seed.yaml",
	} {
		if files[dst] != src {
			t.Errorf("image file %s comes from %q, want %q", dst, files[dst], src)
		}
	}
	want := []string{"sandbox", "serve",
		"--contract", "crm=/contracts/crm/crm.yaml",
		"--overlay", "crm=/contracts/crm/overlays/0/github.overlay.yaml",
		"--samples", "crm=/model/crm/samples/0/seed.json",
		"--samples", "crm=/model/crm/samples/1/anchors.yaml",
		"--overrides", "crm=/model/crm/overrides/tracker.yaml",
		"--state", "/state/seed.yaml", "--state-cap", "1048576", "--strict-state",
		"--host", "0.0.0.0", "--port", "8080", "--quiet",
	}
	if d := cmp.Diff(want, args); d != "" {
		t.Errorf("tether arguments (-want +got):\n%s", d)
	}

	spec = SandboxSpec{Vendors: []Vendor{{Contract: "../testdata/crm.yaml"}}, Stateless: true}
	if _, args, err = spec.layout(); err != nil || !strings.Contains(strings.Join(args, " "), " --stateless ") {
		t.Errorf("Stateless: %v %v, want --stateless", err, args)
	}
	for _, tc := range []struct {
		reason string
		spec   SandboxSpec
		want   string
	}{
		{"state and no state", SandboxSpec{Vendors: []Vendor{{Contract: "../testdata/crm.yaml"}}, Stateless: true, State: "../testdata/state/seed.yaml"}, "Stateless turns state off"},
		{"a missing state file", SandboxSpec{Vendors: []Vendor{{Contract: "../testdata/crm.yaml"}}, State: "nope.yaml"}, "state: stat nope.yaml"},
		{"a missing samples file", SandboxSpec{Vendors: []Vendor{{Contract: "../testdata/crm.yaml", Samples: []string{"nope.json"}}}}, "vendor crm: samples: stat nope.json"},
		{"a directory as overlay", SandboxSpec{Vendors: []Vendor{{Contract: "../testdata/crm.yaml", Overlays: []string{"../testdata"}}}}, "not a regular file"},
	} {
		if _, _, err := tc.spec.layout(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.reason, err, tc.want)
		}
	}
}
