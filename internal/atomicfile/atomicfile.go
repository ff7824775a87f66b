// Package atomicfile writes files so that a reader, or a crash, sees either
// the old content or the new, never a part of the new.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TempPrefix starts the name of every temporary file Write creates beside
// its target, so that tools listing a directory can skip leftovers of a
// killed process.
const TempPrefix = ".tether-tmp-"

// StaleAfter is how long a temporary file must have gone unmodified
// before a later [Write] may remove it: a write holds its file locked from
// the moment after creating it, and this covers that moment.
const StaleAfter = time.Minute

// Write creates or replaces path with what fill writes. The content goes to a
// temporary file in the same directory, which is synced and then renamed over
// path; the directory is synced after the rename. If fill fails, or anything
// else does, path is left as it was and the temporary file is removed. An
// existing file keeps its permission bits; a new one gets perm.
//
// A process killed while Write runs leaves path intact and may leave one
// temporary file named with [TempPrefix]. The next Write to the same path
// removes such leftovers: a temporary file of that path that no process
// holds locked (a write locks its own until it is done; the kernel drops
// the lock of a killed process) and that has not changed for [StaleAfter].
// A write under way, in this process or another, is never disturbed. Where
// the system (other than Linux, macOS and the BSDs) or the file system has
// no file locks, leftovers stay.
func Write(path string, perm fs.FileMode, fill func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if info, statErr := os.Stat(path); statErr == nil {
		if !info.Mode().IsRegular() {
			return fmt.Errorf("write %s: not a regular file", path)
		}
		perm = info.Mode().Perm()
	}
	// Best effort: a leftover that cannot be removed harms nothing but space.
	removeStale(dir, base, time.Now())
	tmp, err := os.CreateTemp(dir, tempPattern(base))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	committed, closed := false, false
	closeTmp := func() error {
		if closed {
			return nil
		}
		closed = true
		return tmp.Close()
	}
	defer func() {
		// Also on a panic in fill: the temporary file never outlives Write.
		if !committed {
			os.Remove(tmp.Name())
		}
		// Closing drops the lock, so only after the rename or the removal
		// may another Write take the file for a leftover.
		closeTmp()
	}()
	// A file system without locks (some network ones) refuses this; it
	// then refuses the lock a later Write tries too, so that Write keeps
	// the file. Either way this write goes on.
	lock(tmp)
	buf := bufio.NewWriterSize(tmp, 256<<10)
	if err = fill(buf); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = buf.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if !holdDuringRename {
		if err = closeTmp(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	committed = true
	if err = closeTmp(); err != nil {
		// The content was synced before the rename, so this loses nothing.
		return fmt.Errorf("write %s: %w", path, err)
	}
	// The rename is durable only once the directory entry is; a failure
	// here does not undo the write, so it is not reported.
	if d, dirErr := os.Open(dir); dirErr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// WriteBytes is Write for content already in memory.
func WriteBytes(path string, perm fs.FileMode, data []byte) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// IsTemp reports whether a file name is a temporary file of Write's.
func IsTemp(name string) bool {
	return strings.HasPrefix(filepath.Base(name), TempPrefix)
}

// tempPattern is the os.CreateTemp pattern of Write's temporary files for
// a target named base: the prefix, base, a dash, and the random digits
// CreateTemp puts for the star.
func tempPattern(base string) string { return TempPrefix + base + "-*" }

// isTempOf reports whether name is a temporary file of a target named base.
// Requiring only digits after base keeps the temporary files of a target
// called base-1 out of base's.
func isTempOf(name, base string) bool {
	rest, ok := strings.CutPrefix(name, TempPrefix+base+"-")
	if !ok || rest == "" {
		return false
	}
	for i := range len(rest) {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}

// removeStale removes the temporary files of base in dir that are stale
// at now (see Write).
func removeStale(dir, base string, now time.Time) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, name := range names {
		if !isTempOf(name, base) {
			continue
		}
		p := filepath.Join(dir, name)
		info, err := os.Lstat(p)
		if err != nil || !info.Mode().IsRegular() || now.Sub(info.ModTime()) < StaleAfter {
			continue
		}
		removeUnlocked(p, info)
	}
}
