package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/tetherkit/tether/harness/release/oci"
	"github.com/tetherkit/tether/harness/release/signature"
)

const pullHelp = `Usage:
  tether pull oci://REGISTRY/REPOSITORY:VERSION [-o FILE] [--plain-http]

pull reads a release that 'tether push' published and writes its bundle
to FILE, and its signature, when it has one, to FILE.sigstore.json,
where 'tether verify FILE --key PUB' finds it. The bundle is checked
against the digests of the registry's manifest before it replaces
anything, and both files are written atomically: a pull that fails
leaves what was there. A stale FILE.sigstore.json is removed when the
release is not signed. An artifact that is not a tether release (another
artifact type) is refused.

REPOSITORY:VERSION may also be REPOSITORY@sha256:DIGEST, for exactly the
release a digest names.

Credentials and HTTP: as for 'tether push' (Docker's configuration;
HTTPS except on this machine or with --plain-http).

  -o FILE        where to write the bundle (default
                 <last element of REPOSITORY>-<VERSION>.tar.gz here)
  --plain-http   talk HTTP, not HTTPS, to the registry

Exit codes: 0 pulled; 2 the reference is bad, the release is missing or
not a tether release, the registry cannot be reached or refuses the
credentials.

Examples:
  tether pull oci://ghcr.io/acme/dealnotify:1.1.0
  tether pull oci://localhost:5000/dealnotify:1.1.0 -o upload.tar.gz
  tether verify upload.tar.gz --key acme.pub
`

func runPull(env *environ, args []string) int {
	fl := newFlags("pull", env, pullHelp)
	plain := fl.Bool("plain-http", false, "")
	out := fl.String("o", "", "")
	rest, code, ok := parseFlags(fl, env, pullHelp, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return fail(env, usageError{"give the release to pull: tether pull oci://REGISTRY/REPOSITORY:VERSION"})
	}
	ref, repo, err := openRegistry(env, rest[0], *plain)
	if err != nil {
		return fail(env, err)
	}
	if ref.Named() == "" {
		return fail(env, usageError{fmt.Sprintf("%s: say which release, as oci://REGISTRY/REPOSITORY:VERSION", rest[0])})
	}
	if *out == "" {
		if ref.Tag == "" {
			return fail(env, usageError{"a release named by digest has no version to name the file: give -o FILE"})
		}
		*out = path.Base(ref.Repository) + "-" + ref.Tag + ".tar.gz"
	}
	if st, err := os.Stat(filepath.Dir(*out)); err != nil || !st.IsDir() {
		return fail(env, fmt.Errorf("-o %s: its directory does not exist", *out))
	}
	ctx, cancel := registryContext(env)
	defer cancel()
	p, err := oci.Pull(ctx, repo, ref.Named(), *out)
	if err != nil {
		return fail(env, err)
	}
	fmt.Fprintf(env.stdout, "pull: wrote %s (%s %s, %d bytes)\nsha256: %s\n", *out, p.Name, p.Version, p.Bundle.Size, p.Bundle.Digest.Encoded())
	if len(p.Signatures) > 0 {
		fmt.Fprintf(env.stdout, "pull: wrote %s (%d signatures attached, the first kept)\n", *out+signature.FileSuffix, len(p.Signatures))
	}
	return exitOK
}
