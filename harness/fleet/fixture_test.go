package fleet_test

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/report"
)

var examples = filepath.Join("..", "..", "connectors")

// A template is one connector's release as packaged, from which a fleet
// stamps out many connectors and versions by renaming it.
type template struct {
	name string
	// affected says whether the chat change of newChatContract breaks
	// the template's recorded usage: known from how it was made, not
	// from the code under test.
	affected bool
	// uses says whether it calls the chat vendor at all.
	uses   bool
	bundle *release.Bundle
}

// makeTemplate packages the example in connectors/<example> after edit has
// changed its copy; withUsage false writes a bundle as tether did before
// bundles carried usage/.
func makeTemplate(t testing.TB, example string, withUsage bool, edit func(dir string)) *release.Bundle {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(examples, example))); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(dir)
	}
	c, err := manifest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The gate's run is not what these tests are about: a passing report
	// over exactly these files is all packaging asks.
	rep := &report.Report{Version: report.Version, Connector: report.ConnectorInfo{Name: c.Manifest.Name, Version: c.Manifest.Version},
		Summary: report.Summary{Status: report.StatusPass}, Inputs: c.Inputs}
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	if withUsage {
		err = release.PackageRelease(c, rep, out)
	} else {
		err = release.WriteBundle(release.BundleInput{Connector: c, Report: rep}, out)
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := release.ReadBundle(out)
	if err != nil {
		t.Fatal(err)
	}
	if has := slices.ContainsFunc(b.Order, func(p string) bool { return strings.HasPrefix(p, release.UsageDir+"/") }); has != withUsage {
		t.Fatalf("%s: bundle carries usage/: %v, want %v", example, has, withUsage)
	}
	return b
}

// withoutChatMessage edits a connector's chat cassette so that its
// recorded answer no longer holds $.message: the connector never read it.
func withoutChatMessage(cassette string) func(dir string) {
	return func(dir string) {
		p := filepath.Join(dir, "cassettes", cassette)
		data, err := os.ReadFile(p)
		if err != nil {
			panic(err)
		}
		re := regexp.MustCompile(`"message":\{[^}]*\},`)
		if !re.Match(data) {
			panic("no message in " + p)
		}
		if err := os.WriteFile(p, re.ReplaceAll(data, nil), 0o644); err != nil {
			panic(err)
		}
	}
}

var (
	templatesOnce sync.Once
	templatesAll  []template
)

// templates are the fleet's kinds of release, from the examples: each
// example as it is, with the chat answer's message never read, and as an
// older bundle without usage/.
func templates(t testing.TB) []template {
	templatesOnce.Do(func() {
		templatesAll = []template{
			{name: "dealnotify", affected: true, uses: true, bundle: makeTemplate(t, "dealnotify", true, nil)},
			{name: "dealnotify-quiet", affected: false, uses: true, bundle: makeTemplate(t, "dealnotify", true, withoutChatMessage("chat-post-message.yaml"))},
			{name: "escalate", affected: true, uses: true, bundle: makeTemplate(t, "escalate", true, nil)},
			{name: "escalate-quiet", affected: false, uses: true, bundle: makeTemplate(t, "escalate", true, withoutChatMessage("chat-notice.yaml"))},
			{name: "issuepage", affected: false, uses: false, bundle: makeTemplate(t, "issuepage", true, nil)},
			{name: "dealnotify-old", affected: true, uses: true, bundle: makeTemplate(t, "dealnotify", false, nil)},
			{name: "escalate-quiet-old", affected: false, uses: true, bundle: makeTemplate(t, "escalate", false, withoutChatMessage("chat-notice.yaml"))},
		}
	})
	if templatesAll == nil {
		t.Fatal("making the templates failed")
	}
	return templatesAll
}

// stamp writes the template's bundle as connector name at version into
// dir, as <name>/<name>-<version>.tar.gz.
func stamp(t testing.TB, dir string, tpl *release.Bundle, name, version string) {
	t.Helper()
	files := maps.Clone(tpl.Files)
	m := string(files[manifest.File])
	m = regexp.MustCompile(`(?m)^name: .*$`).ReplaceAllString(m, "name: "+name)
	m = regexp.MustCompile(`(?m)^version: .*$`).ReplaceAllString(m, "version: "+version)
	files[manifest.File] = []byte(m)
	root := name + "-" + version
	p := filepath.Join(dir, name, root+".tar.gz")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: root + "/" + rel, Size: int64(len(files[rel])), Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[rel]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// release is one stamped release and whether the change breaks it.
type stamped struct {
	connector, version string
	affected, uses     bool
}

// makeFleet writes a fleet of n connectors into a new directory, each
// with versions releases, cycling through the templates with a stride so
// that one connector's versions differ in what they use; only templates
// for which keep is true are used (nil keeps all).
func makeFleet(t testing.TB, n, versions int, keep func(template) bool) (string, []stamped) {
	t.Helper()
	var tpls []template
	for _, tpl := range templates(t) {
		if keep == nil || keep(tpl) {
			tpls = append(tpls, tpl)
		}
	}
	dir := t.TempDir()
	var out []stamped
	k := 0
	for i := range n {
		name := fmt.Sprintf("conn-%04d", i)
		for v := range versions {
			tpl := tpls[k%len(tpls)]
			k += 3 // a stride prime to the templates' count varies versions
			version := fmt.Sprintf("1.%d.0", v)
			stamp(t, dir, tpl.bundle, name, version)
			out = append(out, stamped{name, version, tpl.affected, tpl.uses})
		}
	}
	return dir, out
}

// newChatContract writes the chat contract of the examples with the
// success answer's message property removed: a breaking change to POST
// /chat.postMessage's 200 answer, $.message. It returns the old and new
// files, named as the connectors name theirs.
func newChatContract(t testing.TB) (oldFile, newFile string) {
	t.Helper()
	oldFile = filepath.Join(examples, "dealnotify", "contracts", "chat.openapi.yaml")
	data, err := os.ReadFile(oldFile)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), "required: [ok, channel, ts, message]", "required: [ok, channel, ts]", 1)
	s2 := strings.Replace(s, `        message:
          type: object
          required: [text, ts]
          properties:
            text: {type: string}
            ts: {$ref: "#/components/schemas/Timestamp"}
`, "", 1)
	if s2 == s || s == string(data) {
		t.Fatal("the chat contract no longer has the message property this test removes")
	}
	newFile = filepath.Join(t.TempDir(), "chat.openapi.yaml")
	if err := os.WriteFile(newFile, []byte(s2), 0o644); err != nil {
		t.Fatal(err)
	}
	return oldFile, newFile
}
