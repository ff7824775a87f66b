package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/release/oci"
	"github.com/tetherkit/tether/harness/release/signature"
)

const verifyHelp = `Usage:
  tether verify BUNDLE|oci://REGISTRY/REPOSITORY:VERSION [--policy FILE]
                [--key PUB [--signature FILE]] [--plain-http]

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

With --key, the bundle must also be signed by that key ('tether sign'),
and the signature is checked first:

  bundle-unsigned               no signature came with the bundle
  bundle-signature-other-key    the signature is by another key, or does
                                not verify with this one
  bundle-signature-mismatch     the bundle changed after it was signed:
                                the signature is of other bytes
  bundle-signature-invalid      the signature cannot be read

The policy is applied as of today, so a waiver that expired since the
release was packaged fails it. Without --policy, any error fails: the
marketplace's policy, not the author's, decides. When the bundled report
passed under the policy it was gated with (its file and SHA-256 are in
the report) and fails here, verify says so.

An oci:// reference verifies a release in a registry ('tether push'):
it is pulled to a temporary folder, removed afterwards, and its
signatures are the referrers attached to it; one by the key is enough.
Credentials and HTTP are as for 'tether push'.

  --policy FILE     the policy to gate the bundled report with
  --key PUB         require a signature by this public key (PEM, ECDSA
                    P-256, as 'tether keygen' writes NAME.pub)
  --signature FILE  the signature of a bundle file (default
                    BUNDLE.sigstore.json)
  --plain-http      talk HTTP, not HTTPS, to the registry

The last line is "BUNDLE: OK <name> <version> (<n> files) in <t> ms"
(with ", signed by key <ID>" after the files with --key) or
"BUNDLE: FAILED: <n> problems".

Exit codes: 0 the bundle is sound, 1 problems found, 2 the bundle cannot
be read at all (not a .tar.gz, an unsafe entry), the registry cannot be
reached or refuses the credentials, or bad usage.

Examples:
  tether verify dist/dealnotify-1.1.0.tar.gz
  tether verify upload.tar.gz --policy marketplace.yaml
  tether verify upload.tar.gz --key acme.pub
  tether verify oci://ghcr.io/acme/dealnotify:1.1.0 --key acme.pub
`

func runVerify(env *environ, args []string) int {
	fl := flag.NewFlagSet("verify", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	policyFile := fl.String("policy", "", "")
	keyFile := fl.String("key", "", "")
	sigFile := fl.String("signature", "", "")
	plain := fl.Bool("plain-http", false, "")
	path, err := parseOne(fl, args, "bundle", "give the bundle to verify, a .tar.gz written by tether package or an oci:// reference")
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
	var key *signature.PublicKey
	if *keyFile != "" {
		if key, err = signature.LoadPublicKey(*keyFile); err != nil {
			return fail(env, err)
		}
	} else if *sigFile != "" {
		return fail(env, usageError{"--signature needs --key, the public key to check it with"})
	}
	start := time.Now()
	var sigs [][]byte
	if oci.IsReference(path) {
		if *sigFile != "" {
			return fail(env, usageError{"--signature is for a bundle file; a release in a registry carries its signatures"})
		}
		dir, err := os.MkdirTemp("", "tether-verify-")
		if err != nil {
			return fail(env, err)
		}
		defer os.RemoveAll(dir)
		var code int
		if path, sigs, code = pullForVerify(env, path, dir, *plain); code != exitOK {
			return code
		}
	} else if key != nil {
		explicit := *sigFile != ""
		if !explicit {
			*sigFile = path + signature.FileSuffix
		}
		// A missing default signature is an unsigned bundle, a finding;
		// a missing named one is a mistake on the command line.
		sig, err := readSignature(*sigFile)
		if err != nil && (explicit || !errors.Is(err, os.ErrNotExist)) {
			return fail(env, err)
		}
		sigs = append(sigs, sig)
	}
	var opts []release.VerifyOption
	if key != nil {
		opts = append(opts, release.RequireSignature(key, sigs...))
	}
	v, err := release.VerifyBundle(path, policy, time.Now(), opts...)
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
	signed := ""
	if key != nil {
		signed = ", signed by key " + key.ID()
	}
	fmt.Fprintf(env.stdout, "BUNDLE: OK %s %s (%d files%s) in %d ms\n", v.Name, v.Version, v.Files, signed, took.Milliseconds())
	return exitOK
}

// pullForVerify pulls the release s names into dir, and returns the
// bundle's path and its signatures.
func pullForVerify(env *environ, s, dir string, plain bool) (string, [][]byte, int) {
	ref, repo, err := openRegistry(env, s, plain)
	if err != nil {
		return "", nil, fail(env, err)
	}
	if ref.Named() == "" {
		return "", nil, fail(env, usageError{fmt.Sprintf("%s: say which release, as oci://REGISTRY/REPOSITORY:VERSION", s)})
	}
	ctx, cancel := registryContext(env)
	defer cancel()
	out := filepath.Join(dir, "release.tar.gz")
	p, err := oci.Pull(ctx, repo, ref.Named(), out)
	if err != nil {
		return "", nil, fail(env, err)
	}
	return out, p.Signatures, exitOK
}
