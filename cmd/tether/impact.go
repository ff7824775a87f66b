package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/fleet"
	"github.com/tetherkit/tether/harness/release/oci"
	"github.com/tetherkit/tether/internal/atomicfile"
)

const impactHelp = `Usage:
  tether impact OLD NEW --fleet DIR|oci://REGISTRY/PREFIX [--vendor NAME] [--fail-on error|warning|info]
                [--format text|json|markdown|junit] [-o FILE]

impact answers "a vendor just shipped a new contract: which of our
connectors break?". It compares OLD and NEW, two versions of the vendor's
contract, once (as 'tether diff' does), then reads every release bundle in
the fleet and marks the changes against what that release uses of the
vendor: the usage/<vendor>.json its bundle carries ('tether package'
writes it), or, for an older bundle without one, the calls and events in
its cassettes, golden files and scenarios.

It prints, per connector and version, each change at or above --fail-on
that affects it, with the operation and the parameter or body field.
Releases that use the vendor but are not affected are counted, not
listed; releases that do not use it are counted too. A fleet with no
release, or none that uses the contract, is an error (exit 2): a mistyped
path, vendor or file name does not pass as "none affected".

  --fleet DIR     the directory of release bundles (*.tar.gz, in it or
                  in folders under it). Bundles are read as 'tether
                  verify' reads them: bounded, links not followed; one
                  that cannot be read is listed and the run goes on.
                  oci://REGISTRY/PREFIX reads the releases pushed under
                  PREFIX instead: each repository there (from the
                  registry's catalog) and each version tag in it, pulled
                  once into the user cache by digest, with Docker's
                  credentials; plain HTTP only to this machine
  --timeout D     the longest the whole run may take (default 30m); a
                  registry that answers slowly is given up on then
  --vendor NAME   match releases by the vendor's name in their manifest;
                  by default a release uses the vendor when one of its
                  contracts has OLD's or NEW's file name
  --fail-on S     the lowest severity that affects a release: error (the
                  default: breaking changes), warning or info
  --format F      text (the default), json, markdown (for a pull request
                  or step summary) or junit (a failing case per release
                  affected, one passing case counting the rest)
  -o, --out FILE  write there instead of to standard output, atomically

Exit codes: 0 no release affected, 1 at least one, 2 could not run: bad
flags, a contract unreadable or invalid, or a bundle unreadable (the
report is still written, naming it).

Examples:
  tether impact crm.openapi.yaml crm-next/crm.openapi.yaml --fleet dist
  tether impact chat-1.8.yaml chat-1.9.yaml --fleet dist --vendor chat \
      --format markdown >> "$GITHUB_STEP_SUMMARY"
  tether impact crm.openapi.yaml next/crm.openapi.yaml --fleet dist --format junit -o impact.xml
`

func runImpact(env *environ, args []string) int {
	fs := newFlags("impact", env, impactHelp)
	fleetRef := fs.String("fleet", "", "")
	vendor := fs.String("vendor", "", "")
	failOn := fs.String("fail-on", "error", "")
	timeout := fs.Duration("timeout", 30*time.Minute, "")
	format := fs.String("format", "text", "")
	var out string
	fs.StringVar(&out, "out", "", "")
	fs.StringVar(&out, "o", "", "")
	files, code, ok := parseFlags(fs, env, impactHelp, args)
	if !ok {
		return code
	}
	if len(files) != 2 {
		return fail(env, usageError{fmt.Sprintf("impact needs two contracts, OLD and NEW; got %d argument(s)", len(files))})
	}
	if *fleetRef == "" {
		return fail(env, usageError{"impact needs --fleet DIR or oci://REGISTRY/PREFIX: where the release bundles to mark are"})
	}
	threshold, err := contracts.ParseLevel(*failOn)
	if err != nil {
		return fail(env, usageError{fmt.Sprintf("--fail-on %q: use error, warning or info", *failOn)})
	}
	var render func(r *fleet.ImpactReport, w io.Writer) error
	switch *format {
	case "text":
		render = (*fleet.ImpactReport).Text
	case "json":
		render = func(r *fleet.ImpactReport, w io.Writer) error { return writeBytes(w, r.JSON) }
	case "markdown":
		render = (*fleet.ImpactReport).Markdown
	case "junit":
		render = (*fleet.ImpactReport).JUnit
	default:
		return fail(env, usageError{fmt.Sprintf("--format %q: use text, json, markdown or junit", *format)})
	}
	src, err := openFleet(env, *fleetRef)
	if err != nil {
		return fail(env, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	cancelOnInterrupt(ctx, env, cancel)
	opts := []fleet.ImpactOption{fleet.FailOn(threshold)}
	if *vendor != "" {
		opts = append(opts, fleet.ForVendor(*vendor))
	}
	r, err := fleet.Impact(ctx, src, files[0], files[1], opts...)
	if err != nil {
		return fail(env, err)
	}
	r.Tether = version
	var buf bytes.Buffer
	if err := render(r, &buf); err != nil {
		return fail(env, fmt.Errorf("render the %s output: %w", *format, err))
	}
	if out == "" {
		if _, err := env.stdout.Write(buf.Bytes()); err != nil {
			return fail(env, err)
		}
	} else {
		if err := atomicfile.WriteBytes(out, 0o644, buf.Bytes()); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.stdout, "%s\nwrote %s\n", r.Line(), out)
	}
	if r.Summary.Unreadable > 0 {
		fmt.Fprintf(env.stderr, "tether: %d bundle(s) could not be read; the answer leaves them out\n", r.Summary.Unreadable)
		return exitCannot
	}
	if r.Summary.Affected > 0 {
		return exitFindings
	}
	// A fleet path or a vendor name mistyped must not pass as "none
	// affected".
	if r.Summary.Releases == 0 {
		fmt.Fprintf(env.stderr, "tether: the fleet %s holds no release; check --fleet\n", src)
		return exitCannot
	}
	if r.Summary.Using == 0 {
		how := "a contract named " + filepath.Base(files[0]) + " or " + filepath.Base(files[1])
		if *vendor != "" {
			how = "a vendor named " + *vendor
		}
		fmt.Fprintf(env.stderr, "tether: no release of the fleet has %s; check --vendor or the contracts' file names\n", how)
		return exitCannot
	}
	return exitOK
}

// openFleet opens the fleet ref names: a directory, or releases under a
// path of an OCI registry.
func openFleet(env *environ, ref string) (fleet.Source, error) {
	if !oci.IsReference(ref) {
		return fleet.OpenSource(ref)
	}
	r, err := oci.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	if r.Named() != "" {
		return nil, usageError{fmt.Sprintf("--fleet %s: a fleet is a path in a registry, without a tag or digest", ref)}
	}
	client, err := oci.NewClient(oci.WithDockerConfig(dockerConfig(env)), oci.WithUserAgent("tether/"+version))
	if err != nil {
		return nil, err
	}
	cache, err := releasesCache()
	if err != nil {
		return nil, err
	}
	return fleet.Registry(client, r, cache), nil
}
