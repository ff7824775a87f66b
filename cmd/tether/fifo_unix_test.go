//go:build unix

package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tetherkit/tether/internal/releasetest"
)

// A FIFO where the signature is expected would block verify for ever; it
// is refused as not a regular file.
func TestVerifyRefusesAFIFOSignature(t *testing.T) {
	dir := t.TempDir()
	_, pub := keygen(t, dir, "acme")
	bundle := releasetest.Bundle(t, exampleDir, "1.0.0", filepath.Join(dir, "dealnotify-1.0.0.tar.gz"))
	if err := syscall.Mkfifo(bundle+".sigstore.json", 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("verify", bundle, "--key", pub)
	if code != exitCannot || !strings.Contains(stdout+stderr, "not a regular file") {
		t.Errorf("verify with a FIFO signature: exit %d\n%s%s", code, stdout, stderr)
	}
}
