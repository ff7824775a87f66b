// Package release turns a connector that passed its gate into a
// marketplace release and checks releases as a marketplace does: the
// reproducible bundle ([WriteBundle], [ReadBundle]), its verification on
// upload ([VerifyBundle]), the release notes and the marketplace listing,
// and the compatibility window of earlier releases.
package release

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
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

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
	"github.com/tetherkit/tether/internal/atomicfile"
	"github.com/tetherkit/tether/internal/memfs"
)

// Files of a bundle with a fixed place, relative to its root folder.
const (
	// BundleChecksums lists the SHA-256 of every other file of the bundle,
	// one "<hex>  <path>" line per file, sorted by path: the format
	// sha256sum -c reads from inside the root folder.
	BundleChecksums = "SHA256SUMS"
	// BundleReport is the report of the run that gated the release, in
	// its JSON form ([report.Report.JSON]).
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
	// Connector is the loaded connector; its files, as read, are what the
	// bundle ships.
	Connector *manifest.Connector
	// Report is the gate run the release rests on; it must pass and its
	// inputs must match the connector's files.
	Report *report.Report
	// Generated holds the files made for the bundle, by slash-separated
	// path inside it, such as "report/summary.md", "release-notes.md" or
	// "listing.json"; the caller decides their content. A path may not
	// fall among the connector's shipped files. [BundleReport] is written
	// from Report when missing; when given it must equal Report's JSON
	// form.
	Generated map[string][]byte
}

// WriteBundle writes the release bundle of in.Connector to out, a .tar.gz file
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
	if rep.Summary.Status != report.StatusPass {
		return nil, "", fmt.Errorf("the report's status is %q, not pass: a bundle is written only from a passing run (%d errors, %d failed checks)",
			rep.Summary.Status, rep.Summary.Errors, rep.Summary.Failed)
	}
	c := in.Connector
	if c == nil {
		panic("release: WriteBundle needs BundleInput.Connector; load it with manifest.Load")
	}
	m := c.Manifest
	if rep.Connector.Name != m.Name || rep.Connector.Version != m.Version {
		return nil, "", fmt.Errorf("the report is about %s %s, the manifest in %s is %s %s; run the gate on this directory",
			rep.Connector.Name, rep.Connector.Version, m.Dir, m.Name, m.Version)
	}
	shipped := bundleScope(m)
	for _, p := range c.NotRegular() {
		if shipped(p) {
			return nil, "", &contracts.Error{File: p, Msg: "is not a regular file (a link or a special file); a bundle ships regular files only"}
		}
	}
	files := map[string][]byte{}
	for p, data := range c.Files() {
		if shipped(p) {
			files[p] = data
		}
	}
	for _, rel := range manifestFiles(m) {
		if _, ok := files[rel]; !ok {
			return nil, "", &contracts.Error{File: rel, Msg: "the manifest names it, but the connector has no such regular file"}
		}
	}
	// A secret refuses the bundle whatever else is wrong.
	if err := scanCassettes(c, files); err != nil {
		return nil, "", err
	}
	if err := checkInputs(rep.Inputs, files, m); err != nil {
		return nil, "", err
	}
	reportJSON, err := rep.JSON()
	if err != nil {
		return nil, "", fmt.Errorf("encode report: %w", err)
	}
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
	root := m.Name + "-" + m.Version
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if why := checkPath(root + "/" + p); why != "" {
			return nil, "", &contracts.Error{File: p, Msg: "cannot be bundled: " + why}
		}
	}
	files[BundleChecksums] = checksums(files)
	return files, root, nil
}

// manifestFiles are the files the manifest names that a bundle ships:
// the configuration schema, the vendor and event contracts (usually under
// contracts/ anyway) and the image's Dockerfile, as clean slash paths; the
// bundled manifest must validate, and it checks that they exist.
func manifestFiles(m *manifest.Manifest) []string {
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
func bundleScope(m *manifest.Manifest) func(p string) bool {
	named := manifestFiles(m)
	return func(p string) bool {
		top, _, nested := strings.Cut(p, "/")
		return p == manifest.File || p == changelogFile || slices.Contains(named, p) ||
			(nested && slices.Contains(bundledDirs, top))
	}
}

// checkInputs checks that the report was made from files: each shipped
// file the run would have read is among the report's inputs with the
// same digest, and each input the bundle would ship is still there.
func checkInputs(inputs []manifest.Input, files map[string][]byte, m *manifest.Manifest) error {
	digest := map[string]string{}
	for _, in := range inputs {
		digest[in.Path] = in.SHA256
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		want, ok := digest[p]
		got := sha256Hex(files[p])
		switch {
		case ok && want != got:
			return &contracts.Error{File: p, Msg: fmt.Sprintf("changed since the run: the report read sha256 %s, the file now has %s; run the gate again", want, got)}
		case !ok && isRunInput(p):
			return &contracts.Error{File: p, Msg: "is not among the report's inputs: it was added after the run; run the gate again"}
		}
	}
	shipped := bundleScope(m)
	for _, in := range inputs {
		if _, ok := files[in.Path]; !ok && shipped(in.Path) {
			return &contracts.Error{File: in.Path, Msg: "the report read it but it is gone; run the gate again"}
		}
	}
	return nil
}

// isRunInput reports whether a run records the connector file p among
// its inputs (see digests).
func isRunInput(p string) bool {
	top, _, nested := strings.Cut(p, "/")
	return !nested || slices.Contains(manifest.InputDirs, top)
}

// scanCassettes runs the contract suite's secret scan over every cassette
// to be shipped: the YAML files under cassettes/.
func scanCassettes(c *manifest.Connector, files map[string][]byte) error {
	r := fixtures.DefaultRedactor()
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if !strings.HasPrefix(p, "cassettes/") || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			continue
		}
		cas := c.Cassettes[p]
		if cas == nil {
			parsed, err := fixtures.Parse(p, files[p])
			if err != nil {
				return &contracts.Error{File: p, Msg: "cannot scan the cassette for secrets: " + err.Error()}
			}
			cas = parsed
		}
		found := r.ScanSource(cas, files[p])
		if len(found) > 0 {
			f := found[0]
			more := ""
			if len(found) > 1 {
				more = fmt.Sprintf(", and %d more secrets", len(found)-1)
			}
			return &contracts.Error{File: p, Line: f.Line, Msg: fmt.Sprintf("%s (rule %s%s); re-save the cassette with tether to redact it, and rotate the credential",
				f.Message, f.ID, more)}
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

// Bounds of a bundle entry's path, the root folder included: what
// [WriteBundle] writes and [ReadBundle] reads. They are far above any
// connector's layout, and keep a hostile archive's paths short enough that
// checking them is cheap.
const (
	// MaxPathLen is the most bytes an entry's path may have.
	MaxPathLen = 1024
	// MaxPathDepth is the most folders an entry's path may pass through.
	MaxPathDepth = 32
	// maxNameLen is the most bytes one name in a path may have, the
	// usual limit of file systems.
	maxNameLen = 255
)

// checkPath says what is wrong with p, a bundle entry's path without a
// trailing slash, when it breaks the bounds; "" when it does not.
func checkPath(p string) string {
	if len(p) > MaxPathLen {
		return fmt.Sprintf("its path is %d bytes long, over the %d a bundle's path may have", len(p), MaxPathLen)
	}
	if depth := strings.Count(p, "/"); depth > MaxPathDepth {
		return fmt.Sprintf("its path is %d folders deep, over the %d a bundle's path may be", depth, MaxPathDepth)
	}
	for name := range strings.SplitSeq(p, "/") {
		if len(name) > maxNameLen {
			return fmt.Sprintf("a name in its path is %d bytes long, over the %d a file system allows", len(name), maxNameLen)
		}
	}
	return ""
}

// ReadBundle reads the .tar.gz bundle at path. The file must be exactly a
// bundle: one gzip stream read to its end, with its checksum and length
// checked, holding one tar archive with nothing but zero padding after
// it, and nothing after the gzip stream.
//
// It refuses, naming the entry, an absolute path, a path with "..", a
// path longer than [MaxPathLen] or deeper than [MaxPathDepth], a symbolic
// or hard link, any other entry that is neither a regular file nor a
// directory, an entry outside the one root folder, a duplicate entry, and
// a file that is also a folder of another; and it stops past 256 MiB of
// decompressed data. Directory entries are accepted and not kept. Its
// time is linear in the size of the archive.
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

// ReadBundleBytes reads a bundle held in memory, as [ReadBundle] reads a
// file: a release pulled from a registry is checked before it is written.
func ReadBundleBytes(data []byte) (*Bundle, error) {
	b, err := readBundle(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
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

// readBundle reads a bundle from r, which must implement io.ByteReader so
// that the gzip reader takes no byte past its stream.
func readBundle(r io.Reader) (*Bundle, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a gzip file: %w", err)
	}
	defer zr.Close()
	// A bundle is one gzip member; a second is data the checksums do not
	// cover.
	zr.Multistream(false)
	capped := &capReader{r: zr, left: maxBundleSize + 1}
	tr := tar.NewReader(capped)
	b := &Bundle{Files: map[string][]byte{}}
	dirs := map[string]bool{}
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, archiveError(err)
		}
		name := hdr.Name
		bad := func(why string) error {
			shown := name
			if len(shown) > 120 {
				shown = shown[:120] + "..."
			}
			return fmt.Errorf("entry %q: %s", shown, why)
		}
		clean := strings.TrimSuffix(name, "/")
		if why := checkPath(clean); why != "" {
			return nil, bad(why)
		}
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
			return nil, bad(archiveError(err).Error())
		}
		total += hdr.Size
		b.Files[rel] = data
		b.Order = append(b.Order, rel)
	}
	if err := readTrailer(capped, r); err != nil {
		return nil, err
	}
	if len(b.Files) == 0 {
		return nil, errors.New("it holds no files")
	}
	// Each folder of each file, by the slashes in its path: the depth is
	// bounded, so this is linear in the paths' length.
	for _, p := range b.Order {
		for i := strings.IndexByte(p, '/'); i >= 0; i = nextSlash(p, i) {
			if _, ok := b.Files[p[:i]]; ok {
				return nil, fmt.Errorf("entry %q: is a file and also the folder of %s", b.Root+"/"+p[:i], p)
			}
		}
	}
	return b, nil
}

// nextSlash is the index of the first slash in p after i, or -1.
func nextSlash(p string, i int) int {
	j := strings.IndexByte(p[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// readTrailer reads what follows the tar archive to the end of the gzip
// stream, which checks the stream's CRC-32 and length: only zero padding
// may be left of the archive, and nothing may follow the stream in the
// file.
func readTrailer(rest io.Reader, file io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := rest.Read(buf)
		if bytes.ContainsFunc(buf[:n], func(r rune) bool { return r != 0 }) {
			return errors.New("it holds data after the end of its tar archive")
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return archiveError(err)
		}
	}
	if n, _ := file.Read(buf[:1]); n > 0 {
		return errors.New("it holds data after the end of its gzip stream (trailing bytes, or a second gzip member)")
	}
	return nil
}

// archiveError says what a failure to read the compressed archive means.
func archiveError(err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, gzip.ErrChecksum):
		return errors.New("its gzip checksum does not match its content: the file is damaged")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("it ends early: the file is truncated")
	case errors.Is(err, gzip.ErrHeader), errors.As(err, &corrupt):
		return fmt.Errorf("its gzip stream is damaged: %w", err)
	}
	return err
}

// FS is the bundle's files as a read-only file system whose root is the
// bundle's root folder, held in memory: a connector can be loaded from it
// ([manifest.ReadFrom]) without writing anything to disk. It fails only
// for a Bundle that [ReadBundle] would have refused.
func (b *Bundle) FS() (fs.FS, error) {
	fsys, err := memfs.New(b.Files)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", b.Root, err)
	}
	return fsys, nil
}
