package harness

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/internal/atomicfile"
)

// Files of a bundle with a fixed place, relative to its root folder.
const (
	// BundleChecksums lists the SHA-256 of every other file of the bundle,
	// one "<hex>  <path>" line per file, sorted by path: the format
	// sha256sum -c reads from inside the root folder.
	BundleChecksums = "SHA256SUMS"
	// BundleReport is the report of the run that gated the release, in
	// its JSON form ([Report.JSON]).
	BundleReport = "report/report.json"
	// changelogFile is shipped when the connector has one.
	changelogFile = "CHANGELOG.md"
)

// bundledDirs are the directories of a connector shipped whole in a
// bundle.
var bundledDirs = []string{"contracts", "cassettes", "scenarios", "golden", "events"}

// bundleTime is the modification time of every bundle entry. The files'
// own times would make two bundles of the same files differ. The Unix
// epoch is avoided because some tools read a zero time as "unknown", and
// a date before 1980 cannot be carried into a zip file; 2000-01-01 UTC
// suits every tool and is plainly not a real time.
var bundleTime = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// maxBundleSize caps what ReadBundle decompresses (file contents and tar
// headers together), so that a small hostile file cannot fill memory.
const maxBundleSize = 256 << 20

// BundleInput is what [WriteBundle] packages.
type BundleInput struct {
	// Dir is the connector's directory.
	Dir string
	// Report is the gate run over Dir that the release rests on; it must
	// pass and its inputs must match the files in Dir.
	Report *Report
	// Generated holds the files made for the bundle, by slash-separated
	// path inside it, such as "report/summary.md", "release-notes.md" or
	// "listing.json"; the caller decides their content. A path may not
	// fall among the connector's shipped files. [BundleReport] is written
	// from Report when missing; when given it must equal Report's JSON
	// form.
	Generated map[string][]byte
}

// WriteBundle writes the release bundle of in.Dir to out, a .tar.gz file
// whose entries all sit under the folder "<name>-<version>/": the
// manifest, the configuration schema and the contracts it names,
// CHANGELOG.md when there is one, every file under contracts/,
// cassettes/, scenarios/, golden/ and events/ (hidden files skipped), the
// generated files, and [BundleChecksums] over all of them.
//
// WriteBundle refuses, with an error naming why and, where it applies,
// the file (an *[Error], at its line for a secret):
//   - a report whose status is not pass, or about another connector or
//     version;
//   - a report that does not belong to the files: a shipped file whose
//     digest differs from the report's input, one the report does not
//     list although the run would have read it, or an input in a shipped
//     directory that is gone;
//   - a cassette in which the secret scan of the contract suite finds a
//     secret, scanned again here;
//   - a symbolic link or other non-regular file among the shipped files.
//
// The same files give a byte-identical bundle with the same Go release:
// entries are sorted by path, their times, owners and modes are fixed
// (see bundleTime), and the gzip header carries no name and no time.
// The file is replaced atomically: out holds the old bundle or the new,
// never part of one.
func WriteBundle(in BundleInput, out string) error {
	files, root, err := collectBundle(in)
	if err != nil {
		return fmt.Errorf("write bundle %s: %w", out, err)
	}
	return atomicfile.Write(out, 0o644, func(w io.Writer) error {
		return writeTarGz(w, root, files)
	})
}

// collectBundle gathers and checks what WriteBundle packages, and returns
// the files by path (SHA256SUMS included) and the root folder's name.
func collectBundle(in BundleInput) (map[string][]byte, string, error) {
	rep := in.Report
	if rep == nil {
		panic("harness: WriteBundle needs BundleInput.Report; run the gate first")
	}
	if rep.Summary.Status != StatusPass {
		return nil, "", fmt.Errorf("the report's status is %q, not pass: a bundle is written only from a passing run (%d errors, %d failed checks)",
			rep.Summary.Status, rep.Summary.Errors, rep.Summary.Failed)
	}
	data, err := os.ReadFile(filepath.Join(in.Dir, ManifestFile))
	if err != nil {
		return nil, "", fmt.Errorf("read manifest: %w", err)
	}
	m, err := parseManifest(filepath.Join(in.Dir, ManifestFile), in.Dir, data)
	if err != nil {
		return nil, "", err
	}
	if rep.Connector.Name != m.Name || rep.Connector.Version != m.Version {
		return nil, "", fmt.Errorf("the report is about %s %s, the manifest in %s is %s %s; run the gate on this directory",
			rep.Connector.Name, rep.Connector.Version, in.Dir, m.Name, m.Version)
	}
	files := map[string][]byte{ManifestFile: data}
	named := manifestFiles(m)
	for _, rel := range named {
		if err := addBundleFile(files, in.Dir, rel); err != nil {
			return nil, "", err
		}
	}
	if _, err := os.Lstat(filepath.Join(in.Dir, changelogFile)); err == nil {
		if err := addBundleFile(files, in.Dir, changelogFile); err != nil {
			return nil, "", err
		}
	}
	for _, d := range bundledDirs {
		if err := addBundleTree(files, in.Dir, d); err != nil {
			return nil, "", err
		}
	}
	// A secret refuses the bundle whatever else is wrong.
	if err := scanCassettes(in.Dir, files); err != nil {
		return nil, "", err
	}
	if err := checkInputs(rep.Inputs, files, m); err != nil {
		return nil, "", err
	}
	reportJSON, err := rep.JSON()
	if err != nil {
		return nil, "", fmt.Errorf("encode report: %w", err)
	}
	shipped := bundleScope(m)
	for _, p := range slices.Sorted(maps.Keys(in.Generated)) {
		switch {
		case !fs.ValidPath(p) || p == "." || strings.Contains(p, `\`):
			return nil, "", fmt.Errorf("generated file %q: give a slash-separated path inside the bundle, without . or ..", p)
		case p == BundleChecksums:
			return nil, "", fmt.Errorf("generated file %s: WriteBundle writes it", p)
		case shipped(p) || files[p] != nil:
			return nil, "", fmt.Errorf("generated file %s is among the connector's shipped files; name it elsewhere, such as under report/", p)
		case p == BundleReport && !bytes.Equal(in.Generated[p], reportJSON):
			return nil, "", fmt.Errorf("generated file %s differs from the report's JSON form; leave it out and WriteBundle writes it", p)
		}
		files[p] = in.Generated[p]
	}
	if _, ok := files[BundleReport]; !ok {
		files[BundleReport] = reportJSON
	}
	files[BundleChecksums] = checksums(files)
	return files, m.Name + "-" + m.Version, nil
}

// manifestFiles are the files the manifest names that a bundle ships:
// the configuration schema, the vendor and event contracts (usually under
// contracts/ anyway) and the image's Dockerfile, as clean slash paths; the
// bundled manifest must validate, and it checks that they exist.
func manifestFiles(m *Manifest) []string {
	var out []string
	add := func(rel string) {
		if rel != "" {
			out = append(out, path.Clean(filepath.ToSlash(rel)))
		}
	}
	add(m.Config.Schema)
	for _, name := range slices.Sorted(maps.Keys(m.Vendors)) {
		add(m.Vendors[name].Contract)
	}
	add(m.Events.Contract)
	if m.Run.Image != nil {
		add(m.Run.Image.Dockerfile)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// bundleScope reports whether a path inside a bundle is one of the
// connector's shipped files, by its place: the manifest, what it names,
// CHANGELOG.md and the shipped directories. Everything else is generated.
func bundleScope(m *Manifest) func(p string) bool {
	named := manifestFiles(m)
	return func(p string) bool {
		top, _, nested := strings.Cut(p, "/")
		return p == ManifestFile || p == changelogFile || slices.Contains(named, p) ||
			(nested && slices.Contains(bundledDirs, top))
	}
}

// addBundleFile reads dir's file rel (a slash path) into files; only a
// regular file may be shipped.
func addBundleFile(files map[string][]byte, dir, rel string) error {
	if _, ok := files[rel]; ok {
		return nil
	}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	info, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("read %s: %w", rel, err)
	}
	if !info.Mode().IsRegular() {
		return &Error{File: rel, Msg: fmt.Sprintf("is a %s, not a regular file; a bundle ships regular files only", describeMode(info.Mode()))}
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("read %s: %w", rel, err)
	}
	files[rel] = data
	return nil
}

// addBundleTree adds every file under dir's folder sub, hidden files and
// folders skipped. A missing folder adds nothing.
func addBundleTree(files map[string][]byte, dir, sub string) error {
	base := filepath.Join(dir, sub)
	if _, err := os.Lstat(base); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != base && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		return addBundleFile(files, dir, filepath.ToSlash(rel))
	})
}

func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m.IsDir():
		return "directory"
	}
	return "special file"
}

// checkInputs checks that the report was made from files: each shipped
// file the run would have read is among the report's inputs with the
// same digest, and each input the bundle would ship is still there.
func checkInputs(inputs []Input, files map[string][]byte, m *Manifest) error {
	digest := map[string]string{}
	for _, in := range inputs {
		digest[in.Path] = in.SHA256
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		want, ok := digest[p]
		got := sha256Hex(files[p])
		switch {
		case ok && want != got:
			return &Error{File: p, Msg: fmt.Sprintf("changed since the run: the report read sha256 %s, the file now has %s; run the gate again", want, got)}
		case !ok && isRunInput(p):
			return &Error{File: p, Msg: "is not among the report's inputs: it was added after the run; run the gate again"}
		}
	}
	shipped := bundleScope(m)
	for _, in := range inputs {
		if _, ok := files[in.Path]; !ok && shipped(in.Path) {
			return &Error{File: in.Path, Msg: "the report read it but it is gone; run the gate again"}
		}
	}
	return nil
}

// isRunInput reports whether a run records the connector file p among
// its inputs (see digests).
func isRunInput(p string) bool {
	top, _, nested := strings.Cut(p, "/")
	return !nested || slices.Contains(inputDirs, top)
}

// scanCassettes runs the contract suite's secret scan over every cassette
// to be shipped: the YAML files under cassettes/.
func scanCassettes(dir string, files map[string][]byte) error {
	r := fixtures.DefaultRedactor()
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if !strings.HasPrefix(p, "cassettes/") || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			continue
		}
		found, err := r.ScanFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return &Error{File: p, Msg: "cannot scan the cassette for secrets: " + err.Error()}
		}
		if len(found) > 0 {
			f := found[0]
			more := ""
			if len(found) > 1 {
				more = fmt.Sprintf(", and %d more secrets", len(found)-1)
			}
			return &Error{File: p, Line: f.Line, Msg: fmt.Sprintf("%s (rule %s, interaction %d%s); re-save the cassette with tether to redact it, and rotate the credential",
				f.Message, f.Rule, f.Interaction, more)}
		}
	}
	return nil
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// checksums is the SHA256SUMS file of files.
func checksums(files map[string][]byte) []byte {
	var b bytes.Buffer
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if p != BundleChecksums {
			fmt.Fprintf(&b, "%s  %s\n", sha256Hex(files[p]), p)
		}
	}
	return b.Bytes()
}

// writeTarGz writes files as a reproducible .tar.gz under root.
func writeTarGz(w io.Writer, root string, files map[string][]byte) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	// No name, no time, and a fixed OS byte (255, unknown): nothing of the
	// machine or the moment.
	zw.Header = gzip.Header{OS: 255}
	tw := tar.NewWriter(zw)
	for _, p := range slices.Sorted(maps.Keys(files)) {
		data := files[p]
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     root + "/" + p,
			Size:     int64(len(data)),
			Mode:     0o644,
			ModTime:  bundleTime,
			// PAX records appear only for a path too long for USTAR.
			Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("bundle %s: %w", p, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("bundle %s: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// Bundle is a release bundle read into memory.
type Bundle struct {
	// Root is the folder every entry sits under, "<name>-<version>" for a
	// bundle WriteBundle wrote.
	Root string
	// Files maps each file's slash path, relative to Root, to its content.
	Files map[string][]byte
	// Order is the files' paths in the order of the archive.
	Order []string
}

// ReadBundle reads the .tar.gz bundle at path. It refuses, naming the
// entry, an absolute path, a path with "..", a symbolic or hard link, any
// other entry that is neither a regular file nor a directory, an entry
// outside the one root folder, a duplicate entry, and a file that is also
// a folder of another; and it stops past 256 MiB of decompressed data.
// Directory entries are accepted and not kept.
func ReadBundle(path string) (*Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	defer f.Close()
	b, err := readBundle(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("read bundle %s: %w", path, err)
	}
	return b, nil
}

var errBundleTooLarge = fmt.Errorf("it decompresses to more than %d MiB", maxBundleSize>>20)

// capReader fails once more than left bytes have been read.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errBundleTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func readBundle(r io.Reader) (*Bundle, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a gzip file: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(&capReader{r: zr, left: maxBundleSize + 1})
	b := &Bundle{Files: map[string][]byte{}}
	dirs := map[string]bool{}
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := hdr.Name
		bad := func(why string) error { return fmt.Errorf("entry %q: %s", name, why) }
		clean := strings.TrimSuffix(name, "/")
		switch {
		case clean == "":
			return nil, bad("has no name")
		case strings.HasPrefix(name, "/"):
			return nil, bad("is an absolute path")
		case slices.Contains(strings.Split(strings.ReplaceAll(clean, `\`, "/"), "/"), ".."):
			return nil, bad(`leaves the bundle with ".."`)
		case strings.Contains(clean, `\`) || !fs.ValidPath(clean):
			return nil, bad("is not a clean slash-separated path")
		}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeDir:
		case tar.TypeSymlink:
			return nil, bad(fmt.Sprintf("is a symbolic link (to %q); a bundle holds regular files only", hdr.Linkname))
		case tar.TypeLink:
			return nil, bad(fmt.Sprintf("is a hard link (to %q); a bundle holds regular files only", hdr.Linkname))
		default:
			return nil, bad(fmt.Sprintf("is not a regular file (type %q)", hdr.Typeflag))
		}
		top, rel, nested := strings.Cut(clean, "/")
		if b.Root == "" {
			b.Root = top
		}
		if top != b.Root || (!nested && hdr.Typeflag == tar.TypeReg) {
			return nil, bad(fmt.Sprintf("is outside the bundle's root folder %s/", b.Root))
		}
		if hdr.Typeflag == tar.TypeDir {
			if nested {
				if _, ok := b.Files[rel]; ok {
					return nil, bad("is a folder and also a file")
				}
				dirs[rel] = true
			}
			continue
		}
		if _, ok := b.Files[rel]; ok {
			return nil, bad("appears twice")
		}
		if dirs[rel] {
			return nil, bad("is a file and also a folder")
		}
		if hdr.Size < 0 || hdr.Size > maxBundleSize-total {
			return nil, bad(errBundleTooLarge.Error())
		}
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return nil, bad(err.Error())
		}
		total += hdr.Size
		b.Files[rel] = data
		b.Order = append(b.Order, rel)
	}
	if len(b.Files) == 0 {
		return nil, errors.New("it holds no files")
	}
	for _, p := range b.Order {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := b.Files[d]; ok {
				return nil, fmt.Errorf("entry %q: is a file and also the folder of %s", b.Root+"/"+d, p)
			}
		}
	}
	return b, nil
}

// Extract writes the bundle's files under dir (not under Root), creating
// dir and the folders between; files are written 0644 and existing ones
// replaced. The writes cannot leave dir, even through a symbolic link
// already in it.
func (b *Bundle) Extract(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("extract bundle: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("extract bundle: %w", err)
	}
	defer root.Close()
	for _, p := range b.Order {
		rel := filepath.FromSlash(p)
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("extract bundle: %s is not a local path", p)
		}
		if d := filepath.Dir(rel); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("extract bundle: %w", err)
			}
		}
		if err := root.WriteFile(rel, b.Files[p], 0o644); err != nil {
			return fmt.Errorf("extract bundle: %w", err)
		}
	}
	return nil
}

// Verification is the verdict of [VerifyBundle].
type Verification struct {
	// Name and Version are the bundle's connector, from its manifest (or
	// its report when the manifest cannot be read).
	Name, Version string
	// Files is how many files the bundle holds.
	Files int
	// Problems are every check that failed, in the order checked.
	Problems []Finding
	// OK is true when there are no problems.
	OK bool
}

// Problems VerifyBundle reports, by ID.
const (
	ruleChecksumMismatch    = "bundle-checksum-mismatch"
	ruleChecksumsInvalid    = "bundle-checksums-invalid"
	ruleFileMissing         = "bundle-file-missing"
	ruleFileUnlisted        = "bundle-file-unlisted"
	ruleRootMismatch        = "bundle-root-mismatch"
	ruleManifestInvalid     = "bundle-manifest-invalid"
	ruleReportInvalid       = "bundle-report-invalid"
	ruleReportMismatch      = "bundle-report-mismatch"
	ruleReportFailed        = "bundle-report-failed"
	ruleVersionNotSuccessor = "bundle-version-not-successor"
)

// bundleRules is the catalogue of VerifyBundle's problems: the heading
// that starts each message and the hint.
var bundleRules = map[string]struct{ heading, hint string }{
	ruleChecksumMismatch:    {"a file differs from its checksum", "the bundle was changed after it was written; get it again from its source"},
	ruleChecksumsInvalid:    {"SHA256SUMS is malformed", "each line is a 64-digit hex SHA-256, two spaces and a path"},
	ruleFileMissing:         {"a file is missing", "the bundle was changed after it was written, or written by a tool that left it out"},
	ruleFileUnlisted:        {"a file is not in SHA256SUMS", "the file was added after the bundle was written"},
	ruleRootMismatch:        {"the root folder is not <name>-<version>", "write the bundle with tether package"},
	ruleManifestInvalid:     {"the manifest is not valid", "fix connector.yaml, run the gate and package again"},
	ruleReportInvalid:       {"the report cannot be read", "package again with a report of this tether's format"},
	ruleReportMismatch:      {"the report is not about the bundled files", "run the gate on the files shipped and package again"},
	ruleReportFailed:        {"the report does not pass the policy", "fix the findings, or waive them in the policy with a reason and an expiry date"},
	ruleVersionNotSuccessor: {"the version does not succeed the releases compared", "raise the version as much as the changes need"},
}

// VerifyBundle checks the bundle at path as a marketplace accepts it, and
// returns every problem found: each file listed in SHA256SUMS present
// with its digest (bundle-checksum-mismatch, bundle-file-missing) and no
// file unlisted (bundle-file-unlisted); the manifest valid, located at
// its line (bundle-manifest-invalid), and the root folder named after it
// (bundle-root-mismatch); the report decodable (bundle-report-invalid),
// about this connector and version and about the files shipped, each
// shipped connector file with the digest the report read and each input
// of the shipped kinds present (bundle-report-mismatch); the report
// passing under pol as of today (bundle-report-failed; nil pol is
// [DefaultPolicy]); and, when the report compared releases, the version
// above each baseline's with the required bump satisfied
// (bundle-version-not-successor). Every message names the file, field or
// digests concerned.
//
// The error is for a bundle that cannot be read at all (see
// [ReadBundle]), or a failure to use a temporary directory.
func VerifyBundle(path string, pol *Policy, today time.Time) (*Verification, error) {
	b, err := ReadBundle(path)
	if err != nil {
		return nil, err
	}
	vr := &bundleVerifier{b: b}
	vr.checksums()
	m, err := vr.manifest()
	if err != nil {
		return nil, err
	}
	rep := vr.report(m)
	if rep != nil && m != nil {
		vr.inputs(rep, m)
		vr.successor(rep, m)
	}
	if rep != nil {
		vr.policy(rep, pol, today)
	}
	v := &Verification{Files: len(b.Files), Problems: vr.problems}
	switch {
	case m != nil:
		v.Name, v.Version = m.Name, m.Version
	case rep != nil:
		v.Name, v.Version = rep.Connector.Name, rep.Connector.Version
	}
	if v.Problems == nil {
		v.Problems = []Finding{}
	}
	v.OK = len(v.Problems) == 0
	return v, nil
}

type bundleVerifier struct {
	b        *Bundle
	problems []Finding
}

func (vr *bundleVerifier) add(id, location, format string, args ...any) {
	rule, ok := bundleRules[id]
	if !ok {
		panic("harness: bundle rule " + id + " is missing from bundleRules; add it there")
	}
	vr.problems = append(vr.problems, Finding{ID: id, Level: LevelError, Location: location,
		Message: rule.heading + ": " + fmt.Sprintf(format, args...), Hint: rule.hint, Check: "bundle"})
}

// checksums compares the files with SHA256SUMS.
func (vr *bundleVerifier) checksums() {
	sums, ok := vr.b.Files[BundleChecksums]
	if !ok {
		vr.add(ruleFileMissing, BundleChecksums, "%s is not in the bundle, so no file can be checked", BundleChecksums)
		return
	}
	listed := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSuffix(string(sums), "\n"), "\n") {
		loc := fmt.Sprintf("%s:%d", BundleChecksums, i+1)
		want, p, ok := strings.Cut(line, "  ")
		if !ok || len(want) != 64 || strings.Trim(want, "0123456789abcdef") != "" || p == "" {
			vr.add(ruleChecksumsInvalid, loc, "line %q", line)
			continue
		}
		if listed[p] {
			vr.add(ruleChecksumsInvalid, loc, "%s is listed twice", p)
			continue
		}
		listed[p] = true
		data, ok := vr.b.Files[p]
		if !ok {
			vr.add(ruleFileMissing, p, "%s lists %s, which is not in the bundle", BundleChecksums, p)
			continue
		}
		if got := sha256Hex(data); got != want {
			vr.add(ruleChecksumMismatch, p, "%s: %s has sha256 %s, the file has %s", p, BundleChecksums, want, got)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(vr.b.Files)) {
		if p != BundleChecksums && !listed[p] {
			vr.add(ruleFileUnlisted, p, "%s is in the bundle but not in %s", p, BundleChecksums)
		}
	}
}

// manifest parses and checks the bundled manifest against the bundled
// files, which it extracts to a temporary directory for the check.
func (vr *bundleVerifier) manifest() (*Manifest, error) {
	data, ok := vr.b.Files[ManifestFile]
	if !ok {
		vr.add(ruleFileMissing, ManifestFile, "%s is not in the bundle", ManifestFile)
		return nil, nil
	}
	tmp, err := os.MkdirTemp("", "tether-bundle-")
	if err != nil {
		return nil, fmt.Errorf("verify bundle: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := vr.b.Extract(tmp); err != nil {
		return nil, fmt.Errorf("verify bundle: %w", err)
	}
	m, err := parseManifest(ManifestFile, tmp, data)
	if err != nil {
		var e *Error
		loc, msg := ManifestFile, err.Error()
		if errors.As(err, &e) {
			msg = e.Msg
			if e.Line > 0 {
				loc = fmt.Sprintf("%s:%d", ManifestFile, e.Line)
			}
		}
		vr.add(ruleManifestInvalid, loc, "%s", strings.ReplaceAll(msg, tmp, "the bundle"))
		return nil, nil
	}
	if want := m.Name + "-" + m.Version; vr.b.Root != want {
		vr.add(ruleRootMismatch, vr.b.Root+"/", "the root folder is %s/, the manifest makes it %s/", vr.b.Root, want)
	}
	return m, nil
}

// report decodes the bundled report and checks what it says it is about.
func (vr *bundleVerifier) report(m *Manifest) *Report {
	data, ok := vr.b.Files[BundleReport]
	if !ok {
		vr.add(ruleFileMissing, BundleReport, "%s is not in the bundle; a bundle carries the report that gated it", BundleReport)
		return nil
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		vr.add(ruleReportInvalid, BundleReport, "%v", err)
		return nil
	}
	if rep.Version != ReportVersion {
		vr.add(ruleReportInvalid, BundleReport, "version is %d; this tether reads version %d", rep.Version, ReportVersion)
		return nil
	}
	if m != nil {
		if rep.Connector.Name != m.Name {
			vr.add(ruleReportMismatch, BundleReport, "connector.name is %q, the manifest's name is %q", rep.Connector.Name, m.Name)
		}
		if rep.Connector.Version != m.Version {
			vr.add(ruleReportMismatch, BundleReport, "connector.version is %q, the manifest's version is %q", rep.Connector.Version, m.Version)
		}
	}
	return &rep
}

// inputs checks the report's inputs against the shipped connector files.
func (vr *bundleVerifier) inputs(rep *Report, m *Manifest) {
	shipped := bundleScope(m)
	digest := map[string]string{}
	for _, in := range rep.Inputs {
		digest[in.Path] = in.SHA256
		data, ok := vr.b.Files[in.Path]
		switch {
		case !ok && shipped(in.Path):
			vr.add(ruleReportMismatch, in.Path, "the report read %s (sha256 %s), which is not in the bundle", in.Path, in.SHA256)
		case ok && shipped(in.Path):
			if got := sha256Hex(data); got != in.SHA256 {
				vr.add(ruleReportMismatch, in.Path, "%s: the report read sha256 %s, the bundle has %s", in.Path, in.SHA256, got)
			}
		}
	}
	for _, p := range vr.b.Order {
		if _, ok := digest[p]; !ok && shipped(p) && isRunInput(p) {
			vr.add(ruleReportMismatch, p, "%s is in the bundle but not among the report's inputs", p)
		}
	}
}

// policy gates the report with pol.
func (vr *bundleVerifier) policy(rep *Report, pol *Policy, today time.Time) {
	if pol == nil {
		pol = DefaultPolicy()
	}
	pol.Apply(rep, today)
	if rep.Summary.Status == StatusPass {
		return
	}
	var failing []string
	for _, f := range rep.Findings {
		if f.Waived == "" && slices.Contains(pol.FailOn, f.Level) {
			s := f.Level + " " + f.ID
			if f.Location != "" {
				s += " at " + f.Location
			}
			failing = append(failing, s)
		}
	}
	more := ""
	if len(failing) > 5 {
		more = fmt.Sprintf(" and %d more", len(failing)-5)
		failing = failing[:5]
	}
	vr.add(ruleReportFailed, BundleReport, "summary.status is %s: %s%s", rep.Summary.Status, strings.Join(failing, "; "), more)
}

// successor checks the version against the releases the report compared.
func (vr *bundleVerifier) successor(rep *Report, m *Manifest) {
	cur, err := ParseVersion(m.Version)
	if err != nil {
		return // the manifest check reported it
	}
	above := func(field, base string) {
		old, err := ParseVersion(base)
		if err != nil {
			vr.add(ruleVersionNotSuccessor, BundleReport, "%s %q: %v", field, base, err)
			return
		}
		if cur.Compare(old) <= 0 {
			vr.add(ruleVersionNotSuccessor, BundleReport, "version %s is not above %s %s", m.Version, field, base)
		}
	}
	if c := rep.Compatibility; c != nil {
		above("compatibility.baseline_version", c.BaselineVersion)
		if c.Version != m.Version {
			vr.add(ruleReportMismatch, BundleReport, "compatibility.version is %q, the manifest's version is %q", c.Version, m.Version)
		}
		if !c.Satisfied {
			why := ""
			if c.Why != "" {
				why = ": " + c.Why
			}
			vr.add(ruleVersionNotSuccessor, BundleReport, "compatibility.satisfied is false; the changes since %s need a %s bump%s", c.BaselineVersion, c.RequiredBump, why)
		}
	}
	for i, row := range rep.Releases {
		field := fmt.Sprintf("releases[%d].version", i)
		if row.Version != "" && (rep.Compatibility == nil || row.Version != rep.Compatibility.BaselineVersion) {
			above(field, row.Version)
		}
		if row.Semver == StatusFail {
			vr.add(ruleVersionNotSuccessor, BundleReport, "releases[%d].semver is fail against %s", i, row.Release)
		}
	}
}
