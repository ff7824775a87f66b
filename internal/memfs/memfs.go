// Package memfs is a read-only file system over files held in memory, for
// inputs that were read once and are used from there: a release bundle read
// from its archive, or the files a contract's $refs name.
//
// Unlike testing/fstest.MapFS, which lists a folder by scanning every file,
// an [FS] indexes its folders when it is made, so that walking it costs the
// same as listing it once.
package memfs

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"time"
)

// FS holds files by slash path and the folders between them. It is safe for
// concurrent use. The zero value is an empty file system.
type FS struct {
	files map[string][]byte
	dirs  map[string][]fs.DirEntry // by folder ("." for the root), sorted by name
}

// New indexes files, by slash path ([fs.ValidPath], not "."). Folders are
// implied by the paths. The contents are not copied: the caller must not
// change them afterwards. New refuses an invalid path, and a path that is
// both a file and the folder of another.
//
// Making the index costs the total length of the folders' paths.
func New(files map[string][]byte) (*FS, error) {
	m := &FS{files: files, dirs: map[string][]fs.DirEntry{".": nil}}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if !fs.ValidPath(p) || p == "." {
			return nil, fmt.Errorf("memfs: %q is not a valid path", p)
		}
		if _, ok := m.dirs[p]; ok {
			return nil, fmt.Errorf("memfs: %s is a file and also a folder", p)
		}
		child := fs.DirEntry(entry{name: path.Base(p), size: int64(len(files[p]))})
		// Walk up until a folder already known: the ones above it are known
		// too, so each folder is made once.
		for d := p; ; {
			i := strings.LastIndexByte(d, '/')
			parent := "."
			if i >= 0 {
				parent = d[:i]
			}
			if _, isFile := files[parent]; isFile {
				return nil, fmt.Errorf("memfs: %s is a file and also the folder of %s", parent, p)
			}
			_, known := m.dirs[parent]
			m.dirs[parent] = append(m.dirs[parent], child)
			if known || parent == "." {
				break
			}
			child = entry{name: path.Base(parent), dir: true}
			d = parent
		}
	}
	for d, list := range m.dirs {
		slices.SortFunc(list, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		m.dirs[d] = list
	}
	return m, nil
}

// Open opens the file or folder name.
func (m *FS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if data, ok := m.files[name]; ok {
		return &file{entry: entry{name: path.Base(name), size: int64(len(data))}, r: bytes.NewReader(data)}, nil
	}
	if list, ok := m.dirs[name]; ok || name == "." {
		return &dir{entry: entry{name: path.Base(name), dir: true}, list: list}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// ReadFile returns a copy of the file name's content.
func (m *FS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	data, ok := m.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	return bytes.Clone(data), nil
}

// ReadDir lists the folder name, sorted by name.
func (m *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	list, ok := m.dirs[name]
	if !ok && name != "." {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(list), nil
}

// entry is a file's or a folder's fs.FileInfo and fs.DirEntry.
type entry struct {
	name string
	size int64
	dir  bool
}

func (e entry) Name() string               { return e.name }
func (e entry) Size() int64                { return e.size }
func (e entry) ModTime() time.Time         { return time.Time{} }
func (e entry) IsDir() bool                { return e.dir }
func (e entry) Sys() any                   { return nil }
func (e entry) Type() fs.FileMode          { return e.Mode().Type() }
func (e entry) Info() (fs.FileInfo, error) { return e, nil }

func (e entry) Mode() fs.FileMode {
	if e.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

type file struct {
	entry
	r *bytes.Reader
}

func (f *file) Stat() (fs.FileInfo, error) { return f.entry, nil }
func (f *file) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *file) Close() error               { return nil }

func (f *file) Seek(offset int64, whence int) (int64, error) { return f.r.Seek(offset, whence) }
func (f *file) ReadAt(p []byte, off int64) (int, error)      { return f.r.ReadAt(p, off) }

type dir struct {
	entry
	list []fs.DirEntry
	next int
}

func (d *dir) Stat() (fs.FileInfo, error) { return d.entry, nil }
func (d *dir) Close() error               { return nil }

func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: fs.ErrInvalid}
}

func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.list[d.next:]
	if n <= 0 {
		d.next = len(d.list)
		return slices.Clone(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.next += n
	return slices.Clone(rest[:n]), nil
}
