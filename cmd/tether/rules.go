package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness"
)

const rulesHelp = `Usage:
  tether rules [--format text|json] [--level error|warning|info] [PREFIX]

Lists every rule a finding of tether can carry: its ID, the level its
findings have, what it means, and what to do about it. Every finding any
command reports carries one of these IDs; waivers in a policy name them.

The IDs come from every part of tether: the contracts (validation, and the
changes between two versions, with oasdiff's IDs where the concept is the
same), the sandbox's journal, the cassette scan, the suites, the
comparison of releases, the gate, and the verification of bundles.

PREFIX keeps the rules whose ID starts with it; --level keeps those of one
level.

Examples:
  tether rules
  tether rules --format json > rules.json
  tether rules --level error response-
`

func runRules(env *environ, args []string) int {
	fl := flag.NewFlagSet("rules", flag.ContinueOnError)
	fl.SetOutput(env.stderr)
	fl.Usage = func() { fmt.Fprint(env.stderr, rulesHelp) }
	format := fl.String("format", "text", "")
	level := fl.String("level", "", "")
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(env.stdout, rulesHelp)
		return exitOK
	}
	if err := fl.Parse(args); err != nil {
		return exitCannot
	}
	if fl.NArg() > 1 {
		return fail(env, usageError{"give at most one PREFIX"})
	}
	var keep contracts.Level = -1
	if *level != "" {
		l, err := contracts.ParseLevel(*level)
		if err != nil {
			return fail(env, usageError{"--level: " + err.Error()})
		}
		keep = l
	}
	var rules []contracts.Rule
	for _, r := range harness.Rules() {
		if (keep < 0 || r.Level == keep) && strings.HasPrefix(r.ID, fl.Arg(0)) {
			rules = append(rules, r)
		}
	}
	switch *format {
	case "json":
		if rules == nil {
			rules = []contracts.Rule{}
		}
		data, err := json.MarshalIndent(rules, "", "  ")
		if err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.stdout, "%s\n", data)
	case "text":
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		for _, r := range rules {
			line := r.Summary
			if r.Hint != "" {
				line += " (" + r.Hint + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Level, line)
		}
		tw.Flush()
		if len(rules) == 1 {
			fmt.Fprintln(env.stdout, "1 rule")
		} else {
			fmt.Fprintf(env.stdout, "%d rules\n", len(rules))
		}
	default:
		return fail(env, usageError{fmt.Sprintf("--format %q: use text or json", *format)})
	}
	return exitOK
}
