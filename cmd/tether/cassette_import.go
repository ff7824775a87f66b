package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tetherkit/tether/fixtures"
)

const cassetteImportHelp = `Usage:
  tether cassette import --har FILE [--out CASSETTE] [--force] [--max-size SIZE]

import turns a HAR capture (from a browser's developer tools, mitmproxy,
Charles or Proxyman) into a cassette in go-vcr format version 2, which
replay and the sandbox answer from. Each entry of the capture becomes one
interaction, in the order of the capture.

  --har FILE        the capture to import
  --out CASSETTE    where to write the cassette; by default FILE with its
                    extension replaced by .yaml (session.har -> session.yaml)
  --force           replace CASSETTE if it exists; without it an existing
                    file is left alone and import exits 2
  --max-size SIZE   the largest capture read (default 1GiB; units KiB,
                    MiB, GiB); a larger one is refused, with exit 2

Each interaction holds what the client saw: bodies the capture stores as
base64 are decoded, a form exported as its params alone is rebuilt,
HTTP/2 pseudo-headers (:authority, :path, ...) are dropped, and a response
the capture holds decompressed loses its Content-Encoding. Requests that got
no response (status 0: blocked by the browser or an extension, aborted, or
still pending at export), and entries that are not HTTP requests (data:,
blob:, about: and chrome-extension: URLs, WebSockets' ws: and wss:) are
skipped and counted.

Redaction is on and cannot be turned off here: credentials in headers,
query strings and bodies, and values shaped like known keys and tokens,
become placeholders before the cassette is written (see 'tether cassette
scan --help' for the rules). The HAR file is not changed, and it still
holds every cookie and token of the session: delete it, or keep it out of
version control.

The cassette is written atomically: a failed or interrupted import leaves
CASSETTE as it was.

Exit codes: 0 imported, 2 could not run (bad usage, a capture that cannot
be read or is not a HAR, each error with its file:line:column, or CASSETTE
exists and --force is not given).

Example:
  tether cassette import --har ~/Downloads/app.crm.example.com.har \
      --out connectors/dealnotify/cassettes/deals.yaml
`

func runCassetteImport(env *environ, args []string) int {
	fl := flag.NewFlagSet("cassette import", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	har := fl.String("har", "", "")
	out := fl.String("out", "", "")
	force := fl.Bool("force", false, "")
	maxSize := sizeFlag{fixtures.DefaultMaxInput}
	fl.Var(&maxSize, "max-size", "")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.stdout, cassetteImportHelp)
			return exitOK
		}
		return fail(env, usageError{"cassette import: " + err.Error()})
	}
	switch {
	case fl.NArg() > 0:
		return fail(env, usageError{fmt.Sprintf("cassette import: unexpected argument %q (name the capture with --har)", fl.Arg(0))})
	case *har == "":
		return fail(env, usageError{"cassette import: --har is required (the HAR capture to import)"})
	}
	if *out == "" {
		*out = strings.TrimSuffix(*har, filepath.Ext(*har)) + ".yaml"
	}
	if importSameFile(*har, *out) {
		return fail(env, usageError{fmt.Sprintf("cassette import: %s would be written over the capture itself; name another --out", *out)})
	}
	// Checked before the capture is read, so that a mistake costs nothing;
	// the save itself is atomic whatever happens in between.
	if _, err := os.Lstat(*out); err == nil && !*force {
		return fail(env, fmt.Errorf("cassette import: %s already exists; pass --force to replace it, or --out to write elsewhere", *out))
	}

	c, skippedEntries, err := fixtures.ImportHAR(*har, fixtures.WithMaxInput(maxSize.n))
	if err != nil {
		return fail(env, err)
	}
	if err := c.Save(*out); err != nil {
		return fail(env, fmt.Errorf("cassette import: %w", err))
	}
	skipped := ""
	if n := len(skippedEntries); n > 0 {
		skipped = fmt.Sprintf(" (%s skipped)", importCount(n, "entry"))
	}
	fmt.Fprintf(env.stderr, "imported %s from %s into %s%s\n", importCount(len(c.Interactions), "interaction"), *har, *out, skipped)
	return exitOK
}

// importSameFile reports whether a and b name the same file, as far as can be
// told without either existing.
func importSameFile(a, b string) bool {
	if ia, err := os.Stat(a); err == nil {
		if ib, err := os.Stat(b); err == nil {
			return os.SameFile(ia, ib)
		}
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

func importCount(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "y"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
