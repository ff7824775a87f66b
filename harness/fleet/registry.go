package fleet

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"oras.land/oras-go/v2/registry"

	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/release/oci"
)

// Registry is the fleet of the releases pushed under a path of an OCI
// registry (oci://REGISTRY/PREFIX): every repository at or under PREFIX,
// and in each, every tag that is a semantic version, as `tether push`
// tags releases. A release is named REPOSITORY:TAG. Bundles are pulled
// into cache, named by digest, so a release is pulled once whatever the
// number of runs; each is checked against its digest and read as
// [release.ReadBundle] reads a file.
func Registry(c *oci.Client, prefix oci.Reference, cache string) Source {
	return &registrySource{c: c, prefix: prefix, cache: cache}
}

type registrySource struct {
	c      *oci.Client
	prefix oci.Reference
	cache  string
}

func (r *registrySource) String() string {
	return oci.Reference{Registry: r.prefix.Registry, Repository: r.prefix.Repository}.String()
}

func (r *registrySource) Releases(ctx context.Context) ([]string, error) {
	repos, err := r.c.Repositories(ctx, r.prefix)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, repo := range repos {
		t, err := r.repository(repo)
		if err != nil {
			return nil, err
		}
		tags, err := registry.Tags(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("list the tags of %s: %w", r.named(repo, ""), err)
		}
		for _, tag := range tags {
			if _, err := compat.ParseVersion(tag); err != nil {
				continue
			}
			if len(names) == maxReleases {
				return nil, fmt.Errorf("list the fleet %s: more than %d releases", r, maxReleases)
			}
			names = append(names, repo+":"+tag)
		}
	}
	slices.Sort(names)
	return names, nil
}

func (r *registrySource) Bundle(ctx context.Context, name string) (*release.Bundle, error) {
	repo, tag, ok := strings.Cut(name, ":")
	if !ok || repo != r.prefix.Repository && !strings.HasPrefix(repo, r.prefix.Repository+"/") {
		return nil, fmt.Errorf("release %q: not a REPOSITORY:TAG of the fleet %s", name, r)
	}
	t, err := r.repository(repo)
	if err != nil {
		return nil, err
	}
	path, err := oci.Fetch(ctx, t, tag, r.cache)
	if err != nil {
		return nil, err
	}
	return release.ReadBundle(path)
}

func (r *registrySource) repository(repo string) (oci.Target, error) {
	return r.c.Repository(oci.Reference{Registry: r.prefix.Registry, Repository: repo})
}

func (r *registrySource) named(repo, tag string) string {
	return oci.Reference{Registry: r.prefix.Registry, Repository: repo, Tag: tag}.String()
}
