// Package buildcheck proves what the compiler refuses. A package kept
// under a testdata directory marks each line that must not compile with a
// trailing comment
//
//	// want "text the error holds"
//
// and [Check] compiles it with the go command and compares the compiler's
// errors with the marks. A package without marks must compile cleanly.
//
// The package is a library, not a command: it is compiled and type-checked
// but never linked, which would cost tens of seconds for nothing the
// compiler had not already said.
package buildcheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// want finds a line's mark; the text is a Go string literal.
var want = regexp.MustCompile(`// want ("(?:[^"\\]|\\.)*")\s*$`)

// compilerError is one "file.go:line:col: message" line of go build.
var compilerError = regexp.MustCompile(`^(?:\./)?([^\s:]+\.go):(\d+):\d+: (.*)$`)

// pos is a line of one of the package's files.
type pos struct {
	file string // base name
	line int
}

func (p pos) String() string { return fmt.Sprintf("%s:%d", p.file, p.line) }

// Check compiles the package in dir with the go command found on PATH (go
// test puts its own first) and returns every violation at once: a marked
// line that compiles, or whose error does not hold the marked text, and an
// error on a line not marked. Every error the compiler finds is reported
// (-gcflags=-e), not only the first ten. A main package is refused, as go
// build would link it and write the command into dir.
func Check(ctx context.Context, dir string) []string {
	wants, err := marks(dir)
	if err != nil {
		return []string{err.Error()}
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return []string{"find the go command: " + err.Error()}
	}
	cmd := exec.CommandContext(ctx, goTool, "build", "-gcflags=-e", ".")
	cmd.Dir = dir
	output, runErr := cmd.CombinedOutput()
	got := compilerErrors(output)

	var bad []string
	for _, p := range slices.SortedFunc(maps.Keys(wants), byPos) {
		msgs := got[p]
		switch {
		case len(msgs) == 0:
			bad = append(bad, fmt.Sprintf("%s compiles; want an error holding %q", p, wants[p]))
		case !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, wants[p]) }):
			bad = append(bad, fmt.Sprintf("%s: error %q; want one holding %q", p, strings.Join(msgs, "; "), wants[p]))
		}
	}
	for _, p := range slices.SortedFunc(maps.Keys(got), byPos) {
		if _, ok := wants[p]; !ok {
			bad = append(bad, fmt.Sprintf("%s: unexpected error %q", p, strings.Join(got[p], "; ")))
		}
	}
	if runErr != nil && len(got) == 0 {
		// The build failed before compiling anything: say why.
		bad = append(bad, fmt.Sprintf("go build in %s: %v\n%s", dir, runErr, output))
	}
	return bad
}

// marks reads the want marks of the package's Go files.
func marks(dir string) (map[pos]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no Go files in %s", dir)
	}
	wants := map[pos]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		clause, err := parser.ParseFile(token.NewFileSet(), f, data, parser.PackageClauseOnly)
		if err != nil {
			return nil, err
		}
		if clause.Name.Name == "main" {
			return nil, fmt.Errorf("%s: package main would be linked; name the package for what it shows", f)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for line := 1; sc.Scan(); line++ {
			m := want.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			text, err := strconv.Unquote(m[1])
			if err != nil || text == "" {
				return nil, fmt.Errorf("%s:%d: want needs a quoted, non-empty text", f, line)
			}
			wants[pos{filepath.Base(f), line}] = text
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return wants, nil
}

// compilerErrors gathers go build's errors by line, a continuation line
// (indented) joined to the error it continues.
func compilerErrors(output []byte) map[pos][]string {
	got := map[pos][]string{}
	var last *pos
	for _, l := range strings.Split(string(output), "\n") {
		if m := compilerError.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[2])
			p := pos{filepath.Base(m[1]), n}
			got[p] = append(got[p], m[3])
			last = &p
			continue
		}
		if last != nil && strings.HasPrefix(l, "\t") {
			msgs := got[*last]
			msgs[len(msgs)-1] += " " + strings.TrimSpace(l)
			continue
		}
		last = nil
	}
	return got
}

func byPos(a, b pos) int {
	if c := strings.Compare(a.file, b.file); c != 0 {
		return c
	}
	return a.line - b.line
}
