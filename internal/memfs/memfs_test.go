package memfs

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestFSConformance(t *testing.T) {
	m, err := New(map[string][]byte{
		"connector.yaml":         []byte("name: x\n"),
		"contracts/crm.yaml":     []byte("openapi: 3.1.0\n"),
		"contracts/schemas/a.js": []byte("{}"),
		"golden/deep/er/b.json":  []byte("[]"),
		"empty":                  {},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(m, "connector.yaml", "contracts/crm.yaml", "contracts/schemas/a.js", "golden/deep/er/b.json", "empty"); err != nil {
		t.Fatal(err)
	}
	var zero FS
	if err := fstest.TestFS(&zero); err != nil {
		t.Fatal(err)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		files  map[string][]byte
		want   string
		reason string
	}{
		{map[string][]byte{"a": nil, "a/b": nil}, "a is a file and also the folder of a/b", "a file cannot hold files"},
		{map[string][]byte{"../x": nil}, "not a valid path", "a path leaving the root"},
		{map[string][]byte{"/x": nil}, "not a valid path", "an absolute path"},
		{map[string][]byte{"a//b": nil}, "not a valid path", "an unclean path"},
	} {
		_, err := New(tc.files)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want an error with %q", tc.reason, err, tc.want)
		}
	}
}

// TestDeepWalk makes an FS of one file 2,000 folders deep and
// walks it: every folder is listed once, from the index.
func TestDeepWalk(t *testing.T) {
	p := strings.Repeat("a/", 2000) + "f"
	m, err := New(map[string][]byte{p: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := fs.WalkDir(m, ".", func(string, fs.DirEntry, error) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 2002 {
		t.Errorf("walked %d entries, want 2002 (the root, 2000 folders, the file)", n)
	}
}
