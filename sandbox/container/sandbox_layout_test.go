package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSandboxLayout checks where StartSandbox puts each file in the image
// and the arguments tether gets. It needs no Docker engine.
func TestSandboxLayout(t *testing.T) {
	abs := func(p string) string {
		t.Helper()
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	// A cassette directory with a nested cassette, a non-cassette file and
	// a temporary file that tether would skip.
	cassettes := t.TempDir()
	for name, content := range map[string]string{
		"a.yaml":                   "version: 2\n",
		"more/b.yml":               "version: 2\n",
		"README.md":                "not a cassette\n",
		".tether-tmp-c.yaml-12345": "half written\n",
	} {
		p := filepath.Join(cassettes, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec := SandboxSpec{
		Vendors: []Vendor{
			{Name: "crm", Contract: "../testdata/crm.yaml", Cassettes: []string{"../testdata/crm_deals.yaml", cassettes}},
			// No name: the file's; a $ref into shared/ comes along.
			{Contract: "../../contracts/testdata/petstore.yaml"},
		},
		Faults:  "../testdata/faults/flaky_create.yaml",
		Strict:  true,
		Seed:    42,
		Tenants: []string{"acme=bearer:t1;deals:read", "acme=api-key:k1"},
	}
	files, args, err := spec.layout()
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := map[string]string{
		"/contracts/crm/crm.yaml":             abs("../testdata/crm.yaml"),
		"/cassettes/crm/0/crm_deals.yaml":     "../testdata/crm_deals.yaml",
		"/cassettes/crm/1/a.yaml":             filepath.Join(cassettes, "a.yaml"),
		"/cassettes/crm/1/more/b.yml":         filepath.Join(cassettes, "more", "b.yml"),
		"/contracts/petstore/petstore.yaml":   abs("../../contracts/testdata/petstore.yaml"),
		"/contracts/petstore/shared/pet.yaml": abs("../../contracts/testdata/shared/pet.yaml"),
		"/faults/flaky_create.yaml":           "../testdata/faults/flaky_create.yaml",
	}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("files in the image (-want +got):\n%s", diff)
	}
	wantArgs := []string{"sandbox", "serve",
		"--contract", "crm=/contracts/crm/crm.yaml",
		"--cassettes", "crm=/cassettes/crm/0/crm_deals.yaml",
		"--cassettes", "crm=/cassettes/crm/1",
		"--contract", "petstore=/contracts/petstore/petstore.yaml",
		"--faults", "/faults/flaky_create.yaml",
		"--strict", "--tenant", "acme=bearer:t1;deals:read", "--tenant", "acme=api-key:k1", "--seed", "42",
		"--host", "0.0.0.0", "--port", "8080", "--quiet",
	}
	if diff := cmp.Diff(wantArgs, args); diff != "" {
		t.Errorf("tether arguments (-want +got):\n%s", diff)
	}
}

// TestSandboxLayoutErrors checks that a spec StartSandbox cannot serve is
// refused before anything is built, with the reason.
func TestSandboxLayoutErrors(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		reason  string
		spec    SandboxSpec
		wantErr string
	}{
		{"no vendor to impersonate", SandboxSpec{}, "no vendors"},
		{"a name that cannot be a path segment", SandboxSpec{Vendors: []Vendor{{Name: "c/rm", Contract: "../testdata/crm.yaml"}}}, `vendor "c/rm"`},
		{"a name that is a relative path", SandboxSpec{Vendors: []Vendor{{Name: "..", Contract: "../testdata/crm.yaml"}}}, `vendor ".."`},
		{"a name the admin API would shadow", SandboxSpec{Vendors: []Vendor{{Name: "__tether", Contract: "../testdata/crm.yaml"}}}, `vendor "__tether"`},
		{"one name for two vendors", SandboxSpec{Vendors: []Vendor{{Contract: "../testdata/crm.yaml"}, {Name: "crm", Contract: "../testdata/events.yaml"}}}, `vendor "crm" given twice`},
		{"a missing contract", SandboxSpec{Vendors: []Vendor{{Contract: "../testdata/nope.yaml"}}}, "nope.yaml"},
		{"a missing cassette", SandboxSpec{Vendors: []Vendor{{Contract: "../testdata/crm.yaml", Cassettes: []string{"nope.yaml"}}}}, "nope.yaml"},
		{"a cassette directory with no cassettes", SandboxSpec{Vendors: []Vendor{{Contract: "../testdata/crm.yaml", Cassettes: []string{empty}}}}, "no *.yaml or *.yml file"},
	} {
		_, _, err := tc.spec.layout()
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %v, want one containing %q", tc.reason, err, tc.wantErr)
		}
	}
}
