package atomicfile

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childWrite is the first argument that makes the test binary a child that
// starts a Write and hangs in the middle of it (see TestMain).
const childWrite = "atomicfile-child-write"

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == childWrite {
		hangInWrite(os.Args[2])
		return
	}
	os.Exit(m.Run())
}

// hangInWrite writes more than Write buffers to path, so the temporary
// file holds part of the content, says so on standard output and waits to
// be killed.
func hangInWrite(path string) {
	err := Write(path, 0o644, func(w io.Writer) error {
		if _, err := w.Write(bytes.Repeat([]byte("half of the new content\n"), 20000)); err != nil {
			return err
		}
		if err := w.(*bufio.Writer).Flush(); err != nil {
			return err
		}
		os.Stdout.WriteString("writing\n")
		time.Sleep(time.Hour)
		return nil
	})
	os.Stderr.WriteString("the write ended instead of hanging: " + fmtErr(err) + "\n")
	os.Exit(3)
}

func fmtErr(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

func requireLocks(t *testing.T) {
	t.Helper()
	if !holdDuringRename {
		t.Skipf("%s has no advisory file locks, so Write keeps every leftover", runtime.GOOS)
	}
}

// TestWriteRemovesLeftoverOfKilledWrite kills a process in the middle of a
// Write, and shows that the next Write to the same path keeps the
// temporary file while that process lives and removes it once it is gone.
func TestWriteRemovesLeftoverOfKilledWrite(t *testing.T) {
	requireLocks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0], childWrite, path)
	var stderr bytes.Buffer
	child.Stderr = &stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			child.Process.Kill()
			child.Wait()
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "writing\n" {
		t.Fatalf("child said %q (%v), want \"writing\"; its stderr:\n%s", line, err, stderr.String())
	}
	temp := onlyTemp(t, dir)
	if info, err := os.Stat(temp); err != nil || info.Size() == 0 {
		t.Fatalf("the child's temporary file %s: %v, size 0; want part of the content in it", temp, err)
	}
	// Make it look abandoned by age alone: only the lock now tells that its
	// writer is alive.
	old := time.Now().Add(-2 * StaleAfter)
	if err := os.Chtimes(temp, old, old); err != nil {
		t.Fatal(err)
	}

	if err := WriteBytes(path, 0o644, []byte("second")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(temp); err != nil {
		t.Fatalf("a Write removed the temporary file of a write still under way in a live process: %v", err)
	}

	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	killed = true
	if _, err := os.Stat(temp); err != nil {
		t.Fatalf("the killed child's temporary file is gone before any Write: %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "second" {
		t.Fatalf("after the kill %s holds %q, want \"second\"", path, got)
	}

	if err := WriteBytes(path, 0o644, []byte("third")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "third" {
		t.Errorf("%s holds %q, want \"third\"", path, got)
	}
	assertNoTemps(t, dir)
}

// TestWriteKeepsTempOfWriteInThisProcess runs two Writes to one path at once
// in one process: the second must not take the first's file for a leftover.
func TestWriteKeepsTempOfWriteInThisProcess(t *testing.T) {
	requireLocks(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Write(path, 0o644, func(w io.Writer) error {
			close(started)
			<-release
			_, err := io.WriteString(w, "first")
			return err
		})
	}()
	<-started
	temp := onlyTemp(t, dir)
	old := time.Now().Add(-2 * StaleAfter)
	if err := os.Chtimes(temp, old, old); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(path, 0o644, []byte("second")); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the first Write failed once the second had run: %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "first" {
		t.Errorf("%s holds %q, want \"first\", written last", path, got)
	}
	assertNoTemps(t, dir)
}

// TestWriteRemovesOnlyStaleTempsOfItsTarget plants files beside a target and
// checks which of them a Write removes.
func TestWriteRemovesOnlyStaleTempsOfItsTarget(t *testing.T) {
	requireLocks(t)
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * StaleAfter)
	for _, c := range []struct {
		name, reason string
		fresh, link  bool
		removed      bool
	}{
		{name: ".tether-tmp-c.yaml-123456", removed: true, reason: "unlocked and unchanged for StaleAfter: a killed write's"},
		{name: ".tether-tmp-c.yaml-42", fresh: true, reason: "changed just now: a write may be between creating and locking it"},
		{name: ".tether-tmp-c.yaml-1-123456", reason: "a temporary file of the target c.yaml-1"},
		{name: ".tether-tmp-d.yaml-123456", reason: "a temporary file of another target"},
		{name: ".tether-tmp-c.yaml-", reason: "no digits: not a name Write makes"},
		{name: ".tether-tmp-c.yaml-12x", reason: "not only digits: not a name Write makes"},
		{name: ".tether-tmp-c.yaml-777", link: true, reason: "a symbolic link, which is not followed nor removed"},
	} {
		p := filepath.Join(dir, c.name)
		var err error
		if c.link {
			err = os.Symlink(outside, p)
		} else {
			err = os.WriteFile(p, []byte("leftover"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		if !c.fresh && !c.link {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			_, err := os.Lstat(p)
			if gone := os.IsNotExist(err); gone != c.removed {
				t.Errorf("%s: removed = %v, want %v: %s", c.name, gone, c.removed, c.reason)
			}
		})
	}
	if err := WriteBytes(filepath.Join(dir, "c.yaml"), 0o644, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(outside); string(got) != "not ours" {
		t.Errorf("the file a planted link points at holds %q, want it untouched", got)
	}
}

// onlyTemp returns the one temporary file in dir.
func onlyTemp(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var temps []string
	for _, e := range entries {
		if IsTemp(e.Name()) {
			temps = append(temps, e.Name())
		}
	}
	if len(temps) != 1 {
		t.Fatalf("temporary files in %s: [%s], want one", dir, strings.Join(temps, " "))
	}
	return filepath.Join(dir, temps[0])
}
