package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tetherkit/tether/harness/release"
)

const verifyHelp = `Usage:
  tether verify BUNDLE [--policy FILE]

verify checks a release bundle written by 'tether package' as a
marketplace does when the bundle is uploaded, and prints every problem
it finds, each with its level, ID, location and message:

  bundle-checksum-mismatch      a file differs from its line in SHA256SUMS
  bundle-file-missing           a file SHA256SUMS lists, or the report, is
                                not in the bundle
  bundle-file-unlisted          a file is not in SHA256SUMS
  bundle-checksums-invalid      SHA256SUMS is malformed
  bundle-manifest-invalid       connector.yaml is not valid (at its line)
  bundle-root-mismatch          the folder is not <name>-<version>
  bundle-report-invalid         report/report.json cannot be read
  bundle-report-mismatch        the report is about another connector,
                                version or other files than those shipped
  bundle-report-failed          the report does not pass the policy today
  bundle-version-not-successor  the version is not above the releases the
                                report compared, by the bump they need

The policy is applied as of today, so a waiver that expired since the
release was packaged fails it. Without --policy, any error fails: the
marketplace's policy, not the author's, decides. When the bundled report
passed under the policy it was gated with (its file and SHA-256 are in
the report) and fails here, verify says so.

  --policy FILE   the policy to gate the bundled report with

The last line is "BUNDLE: OK <name> <version> (<n> files) in <t> ms" or
"BUNDLE: FAILED: <n> problems".

Exit codes: 0 the bundle is sound, 1 problems found, 2 the bundle cannot
be read at all (not a .tar.gz, an unsafe entry) or bad usage.

Examples:
  tether verify dist/dealnotify-1.1.0.tar.gz
  tether verify upload.tar.gz --policy marketplace.yaml
`

func runVerify(env *environ, args []string) int {
	fl := flag.NewFlagSet("verify", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	policyFile := fl.String("policy", "", "")
	path, err := parseOne(fl, args, "bundle", "give the bundle to verify, a .tar.gz written by tether package")
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.stdout, verifyHelp)
		return exitOK
	}
	if err != nil {
		return fail(env, err)
	}
	policy, err := loadPolicy(*policyFile)
	if err != nil {
		return fail(env, err)
	}
	start := time.Now()
	v, err := release.VerifyBundle(path, policy, time.Now())
	if err != nil {
		return fail(env, err)
	}
	took := time.Since(start)
	for _, p := range v.Problems {
		fmt.Fprintf(env.stdout, "%s %s: %s: %s\n", p.Level, p.ID, p.Position, p.Message)
		if p.Hint != "" {
			fmt.Fprintf(env.stdout, "  hint: %s\n", p.Hint)
		}
	}
	if !v.OK {
		fmt.Fprintf(env.stdout, "BUNDLE: FAILED: %d problems\n", len(v.Problems))
		return exitFindings
	}
	fmt.Fprintf(env.stdout, "BUNDLE: OK %s %s (%d files) in %d ms\n", v.Name, v.Version, v.Files, took.Milliseconds())
	return exitOK
}
