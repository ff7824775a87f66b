package main

import (
	"archive/tar"
	"compress/gzip"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/harness/release"
)

// A bundle package wrote verifies; one with a changed byte fails naming
// the file; a file that is no bundle cannot be verified.
func TestVerify(t *testing.T) {
	dir := releaseCopy(t, "1.0.0")
	bundle := filepath.Join(t.TempDir(), "dealnotify-1.0.0.tar.gz")
	// Without --report, package runs the gate itself.
	if code, stdout, stderr := runCLI("package", dir, "--out", bundle); code != exitOK {
		t.Fatalf("package: exit %d\n%s\n%s", code, stdout, tailLines(stderr, 20))
	}

	code, stdout, _ := runCLI("verify", bundle)
	if code != exitOK || !strings.Contains(stdout, "BUNDLE: OK dealnotify 1.0.0 (") {
		t.Errorf("verify of a fresh bundle: exit %d\n%s", code, stdout)
	}

	const changed = "listing.md"
	tampered := rewriteBundle(t, bundle, func(files map[string][]byte) {
		data := files[changed]
		if len(data) == 0 {
			t.Fatalf("the bundle has no %s", changed)
		}
		data[0] ^= 0x20
	})
	code, stdout, _ = runCLI("verify", tampered)
	if code != exitFindings || !strings.Contains(stdout, "bundle-checksum-mismatch") || !strings.Contains(stdout, changed) ||
		!strings.Contains(stdout, "BUNDLE: FAILED: 1 problems") {
		t.Errorf("verify of a tampered bundle: exit %d, want %d naming %s\n%s", code, exitFindings, changed, stdout)
	}

	notBundle := filepath.Join(t.TempDir(), "notes.tar.gz")
	os.WriteFile(notBundle, []byte("not a bundle\n"), 0o644)
	code, _, stderr := runCLI("verify", notBundle)
	if code != exitCannot || !strings.Contains(stderr, "notes.tar.gz") {
		t.Errorf("verify of a file that is no bundle: exit %d, want %d; %q", code, exitCannot, stderr)
	}
	if code, _, _ := runCLI("verify"); code != exitCannot {
		t.Errorf("verify without a bundle: exit %d, want %d", code, exitCannot)
	}
}

// rewriteBundle writes a copy of the bundle at src with its files changed
// by edit, and returns its path.
func rewriteBundle(t *testing.T, src string, edit func(files map[string][]byte)) string {
	t.Helper()
	b, err := release.ReadBundle(src)
	if err != nil {
		t.Fatal(err)
	}
	edit(b.Files)
	out := filepath.Join(t.TempDir(), filepath.Base(src))
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, p := range b.Order {
		data := b.Files[p]
		hdr := &tar.Header{Name: path.Join(b.Root, p), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}
