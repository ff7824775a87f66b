package release

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadBundle reads arbitrary bytes as a bundle: no panic, and whatever
// it accepts holds only local, regular files, each once, within the
// bounds of a path, and loads as an in-memory file system.
func FuzzReadBundle(f *testing.F) {
	var good bytes.Buffer
	if err := writeTarGz(&good, "x-1.0.0", map[string][]byte{
		"connector.yaml": []byte("name: x\nversion: 1.0.0\n"),
		"golden/a.json":  []byte("[]"),
	}); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Add(good.Bytes()[:good.Len()/2])
	// Damaged gzip streams: truncated trailer, bad CRC, trailing garbage,
	// concatenated members.
	for _, d := range gzipDamages {
		f.Add(d.spoil(good.Bytes()))
	}
	// Long and deep paths, at the bounds and past them.
	for _, p := range []string{
		strings.Repeat("a/", MaxPathDepth-1) + "f",
		strings.Repeat("a/", MaxPathDepth) + "f",
		strings.Repeat("a/", 5000) + "f",
		strings.Repeat("n", MaxPathLen-len("x-1.0.0/")),
		strings.Repeat("n", MaxPathLen),
		strings.Repeat("b", 255) + "/" + strings.Repeat("c", 256),
	} {
		var deep bytes.Buffer
		if err := writeTarGz(&deep, "x-1.0.0", map[string][]byte{"connector.yaml": []byte("name: x\n"), p: []byte("x")}); err != nil {
			f.Fatal(err)
		}
		f.Add(deep.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := readBundle(bytes.NewReader(data))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, p := range b.Order {
			if !filepath.IsLocal(filepath.FromSlash(p)) || seen[p] {
				t.Fatalf("accepted entry %q (seen before: %v)", p, seen[p])
			}
			if why := checkPath(b.Root + "/" + p); why != "" {
				t.Fatalf("accepted entry %.100q: %s", p, why)
			}
			seen[p] = true
			if _, ok := b.Files[p]; !ok {
				t.Fatalf("%q listed but not held", p)
			}
		}
		if _, err := b.FS(); err != nil {
			t.Fatalf("accepted a bundle that is no file system: %v", err)
		}
	})
}
