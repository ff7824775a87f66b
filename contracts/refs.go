package contracts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tetherkit/tether/internal/memfs"
)

// ErrRefOutsideRoot is wrapped by the error returned for a contract whose
// $ref names a file outside its root: the contract's own folder, or the
// wider root [RefRoot] gives.
var ErrRefOutsideRoot = errors.New("$ref outside the contract's root")

// Bounds of what a contract's file $refs may read, over all the files they
// reach: far above real split contracts, which have tens of files.
const (
	maxRefFiles = 10_000
	maxRefBytes = 1 << 30
)

// RefRoot lets relative-file $refs reach any file under root, which must
// hold the contract's folder. Without it they reach only files under the
// contract's own folder, so that a contract cannot make tether read, and
// serve as examples, files it was not meant to see (../../secret.yaml,
// /etc/passwd). Symbolic links are followed only while they stay in root.
func RefRoot(root string) Option { return func(o *options) { o.refRoot = root } }

// RefsFrom reads the files relative-file $refs name from fsys, and from
// nowhere else; dir is the contract's folder in fsys (a slash path, "."
// for its top). It is for contracts whose files were read already, such
// as a connector's or a release bundle's. File names in positions and
// errors are then paths in fsys.
func RefsFrom(fsys fs.FS, dir string) Option {
	return func(o *options) { o.refFS, o.refFSDir = fsys, dir }
}

// refFiles are the files a contract's $refs reach, read once when it is
// loaded; nothing else is read afterwards. Paths in it are slash paths
// relative to the root.
type refFiles struct {
	files map[string][]byte
	dir   string // the contract's folder, relative to the root
	shown string // what the root is called in file names; "" when paths in it are shown as they are
	base  string // an absolute path standing for the root, for libopenapi
	// main is the contract's own bytes with the $refs that `$id`s
	// resolve rewritten to name files by location; nil when none are.
	main []byte
}

// path is the file a $ref names, written in the file from ("" for the
// contract itself), relative to the root; ok is false for a ref that
// names no local file or leaves the root.
func (r *refFiles) path(from, target string) (string, bool) {
	if r == nil || target == "" || strings.Contains(target, "://") {
		return "", false
	}
	dir := r.dir
	if from != "" {
		dir = path.Dir(from)
	}
	if strings.HasPrefix(target, "/") || filepath.IsAbs(target) {
		rel, err := filepath.Rel(r.base, filepath.Clean(target))
		if err != nil {
			return "", false
		}
		return checkLocal(filepath.ToSlash(rel))
	}
	return checkLocal(path.Join(dir, target))
}

func checkLocal(p string) (string, bool) {
	if p == ".." || strings.HasPrefix(p, "../") || p == "." {
		return "", false
	}
	return p, true
}

// display is how a file of the root is named in positions and errors.
func (r *refFiles) display(rel string) string {
	if r == nil || r.shown == "" {
		return rel
	}
	return filepath.Join(r.shown, filepath.FromSlash(rel))
}

// rootName is how the root is named in messages.
func (r *refFiles) rootName() string {
	if r.shown == "" {
		return "the connector's directory"
	}
	return r.shown + string(filepath.Separator)
}

// collectRefs reads, transitively, every file the contract's relative-file
// $refs name, confined to its root, so that the document can be resolved
// from memory. It returns nil when the options give no folder to resolve
// against; a ref that leaves the root is an [Error] naming where it is
// written. A file that does not exist is left out, and the ref is broken.
func collectRefs(name string, data []byte, o options) (*refFiles, error) {
	var r *refFiles
	var open func() (fs.FS, func(), error)
	var cleanup func()
	switch {
	case o.refFS != nil:
		dir := path.Clean(o.refFSDir)
		if !fs.ValidPath(dir) {
			return nil, &Error{File: name, Msg: fmt.Sprintf("the contract's folder %q is not a path in its file system", o.refFSDir)}
		}
		r = &refFiles{dir: dir, base: string(filepath.Separator) + "tether-refs"}
		open = func() (fs.FS, func(), error) { return o.refFS, func() {}, nil }
	case o.baseDir != "":
		root := o.refRoot
		if root == "" {
			root = o.baseDir
		}
		absRoot, err := filepath.Abs(root)
		if err != nil {
			return nil, &Error{File: name, Msg: "cannot resolve the $ref root " + root, Err: err}
		}
		absDir, err := filepath.Abs(o.baseDir)
		if err != nil {
			return nil, &Error{File: name, Msg: "cannot resolve the contract's folder " + o.baseDir, Err: err}
		}
		rel, err := filepath.Rel(absRoot, absDir)
		if err != nil || !filepath.IsLocal(rel) && rel != "." {
			return nil, &Error{File: name, Msg: fmt.Sprintf("the $ref root %s does not hold the contract's folder %s", root, o.baseDir),
				Hint: "give a --ref-root that is the contract's folder or one above it"}
		}
		r = &refFiles{dir: filepath.ToSlash(rel), shown: filepath.Clean(root), base: absRoot}
		open = func() (fs.FS, func(), error) {
			or, err := os.OpenRoot(absRoot)
			if err != nil {
				return nil, nil, &Error{File: name, Msg: "cannot open the $ref root " + root, Err: err}
			}
			return or.FS(), func() { or.Close() }, nil
		}
	default:
		return nil, nil
	}
	r.files = map[string][]byte{}
	self := path.Join(r.dir, path.Base(filepath.ToSlash(name)))
	var fsys fs.FS
	openFS := func() error {
		if fsys != nil {
			return nil
		}
		f, done, err := open()
		if err != nil {
			return err
		}
		fsys, cleanup = f, done
		return nil
	}
	type pending struct {
		rel  string // "" for the contract
		data []byte
	}
	queue := []pending{{"", data}}
	missing := map[string]bool{}
	total := 0
	var ids *schemaIDs
	// get reads a file of the root once, queueing it for its own $refs;
	// ok is false when it does not exist.
	get := func(rel string, where func(msg, hint string, err error) error, ref string) (bool, error) {
		if _, seen := r.files[rel]; seen {
			return true, nil
		}
		if missing[rel] {
			return false, nil
		}
		if rel == self {
			r.files[rel] = data // the contract itself, scanned already
			return true, nil
		}
		if err := openFS(); err != nil {
			return false, err
		}
		body, err := fs.ReadFile(fsys, rel)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing[rel] = true
			return false, nil
		case err != nil && strings.Contains(err.Error(), "escapes"):
			return false, where(fmt.Sprintf("$ref %q names a file that a symbolic link takes outside %s", ref, r.rootName()), refRootHint(o), ErrRefOutsideRoot)
		case err != nil:
			return false, where(fmt.Sprintf("$ref %q: cannot read %s", ref, r.display(rel)), "", err)
		}
		total += len(body)
		if len(r.files) >= maxRefFiles || total > maxRefBytes {
			return false, where(fmt.Sprintf("$ref %q: the contract's $refs reach more than %d files or %d MiB", ref, maxRefFiles, maxRefBytes>>20), "", nil)
		}
		r.files[rel] = body
		queue = append(queue, pending{rel, body})
		return true, nil
	}
	// byID finds the file declaring key as its $id.
	byID := func(key string, where func(msg, hint string, err error) error, ref string) (string, error) {
		if key == "" {
			return "", nil
		}
		if ids == nil {
			if err := openFS(); err != nil {
				return "", err
			}
			ids = buildIDs(fsys)
		}
		rel, dupes := ids.lookup(key)
		if len(dupes) > 0 {
			shown := make([]string, len(dupes))
			for i, d := range dupes {
				shown[i] = r.display(d)
			}
			return "", where(fmt.Sprintf("$ref %q: several schemas declare the $id it names: %s", ref, strings.Join(shown, ", ")), "give each schema its own $id", nil)
		}
		return rel, nil
	}
	defer func() {
		if cleanup != nil {
			cleanup()
		}
	}()
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		fileRel, dir := f.rel, path.Dir(f.rel)
		if f.rel == "" {
			fileRel, dir = self, r.dir
		}
		id, idAt, hasID := "", 0, false
		if f.rel != "" {
			id, idAt, hasID = topID(f.data)
		}
		var edits []refEdit
		for _, m := range refValue.FindAllSubmatchIndex(f.data, -1) {
			ref := string(f.data[m[2]:m[3]])
			target, frag, hasFrag := strings.Cut(ref, "#")
			if target == "" {
				continue
			}
			where := func(msg, hint string, err error) error {
				file := name
				if f.rel != "" {
					file = r.display(f.rel)
				}
				line, col := lineCol(f.data, m[0])
				return &Error{File: file, Line: line, Column: col, Msg: msg, Hint: hint, Err: err}
			}
			remote := strings.Contains(target, "://")
			rel, local := "", false
			if !remote {
				if rel, local = r.path(f.rel, target); !local {
					return nil, where(fmt.Sprintf("$ref %q names a file outside %s", ref, r.rootName()), refRootHint(o), ErrRefOutsideRoot)
				}
			}
			found := ""
			if hasID {
				key, file := specTarget(fileRel, id, target)
				hit, err := byID(key, where, ref)
				if err != nil {
					return nil, err
				}
				if hit == "" && file != "" {
					ok, err := get(file, where, ref)
					if err != nil {
						return nil, err
					}
					if ok {
						hit = file
					}
				}
				if hit == "" {
					if hit, err = byID(idSpaceTarget(id, target), where, ref); err != nil {
						return nil, err
					}
				}
				found = hit
			} else if remote && f.rel != "" {
				hit, err := byID(strings.TrimSuffix(target, "#"), where, ref)
				if err != nil {
					return nil, err
				}
				found = hit
			}
			if found == "" && local {
				ok, err := get(rel, where, ref)
				if err != nil {
					return nil, err
				}
				if ok {
					found = rel
				}
			}
			if found == "" {
				if remote || f.rel == "" && !hasID {
					// A remote ref is allowed or refused elsewhere; a broken
					// ref in the contract itself is reported by the model,
					// which knows whether it is a ref at all and not text
					// that looks like one.
					continue
				}
				msg := fmt.Sprintf("broken $ref %q: cannot read %s", ref, r.display(rel))
				if hasID {
					msg += fmt.Sprintf(", and no schema under %s declares the $id it names (resolved against this file's $id %q)", r.rootName(), id)
				}
				return nil, where(msg, "", nil)
			}
			if _, err := get(found, where, ref); err != nil {
				return nil, err
			}
			if found != rel {
				// libopenapi resolves $refs by file location: name the file
				// the $id led to by its location.
				to := relFrom(dir, found)
				if hasFrag {
					to += "#" + frag
				}
				edits = append(edits, refEdit{m[2], m[3], to})
			}
		}
		if hasID {
			// The $refs now name files by location; an $id left in place
			// would make libopenapi resolve them against it again. The key
			// is renamed in place, so that every column stays where it is.
			edits = append(edits, refEdit{idAt, idAt + len("$id"), idKeyRenamed})
		}
		if len(edits) == 0 {
			continue
		}
		edited := applyEdits(f.data, edits)
		if f.rel == "" {
			r.main = edited
			if _, ok := r.files[self]; ok {
				r.files[self] = edited
			}
			continue
		}
		r.files[f.rel] = edited
	}
	if r.main != nil {
		if _, ok := r.files[self]; ok {
			r.files[self] = r.main
		}
	}
	return r, nil
}

// idKeyRenamed replaces a schema file's top-level `$id` key in the copy
// libopenapi reads, with a key of the same length that means nothing.
const idKeyRenamed = "x-i"

// refEdit replaces data[from:to] with text.
type refEdit struct {
	from, to int
	text     string
}

// applyEdits returns a copy of data with the edits made; they do not
// overlap.
func applyEdits(data []byte, edits []refEdit) []byte {
	slices.SortFunc(edits, func(a, b refEdit) int { return a.from - b.from })
	out := make([]byte, 0, len(data)+64)
	at := 0
	for _, e := range edits {
		if e.from < at {
			continue
		}
		out = append(out, data[at:e.from]...)
		out = append(out, e.text...)
		at = e.to
	}
	return append(out, data[at:]...)
}

func refRootHint(o options) string {
	if o.refFS != nil {
		return "a connector's contracts refer only to files of the connector, which is what its bundle ships"
	}
	return "$refs are confined to the contract's folder; to allow a wider one, give it with --ref-root DIR (RefRoot in Go)"
}

// fsys is the files as a file system for libopenapi, nil when there are
// none.
func (r *refFiles) fsys() (fs.FS, error) {
	if r == nil || len(r.files) == 0 {
		return nil, nil
	}
	return memfs.New(r.files)
}

// read returns a file of the root, by its path relative to it.
func (r *refFiles) read(rel string) ([]byte, bool) {
	if r == nil {
		return nil, false
	}
	data, ok := r.files[rel]
	return data, ok
}
