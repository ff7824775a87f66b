package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
)

const cassetteScanHelp = `Usage:
  tether cassette scan [--format text|json] [--max-size SIZE] PATH...

scan reports every secret left in cassettes, each with its rule, file, line
and interaction, and the place in the interaction (a header, the URL, the
body and its JSON path). The secret itself is never printed in full.

What counts as a secret (the rule names are stable):
  authorization-header  Authorization and Proxy-Authorization credentials
  cookie-header         Cookie and Set-Cookie values
  api-key-header        X-Api-Key, DD-API-KEY and other key or token headers
  secret-query          token, access_token, api_key, key, client_secret,
                        signature, ... in query strings
  secret-field          password, secret, token, refresh_token, client_secret,
                        ... in JSON, form and multipart bodies
  slack-token, github-token, stripe-key, aws-access-key, jwt, private-key,
  shopify-token, gitlab-token, hubspot-token, slack-webhook, url-credentials
                        values shaped like those credentials, anywhere
  twilio-api-key, huggingface-access-token, square-access-token, ...
                        the token shapes of gitleaks' default rules, under
                        gitleaks' rule IDs (those that find a value by the
                        name beside it are left to the rules above)
  high-entropy          long random-looking tokens, anywhere
  unreadable-body       a body compressed with gzip, deflate, br or zstd
                        that does not decode, or decodes to more than
                        64 MiB: nothing shows it holds no secret

Compressed bodies are decoded and scanned inside. A value tether already
redacted (REDACTED-<digest>) is not a secret. --max-size SIZE (default
1GiB; units KiB, MiB, GiB) is the largest cassette read: a larger one is
an error. The scan reads one interaction at a time, so memory follows the
largest interaction, not the file.

A PATH may be a directory: its *.yaml and *.yml files are scanned, at any
depth. Exit codes: 0 none found, 1 secrets found, 2 a path or cassette
could not be read.

Examples:
  tether cassette scan connectors/dealnotify/cassettes
  tether cassette scan --format json cassettes/ > secrets.json
`

func runCassetteScan(env *environ, args []string) int {
	fl := flag.NewFlagSet("cassette scan", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	format := fl.String("format", "text", "")
	maxSize := sizeFlag{fixtures.DefaultMaxInput}
	fl.Var(&maxSize, "max-size", "")
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(env.stdout, cassetteScanHelp)
		return exitOK
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.stdout, cassetteScanHelp)
			return exitOK
		}
		return fail(env, usageError{"cassette scan: " + err.Error()})
	}
	if *format != "text" && *format != "json" {
		return fail(env, usageError{fmt.Sprintf("cassette scan: --format is text or json, not %q", *format)})
	}
	if fl.NArg() == 0 {
		return fail(env, usageError{"cassette scan: name at least one cassette or directory"})
	}
	files, err := cassetteFiles(fl.Args())
	if err != nil {
		return fail(env, err)
	}
	start := time.Now()
	r := fixtures.DefaultRedactor()
	findings := []contracts.Finding{}
	var broken []error
	for _, file := range files {
		found, err := r.ScanFile(file, fixtures.WithMaxInput(maxSize.n))
		if err != nil {
			broken = append(broken, err)
			continue
		}
		findings = append(findings, found...)
	}
	if *format == "json" {
		out := struct {
			Cassettes int                 `json:"cassettes"`
			Secrets   int                 `json:"secrets"`
			Findings  []contracts.Finding `json:"findings"`
			Errors    []string            `json:"errors,omitempty"`
		}{len(files), len(findings), findings, errorStrings(broken)}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else {
		for _, f := range findings {
			fmt.Fprintln(env.stdout, f)
		}
		for _, err := range broken {
			fmt.Fprintf(env.stderr, "tether: %v\n", err)
		}
		fmt.Fprintf(env.stderr, "scanned %d cassettes in %s: %d secrets\n", len(files)-len(broken), time.Since(start).Round(time.Millisecond), len(findings))
	}
	switch {
	case len(broken) > 0:
		return exitCannot
	case len(findings) > 0:
		return exitFindings
	}
	return exitOK
}

func errorStrings(errs []error) []string {
	var out []string
	for _, err := range errs {
		out = append(out, err.Error())
	}
	return out
}
