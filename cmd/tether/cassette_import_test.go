package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/fixtures"
)

const harTestdata = "../../fixtures/testdata/har"

// copyHAR puts a capture from the fixtures' testdata into a fresh
// directory, so that the default output lands there.
func copyHAR(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(harTestdata, name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCassetteImport(t *testing.T) {
	har := copyHAR(t, "chrome_h2_image.har")
	out := strings.TrimSuffix(har, ".har") + ".yaml"
	code, stdout, stderr := runCLI("cassette", "import", "--har", har)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "imported 3 interactions from " + har + " into " + out + " (1 entry skipped)\n"; stderr != want || stdout != "" {
		t.Errorf("printed stdout %q stderr %q; want the summary %q on stderr", stdout, stderr, want)
	}
	c, err := fixtures.Load(out)
	if err != nil {
		t.Fatalf("the cassette written does not load: %v", err)
	}
	if len(c.Interactions) != 3 || c.Interactions[1].Request.URL != "https://cdn.crm.example.com/avatars/7.png" || c.Interactions[1].Response.ContentLength != 70 {
		t.Errorf("cassette holds %d interactions: %+v", len(c.Interactions), c.Interactions)
	}

	// The one place the import meets redaction: the capture's credentials,
	// in HTTP/2's lower-case header names, must not reach the cassette.
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"crm_at_5fQx29LmZp0aVbN7kTyR3wEe8sUo1HdJ", "9b1f0c7ad2e44c3f"} {
		if strings.Contains(string(data), secret) {
			t.Errorf("the cassette still holds %q:\n%s", secret, data)
		}
	}
	if !strings.Contains(string(data), "REDACTED-") {
		t.Errorf("the cassette has no placeholder:\n%s", data)
	}
}

func TestCassetteImportSkipsNonHTTP(t *testing.T) {
	har := copyHAR(t, "chrome_non_http.har")
	out := strings.TrimSuffix(har, ".har") + ".yaml"
	code, _, stderr := runCLI("cassette", "import", "--har", har)
	if want := "imported 2 interactions from " + har + " into " + out + " (3 entries skipped)\n"; code != exitOK || stderr != want {
		t.Errorf("exit %d, printed %q; want %q: the data:, wss: and chrome-extension: entries are skipped", code, stderr, want)
	}
	if c, err := fixtures.Load(out); err != nil || len(c.Interactions) != 2 {
		t.Errorf("the cassette written: %v", err)
	}
}

func TestCassetteImportOut(t *testing.T) {
	har := copyHAR(t, "firefox_form_post.har")
	out := filepath.Join(t.TempDir(), "nested.yaml")
	code, _, stderr := runCLI("cassette", "import", "--out", out, "--har", har)
	if code != exitOK || !strings.Contains(stderr, "imported 2 interactions from "+har+" into "+out+"\n") {
		t.Errorf("exit %d: %q", code, stderr)
	}
	if _, err := os.Stat(strings.TrimSuffix(har, ".har") + ".yaml"); err == nil {
		t.Error("--out given, but the default output was written too")
	}
}

func TestCassetteImportKeepsExistingFiles(t *testing.T) {
	har := copyHAR(t, "mitmproxy_dump.har")
	out := strings.TrimSuffix(har, ".har") + ".yaml"
	const old = "version: 2\ninteractions: []\n"
	if err := os.WriteFile(out, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	unchanged := func(reason string) {
		t.Helper()
		if data, _ := os.ReadFile(out); string(data) != old {
			t.Errorf("%s changed the existing cassette:\n%s", reason, data)
		}
	}

	code, _, stderr := runCLI("cassette", "import", "--har", har)
	if code != exitCannot || !strings.Contains(stderr, out+" already exists; pass --force") {
		t.Errorf("import over an existing file: exit %d, %q", code, stderr)
	}
	unchanged("an import without --force")

	bad := filepath.Join(harTestdata, "bad_method.har")
	code, _, stderr = runCLI("cassette", "import", "--har", bad, "--out", out, "--force")
	if code != exitCannot || !strings.Contains(stderr, bad+":7:21: entry 0: request method") {
		t.Errorf("broken capture: exit %d, %q; want the file:line:col of the problem", code, stderr)
	}
	unchanged("a broken capture")

	code, _, stderr = runCLI("cassette", "import", "--har", har, "--force")
	if code != exitOK {
		t.Fatalf("--force: exit %d, %s", code, stderr)
	}
	if c, err := fixtures.Load(out); err != nil || len(c.Interactions) != 3 {
		t.Errorf("--force did not replace the cassette: %v", err)
	}
}

func TestCassetteImportUsage(t *testing.T) {
	har := filepath.Join(harTestdata, "firefox_form_post.har")
	tests := []struct {
		args   []string
		code   int
		want   []string
		reason string
	}{
		{[]string{"--help"}, exitOK, []string{"--har FILE", "--out CASSETTE", "--force", "Redaction is on", "blocked", "data:", "Example:"}, "help teaches the flags, what is skipped, redaction and an example"},
		{[]string{"-h"}, exitOK, []string{"tether cassette import --har FILE"}, "short help"},
		{nil, exitCannot, []string{"--har is required", "Run with --help"}, "no capture named"},
		{[]string{har}, exitCannot, []string{`unexpected argument "` + har + `"`, "--har"}, "the capture given without --har"},
		{[]string{"--har", har, "--format", "json"}, exitCannot, []string{"flag provided but not defined: -format"}, "an unknown flag"},
		{[]string{"--har", har, "--out", har}, exitCannot, []string{"over the capture itself"}, "an --out that is the capture"},
		{[]string{"--har", "no-such-capture.har"}, exitCannot, []string{"no-such-capture.har: no such file or directory"}, "a missing capture"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(append([]string{"cassette", "import"}, tt.args...)...)
		if code != tt.code {
			t.Errorf("import %v exited %d, want %d (%s)", tt.args, code, tt.code, tt.reason)
		}
		for _, w := range tt.want {
			if !strings.Contains(stdout+stderr, w) {
				t.Errorf("import %v printed %q; want it to contain %q (%s)", tt.args, stdout+stderr, w, tt.reason)
			}
		}
	}
}
