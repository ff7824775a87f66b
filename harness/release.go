package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// PackageRelease writes the release bundle of connector c to out, from
// rep, the passing report of a run over exactly these files: the
// connector's files, the report in JSON and Markdown, release notes from
// the comparison with the previous release (and CHANGELOG.md, when there
// is one), and the marketplace listing in JSON and Markdown. A failing
// report, or one about other files, is refused.
func PackageRelease(c *Connector, rep *Report, out string) error {
	if rep.Summary.Status != StatusPass {
		return fmt.Errorf("%s %s failed its gate (%s); a failing connector is not packaged",
			c.Manifest.Name, c.Manifest.Version, rep.countLine())
	}
	gen := map[string][]byte{}
	data, err := rep.JSON()
	if err != nil {
		return err
	}
	gen[BundleReport] = data
	var md bytes.Buffer
	if err := rep.Markdown(&md); err != nil {
		return err
	}
	gen["report/summary.md"] = md.Bytes()
	changelog, err := os.ReadFile(filepath.Join(c.Manifest.Dir, "CHANGELOG.md"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	gen["release-notes.md"] = ReleaseNotes(c.Manifest, rep.Compatibility, changelog)
	listing, err := BuildListing(c, rep)
	if err != nil {
		return err
	}
	if gen["listing.json"], err = listing.JSON(); err != nil {
		return err
	}
	gen["listing.md"] = listing.Markdown()
	return WriteBundle(BundleInput{Dir: c.Manifest.Dir, Report: rep, Generated: gen}, out)
}

// BundleName is the file name of a release's bundle: name-version.tar.gz.
func BundleName(m *Manifest) string { return m.Name + "-" + m.Version + ".tar.gz" }

// ReleasesIn picks the releases of m's connector that the compatibility
// window names from the bundles in dir: those of the same connector with a
// lower version, newest first, as many as compatibility.window says (one
// when it says nothing).
func ReleasesIn(dir string, m *Manifest) ([]string, error) {
	found, err := filepath.Glob(filepath.Join(dir, "*.tar.gz"))
	if err != nil {
		return nil, err
	}
	cur, err := ParseVersion(m.Version)
	if err != nil {
		return nil, err
	}
	type release struct {
		path string
		v    Version
	}
	var rels []release
	for _, p := range found {
		b, err := ReadBundle(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		// A bundle's folder is name-version.
		version, ok := strings.CutPrefix(b.Root, m.Name+"-")
		if !ok {
			continue
		}
		v, err := ParseVersion(version)
		if err != nil || v.Compare(cur) >= 0 {
			continue
		}
		rels = append(rels, release{p, v})
	}
	slices.SortFunc(rels, func(a, b release) int { return b.v.Compare(a.v) })
	window := max(m.Compatibility.Window, 1)
	var out []string
	for _, r := range rels[:min(len(rels), window)] {
		out = append(out, r.path)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no earlier release of %s than %s", dir, m.Name, m.Version)
	}
	return out, nil
}
