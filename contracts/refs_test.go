package contracts

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/internal/memfs"
)

// refContract is a contract whose GET /b answers with the schema its $ref
// names; the schema's example is what the example would serve.
func refContract(ref string) string {
	return `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a:
    get:
      operationId: getA
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                $ref: 'schemas/a.yaml#/A'
  /b:
    get:
      operationId: getB
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                $ref: '` + ref + `'
`
}

// refTree writes root/contracts/{crm.yaml,schemas/a.yaml},
// root/shared/b.yaml and, beside root, secret.yaml; it returns root.
func refTree(t *testing.T, ref string) string {
	t.Helper()
	top := t.TempDir()
	root := filepath.Join(top, "root")
	for name, body := range map[string]string{
		"root/contracts/crm.yaml":       refContract(ref),
		"root/contracts/schemas/a.yaml": "A:\n  type: object\n  properties:\n    c: {$ref: 'c.yaml#/C'}\n",
		"root/contracts/schemas/c.yaml": "C: {type: integer}\n",
		"root/shared/b.yaml":            "B: {type: string, example: shared-b}\n",
		"secret.yaml":                   "Secret: {type: string, example: TOPSECRET}\n",
	} {
		p := filepath.Join(top, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func exampleBody(t *testing.T, c *Contract, op string) string {
	t.Helper()
	rs, err := c.ExampleResponses(op, 1)
	if err != nil || len(rs) == 0 {
		t.Fatalf("examples of %s: %v", op, err)
	}
	return string(rs[0].Body)
}

// Issue 18, item 10: a $ref reached files outside the contract's folder,
// and 'contract example' and the sandbox served their contents. A $ref is
// now confined to the contract's folder, or to the root RefRoot gives.
func TestRefsConfinedToRoot(t *testing.T) {
	for _, tc := range []struct {
		name, ref, reason string
	}{
		{"parent", "../../secret.yaml#/Secret", "a relative path out of the folder"},
		{"sibling folder", "../shared/b.yaml#/B", "a sibling folder is outside the contract's folder"},
		{"absolute", "SECRET#/Secret", "an absolute path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := tc.ref
			root := refTree(t, "x")
			if strings.HasPrefix(ref, "SECRET") {
				ref = strings.Replace(ref, "SECRET", filepath.Join(filepath.Dir(root), "secret.yaml"), 1)
			}
			file := filepath.Join(root, "contracts", "crm.yaml")
			if err := os.WriteFile(file, []byte(refContract(ref)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(file)
			var ce *Error
			if !errors.Is(err, ErrRefOutsideRoot) || !errors.As(err, &ce) || ce.Line != 23 || !strings.Contains(ce.Hint, "--ref-root") {
				t.Fatalf("%s: Load = %v; want an error at line 23 that the ref leaves the root, with a hint", tc.reason, err)
			}
		})
	}

	// The sibling folder is reachable under a wider root, and served.
	root := refTree(t, "../shared/b.yaml#/B")
	c, err := Load(filepath.Join(root, "contracts", "crm.yaml"), RefRoot(root))
	if err != nil {
		t.Fatalf("with RefRoot: %v", err)
	}
	if got := exampleBody(t, c, "getB"); got != `"shared-b"` {
		t.Errorf("example of getB = %s; want the shared schema's example", got)
	}
	// but not what is beside the wider root.
	bad := refTree(t, "../../secret.yaml#/Secret")
	if _, err := Load(filepath.Join(bad, "contracts", "crm.yaml"), RefRoot(bad)); !errors.Is(err, ErrRefOutsideRoot) {
		t.Errorf("a ref out of the wider root: %v", err)
	}
	// A root that does not hold the contract is refused.
	if _, err := Load(filepath.Join(bad, "contracts", "crm.yaml"), RefRoot(filepath.Join(bad, "shared"))); err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Errorf("a root beside the contract: %v", err)
	}
}

// A symbolic link in the folder that leads out of it is refused as the
// path would be.
func TestRefsSymlinkOutOfRoot(t *testing.T) {
	root := refTree(t, "link.yaml#/Secret")
	if err := os.Symlink(filepath.Join(filepath.Dir(root), "secret.yaml"), filepath.Join(root, "contracts", "link.yaml")); err != nil {
		t.Skipf("cannot make a symbolic link here: %v", err)
	}
	_, err := Load(filepath.Join(root, "contracts", "crm.yaml"))
	if !errors.Is(err, ErrRefOutsideRoot) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("Load = %v; want the link refused", err)
	}
}

// With RefsFrom, files are read from the given file system only, the way
// a connector or a release bundle loads its contracts: nothing on disk is
// read, even where the paths would name a file.
func TestRefsFromFileSystem(t *testing.T) {
	files := map[string][]byte{
		"contracts/crm.yaml":       []byte(refContract("../shared/b.yaml#/B")),
		"contracts/schemas/a.yaml": []byte("A:\n  type: object\n  properties:\n    c: {$ref: 'c.yaml#/C'}\n"),
		"contracts/schemas/c.yaml": []byte("C: {type: integer}\n"),
		"shared/b.yaml":            []byte("B: {type: string, example: from-the-fs}\n"),
	}
	fsys, err := memfs.New(files)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("contracts/crm.yaml", files["contracts/crm.yaml"], RefsFrom(fsys, "contracts"))
	if err != nil {
		t.Fatal(err)
	}
	if got := exampleBody(t, c, "getB"); got != `"from-the-fs"` {
		t.Errorf("example of getB = %s", got)
	}
	if got := exampleBody(t, c, "getA"); !strings.Contains(got, `"c"`) {
		t.Errorf("example of getA = %s; want the nested file's property", got)
	}
	abs := filepath.Join(refTree(t, "x"), "..", "secret.yaml")
	evil := []byte(refContract(abs + "#/Secret"))
	if _, err := Parse("contracts/crm.yaml", evil, RefsFrom(fsys, "contracts")); !errors.Is(err, ErrRefOutsideRoot) {
		t.Errorf("an absolute ref with RefsFrom: %v", err)
	}
	evil = []byte(refContract("../../secret.yaml#/Secret"))
	if _, err := Parse("contracts/crm.yaml", evil, RefsFrom(fsys, "contracts")); !errors.Is(err, ErrRefOutsideRoot) {
		t.Errorf("a ref out of the file system: %v", err)
	}
	// A broken ref to a file the file system lacks says so.
	_, err = Parse("contracts/crm.yaml", []byte(refContract("../shared/none.yaml#/B")), RefsFrom(fsys, "contracts"))
	if err == nil || !strings.Contains(err.Error(), "cannot read shared/none.yaml") {
		t.Errorf("a missing file: %v", err)
	}
	if bytes.Contains([]byte(refContract("x")), []byte("TOPSECRET")) {
		t.Fatal("the contract itself holds the secret")
	}
}
