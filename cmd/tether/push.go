package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tetherkit/tether/harness/release/oci"
	"github.com/tetherkit/tether/harness/release/signature"
)

const pushHelp = `Usage:
  tether push BUNDLE oci://REGISTRY/REPOSITORY[:VERSION] [--plain-http]
              [--signature FILE]

push publishes a release bundle written by 'tether package' to an OCI
registry (Distribution, Harbor, GitHub's ghcr.io, a cloud's registry) as
one artifact, tagged with the connector's version:

  artifact type   application/vnd.tetherkit.tether.bundle.v1, with the
                  .tar.gz as its one layer, byte for byte
  annotations     the connector's name and version, the tether version,
                  and the SHA-256 of each input the gate read
  referrers       the report (report/report.json), and the signature
                  when the bundle is signed, attached to the artifact

The tag is the connector's version; another tag is refused, since
--releases reads the compatibility window from the version tags. The tag
is set last, so a push cut short leaves no tag naming a partial release.

The signature is BUNDLE.sigstore.json, written by 'tether sign' or
'tether package --sign', when it is there. A signature of other bytes
than the bundle's is refused.

Credentials come from Docker's configuration, as 'docker login' leaves
it: ~/.docker/config.json (or $DOCKER_CONFIG/config.json), its credential
store and credential helpers. tether takes no password on its command
line. HTTPS is used, except for a registry on this machine (localhost,
127.0.0.1, ::1) or with --plain-http.

  --signature FILE  the signature to attach (default BUNDLE.sigstore.json
                    when it exists)
  --plain-http      talk HTTP, not HTTPS, to the registry

The last line is "push: OK REFERENCE@DIGEST (signed|unsigned)".

Exit codes: 0 pushed; 2 the bundle cannot be read, the reference is bad,
the registry cannot be reached or refuses the credentials.

Examples:
  tether push dist/dealnotify-1.1.0.tar.gz oci://ghcr.io/acme/dealnotify:1.1.0
  tether push dist/dealnotify-1.1.0.tar.gz oci://localhost:5000/dealnotify
`

func runPush(env *environ, args []string) int {
	fl := newFlags("push", env, pushHelp)
	plain := fl.Bool("plain-http", false, "")
	sigFile := fl.String("signature", "", "")
	rest, code, ok := parseFlags(fl, env, pushHelp, args)
	if !ok {
		return code
	}
	if len(rest) != 2 {
		return fail(env, usageError{"give the bundle and where to push it: tether push BUNDLE oci://REGISTRY/REPOSITORY:VERSION"})
	}
	bundle, target := rest[0], rest[1]
	ref, repo, err := openRegistry(env, target, *plain)
	if err != nil {
		return fail(env, err)
	}
	if ref.Digest != "" {
		return fail(env, usageError{fmt.Sprintf("%s: push to a tag, not a digest", target)})
	}
	sig, err := bundleSignature(bundle, *sigFile)
	if err != nil {
		return fail(env, err)
	}
	ctx, cancel := registryContext(env)
	defer cancel()
	pub, err := oci.Push(ctx, repo, ref.Tag, oci.Release{Bundle: bundle, Signature: sig, TetherVersion: version})
	if err != nil {
		return fail(env, err)
	}
	ref.Tag, ref.Digest = pub.Tag, ""
	signed := "unsigned"
	if pub.Signature != nil {
		signed = "signed"
	}
	fmt.Fprintf(env.stdout, "push: OK %s@%s (%s)\n", ref, pub.Manifest.Digest, signed)
	return exitOK
}

// bundleSignature reads the signature to push with bundle: file, or
// bundle's .sigstore.json when file is empty (none, when that is
// missing). A signature of other bytes than the bundle's is refused.
func bundleSignature(bundle, file string) ([]byte, error) {
	explicit := file != ""
	if !explicit {
		file = bundle + signature.FileSuffix
	}
	sig, err := readSignature(file)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	signed, err := signature.Read(sig)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	data, err := os.ReadFile(bundle)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	if sum := sha256.Sum256(data); string(sum[:]) != string(signed.Digest) {
		return nil, fmt.Errorf("%s is the signature of sha256:%x, not of %s (sha256:%x): sign the bundle again", file, signed.Digest, bundle, sum)
	}
	return sig, nil
}

// readSignature reads a signature file, bounded in size.
func readSignature(path string) ([]byte, error) {
	// A FIFO or a device in its place would block the read or never end.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read signature %s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read signature: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, signature.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read signature %s: %w", path, err)
	}
	if len(data) > signature.MaxSize {
		return nil, fmt.Errorf("read signature %s: over %d KiB, too large for a signature", path, signature.MaxSize>>10)
	}
	return data, nil
}
