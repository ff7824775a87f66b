// Package fleet answers a marketplace's questions about many connectors
// at once: which releases a vendor's new contract breaks ([Impact], read
// from the usage each release bundle carries), and how to gate a fleet of
// connectors in slices on several CI machines and join the reports into
// the one a single run would have written ([Shard], [Assign],
// [GateReport], [Merge]).
//
// A fleet's releases come from a [Source]: a directory of bundles ([Dir])
// or the releases pushed under a path of an OCI registry ([Registry]).
package fleet

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tetherkit/tether/harness/release"
)

// A Source is where a fleet's release bundles are. Implementations must
// read each bundle as [release.ReadBundle] does: bounded and confined,
// since a bundle is hostile input.
type Source interface {
	// String names the source in reports and errors.
	String() string
	// Releases lists the fleet's releases by a name unique in the source,
	// sorted, so that a run's order does not depend on the source's.
	Releases(ctx context.Context) ([]string, error)
	// Bundle reads the release the name lists.
	Bundle(ctx context.Context, name string) (*release.Bundle, error)
}

// ErrSourceNotSupported is returned by [OpenSource] for a reference to a
// kind of source tether cannot read yet.
var ErrSourceNotSupported = errors.New("fleet source not supported")

// maxReleases bounds how many bundles a directory may list, so that a
// hostile tree cannot hold a run for ever.
const maxReleases = 1_000_000

// OpenSource opens the fleet a reference names: a directory of bundles.
// An oci://REGISTRY/PREFIX reference returns [ErrSourceNotSupported]:
// open it with [Registry], which needs a client with credentials.
func OpenSource(ref string) (Source, error) {
	if rest, ok := strings.CutPrefix(ref, "oci://"); ok {
		return nil, fmt.Errorf("%w: oci://%s: open a registry's fleet with Registry", ErrSourceNotSupported, rest)
	}
	st, err := os.Stat(ref)
	if err != nil {
		return nil, fmt.Errorf("fleet %s: %w", ref, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("fleet %s: not a directory; give the directory holding the release bundles", ref)
	}
	return Dir(ref), nil
}

// Dir is the fleet of the release bundles (*.tar.gz) in a directory and
// the directories under it. Symbolic links and other files that are not
// regular are skipped, so the fleet stays inside the directory.
func Dir(path string) Source { return dirSource(path) }

type dirSource string

func (d dirSource) String() string { return string(d) }

func (d dirSource) Releases(ctx context.Context) ([]string, error) {
	var names []string
	err := filepath.WalkDir(string(d), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".tar.gz") {
			return nil
		}
		rel, err := filepath.Rel(string(d), p)
		if err != nil {
			return err
		}
		if len(names) == maxReleases {
			return fmt.Errorf("more than %d bundles", maxReleases)
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the fleet %s: %w", d, err)
	}
	slices.Sort(names)
	return names, nil
}

func (d dirSource) Bundle(ctx context.Context, name string) (*release.Bundle, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("bundle %q: not a path inside the fleet", name)
	}
	p := filepath.Join(string(d), filepath.FromSlash(name))
	// Listed as a regular file, it must still be one: a FIFO put in its
	// place would block the read.
	if st, err := os.Lstat(p); err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read bundle %s: not a regular file", p)
	}
	return release.ReadBundle(p)
}
