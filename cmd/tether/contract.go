package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tetherkit/tether/contracts"
)

const contractHelp = `Usage:
  tether contract lint [--format text|json] [--remote-refs] [--ref-root DIR]
                       [--max-size SIZE] FILE...
  tether contract example FILE --operation ID [--seed N] [--format text|json]
                       [--remote-refs] [--ref-root DIR]

lint loads each contract the way every other tether command does and
prints what it found, each with file:line:col:
  errors    the document cannot be used: invalid YAML or JSON, not OpenAPI
            (an AsyncAPI document is named as such), a $ref that does not
            resolve, a remote $ref while remote refs are off
  warnings  it can be used, but look: circular schema references, Swagger
            2.0 constructs repaired on conversion, path templates no request
            can tell apart, repeated operationIds
lint exits 1 when any file has an error, and 0 when there are only warnings.
A contract that takes more than two seconds to load has its progress
printed on stderr, step by step. A contract up to 16 MiB is loaded whole,
which takes about 140 times the file's size in memory. A larger one is
checked in segments of about 512 KiB of path items, each loaded with the
rest of the document, with the same findings: 167 MB for a 20 MB contract
of 64,000 operations, 696 MB for 200 MB and 635,000 operations. Each
segment holds the components, so large components cost about two hundred
times their size; flow-style paths and YAML anchors among the path items
make lint load the contract whole.
--max-size SIZE (default 1GiB; units KiB, MiB, GiB) is the largest file
read, a larger one is an error.

example prints a request that the contract accepts for the operation, and
every response the operation declares, each valid against the contract.
The contract's own examples are used when they validate; anything else is
synthesised, the same way for the same --seed.

OpenAPI 3.0 and 3.1 are read as they are; Swagger 2.0 is converted to
OpenAPI 3.0 on load, and locations still point into the original file.

$refs to other files may only name files under the contract's own folder
(symbolic links included), so that a contract cannot make tether read
files it was not meant to see (../../secret.yaml, /etc/passwd); such a
$ref is an error naming where it is written. Remote $refs are refused.
  --remote-refs      allow $refs to http(s) URLs
  --ref-root DIR     let $refs name any file under DIR, which must hold the
                     contract's folder: for a contract split across sibling
                     folders (contracts/crm.yaml and shared/errors.yaml:
                     --ref-root .)

Examples:
  tether contract lint contracts/*.yaml
  tether contract lint --format json crm.openapi.yaml > lint.json
  tether contract example crm.openapi.yaml --operation getDeal --seed 7
  tether contract lint --ref-root . contracts/crm.yaml
`

func runContract(env *environ, args []string) int {
	if len(args) == 0 || isHelp(args[0]) {
		w, code := env.stdout, exitOK
		if len(args) == 0 {
			w, code = env.stderr, exitCannot
		}
		fmt.Fprint(w, contractHelp)
		return code
	}
	switch args[0] {
	case "lint":
		return runContractLint(env, args[1:])
	case "example":
		return runContractExample(env, args[1:])
	}
	fmt.Fprintf(env.stderr, "tether contract: unknown subcommand %q\n\n%s", args[0], contractHelp)
	return exitCannot
}

func newFlags(name string, env *environ, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// parseFlags prints the help on -h and --help, once.
	fs.Usage = func() {}
	return fs
}

// parseFlags parses flags that may come before or after the positional
// arguments, as in `lint a.yaml --format json`.
func parseFlags(fs *flag.FlagSet, env *environ, help string, args []string) ([]string, int, bool) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(env.stdout, help)
				return nil, exitOK, false
			}
			fmt.Fprintf(env.stderr, "tether: %v\nRun with --help for usage.\n", err)
			return nil, exitCannot, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, 0, true
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// lintResult is one file's outcome, as printed with --format json.
type lintResult struct {
	File       string              `json:"file"`
	Version    string              `json:"version,omitempty"`
	Converted  bool                `json:"converted,omitempty"`
	Operations int                 `json:"operations"`
	Errors     contracts.Errors    `json:"errors,omitempty"`
	Warnings   []contracts.Finding `json:"warnings,omitempty"`
	Seconds    float64             `json:"seconds"`
	unreadable bool
}

func runContractLint(env *environ, args []string) int {
	fs := newFlags("lint", env, contractHelp)
	format := fs.String("format", "text", "output format: text or json")
	remote := fs.Bool("remote-refs", false, "allow $refs to http(s) URLs")
	refRoot := fs.String("ref-root", "", "a folder $refs may reach files under")
	maxSize := sizeFlag{contracts.DefaultMaxSize}
	fs.Var(&maxSize, "max-size", "the largest contract read")
	files, code, ok := parseFlags(fs, env, contractHelp, args)
	if !ok {
		return code
	}
	if len(files) == 0 {
		return fail(env, usageError{"contract lint needs at least one FILE"})
	}
	if *format != "text" && *format != "json" {
		return fail(env, usageError{fmt.Sprintf("--format %q: use text or json", *format)})
	}
	opts := refOptions(*refRoot, contracts.MaxSize(maxSize.n))
	if *remote {
		opts = append(opts, contracts.AllowRemoteRefs())
	}
	var results []lintResult
	failed, cannot := false, false
	for _, f := range files {
		start := time.Now()
		step, done := watchLoad(env.stderr, f, start)
		rep, err := contracts.Lint(f, append(opts, contracts.Progress(step))...)
		done()
		r := lintResult{File: f}
		if err != nil {
			failed = true
			r.Errors = asErrors(f, err)
			r.unreadable = errors.Is(err, iofs.ErrNotExist) || errors.Is(err, iofs.ErrPermission)
			cannot = cannot || r.unreadable
		} else {
			r.Version, r.Converted, r.Operations, r.Warnings = rep.Version, rep.Converted, rep.Operations, rep.Warnings
		}
		r.Seconds = time.Since(start).Seconds()
		results = append(results, r)
		if *format == "text" {
			printLint(env.stdout, r)
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return fail(env, err)
		}
	}
	switch {
	case cannot:
		return exitCannot // a file could not be read: the lint did not run on it
	case failed:
		return exitFindings
	}
	return exitOK
}

// asErrors returns the document errors in err, one per problem found.
func asErrors(file string, err error) contracts.Errors {
	var many contracts.Errors
	if errors.As(err, &many) {
		return many
	}
	var one *contracts.Error
	if errors.As(err, &one) {
		return contracts.Errors{one}
	}
	return contracts.Errors{{File: file, Msg: err.Error(), Err: err}}
}

func printLint(w io.Writer, r lintResult) {
	for _, e := range r.Errors {
		fmt.Fprintf(w, "%s\n", strings.Replace(e.Error(), ": ", ": error: ", 1))
	}
	for _, p := range r.Warnings {
		fmt.Fprintln(w, p.String())
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "FAIL %s: %d errors\n", r.File, len(r.Errors))
		return
	}
	kind := "OpenAPI " + r.Version
	if r.Converted {
		kind = "Swagger 2.0, converted"
	}
	fmt.Fprintf(w, "ok   %s: %s, %s, %s (%.2fs)\n", r.File, kind, counted(r.Operations, "operation"), counted(len(r.Warnings), "warning"), r.Seconds)
}

// refOptions adds the option for --ref-root to opts, when it is given.
func refOptions(refRoot string, opts ...contracts.Option) []contracts.Option {
	if refRoot != "" {
		opts = append(opts, contracts.RefRoot(refRoot))
	}
	return opts
}

// watchLoad prints on w the step a long load of file is in: nothing for
// its first two seconds, then each step as it starts, and every ten
// seconds that it is still at it. step is for [contracts.Progress]; done
// stops the printing and returns once it has stopped.
func watchLoad(w io.Writer, file string, start time.Time) (step func(string), done func()) {
	var mu sync.Mutex
	current, printed, last := "", "", time.Time{}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				mu.Lock()
				s := current
				mu.Unlock()
				if now.Sub(start) < 2*time.Second || s == "" || s == printed && now.Sub(last) < 10*time.Second {
					continue
				}
				if s == printed {
					fmt.Fprintf(w, "tether: %s: still %s (%.0fs)\n", file, s, now.Sub(start).Seconds())
				} else {
					fmt.Fprintf(w, "tether: %s: %s (%.0fs)\n", file, s, now.Sub(start).Seconds())
				}
				printed, last = s, now
			}
		}
	}()
	step = func(s string) {
		mu.Lock()
		current = s
		mu.Unlock()
	}
	return step, func() { close(stop); <-stopped }
}

// counted says n things in English: "1 operation", "6 operations".
func counted(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}
