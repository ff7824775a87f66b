package release

import (
	"bytes"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
)

// PackageRelease writes the release bundle of connector c to out, from
// rep, the passing report of a run over exactly these files: the
// connector's files, the report in JSON and Markdown, release notes from
// the comparison with the previous release (and CHANGELOG.md, when there
// is one), the marketplace listing in JSON and Markdown, and what the
// connector uses of each vendor contract ([RecordUsage]). A failing
// report, or one about other files, is refused.
//
// The same files and report give the same bundle, whether the report comes
// from the run that just ended or from its JSON file: what the bundle
// carries of the report holds no time.
func PackageRelease(c *manifest.Connector, rep *report.Report, out string) error {
	if rep.Summary.Status != report.StatusPass {
		return fmt.Errorf("%s %s failed its gate (%s); a failing connector is not packaged",
			c.Manifest.Name, c.Manifest.Version, rep.CountLine())
	}
	timeless := *rep
	timeless.Timings = report.Timings{}
	rep = &timeless
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
	changelog, _ := c.File(changelogFile)
	gen["release-notes.md"] = ReleaseNotes(c.Manifest, rep.Compatibility, changelog)
	listing, err := BuildListing(c, rep)
	if err != nil {
		return err
	}
	if gen["listing.json"], err = listing.JSON(); err != nil {
		return err
	}
	gen["listing.md"] = listing.Markdown()
	// What the release uses of each vendor travels with it, so that a
	// vendor's next contract can be marked against a whole fleet without
	// loading every connector again (see RecordedUsage).
	usage, err := RecordUsage(c)
	if err != nil {
		return err
	}
	maps.Copy(gen, usage)
	return WriteBundle(BundleInput{Connector: c, Report: rep, Generated: gen}, out)
}

// BundleName is the file name of a release's bundle: name-version.tar.gz.
func BundleName(m *manifest.Manifest) string { return m.Name + "-" + m.Version + ".tar.gz" }

// ReleasesIn picks the releases of m's connector that the compatibility
// window names from the bundles in dir: those of the same connector with a
// lower version, newest first, as many as compatibility.window says (one
// when it says nothing).
func ReleasesIn(dir string, m *manifest.Manifest) ([]string, error) {
	found, err := filepath.Glob(filepath.Join(dir, "*.tar.gz"))
	if err != nil {
		return nil, err
	}
	cur, err := compat.ParseVersion(m.Version)
	if err != nil {
		return nil, err
	}
	type release struct {
		path string
		v    compat.Version
	}
	var rels []release
	released := false // a bundle of this very version is there
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
		v, err := compat.ParseVersion(version)
		if err == nil && v.Compare(cur) == 0 {
			released = true
		}
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
		if released {
			return nil, fmt.Errorf("%s holds no earlier release of %s than %s, which is released already: raise version in connector.yaml for the next release", dir, m.Name, m.Version)
		}
		return nil, fmt.Errorf("%s holds no earlier release of %s than %s", dir, m.Name, m.Version)
	}
	return out, nil
}
