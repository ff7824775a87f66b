package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tetherkit/tether/internal/atomicfile"
)

const cassetteHelp = `Usage:
  tether cassette scan [--format text|json] PATH...
  tether cassette lint --contract FILE [--contract FILE]... [--format text|json] CASSETTE...
  tether cassette import --har FILE [--out CASSETTE] [--force]
  tether cassette record DIR [--only FILE]... [--timeout DURATION]

Cassettes are go-vcr YAML files of recorded HTTP interactions. tether reads
format version 1 (go-vcr v1, v2) and 2 (go-vcr v3, v4) and writes version 2.

scan reports every secret left in cassettes (credentials in headers, query
strings and bodies, and values shaped like known keys and tokens), with the
file, line and interaction of each. A PATH may be a directory, read
recursively for *.yaml and *.yml. scan exits 1 when it finds any.

lint matches each interaction to an operation of one of the contracts and
validates the request, and the response against that request. Each finding
names the cassette, interaction, operation, contract file:line, the path in
the payload and the reason. An interaction no contract describes is a
finding of its own. lint exits 1 when any finding is an error.

import turns a HAR capture (from a browser's developer tools, mitmproxy,
Charles or Proxyman) into a cassette, redacted like every cassette tether
writes.

record writes a connector's cassettes from its vendors' contracts: the
requests DIR/recordings.yaml lists go through a recording proxy to a
sandbox of each vendor, whatever its contract file is called.

Examples:
  tether cassette scan connectors/dealnotify/cassettes
  tether cassette lint --contract contracts/crm.openapi.yaml --contract contracts/chat.openapi.yaml cassettes/*.yaml
  tether cassette import --har session.har --out cassettes/session.yaml
  tether cassette record connectors/dealnotify
`

func runCassette(env *environ, args []string) int {
	if len(args) == 0 || isHelp(args[0]) {
		w, code := env.stdout, exitOK
		if len(args) == 0 {
			w, code = env.stderr, exitCannot
		}
		fmt.Fprint(w, cassetteHelp)
		return code
	}
	switch args[0] {
	case "scan":
		return runCassetteScan(env, args[1:])
	case "lint":
		return runCassetteLint(env, args[1:])
	case "import":
		return runCassetteImport(env, args[1:])
	case "record":
		return runCassetteRecord(env, args[1:])
	}
	fmt.Fprintf(env.stderr, "tether cassette: unknown subcommand %q\n\n%s", args[0], cassetteHelp)
	return exitCannot
}

// cassetteFiles expands the command line's paths: files as given, and
// directories walked for *.yaml and *.yml, in lexical order. Leftovers of an
// interrupted atomic write are skipped.
func cassetteFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := filepath.Ext(path)
			if !d.IsDir() && (ext == ".yaml" || ext == ".yml") && !atomicfile.IsTemp(path) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
