package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"slices"
	"strings"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
)

const cassetteLintHelp = `Usage:
  tether cassette lint --contract FILE [--contract FILE]... [--format text|json] CASSETTE...

lint matches each interaction of each cassette to an operation of one of the
contracts and validates the request, and the response against that request.
Each finding names the cassette, interaction, operation, contract file:line,
the path in the payload and the reason. An interaction no contract describes
is a finding of its own.

A CASSETTE may be a directory: every *.yaml and *.yml file under it is linted,
except .tether-tmp-* files, which interrupted saves leave behind.

Flags:
  --contract FILE   the OpenAPI contract of a vendor the cassettes call;
                    repeat it once per vendor (at least one)
  --format text     one line per finding, then a summary line (default)
  --format json     {"findings": [...], "counts": {...}}, plus "unreadable"
                    when a cassette could not be read

Several contracts:
  Every interaction is looked up in every contract. When more than one has
  an operation for it, the first of these decides:
    1. the host: a contract whose server URL names the request's host wins;
       next, one whose server URL fits it through a variable, as
       https://{region}.crm.example.com fits eu.crm.example.com; ports are
       not compared, and a host no contract names (a local sandbox) is
       matched by its path alone
    2. the more literal path template: /users/me wins over /users/{id}
    3. the contract given first
  An interaction that no contract has an operation for is reported once
  (operation-not-found, method-not-allowed or operation-ambiguous), against
  the contract that came closest, with its nearest operations.

Exit codes: 0 no errors (warnings may be printed), 1 a finding is an error,
2 a contract or a cassette could not be read.

Examples:
  tether cassette lint --contract contracts/crm.openapi.yaml --contract contracts/chat.openapi.yaml cassettes/
  tether cassette lint --contract datadog-v1.yaml --format json cassettes/*.yaml > lint.json
`

// contractFlags collects a flag given once per contract.
type contractFlags []string

func (c *contractFlags) String() string { return strings.Join(*c, ",") }

func (c *contractFlags) Set(v string) error {
	*c = append(*c, v)
	return nil
}

// cassetteLintReport is what --format json prints. The order of its fields
// is the order of the keys.
type cassetteLintReport struct {
	Findings   []contracts.Finding `json:"findings"`
	Counts     cassetteLintCounts  `json:"counts"`
	Unreadable []*contracts.Error  `json:"unreadable,omitempty"`
}

type cassetteLintCounts struct {
	Cassettes    int `json:"cassettes"` // cassettes read and linted
	Interactions int `json:"interactions"`
	Errors       int `json:"errors"`
	Warnings     int `json:"warnings"`
	Info         int `json:"info"`
}

func runCassetteLint(env *environ, args []string) int {
	fs := newFlags("lint", env, cassetteLintHelp)
	var contractFiles contractFlags
	fs.Var(&contractFiles, "contract", "a vendor contract; repeat per vendor")
	format := fs.String("format", "text", "output format: text or json")
	paths, code, ok := parseFlags(fs, env, cassetteLintHelp, args)
	if !ok {
		return code
	}
	switch {
	case len(contractFiles) == 0:
		return fail(env, usageError{"cassette lint needs at least one --contract FILE"})
	case len(paths) == 0:
		return fail(env, usageError{"cassette lint needs at least one CASSETTE"})
	case *format != "text" && *format != "json":
		return fail(env, usageError{fmt.Sprintf("--format %q: use text or json", *format)})
	}

	reg := contracts.NewRegistry()
	var against []*contracts.Contract
	for _, f := range contractFiles {
		c, err := reg.Load(f)
		if err != nil {
			return fail(env, err) // the error names the file and line
		}
		if !slices.Contains(against, c) { // the registry hands out one Contract per file
			against = append(against, c)
		}
	}

	files, err := cassetteFiles(paths)
	if err != nil {
		return fail(env, err)
	}
	report := cassetteLintReport{Findings: []contracts.Finding{}}
	for _, f := range files {
		c, err := fixtures.Load(f)
		if err != nil {
			report.Unreadable = append(report.Unreadable, cassetteReadError(f, err))
			continue
		}
		report.Counts.Cassettes++
		report.Counts.Interactions += len(c.Interactions)
		for _, finding := range fixtures.Lint(c, against...) {
			switch finding.Level {
			case contracts.LevelError:
				report.Counts.Errors++
			case contracts.LevelWarning:
				report.Counts.Warnings++
			default:
				report.Counts.Info++
			}
			report.Findings = append(report.Findings, finding)
		}
	}
	for _, e := range report.Unreadable {
		fmt.Fprintf(env.stderr, "tether: %v\n", e)
	}

	if *format == "json" {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return fail(env, err)
		}
	} else {
		printCassetteLint(env.stdout, report)
	}
	switch {
	case len(report.Unreadable) > 0:
		return exitCannot // some cassettes were not linted
	case report.Counts.Errors > 0:
		return exitFindings
	}
	return exitOK
}

// cassetteReadError keeps a located *contracts.Error as it is and names the
// file in any other error.
func cassetteReadError(file string, err error) *contracts.Error {
	var fe *contracts.Error
	if errors.As(err, &fe) {
		return fe
	}
	msg := err.Error()
	var pe *iofs.PathError
	if errors.As(err, &pe) {
		msg = fmt.Sprintf("cannot read the cassette: %v", pe.Err)
	}
	return &contracts.Error{File: file, Msg: msg, Err: err}
}

func printCassetteLint(w io.Writer, r cassetteLintReport) {
	for _, f := range r.Findings {
		fmt.Fprintln(w, f.String())
	}
	n := r.Counts
	summary := fmt.Sprintf("%s, %s, %s, %s", lintCount(n.Cassettes, "cassette"), lintCount(n.Interactions, "interaction"),
		lintCount(n.Errors, "error"), lintCount(n.Warnings, "warning"))
	if n.Info > 0 {
		summary += fmt.Sprintf(", %d info", n.Info)
	}
	if len(r.Unreadable) > 0 {
		summary += fmt.Sprintf("; %s not read", lintCount(len(r.Unreadable), "cassette"))
	}
	fmt.Fprintln(w, summary)
}

func lintCount(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
