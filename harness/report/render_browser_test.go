package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// browser returns the path of a Chromium-like browser, or skips t when
// there is none, unless TETHER_REQUIRE_BROWSER=1 (as in CI) makes that a
// failure, so that a missing browser is never mistaken for a pass there.
func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const why = "no chromium, chromium-browser or google-chrome on PATH (on Debian: apt-get install chromium)"
	if os.Getenv("TETHER_REQUIRE_BROWSER") == "1" {
		t.Fatalf("%s; TETHER_REQUIRE_BROWSER=1 makes this a failure", why)
	}
	t.Skipf("%s; set TETHER_REQUIRE_BROWSER=1 to make this a failure", why)
	return ""
}

// dumpDOM loads the page in headless Chromium and returns the DOM as the
// browser built it, serialised.
func dumpDOM(t *testing.T, bin string, page []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless=new", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--dump-dom", "file://"+file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s --dump-dom: %v\n%s", bin, err, stderr.Bytes())
	}
	t.Logf("chromium loaded the page in %v", time.Since(start).Round(time.Millisecond))
	if stdout.Len() == 0 {
		t.Fatalf("%s --dump-dom printed nothing\n%s", bin, stderr.Bytes())
	}
	return stdout.Bytes()
}

// TestRenderBrowser checks the HTML report as Chromium shows it: the page
// the browser built from the file, not the file itself, so that markup the
// browser would read otherwise (an unescaped message, a broken table) shows
// up here.
func TestRenderBrowser(t *testing.T) {
	bin := browser(t)
	for _, r := range []*Report{sampleReport(), passingReport()} {
		t.Run(r.Summary.Status, func(t *testing.T) {
			// Chromium's start-up is most of the time; two at once save it.
			t.Parallel()
			var page bytes.Buffer
			if err := r.HTML(&page); err != nil {
				t.Fatal(err)
			}
			dom := dumpDOM(t, bin, page.Bytes())
			doc, err := html.Parse(bytes.NewReader(dom))
			if err != nil {
				t.Fatalf("the dumped DOM does not parse: %v", err)
			}
			checkPage(t, doc, r)
			// The browser serialises the message's < as &lt;: it is text.
			if !bytes.Contains(dom, []byte("amount &lt;b&gt;12 &amp; 13&lt;/b&gt;")) {
				t.Errorf("the dumped DOM does not show the message's markup as text:\n%s", dom)
			}
			if s := string(dom); strings.Contains(s, "<b>12") {
				t.Errorf("the browser made an element of the message's <b>")
			}
		})
	}
}
