package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/sandbox/state"
)

const sandboxModelHelp = `Usage:
  tether sandbox model --contract FILE [--overrides FILE] [--samples FILE...]
                       [--cassettes PATH...] [--format text|json]
                       [--ref-root DIR]

sandbox model prints the resources the sandbox infers from a contract:
what a create makes, a read and a list find, an update changes and a
delete removes. A collection path and its item path form a resource
(/v1/customers and /v1/customers/{customer}), keyed by the path
parameters before the item's own (owner and repo for
/repos/{owner}/{repo}/issues/{issue_number}). For each resource it prints:

  collection, item   its paths (a suffix such as Twilio's .json is allowed)
  keyed by           the parent path parameters
  id                 the identifier field and its shape, and where the
                     shape was seen: the schema's pattern or format, the
                     contract's examples, the samples and cassettes, else
                     a plain unique string
  idempotency        the header its creates declare for safe retries
  operations         create, read, list, update, delete, or an action
                     (POST /charges/{charge}/capture), each with its
                     operation id; lists with their paging style: cursor
                     (starting_after/has_more), next-cursor, page-token,
                     link (Link header, page/per_page), next-url, offset,
                     page or single

and, last, every operation it could not place or fully infer, with the
reason, so you can see what to correct.

Corrections go in an overrides file beside the contract, FILE.model.yaml,
read when present (or name one with --overrides):

  resources:
    customers:                      # a name this command prints, or a new one
      collection: /v1/customers     # regroup: these paths form the resource
      item: /v1/customers/{customer}
      id: {field: id, type: string, prefix: cus_, alphabet: alnum, length: 14}
      pagination: cursor            # the style of its lists
      idempotency: Idempotency-Key  # the header its creates honour

alphabet is one of digits, hex, upper-alnum, lower-alnum, alnum, token.
Errors name the file, line and column.

  --contract FILE   an OpenAPI 3.x or Swagger 2.0 contract
  --overrides FILE  the overrides file (default FILE.model.yaml, if present)
  --samples FILE    a JSON file of objects the vendor answers with (a
                    fixture file, a recorded body); their ids decide the
                    shape the contract leaves open. Repeat for more
  --cassettes PATH  a cassette, or a directory of them, whose successful
                    JSON answers are samples too; repeat
  --format F        text (default) or json
  --ref-root DIR    let the contract's $refs read files anywhere under DIR

Exit codes: 0 printed, 2 could not run (bad flags, a contract, overrides or
samples file that does not load).

Example:
  tether sandbox model --contract stripe.yaml --samples stripe-fixtures.json
`

// maxSamplesFile bounds a samples file.
const maxSamplesFile = 64 << 20

func runSandboxModel(env *environ, args []string) int {
	fl := flag.NewFlagSet("sandbox model", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	var sampleFiles, cassetteArgs stringList
	fl.Var(&sampleFiles, "samples", "")
	fl.Var(&cassetteArgs, "cassettes", "")
	contract := fl.String("contract", "", "")
	overrides := fl.String("overrides", "", "")
	format := fl.String("format", "text", "")
	refRoot := fl.String("ref-root", "", "")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.stdout, sandboxModelHelp)
			return exitOK
		}
		return fail(env, usageError{"sandbox model: " + err.Error()})
	}
	switch {
	case *contract == "":
		return fail(env, usageError{"sandbox model: --contract FILE is required"})
	case fl.NArg() > 0:
		return fail(env, usageError{fmt.Sprintf("sandbox model: unexpected argument %q", fl.Arg(0))})
	case *format != "text" && *format != "json":
		return fail(env, usageError{fmt.Sprintf("sandbox model: --format is text or json, not %q", *format)})
	}
	c, err := contracts.Load(*contract, refOptions(*refRoot)...)
	if err != nil {
		return fail(env, err)
	}
	var opts []state.Option
	ovFile := *overrides
	if ovFile == "" {
		if _, err := os.Stat(state.OverridesFile(*contract)); err == nil {
			ovFile = state.OverridesFile(*contract)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fail(env, err)
		}
	}
	if ovFile != "" {
		ov, err := state.LoadOverrides(ovFile)
		if err != nil {
			return fail(env, err)
		}
		opts = append(opts, state.WithOverrides(ov))
	}
	for _, f := range sampleFiles {
		data, err := readCapped(f, maxSamplesFile)
		if err != nil {
			return fail(env, err)
		}
		samples, err := state.SamplesFromJSON(f, data)
		if err != nil {
			return fail(env, err)
		}
		opts = append(opts, state.WithSamples(samples...))
	}
	files, err := cassetteFiles(cassetteArgs)
	if err != nil {
		return fail(env, err)
	}
	for _, f := range files {
		cas, err := fixtures.Load(f)
		if err != nil {
			return fail(env, err)
		}
		opts = append(opts, state.WithSamples(state.SamplesFromCassette(cas)...))
	}
	m, err := state.Infer(c, opts...)
	if err != nil {
		return fail(env, err)
	}
	if *format == "json" {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(m); err != nil {
			return fail(env, err)
		}
		return exitOK
	}
	if err := m.WriteText(env.stdout); err != nil {
		return fail(env, err)
	}
	return exitOK
}

// readCapped reads a file of at most max bytes.
func readCapped(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is over %d MiB", path, max>>20)
	}
	return data, nil
}
