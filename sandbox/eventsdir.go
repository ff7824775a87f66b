package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// MaxEventsFile is the largest events file a webhook's File may name.
const MaxEventsFile = 8 << 20

// eventDirs are the directories a webhook's File may name files in, each
// opened as an [os.Root] so that no name leads out of it.
type eventDirs struct {
	dirs  []string // absolute, cleaned
	roots []*os.Root
}

func openEventDirs(dirs []string) (*eventDirs, error) {
	e := &eventDirs{}
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("events directory %s: %w", d, err)
		}
		root, err := os.OpenRoot(abs)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("events directory: %w", err)
		}
		e.dirs = append(e.dirs, abs)
		e.roots = append(e.roots, root)
	}
	return e, nil
}

func (e *eventDirs) close() {
	for _, r := range e.roots {
		r.Close()
	}
}

// read returns the content of the events file name, which must lie in one
// of the directories, be a regular file and hold at most MaxEventsFile
// bytes. Its errors never quote what a file outside the directories
// holds, nor say whether it exists.
func (e *eventDirs) read(name string) ([]byte, error) {
	if len(e.roots) == 0 {
		return nil, errors.New("file: the sandbox reads no events files; start it with an events directory (--events DIR) and name a file in it, or send the events themselves")
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, fmt.Errorf("file %q: %w", name, err)
	}
	for i, dir := range e.dirs {
		rel, err := filepath.Rel(dir, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		return readRegular(e.roots[i], rel, name)
	}
	return nil, fmt.Errorf("file %q is outside the events directories the sandbox was started with (%s)", name, strings.Join(e.dirs, ", "))
}

func readRegular(root *os.Root, rel, name string) ([]byte, error) {
	// Stat before opening: opening a FIFO would wait for a writer, and a
	// device may never end.
	info, err := root.Stat(rel)
	if err != nil {
		return nil, fmt.Errorf("file %q: %w", name, pathErr(err))
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("file %q is not a regular file", name)
	}
	if info.Size() > MaxEventsFile {
		return nil, fmt.Errorf("file %q holds %d bytes; an events file may hold %d", name, info.Size(), MaxEventsFile)
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, fmt.Errorf("file %q: %w", name, pathErr(err))
	}
	defer f.Close()
	// A file that grows while read is cut at the bound all the same.
	data, err := io.ReadAll(io.LimitReader(f, MaxEventsFile+1))
	if err != nil {
		return nil, fmt.Errorf("file %q: %w", name, err)
	}
	if len(data) > MaxEventsFile {
		return nil, fmt.Errorf("file %q holds more than %d bytes, the most an events file may hold", name, MaxEventsFile)
	}
	return data, nil
}

// pathErr is what went wrong with a path, without the root's own path,
// which the caller names already.
func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
