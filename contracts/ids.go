package contracts

import (
	"bytes"
	"io/fs"
	"net/url"
	"path"
	"strings"

	"github.com/pb33f/go-yaml"
)

// How a $ref finds its file. JSON Schema resolves a $ref against the base
// URI in scope, which a schema's `$id` sets; tools that register schemas
// by `$id` (ajv, for octokit's webhook schemas) also resolve a relative
// `$id` against no base at all, so "common/issue.schema.json" names the
// schema that declares exactly that `$id`, wherever its file lies. tether
// tries, for a $ref written in a file whose top-level object has an `$id`:
//
//  1. the $ref resolved against that `$id`, itself resolved against the
//     file's own location: a schema under the root declaring the result as
//     its `$id`, or the file at that place;
//  2. for a relative `$id`, the $ref resolved against the `$id` as
//     written: a schema under the root declaring the result as its `$id`;
//  3. the file the $ref names relative to the referring file, as for any
//     file without an `$id`.
//
// A $ref in a schema file without an `$id` names a file relative to
// itself, or, when it is an absolute URI, a schema under the root
// declaring it as its `$id`; in the contract itself, a file relative to
// the contract. Only the `$id` at the top of a file is read; the files searched
// for `$id`s are the .json, .yaml and .yml files under the contract's root
// (the same root that confines $refs), read only when a lookup needs them.

// idSpace is the base against which a relative `$id` is resolved when it
// stands for itself (rule 2 above).
var idSpace = &url.URL{Scheme: "tether-id", Path: "/"}

// maxIDFile bounds each file read while looking for `$id`s.
const maxIDFile = 64 << 20

// schemaIDs indexes the schema files under a root by their top-level `$id`.
type schemaIDs struct {
	byID  map[string]string   // resolved $id -> file, relative to the root
	dupes map[string][]string // resolved $id -> every file declaring it, when more than one does
}

// topID returns the `$id` of the top-level object of a YAML or JSON
// document, and the byte offset of the `$id` key in data.
func topID(data []byte) (id string, keyAt int, ok bool) {
	if !bytes.Contains(data, []byte("$id")) {
		return "", 0, false
	}
	var root yaml.Node
	if yaml.Unmarshal(jsonTabs(data), &root) != nil {
		return "", 0, false
	}
	body := documentBody(&root)
	if body == nil || body.Kind != yaml.MappingNode {
		return "", 0, false
	}
	for i := 0; i+1 < len(body.Content); i += 2 {
		k, v := body.Content[i], body.Content[i+1]
		if k.Value != "$id" || v.Kind != yaml.ScalarNode || v.Value == "" {
			continue
		}
		at := offsetOf(data, k.Line, k.Column)
		if at < 0 {
			return "", 0, false
		}
		j := bytes.Index(data[at:], []byte("$id"))
		if j < 0 || j > 2 {
			return "", 0, false
		}
		return v.Value, at + j, true
	}
	return "", 0, false
}

// offsetOf is the byte offset of a 1-based line and column, -1 when out
// of range.
func offsetOf(data []byte, line, col int) int {
	at := 0
	for l := 1; l < line; l++ {
		j := bytes.IndexByte(data[at:], '\n')
		if j < 0 {
			return -1
		}
		at += j + 1
	}
	if at+col-1 > len(data) || col < 1 {
		return -1
	}
	return at + col - 1
}

// fileURL is the location of a file of the root as a URI, against which
// its relative `$id` resolves.
func rootFileURL(rel string) *url.URL { return &url.URL{Scheme: "file", Path: "/" + rel} }

// idKeys are the keys a file at rel declaring id is known by: its `$id`
// resolved against its location, and, for a relative one, the `$id` as
// written.
func idKeys(rel, id string) []string {
	u, err := url.Parse(id)
	if err != nil {
		return nil
	}
	u.Fragment, u.RawFragment = "", ""
	if u.IsAbs() {
		return []string{u.String()}
	}
	return []string{rootFileURL(rel).ResolveReference(u).String(), idSpace.ResolveReference(u).String()}
}

// buildIDs reads the schema files under the root of fsys for their `$id`,
// reading at most maxRefFiles files and maxRefBytes bytes; hidden folders
// are skipped.
func buildIDs(fsys fs.FS) *schemaIDs {
	ids := &schemaIDs{byID: map[string]string{}, dupes: map[string][]string{}}
	files, total := 0, 0
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		switch path.Ext(p) {
		case ".json", ".yaml", ".yml":
		default:
			return nil
		}
		if files++; files > maxRefFiles || total > maxRefBytes {
			return fs.SkipAll
		}
		if info, err := d.Info(); err != nil || info.Size() > maxIDFile || !info.Mode().IsRegular() {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil
		}
		total += len(data)
		id, _, ok := topID(data)
		if !ok {
			return nil
		}
		for _, k := range idKeys(p, id) {
			if prev, seen := ids.byID[k]; seen && prev != p {
				if len(ids.dupes[k]) == 0 {
					ids.dupes[k] = []string{prev}
				}
				ids.dupes[k] = append(ids.dupes[k], p)
				continue
			}
			ids.byID[k] = p
		}
		return nil
	})
	return ids
}

// lookup finds the file declaring key as its `$id`; ambiguous lists the
// files when more than one does.
func (ids *schemaIDs) lookup(key string) (rel string, ambiguous []string) {
	if d := ids.dupes[key]; len(d) > 0 {
		return "", d
	}
	return ids.byID[key], nil
}

// specTarget is where JSON Schema puts target, a $ref written in the file
// at rel whose top-level `$id` is id (rule 1): its resolved URI, and the
// file of the root at that place ("" when it is not a file of the root).
func specTarget(rel, id, target string) (key, file string) {
	base, err := url.Parse(id)
	if err != nil {
		return "", ""
	}
	ref, err := url.Parse(target)
	if err != nil {
		return "", ""
	}
	u := rootFileURL(rel).ResolveReference(base).ResolveReference(ref)
	u.Fragment, u.RawFragment = "", ""
	key = u.String()
	if u.Scheme == "file" && !base.IsAbs() && !ref.IsAbs() {
		// Resolved with path.Join rather than by the URI, so that a $ref
		// climbing above the root is seen doing so.
		p := path.Join(path.Dir(path.Join(path.Dir(rel), base.Path)), ref.Path)
		if strings.HasPrefix(base.Path, "/") || strings.HasPrefix(ref.Path, "/") {
			return key, ""
		}
		if f, ok := checkLocal(p); ok {
			file = f
		}
	}
	return key, file
}

// idSpaceTarget is target resolved against a relative `$id` as written
// (rule 2); "" when id is absolute.
func idSpaceTarget(id, target string) string {
	base, err := url.Parse(id)
	if err != nil || base.IsAbs() {
		return ""
	}
	ref, err := url.Parse(target)
	if err != nil {
		return ""
	}
	u := idSpace.ResolveReference(base).ResolveReference(ref)
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// relFrom is the slash path that leads from the folder dir to the file
// rel, both relative to the root.
func relFrom(dir, rel string) string {
	if dir == "." || dir == "" {
		return rel
	}
	from := strings.Split(dir, "/")
	to := strings.Split(rel, "/")
	i := 0
	for i < len(from) && i < len(to)-1 && from[i] == to[i] {
		i++
	}
	return strings.Repeat("../", len(from)-i) + strings.Join(to[i:], "/")
}
