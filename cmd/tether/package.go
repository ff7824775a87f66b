package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tetherkit/tether/harness"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/release/signature"
	"github.com/tetherkit/tether/harness/report"
)

const packageHelp = `Usage:
  tether package DIR [--out FILE] [--report FILE] [--policy FILE]
                 [--baseline DIR|git:REF]... [--releases DIR]
                 [--sandbox inproc|container] [--target process|container]
                 [--parallel N] [--seed N] [--sign KEY]

package writes the release bundle of the connector in DIR: the file a
marketplace accepts on upload, and 'tether verify' checks. Only a
connector that passes its gate is packaged.

Without --report, package runs the gate first, exactly as 'tether gate'
does (every suite, progress on stderr, then the policy). With --report
FILE, it packages the run a gate already made: FILE is the report.json
that 'tether gate' wrote, gated again here with the policy. That report
must be about exactly the files in DIR: a file changed since the gate,
or one the run would have read but did not list, is refused.

The bundle is a .tar.gz with every entry under the folder
<name>-<version>/:

  connector.yaml        the manifest
  config.schema.json    the configuration schema
  contracts/            the vendors' contracts
  cassettes/            the recorded interactions, re-scanned for
                        secrets: a cassette holding one is refused
  scenarios/, events/   the scenarios and their sample events
  golden/               the expected calls of each scenario
  CHANGELOG.md          when the connector has one
  report/report.json    the report of the gate the release rests on
  report/summary.md     the same report in Markdown
  release-notes.md      the changes since the previous release, from the
                        compatibility suite, and the changelog
  listing.json          the marketplace listing, and listing.md for
  listing.md            people
  usage/<vendor>.json   what the connector uses of each vendor contract:
                        the shape of its calls and events (paths kept,
                        query, header and body values left out);
                        'tether impact' reads it
  SHA256SUMS            the SHA-256 of every other file, as sha256sum -c
                        reads it from inside the folder

The same files and report give the same bytes: entries are sorted, their
times, owners and modes fixed, and the gzip header has no name or time.
So a release can be packaged again and compared with the one published.

  --out FILE      where to write the bundle (default <name>-<version>.tar.gz
                  in the current directory); it is replaced atomically
  --report FILE   package the run in this report.json rather than running
                  the gate; the run flags below are then not used
  --policy FILE   the gate's policy: which levels fail, which findings are
                  waived (default: DIR/policy.yaml when the connector has
                  one, else any error fails)
  --baseline B    compare with this earlier release (repeat for several)
  --releases DIR  the compatibility window: compare with each of the last
                  compatibility.window releases among the bundles in DIR
  --sign KEY      sign the bundle with this private key (see 'tether
                  sign') and write the signature to <out>.sigstore.json
  --sandbox, --target, --parallel, --seed
                  as for 'tether gate'

On success package prints the bundle's path, its size and its SHA-256.

Exit codes: 0 the bundle is written, 1 the gate fails or the report does
not match the files (nothing is written), 2 the run could not be made.

Examples:
  tether package ./connectors/dealnotify --out dist/dealnotify-1.1.0.tar.gz

  # gate, package what the gate passed, and check it as a marketplace does
  tether gate ./connectors/dealnotify --out build/report --policy gate.yaml
  tether package ./connectors/dealnotify --report build/report/report.json \
      --policy gate.yaml --out dist/dealnotify-1.1.0.tar.gz
  tether verify dist/dealnotify-1.1.0.tar.gz --policy gate.yaml
`

func runPackage(env *environ, args []string) int {
	var out, reportFile, policyFile, signKey *string
	dir, opts, code, done := parseRun(env, "package", packageHelp, args, func(fl *flag.FlagSet) {
		out = fl.String("out", "", "")
		signKey = fl.String("sign", "", "")
		reportFile = fl.String("report", "", "")
		policyFile = fl.String("policy", "", "")
	})
	if done {
		return code
	}
	policy, err := loadPolicy(*policyFile)
	if err != nil {
		return fail(env, err)
	}
	// The key is read before the suites run, so a long run is not wasted
	// on a wrong path.
	var signer *signature.Signer
	if *signKey != "" {
		if signer, err = signature.LoadSigner(*signKey); err != nil {
			return fail(env, err)
		}
	}
	c, err := manifest.Load(dir)
	if err != nil {
		return fail(env, err)
	}
	if policy == nil {
		if policy, err = harness.ConnectorPolicy(c); err != nil {
			return fail(env, err)
		}
	}
	// The output's directory is checked before the suites run, so a long
	// run is not wasted on a typo.
	if *out == "" {
		*out = release.BundleName(c.Manifest)
	}
	if st, err := os.Stat(filepath.Dir(*out)); err != nil || !st.IsDir() {
		return fail(env, fmt.Errorf("--out %s: its directory does not exist", *out))
	}
	var rep, read *report.Report
	if *reportFile == "" {
		if rep, code = runSuites(env, c, append(opts, progress(env), harness.WithPolicy(policy))); rep == nil {
			return code
		}
	} else {
		if read, err = readReport(*reportFile); err != nil {
			return fail(env, err)
		}
		rep = report.Gate(read, policy, time.Now())
	}
	if rep.Summary.Status != report.StatusPass {
		printFailing(env, rep, policy)
		if *reportFile != "" {
			if note := report.PolicyNote(read, policy); note != "" {
				fmt.Fprintf(env.stdout, "package: %s\n", note)
			}
		}
		fmt.Fprintf(env.stdout, "package: FAIL: %s %s does not pass its gate; nothing written\n", rep.Connector.Name, rep.Connector.Version)
		return exitFindings
	}
	if err := release.PackageRelease(c, rep, *out); err != nil {
		fmt.Fprintf(env.stdout, "package: refused: %v\n", err)
		return exitFindings
	}
	size, sum, err := fileDigest(*out)
	if err != nil {
		return fail(env, err)
	}
	fmt.Fprintf(env.stdout, "package: wrote %s (%d bytes)\nsha256: %s\n", *out, size, sum)
	if signer != nil {
		if err := signBundle(signer, *out, *out+signature.FileSuffix); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.stdout, "package: signed %s%s (key %s)\n", *out, signature.FileSuffix, signer.ID())
	}
	return exitOK
}

// readReport reads back the report.json a gate wrote. Its timings are
// not in that form, and stay zero.
func readReport(path string) (*report.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	if rep.Version != report.Version {
		return nil, fmt.Errorf("read report %s: its version is %d; this tether reads version %d", path, rep.Version, report.Version)
	}
	return &rep, nil
}

// printFailing prints the findings that fail rep under policy.
func printFailing(env *environ, rep *report.Report, policy *report.Policy) {
	for _, f := range rep.Findings {
		if f.Waived == "" && slices.Contains(policy.FailOn, f.Level.String()) {
			fmt.Fprintln(env.stdout, f)
		}
	}
}

// fileDigest returns the size and hex SHA-256 of the file at path.
func fileDigest(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
