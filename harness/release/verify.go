package release

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/release/signature"
	"github.com/tetherkit/tether/harness/report"
)

// Verification is the verdict of [VerifyBundle].
type Verification struct {
	// Name and Version are the bundle's connector, from its manifest (or
	// its report when the manifest cannot be read).
	Name, Version string
	// Files is how many files the bundle holds.
	Files int
	// Problems are every check that failed, in the order checked.
	Problems []report.Finding
	// OK is true when there are no problems.
	OK bool
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
// With [RequireSignature], the bundle must also carry a signature by the
// key given, of its exact bytes (bundle-unsigned,
// bundle-signature-other-key, bundle-signature-mismatch,
// bundle-signature-invalid); the signature is checked first.
//
// The error is for a bundle that cannot be read at all (see
// [ReadBundle]), or a failure to use a temporary directory.
func VerifyBundle(path string, pol *report.Policy, today time.Time, opts ...VerifyOption) (*Verification, error) {
	var cfg verifyConfig
	for _, o := range opts {
		o(&cfg)
	}
	b, err := ReadBundle(path)
	if err != nil {
		return nil, err
	}
	vr := &bundleVerifier{b: b}
	if cfg.key != nil {
		if err := vr.signature(path, cfg.key, cfg.sigs); err != nil {
			return nil, err
		}
	}
	vr.checksums()
	m := vr.manifest()
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
		v.Problems = []report.Finding{}
	}
	v.OK = len(v.Problems) == 0
	return v, nil
}

// VerifyOption adds a check to [VerifyBundle].
type VerifyOption func(*verifyConfig)

type verifyConfig struct {
	key  *signature.PublicKey
	sigs [][]byte
}

// RequireSignature makes [VerifyBundle] accept the bundle only with a
// signature (see package signature) of the bundle's bytes by key among
// sigs; empty ones are ignored, and none is an unsigned bundle. Where the
// signatures lie (a file beside the bundle, referrers in a registry) is
// the caller's business.
func RequireSignature(key *signature.PublicKey, sigs ...[]byte) VerifyOption {
	return func(c *verifyConfig) {
		c.key = key
		for _, s := range sigs {
			if len(s) > 0 {
				c.sigs = append(c.sigs, s)
			}
		}
	}
}

// signature checks sigs against key and the bytes of the bundle at path:
// one good signature is enough; when none is, each failure is reported.
func (vr *bundleVerifier) signature(path string, key *signature.PublicKey, sigs [][]byte) error {
	loc := at(vr.b.Root+"/", 0)
	if len(sigs) == 0 {
		vr.add(RuleUnsigned, loc, "no signature came with the bundle, and key %s is required", key.ID())
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("verify signature of %s: %w", path, err)
	}
	digest := h.Sum(nil)
	var failed []error
	for _, sig := range sigs {
		err := signature.Verify(key, sig, digest)
		if err == nil {
			return nil
		}
		failed = append(failed, err)
	}
	for _, err := range failed {
		switch {
		case errors.Is(err, signature.ErrArtifactChanged):
			vr.add(RuleSignatureMismatch, loc, "%v", err)
		case errors.Is(err, signature.ErrOtherKey):
			vr.add(RuleSignatureOtherKey, loc, "%v", err)
		default:
			vr.add(RuleSignatureInvalid, loc, "%v", err)
		}
	}
	return nil
}

type bundleVerifier struct {
	b        *Bundle
	problems []report.Finding
}

// add reports a problem of the rule id about the bundle's file at pos.
func (vr *bundleVerifier) add(id string, pos contracts.Position, format string, args ...any) {
	f := rule(id).New(fmt.Sprintf(format, args...))
	f.Position = pos
	vr.problems = append(vr.problems, report.Finding{Finding: f, Check: "bundle"})
}

// at is the position of the bundle's file p, at line when it is above 0.
func at(p string, line int) contracts.Position { return contracts.Position{File: p, Line: line} }

// checksums compares the files with SHA256SUMS.
func (vr *bundleVerifier) checksums() {
	sums, ok := vr.b.Files[BundleChecksums]
	if !ok {
		vr.add(RuleFileMissing, at(BundleChecksums, 0), "%s is not in the bundle, so no file can be checked", BundleChecksums)
		return
	}
	listed := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSuffix(string(sums), "\n"), "\n") {
		loc := at(BundleChecksums, i+1)
		want, p, ok := strings.Cut(line, "  ")
		if !ok || len(want) != 64 || strings.Trim(want, "0123456789abcdef") != "" || p == "" {
			vr.add(RuleChecksumsInvalid, loc, "line %q", line)
			continue
		}
		if listed[p] {
			vr.add(RuleChecksumsInvalid, loc, "%s is listed twice", p)
			continue
		}
		listed[p] = true
		data, ok := vr.b.Files[p]
		if !ok {
			vr.add(RuleFileMissing, at(p, 0), "%s lists %s, which is not in the bundle", BundleChecksums, p)
			continue
		}
		if got := sha256Hex(data); got != want {
			vr.add(RuleChecksumMismatch, at(p, 0), "%s: %s has sha256 %s, the file has %s", p, BundleChecksums, want, got)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(vr.b.Files)) {
		if p != BundleChecksums && !listed[p] {
			vr.add(RuleFileUnlisted, at(p, 0), "%s is in the bundle but not in %s", p, BundleChecksums)
		}
	}
}

// manifest parses and checks the bundled manifest against the bundled
// files, in memory.
func (vr *bundleVerifier) manifest() *manifest.Manifest {
	data, ok := vr.b.Files[manifest.File]
	if !ok {
		vr.add(RuleFileMissing, at(manifest.File, 0), "%s is not in the bundle", manifest.File)
		return nil
	}
	m, err := manifest.Parse("the bundle", data, func(rel string) bool {
		_, ok := vr.b.Files[path.Clean(filepath.ToSlash(rel))]
		return ok
	})
	if err != nil {
		var e *contracts.Error
		pos, msg := at(manifest.File, 0), err.Error()
		if errors.As(err, &e) {
			pos, msg = at(manifest.File, e.Line), e.Msg
		}
		vr.add(RuleManifestInvalid, pos, "%s", msg)
		return nil
	}
	if want := m.Name + "-" + m.Version; vr.b.Root != want {
		vr.add(RuleRootMismatch, at(vr.b.Root+"/", 0), "the root folder is %s/, the manifest makes it %s/", vr.b.Root, want)
	}
	return m
}

// report decodes the bundled report and checks what it says it is about.
func (vr *bundleVerifier) report(m *manifest.Manifest) *report.Report {
	data, ok := vr.b.Files[BundleReport]
	if !ok {
		vr.add(RuleFileMissing, at(BundleReport, 0), "%s is not in the bundle; a bundle carries the report that gated it", BundleReport)
		return nil
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		vr.add(RuleReportInvalid, at(BundleReport, 0), "%v", err)
		return nil
	}
	if rep.Version != report.Version {
		vr.add(RuleReportInvalid, at(BundleReport, 0), "version is %d; this tether reads version %d", rep.Version, report.Version)
		return nil
	}
	if m != nil {
		if rep.Connector.Name != m.Name {
			vr.add(RuleReportMismatch, at(BundleReport, 0), "connector.name is %q, the manifest's name is %q", rep.Connector.Name, m.Name)
		}
		if rep.Connector.Version != m.Version {
			vr.add(RuleReportMismatch, at(BundleReport, 0), "connector.version is %q, the manifest's version is %q", rep.Connector.Version, m.Version)
		}
	}
	return &rep
}

// inputs checks the report's inputs against the shipped connector files.
func (vr *bundleVerifier) inputs(rep *report.Report, m *manifest.Manifest) {
	shipped := bundleScope(m)
	digest := map[string]string{}
	for _, in := range rep.Inputs {
		digest[in.Path] = in.SHA256
		data, ok := vr.b.Files[in.Path]
		switch {
		case !ok && shipped(in.Path):
			vr.add(RuleReportMismatch, at(in.Path, 0), "the report read %s (sha256 %s), which is not in the bundle", in.Path, in.SHA256)
		case ok && shipped(in.Path):
			if got := sha256Hex(data); got != in.SHA256 {
				vr.add(RuleReportMismatch, at(in.Path, 0), "%s: the report read sha256 %s, the bundle has %s", in.Path, in.SHA256, got)
			}
		}
	}
	for _, p := range vr.b.Order {
		if _, ok := digest[p]; !ok && shipped(p) && isRunInput(p) {
			vr.add(RuleReportMismatch, at(p, 0), "%s is in the bundle but not among the report's inputs", p)
		}
	}
}

// policy gates the report with pol.
func (vr *bundleVerifier) policy(rep *report.Report, pol *report.Policy, today time.Time) {
	if pol == nil {
		pol = report.DefaultPolicy()
	}
	gated := report.Gate(rep, pol, today)
	if gated.Summary.Status == report.StatusPass {
		return
	}
	var failing []string
	for _, f := range gated.Findings {
		if f.Waived == "" && slices.Contains(pol.FailOn, f.Level.String()) {
			s := f.Level.String() + " " + f.ID
			if f.Position.Known() {
				s += " at " + f.Position.String()
			}
			failing = append(failing, s)
		}
	}
	more := ""
	if len(failing) > 5 {
		more = fmt.Sprintf(" and %d more", len(failing)-5)
		failing = failing[:5]
	}
	note := ""
	if n := report.PolicyNote(rep, pol); n != "" {
		note = " (" + n + ")"
	}
	vr.add(RuleReportFailed, at(BundleReport, 0), "summary.status is %s: %s%s%s", gated.Summary.Status, strings.Join(failing, "; "), more, note)
}

// successor checks the version against the releases the report compared.
func (vr *bundleVerifier) successor(rep *report.Report, m *manifest.Manifest) {
	cur, err := compat.ParseVersion(m.Version)
	if err != nil {
		return // the manifest check reported it
	}
	above := func(field, base string) {
		old, err := compat.ParseVersion(base)
		if err != nil {
			vr.add(RuleVersionNotSuccessor, at(BundleReport, 0), "%s %q: %v", field, base, err)
			return
		}
		if cur.Compare(old) <= 0 {
			vr.add(RuleVersionNotSuccessor, at(BundleReport, 0), "version %s is not above %s %s", m.Version, field, base)
		}
	}
	if c := rep.Compatibility; c != nil {
		above("compatibility.baseline_version", c.BaselineVersion)
		if c.Version != m.Version {
			vr.add(RuleReportMismatch, at(BundleReport, 0), "compatibility.version is %q, the manifest's version is %q", c.Version, m.Version)
		}
		if !c.Satisfied {
			why := ""
			if c.Why != "" {
				why = ": " + c.Why
			}
			vr.add(RuleVersionNotSuccessor, at(BundleReport, 0), "compatibility.satisfied is false; the changes since %s need a %s bump%s", c.BaselineVersion, c.RequiredBump, why)
		}
	}
	for i, row := range rep.Releases {
		field := fmt.Sprintf("releases[%d].version", i)
		if row.Version != "" && (rep.Compatibility == nil || row.Version != rep.Compatibility.BaselineVersion) {
			above(field, row.Version)
		}
		if row.Semver == report.StatusFail {
			vr.add(RuleVersionNotSuccessor, at(BundleReport, 0), "releases[%d].semver is fail against %s", i, row.Release)
		}
	}
}
