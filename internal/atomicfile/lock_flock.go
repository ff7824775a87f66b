//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// holdDuringRename keeps the temporary file open, and so locked, until it
// is renamed into place.
const holdDuringRename = true

// lock takes an exclusive lock on f, held until f is closed or its process
// ends, however it ends. Where the file system has no locks it takes none.
func lock(f *os.File) {
	for {
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); !errors.Is(err, syscall.EINTR) {
			return
		}
	}
}

// removeUnlocked removes the file at p, which Lstat described as info,
// when no process holds it locked and p still names that same file.
func removeUnlocked(p string, info fs.FileInfo) {
	// No symlink is followed, and a special file is never opened.
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return // a live write holds it
	}
	// Between the listing and the lock the file may have been renamed into
	// place by a write that then finished; p then names another file or none.
	held, err := f.Stat()
	if err != nil || !os.SameFile(held, info) {
		return
	}
	now, err := os.Lstat(p)
	if err != nil || !os.SameFile(now, held) {
		return
	}
	os.Remove(p)
}
