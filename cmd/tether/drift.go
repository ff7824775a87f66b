package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tetherkit/tether/harness/drift"
	"github.com/tetherkit/tether/harness/manifest"
)

const driftHelp = `Usage:
  tether drift DIR --vendor NAME=BASE_URL [--cassette FILE]... [--allow-writes] [--record]
               [--format text|json|githubactions] [--max-body SIZE] [--call-timeout D] [--timeout D]

drift replays the interactions the connector in DIR recorded with vendor
NAME (those of its cassettes whose requests went to a host of the vendor's
contract servers) against BASE_URL, which stands for the contract's first
server URL, such as https://api.crm.example/v2, and reports:

  live-contract-violation  the live answer breaks the vendor contract
  cassette-drift           the live answer differs from the cassette: its
                           status, a field added or removed, a JSON type
  operation-gone           404 or 405 live where the cassette had a 2xx, or
                           no route in the contract for the request

Read-only requests (GET, HEAD, OPTIONS, and operations marked
x-tether-safe: true in the contract) are sent twice: a field whose presence
or type differs between the two answers (ids, timestamps, request ids) is
noise, not drift. Other requests are sent only with --allow-writes, once.

Credentials come from the environment, never from a flag or a file. The
manifest's vendors.NAME.credential (or secret, a bearer token) names the
secrets, and each is read from the variable of that name upper-cased
(secret crm_token: CRM_TOKEN). Each kind is sent as the vendor takes it:

  bearer    Authorization: Bearer $SECRET
  api-key   $SECRET in the header, query parameter, cookie or top-level
            body field the credential names
  basic     $USER and $PASSWORD as HTTP basic credentials
  oauth2    a token from the contract's token URL (resolved against
            BASE_URL when relative, and used only on BASE_URL's host or
            domain; --token-url overrides it): the client_credentials
            grant with $CLIENT_ID and $CLIENT_SECRET, or, for
            authorization_code, a refresh of $REFRESH_TOKEN. The secret
            goes over HTTPS only, or HTTP to this machine

A vendor with no credential is called without one; an unset or empty
variable stops the command. A live answer that repeats a credential (as
sent, base64 in a basic header, escaped for a URL or JSON) has it replaced
by REDACTED before anything is compared, printed or written.

  --vendor NAME=BASE_URL  the vendor to check and where it lives
  --cassette FILE         check only this cassette (its name under DIR, e.g.
                          cassettes/deal.yaml); repeat for several. One that
                          holds no interaction of the vendor is an error
  --allow-writes          replay requests that change things too
  --record                rewrite each drifted cassette with the live
                          answers, redacted as 'tether record' does, written
                          to a temporary file and renamed over it. Without
                          it nothing is written
  --token-url URL         the OAuth2 token endpoint, where the contract's
                          does not apply (a sandbox, a regional host)
  --format F              text (default), json, or githubactions (one
                          annotation per finding)
  --max-body SIZE         the largest live answer read (default 8MiB)
  --call-timeout D        the longest one call may take (default 30s)
  --timeout D             the longest the whole check may take (default 5m)

Exit codes: 0 no drift, 1 drift found, 2 could not run.

Example:
  CRM_TOKEN=... tether drift connectors/dealnotify --vendor crm=https://api.crm.example/v2 \
      --format githubactions
`

func runDrift(env *environ, args []string) int {
	fs := newFlags("drift", env, driftHelp)
	vendorSpec := fs.String("vendor", "", "NAME=BASE_URL")
	var only stringList
	fs.Var(&only, "cassette", "a cassette to check; repeat")
	allowWrites := fs.Bool("allow-writes", false, "replay writes too")
	record := fs.Bool("record", false, "rewrite drifted cassettes")
	tokenURL := fs.String("token-url", "", "the OAuth2 token endpoint")
	format := fs.String("format", "text", "text, json or githubactions")
	maxBody := &sizeFlag{n: drift.DefaultMaxBody}
	fs.Var(maxBody, "max-body", "largest answer read")
	callTimeout := fs.Duration("call-timeout", drift.DefaultCallTimeout, "per call")
	timeout := fs.Duration("timeout", 5*time.Minute, "whole check")
	dirs, code, ok := parseFlags(fs, env, driftHelp, args)
	if !ok {
		return code
	}
	name, base, found := strings.Cut(*vendorSpec, "=")
	switch {
	case len(dirs) != 1:
		return fail(env, usageError{"drift needs one connector DIR"})
	case !found || name == "" || base == "":
		return fail(env, usageError{"drift needs --vendor NAME=BASE_URL"})
	case *format != "text" && *format != "json" && *format != "githubactions":
		return fail(env, usageError{fmt.Sprintf("--format %q: use text, json or githubactions", *format)})
	case *callTimeout <= 0 || *timeout <= 0:
		return fail(env, usageError{"--call-timeout and --timeout must be positive"})
	}
	c, err := manifest.Load(dirs[0])
	if err != nil {
		return fail(env, err)
	}
	v, ok := c.Manifest.Vendors[name]
	if !ok {
		return fail(env, fmt.Errorf("%s: no vendor %q", c.Path(manifest.File), name))
	}
	opts := []drift.Option{drift.MaxBody(maxBody.n), drift.CallTimeout(*callTimeout)}
	if cred := v.Credential; cred != nil {
		o, err := driftCredential(env, name, cred, c.Contracts[name], base, *tokenURL)
		if err != nil {
			return fail(env, err)
		}
		opts = append(opts, o...)
	}
	if *allowWrites {
		opts = append(opts, drift.AllowWrites())
	}
	if *record {
		opts = append(opts, drift.Rewrite())
	}
	if len(only) > 0 {
		opts = append(opts, drift.OnlyCassettes(only...))
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	cancelOnInterrupt(ctx, env, cancel)
	res, err := drift.Check(ctx, c, name, base, opts...)
	if err != nil {
		return fail(env, err)
	}
	var werr error
	switch *format {
	case "json":
		werr = writeDriftJSON(env.stdout, res)
	case "githubactions":
		werr = writeDriftGitHub(env.stdout, res)
	default:
		werr = writeDriftText(env.stdout, res)
	}
	if werr != nil {
		return fail(env, werr)
	}
	if res.Drifted() {
		return exitFindings
	}
	return exitOK
}

// credentialVariable is the environment variable that holds the secret
// named secret: its name upper-cased. The manifest allows only letters,
// digits and underscores in a secret's name, so this is a valid name.
func credentialVariable(secret string) string { return strings.ToUpper(secret) }

func writeDriftJSON(w io.Writer, res *drift.Result) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

func writeDriftText(w io.Writer, res *drift.Result) error {
	for _, f := range res.Findings {
		fmt.Fprintln(w, f.String())
	}
	for _, name := range res.Rewritten {
		fmt.Fprintf(w, "rewrote %s\n", name)
	}
	_, err := fmt.Fprintf(w, "%s at %s: %d interactions checked, %d writes skipped, %d findings\n",
		res.Vendor, res.BaseURL, res.Checked, res.Skipped, len(res.Findings))
	return err
}

func writeDriftGitHub(w io.Writer, res *drift.Result) error {
	for _, f := range res.Findings {
		props := []string{"file=" + diffGitHubProperty(f.File)}
		if f.Line > 0 {
			props = append(props, "line="+strconv.Itoa(f.Line))
		}
		props = append(props, "title="+diffGitHubProperty(f.ID))
		msg := f.Message
		if f.Operation != "" {
			msg = f.Operation + ": " + msg
		}
		if f.Path != "" {
			msg += " at " + f.Path
		}
		if _, err := fmt.Fprintf(w, "::%s %s::%s\n", diffGitHubCommand(f.Level), strings.Join(props, ","), diffGitHubData(msg)); err != nil {
			return err
		}
	}
	return nil
}
