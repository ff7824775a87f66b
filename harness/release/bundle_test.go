package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
)

// bundleToday is the date bundles are verified as of in the tests.
var bundleToday = time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC)

// gatedConnector copies dealnotify and makes a passing report of its
// files, as a gate run over them gives: packaging reads no more of a
// report than its status, inputs and results.
func gatedConnector(t testing.TB) (string, *report.Report) {
	t.Helper()
	dir := copyDirTB(t, dealnotifyDir)
	c := load(t, dir)
	rep := report.Gate(&report.Report{
		Version:   report.Version,
		Connector: report.ConnectorInfo{Name: c.Manifest.Name, Version: c.Manifest.Version, Summary: c.Manifest.Summary, Dir: "."},
		Run:       report.RunInfo{Seed: 1, Target: "in-process", Sandbox: "inproc", Suites: []string{report.SuiteContract}},
		Inputs:    c.Inputs,
		Checks:    []report.Check{{Suite: report.SuiteContract, Name: "events"}, {Suite: report.SuiteContract, Name: "scopes"}},
	}, nil, bundleToday)
	if rep.Summary.Status != report.StatusPass {
		t.Fatalf("the report of dealnotify: status %s, findings %v", rep.Summary.Status, rep.Findings)
	}
	return dir, rep
}

// load loads the connector in dir.
func load(t testing.TB, dir string) *manifest.Connector {
	t.Helper()
	c, err := manifest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// copyDirTB is copyDir for a benchmark too.
func copyDirTB(t testing.TB, src string) string {
	t.Helper()
	if tt, ok := t.(*testing.T); ok {
		return copyDir(tt, src)
	}
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func generatedFiles() map[string][]byte {
	return map[string][]byte{
		"release-notes.md":  []byte("# dealnotify 1.0.0\n\nFirst release.\n"),
		"report/summary.md": []byte("All checks pass.\n"),
	}
}

func writeTestBundle(t testing.TB, dir string, rep *report.Report) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "dealnotify-1.0.0.tar.gz")
	if err := WriteBundle(BundleInput{Connector: load(t, dir), Report: rep, Generated: generatedFiles()}, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The same files give the same bytes, whatever the files' times.
func TestWriteBundleReproducible(t *testing.T) {
	dir, rep := gatedConnector(t)
	first, err := os.ReadFile(writeTestBundle(t, dir, rep))
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil {
			os.Chtimes(p, later, later)
		}
		return err
	})
	second, err := os.ReadFile(writeTestBundle(t, dir, rep))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatalf("two bundles of the same files differ: %d and %d bytes", len(first), len(second))
	}
	zr, err := gzip.NewReader(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() || zr.OS != 255 {
		t.Errorf("gzip header: name %q, time %v, OS %d; want none, none, 255", zr.Name, zr.ModTime, zr.OS)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, hdr.Name)
		if hdr.Mode != 0o644 || hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" || !hdr.ModTime.Equal(bundleTime) {
			t.Errorf("%s: mode %o, owner %d:%d %q:%q, time %v; want 644, 0:0, no names, %v",
				hdr.Name, hdr.Mode, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname, hdr.ModTime, bundleTime)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("entries are not sorted by path: %v", names)
	}
	for _, want := range []string{
		"dealnotify-1.0.0/SHA256SUMS", "dealnotify-1.0.0/connector.yaml", "dealnotify-1.0.0/config.schema.json",
		"dealnotify-1.0.0/contracts/crm.openapi.yaml", "dealnotify-1.0.0/cassettes/crm-deal-4207.yaml",
		"dealnotify-1.0.0/scenarios/won.yaml", "dealnotify-1.0.0/golden/won.json", "dealnotify-1.0.0/events/deal-won.yaml",
		"dealnotify-1.0.0/report/report.json", "dealnotify-1.0.0/report/summary.md", "dealnotify-1.0.0/release-notes.md",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("the bundle lacks %s; it holds %v", want, names)
		}
	}
	for _, unwanted := range []string{"dealnotify-1.0.0/dealnotify.go", "dealnotify-1.0.0/report/junit.xml", "dealnotify-1.0.0/cmd/dealnotify/main.go"} {
		if slices.Contains(names, unwanted) {
			t.Errorf("the bundle holds %s, which is not part of a release", unwanted)
		}
	}
}

// WriteBundle refuses what a marketplace must not receive, saying why,
// and leaves no file behind.
func TestWriteBundleRefuses(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		// change changes the connector's files or the report, and
		// returns the generated files to give.
		change func(t *testing.T, dir string, rep *report.Report) map[string][]byte
		want   []string // words of the error
	}{
		{
			name:   "failing status",
			reason: "only a passing run may be released",
			change: func(t *testing.T, dir string, rep *report.Report) map[string][]byte {
				rep.Summary.Status = report.StatusFail
				return nil
			},
			want: []string{`status is "fail"`, "passing run"},
		},
		{
			name:   "error finding under the policy",
			reason: "an error finding fails the gate once the policy is applied again",
			change: func(t *testing.T, dir string, rep *report.Report) map[string][]byte {
				rep.Findings = append(rep.Findings, report.Finding{Finding: contracts.Finding{ID: "scope-unused", Level: contracts.LevelError, Message: "unused"},
					Suite: report.SuiteContract, Check: "scopes"})
				*rep = *report.Gate(rep, nil, bundleToday)
				return nil
			},
			want: []string{`status is "fail"`},
		},
		{
			name:   "golden edited after the run",
			reason: "the report must be of the files shipped",
			change: func(t *testing.T, dir string, rep *report.Report) map[string][]byte {
				editFile(t, filepath.Join(dir, "golden", "won.json"), "[", "[ ")
				return nil
			},
			want: []string{"golden/won.json", "changed since the run", "run the gate again"},
		},
		{
			name:   "scenario added after the run",
			reason: "a file the run never saw is not vouched for",
			change: func(t *testing.T, dir string, rep *report.Report) map[string][]byte {
				data, _ := os.ReadFile(filepath.Join(dir, "scenarios", "won.yaml"))
				os.WriteFile(filepath.Join(dir, "scenarios", "won-again.yaml"), data, 0o644)
				return nil
			},
			want: []string{"scenarios/won-again.yaml", "not among the report's inputs"},
		},
		{
			name:   "event removed after the run",
			reason: "the report read a file the bundle would not ship",
			change: func(t *testing.T, dir string, rep *report.Report) map[string][]byte {
				os.Remove(filepath.Join(dir, "events", "deals-two.yaml"))
				return nil
			},
			want: []string{"events/deals-two.yaml", "gone"},
		},
		{
			name:   "secret in a cassette",
			reason: "the secret scan runs again before packaging, and names the line",
			change: func(t *testing.T, dir string, rep *report.Report) map[string][]byte {
				editFile(t, filepath.Join(dir, "cassettes", "crm-deal-4207.yaml"), "Bearer REDACTED-e86c069d", "Bearer sk_live_51HabcdefGHIJklmnOPQR")
				return nil
			},
			want: []string{"cassettes/crm-deal-4207.yaml:" + lineOfText(t, filepath.Join(dealnotifyDir, "cassettes", "crm-deal-4207.yaml"), "Bearer REDACTED-e86c069d"), "authorization"},
		},
		{
			name:   "generated file among the connector's",
			reason: "generated files must not pass for connector files",
			change: func(t *testing.T, dir string, rep *report.Report) map[string][]byte {
				return map[string][]byte{"contracts/extra.yaml": []byte("x")}
			},
			want: []string{"contracts/extra.yaml", "shipped files"},
		},
		{
			name:   "generated path leaving the bundle",
			reason: "a path is inside the root folder",
			change: func(t *testing.T, dir string, rep *report.Report) map[string][]byte {
				return map[string][]byte{"../notes.md": []byte("x")}
			},
			want: []string{`"../notes.md"`},
		},
	}
	dir, rep := gatedConnector(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tcDir := copyDir(t, dir)
			tcRep := *rep
			tcRep.Findings = slices.Clone(rep.Findings)
			out := filepath.Join(t.TempDir(), "b.tar.gz")
			gen := tc.change(t, tcDir, &tcRep)
			c, err := manifest.Load(tcDir)
			if err == nil {
				err = WriteBundle(BundleInput{Connector: c, Report: &tcRep, Generated: gen}, out)
			}
			if err == nil {
				t.Fatalf("WriteBundle packaged it; want a refusal (%s)", tc.reason)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q (%s)", err, w, tc.reason)
				}
			}
			if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
				t.Errorf("a refused bundle left %v", entries)
			}
		})
	}
}

func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

func lineOfText(t *testing.T, path, text string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(text))
	if i < 0 {
		t.Fatalf("%s has no %q", path, text)
	}
	return strconv.Itoa(bytes.Count(data[:i], []byte("\n")) + 1)
}

func TestVerifyBundle(t *testing.T) {
	dir, rep := gatedConnector(t)
	good := writeTestBundle(t, dir, rep)
	v, err := VerifyBundle(good, nil, bundleToday)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK || len(v.Problems) != 0 || v.Name != "dealnotify" || v.Version != "1.0.0" {
		t.Fatalf("VerifyBundle of a good bundle = %+v; want dealnotify 1.0.0 OK", v)
	}

	type want struct{ id, location, words string }
	tests := []struct {
		name   string
		reason string
		edit   func(files map[string][]byte)
		want   []want // problems that must be among those reported
	}{
		{
			name:   "byte changed in a contract",
			reason: "SHA256SUMS and the report's inputs both catch it",
			edit:   func(f map[string][]byte) { f["contracts/crm.openapi.yaml"][10] ^= 1 },
			want: []want{
				{RuleChecksumMismatch, "contracts/crm.openapi.yaml", "SHA256SUMS has sha256"},
				{RuleReportMismatch, "contracts/crm.openapi.yaml", "the report read sha256"},
			},
		},
		{
			name:   "byte changed in SHA256SUMS",
			reason: "the listed digest then names its file",
			edit:   func(f map[string][]byte) { flipHex(f[BundleChecksums]) },
			want:   []want{{RuleChecksumMismatch, "cassettes/chat-post-message.yaml", "SHA256SUMS has sha256"}},
		},
		{
			name:   "byte changed in the report",
			reason: "the report is covered by SHA256SUMS",
			edit:   func(f map[string][]byte) { editBytes(f, BundleReport, `"pass"`, `"p4ss"`) },
			want:   []want{{RuleChecksumMismatch, BundleReport, BundleReport}},
		},
		{
			name:   "byte changed in the manifest",
			reason: "the manifest is covered by SHA256SUMS and the report",
			edit:   func(f map[string][]byte) { editBytes(f, manifest.File, "Posts CRM", "Posts crm") },
			want: []want{
				{RuleChecksumMismatch, manifest.File, manifest.File},
				{RuleReportMismatch, manifest.File, manifest.File},
			},
		},
		{
			name:   "file added",
			reason: "a file SHA256SUMS does not list was not packaged",
			edit:   func(f map[string][]byte) { f["scenarios/extra.yaml"] = []byte("events: [events/deal-won.yaml]\n") },
			want: []want{
				{RuleFileUnlisted, "scenarios/extra.yaml", "not in SHA256SUMS"},
				{RuleReportMismatch, "scenarios/extra.yaml", "not among the report's inputs"},
			},
		},
		{
			name:   "file removed",
			reason: "SHA256SUMS and the report both list it",
			edit:   func(f map[string][]byte) { delete(f, "golden/won.json") },
			want: []want{
				{RuleFileMissing, "golden/won.json", "SHA256SUMS lists golden/won.json"},
				{RuleReportMismatch, "golden/won.json", "not in the bundle"},
			},
		},
		{
			name:   "SHA256SUMS removed",
			reason: "nothing can be checked without it",
			edit:   func(f map[string][]byte) { delete(f, BundleChecksums) },
			want:   []want{{RuleFileMissing, BundleChecksums, "not in the bundle"}},
		},
		{
			name:   "invalid manifest, resummed",
			reason: "the manifest is parsed and checked, at its line, even with matching checksums",
			edit: func(f map[string][]byte) {
				editBytes(f, manifest.File, "support: stable", "support: gold")
				f[BundleChecksums] = checksums(f)
			},
			want: []want{{RuleManifestInvalid, "connector.yaml:5", `support "gold"`}},
		},
		{
			name:   "report of another version, resummed",
			reason: "the report must be about the bundled connector",
			edit: func(f map[string][]byte) {
				editBytes(f, BundleReport, `"version": "1.0.0"`, `"version": "0.9.0"`)
				f[BundleChecksums] = checksums(f)
			},
			want: []want{{RuleReportMismatch, BundleReport, "connector.version"}},
		},
		{
			name:   "failing report, resummed",
			reason: "the report is gated again under the verifier's policy",
			edit: func(f map[string][]byte) {
				editBytes(f, BundleReport, `"findings": []`, `"findings": [{"id": "scope-unused", "level": "error", "position": {"file": "connector.yaml", "line": 12}, "message": "x"}]`)
				f[BundleChecksums] = checksums(f)
			},
			want: []want{{RuleReportFailed, BundleReport, "error scope-unused at connector.yaml:12"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := rewriteBundle(t, good, tc.edit)
			v, err := VerifyBundle(path, nil, bundleToday)
			if err != nil {
				t.Fatal(err)
			}
			if v.OK {
				t.Fatalf("VerifyBundle passed a tampered bundle (%s)", tc.reason)
			}
			for _, f := range v.Problems {
				if !slices.ContainsFunc(Rules(), func(r contracts.Rule) bool { return r.ID == f.ID && r.Level == f.Level }) {
					t.Errorf("problem %s is not one of the rules release.Rules lists", f)
				}
			}
			for _, w := range tc.want {
				found := slices.ContainsFunc(v.Problems, func(f report.Finding) bool {
					return f.ID == w.id && (w.location == "" || f.Position.String() == w.location) && strings.Contains(f.Message, w.words)
				})
				if !found {
					t.Errorf("no %s at %q saying %q among\n%s\n(%s)", w.id, w.location, w.words, findingLines(v.Problems), tc.reason)
				}
			}
		})
	}
}

// A release must rise above the releases its report compared it with.
func TestVerifyBundleSuccessor(t *testing.T) {
	dir, rep := gatedConnector(t)
	tests := []struct {
		name   string
		reason string
		compat *compat.ReleaseComparison
		want   string // words of the bundle-version-not-successor problem; empty for none
	}{
		{"above the baseline", "1.0.0 follows 0.9.0", &compat.ReleaseComparison{BaselineVersion: "0.9.0", Version: "1.0.0", RequiredBump: "minor", Satisfied: true}, ""},
		{"same as the baseline", "a release replaces nothing of its own version", &compat.ReleaseComparison{BaselineVersion: "1.0.0", Version: "1.0.0", RequiredBump: "none", Satisfied: true}, "not above compatibility.baseline_version 1.0.0"},
		{"bump not satisfied", "the changes need more than was raised", &compat.ReleaseComparison{BaselineVersion: "0.9.0", Version: "1.0.0", RequiredBump: "major", Why: "a field went away"}, "need a major bump: a field went away"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := *rep
			r.Compatibility = tc.compat
			out := writeTestBundle(t, dir, &r)
			v, err := VerifyBundle(out, nil, bundleToday)
			if err != nil {
				t.Fatal(err)
			}
			var got []report.Finding
			for _, f := range v.Problems {
				if f.ID == RuleVersionNotSuccessor {
					got = append(got, f)
				}
			}
			switch {
			case tc.want == "" && !v.OK:
				t.Errorf("problems %s; want none (%s)", findingLines(v.Problems), tc.reason)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0].Message, tc.want)):
				t.Errorf("problems %s; want one %s saying %q (%s)", findingLines(v.Problems), RuleVersionNotSuccessor, tc.want, tc.reason)
			}
		})
	}
}

func findingLines(fs []report.Finding) string {
	var lines []string
	for _, f := range fs {
		lines = append(lines, f.String())
	}
	return strings.Join(lines, "\n")
}

func editBytes(files map[string][]byte, p, old, new string) {
	if !bytes.Contains(files[p], []byte(old)) {
		panic(p + " has no " + old)
	}
	files[p] = bytes.Replace(files[p], []byte(old), []byte(new), 1)
}

// flipHex changes the first hex digit of data.
func flipHex(data []byte) {
	if data[0] == '0' {
		data[0] = '1'
	} else {
		data[0] = '0'
	}
}

// rewriteBundle reads the bundle at src, lets edit change its files, and
// writes them as a new bundle, as someone tampering with it would.
func rewriteBundle(t *testing.T, src string, edit func(files map[string][]byte)) string {
	t.Helper()
	b, err := ReadBundle(src)
	if err != nil {
		t.Fatal(err)
	}
	edit(b.Files)
	out := filepath.Join(t.TempDir(), "tampered.tar.gz")
	var buf bytes.Buffer
	if err := writeTarGz(&buf, b.Root, b.Files); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// entry is one raw tar entry for the ReadBundle tests.
type entry struct {
	name     string
	typeflag byte
	body     string
	link     string
}

func rawBundle(t *testing.T, entries ...entry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typeflag, Size: int64(len(e.body)), Mode: 0o644, Linkname: e.link, Format: tar.FormatPAX}
		if e.typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	zw.Close()
	path := filepath.Join(t.TempDir(), "raw.tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadBundleRefuses(t *testing.T) {
	ok := entry{name: "c-1.0.0/connector.yaml", typeflag: tar.TypeReg, body: "name: c\n"}
	tests := []struct {
		name    string
		reason  string
		entries []entry
		want    string // words of the error, naming the entry
	}{
		{"dot-dot", "an entry must not climb out of the extraction folder", []entry{ok, {name: "c-1.0.0/../../etc/cron.d/x", typeflag: tar.TypeReg, body: "x"}}, `"c-1.0.0/../../etc/cron.d/x": leaves the bundle with ".."`},
		{"absolute", "an absolute entry would be written anywhere", []entry{{name: "/etc/passwd", typeflag: tar.TypeReg, body: "x"}}, `"/etc/passwd": is an absolute path`},
		{"symlink", "a link would let a later entry write outside", []entry{ok, {name: "c-1.0.0/contracts", typeflag: tar.TypeSymlink, link: "/etc"}}, `"c-1.0.0/contracts": is a symbolic link`},
		{"hard link", "a hard link is a link too", []entry{ok, {name: "c-1.0.0/a", typeflag: tar.TypeLink, link: "c-1.0.0/connector.yaml"}}, `"c-1.0.0/a": is a hard link`},
		{"device", "only regular files are data", []entry{ok, {name: "c-1.0.0/dev", typeflag: tar.TypeChar}}, `"c-1.0.0/dev": is not a regular file`},
		{"duplicate", "two entries of one path make the content ambiguous", []entry{ok, ok}, `"c-1.0.0/connector.yaml": appears twice`},
		{"second root", "every entry sits under one folder", []entry{ok, {name: "other/connector.yaml", typeflag: tar.TypeReg, body: "x"}}, `"other/connector.yaml": is outside the bundle's root folder c-1.0.0/`},
		{"top-level file", "a file beside the root folder is outside it", []entry{{name: "README", typeflag: tar.TypeReg, body: "x"}}, `"README": is outside the bundle's root folder`},
		{"file and folder", "one path cannot be both", []entry{{name: "c-1.0.0/a", typeflag: tar.TypeReg, body: "x"}, {name: "c-1.0.0/a/b", typeflag: tar.TypeReg, body: "y"}}, `"c-1.0.0/a": is a file and also the folder of a/b`},
		{"empty", "a bundle holds files", []entry{{name: "c-1.0.0/", typeflag: tar.TypeDir}}, "holds no files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadBundle(rawBundle(t, tc.entries...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadBundle error = %v; want one saying %s (%s)", err, tc.want, tc.reason)
			}
		})
	}
}

// A bundle past the size cap is refused before it fills memory.
func TestReadBundleSizeCap(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "c-1.0.0/big", Typeflag: tar.TypeReg, Size: maxBundleSize + 1, Mode: 0o644})
	// The header alone claims too much; no content is needed.
	zw.Close()
	path := filepath.Join(t.TempDir(), "big.tar.gz")
	os.WriteFile(path, buf.Bytes(), 0o644)
	_, err := ReadBundle(path)
	if err == nil || !strings.Contains(err.Error(), "more than 256 MiB") {
		t.Errorf("ReadBundle error = %v; want the size cap", err)
	}
}

// A bundle extracts into a connector directory that loads as one, so a
// release can serve as a compatibility baseline.
func TestBundleExtract(t *testing.T) {
	dir, rep := gatedConnector(t)
	b, err := ReadBundle(writeTestBundle(t, dir, rep))
	if err != nil {
		t.Fatal(err)
	}
	if b.Root != "dealnotify-1.0.0" || !slices.IsSorted(b.Order) || len(b.Order) != len(b.Files) {
		t.Fatalf("bundle root %q, order %v", b.Root, b.Order)
	}
	out := filepath.Join(t.TempDir(), "baseline")
	if err := b.Extract(out); err != nil {
		t.Fatal(err)
	}
	for _, p := range b.Order {
		data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(data, b.Files[p]) {
			t.Errorf("%s extracted wrong: %v", p, err)
		}
	}
	if _, err := manifest.Read(out); err != nil {
		t.Errorf("the extracted bundle's manifest does not load: %v", err)
	}
}

// A manifest that names a Dockerfile (escalate's run.image) ships it, so
// the bundled manifest still validates.
func TestBundleShipsTheDockerfile(t *testing.T) {
	m, err := manifest.Read("../../connectors/escalate")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(manifestFiles(m), "Dockerfile") {
		t.Errorf("manifestFiles %v lacks the Dockerfile run.image names", manifestFiles(m))
	}
}

// A marketplace verifies an uploaded bundle against its policy as of the
// day: checksums, manifest, the report's files and verdict, the version.
func ExampleVerifyBundle() {
	dir, err := os.MkdirTemp("", "tether-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	c, err := manifest.Load(dealnotifyDir)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The report of a passing run over exactly these files.
	rep := report.Gate(&report.Report{Version: report.Version,
		Connector: report.ConnectorInfo{Name: c.Manifest.Name, Version: c.Manifest.Version, Dir: "."},
		Inputs:    c.Inputs}, nil, bundleToday)
	out := filepath.Join(dir, BundleName(c.Manifest))
	if err := WriteBundle(BundleInput{Connector: c, Report: rep}, out); err != nil {
		fmt.Println(err)
		return
	}
	v, err := VerifyBundle(out, nil, bundleToday)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Name, v.Version, "ok:", v.OK)

	// The same bundle with one byte of a contract changed.
	b, _ := ReadBundle(out)
	b.Files["contracts/crm.openapi.yaml"][0] ^= 1
	f, _ := os.Create(out)
	writeTarGz(f, b.Root, b.Files)
	f.Close()
	v, _ = VerifyBundle(out, nil, bundleToday)
	for _, p := range v.Problems {
		fmt.Println(p.ID, p.Position)
	}
	// Output:
	// dealnotify 1.0.0 ok: true
	// bundle-checksum-mismatch contracts/crm.openapi.yaml
	// bundle-report-mismatch contracts/crm.openapi.yaml
}
