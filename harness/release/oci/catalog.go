package oci

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"oras.land/oras-go/v2/registry/remote"
)

// MaxRepositories bounds how many repositories [Client.Repositories]
// lists, so that a hostile registry cannot page for ever.
const MaxRepositories = 100_000

// errEnough stops the catalog's paging once the bound is passed.
var errEnough = errors.New("enough")

// Repositories lists the repositories of ref's registry at or under ref's
// repository path, sorted as the registry's catalog lists them (by name):
// prefix acme lists acme and acme/dealnotify, not acmecorp. The registry
// must serve the catalog API, as Distribution, Harbor and Zot do.
func (c *Client) Repositories(ctx context.Context, ref Reference) ([]string, error) {
	reg, err := remote.NewRegistry(ref.Registry)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	reg.Client = c.authClient()
	reg.PlainHTTP = c.plainHTTP || ref.Local()
	reg.RepositoryListPageSize = 1000
	prefix := ref.Repository
	var out []string
	pages := 0
	err = reg.Repositories(ctx, "", func(repos []string) error {
		pages++
		for _, r := range repos {
			if r == prefix || strings.HasPrefix(r, prefix+"/") {
				out = append(out, r)
			}
		}
		if len(out) > MaxRepositories || pages > MaxRepositories/100 {
			return errEnough
		}
		return nil
	})
	if errors.Is(err, errEnough) {
		return nil, fmt.Errorf("%s: the registry lists more than %d repositories under %s", ref, MaxRepositories, prefix)
	}
	if err != nil {
		return nil, explain(ref, reg.PlainHTTP, fmt.Errorf("list repositories: %w", err))
	}
	return out, nil
}
