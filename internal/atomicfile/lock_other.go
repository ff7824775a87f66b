//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package atomicfile

import (
	"io/fs"
	"os"
)

// holdDuringRename is false for systems (Windows) that refuse to rename
// an open file; nothing is locked here anyway.
const holdDuringRename = false

// lock does nothing where there are no advisory file locks to tell a live
// write from a killed one.
func lock(*os.File) {}

// removeUnlocked keeps every leftover: without locks a live write cannot
// be told from a killed one.
func removeUnlocked(string, fs.FileInfo) {}
