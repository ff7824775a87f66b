package release

import (
	"bytes"
	"path/filepath"
	"testing"
)

// FuzzReadBundle reads arbitrary bytes as a bundle: no panic, and whatever
// it accepts holds only local, regular files, each once.
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
			seen[p] = true
			if _, ok := b.Files[p]; !ok {
				t.Fatalf("%q listed but not held", p)
			}
		}
	})
}
