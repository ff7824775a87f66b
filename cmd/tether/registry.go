package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/release/oci"
)

// registryTimeout bounds what a command waits for a registry in all.
const registryTimeout = 10 * time.Minute

// dockerConfig is the Docker configuration file credentials come from:
// config.json under $DOCKER_CONFIG, else under ~/.docker, as the docker
// command reads it.
func dockerConfig(env *environ) string {
	if dir := env.getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json")
	}
	home := env.getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".docker", "config.json")
}

// openRegistry parses the oci:// reference s and opens its repository,
// with the Docker configuration's credentials.
func openRegistry(env *environ, s string, plainHTTP bool) (oci.Reference, oci.Target, error) {
	ref, err := oci.ParseReference(s)
	if err != nil {
		return oci.Reference{}, nil, err
	}
	opts := []oci.Option{oci.WithDockerConfig(dockerConfig(env)), oci.WithUserAgent("tether/" + version)}
	if plainHTTP {
		opts = append(opts, oci.WithPlainHTTP())
	}
	client, err := oci.NewClient(opts...)
	if err != nil {
		return oci.Reference{}, nil, err
	}
	repo, err := client.Repository(ref)
	if err != nil {
		return oci.Reference{}, nil, err
	}
	return ref, repo, nil
}

// registryContext is the context of a command that talks to a registry:
// bounded, and cancelled on Ctrl-C.
func registryContext(env *environ) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	cancelOnInterrupt(ctx, env, cancel)
	return ctx, cancel
}

// releasesCache is where releases pulled for a comparison are kept, named
// by digest, so each is pulled once.
func releasesCache() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a cache folder for pulled releases: %w", err)
	}
	return filepath.Join(dir, "tether", "releases"), nil
}

// pullBaseline makes an oci:// --baseline a local bundle: the release is
// pulled into the cache, and its path returned. Other values are returned
// as they are. Registries on this machine are talked to in plain HTTP.
func pullBaseline(env *environ, b string) (string, error) {
	if !oci.IsReference(b) {
		return b, nil
	}
	ref, repo, err := openRegistry(env, b, false)
	if err != nil {
		return "", fmt.Errorf("--baseline: %w", err)
	}
	if ref.Named() == "" {
		return "", usageError{fmt.Sprintf("--baseline %s: say which release, as oci://REGISTRY/REPOSITORY:VERSION", b)}
	}
	cache, err := releasesCache()
	if err != nil {
		return "", err
	}
	ctx, cancel := registryContext(env)
	defer cancel()
	p, err := oci.Fetch(ctx, repo, ref.Named(), cache)
	if err != nil {
		return "", fmt.Errorf("--baseline: %w", err)
	}
	return p, nil
}

// pullBaselines replaces each oci:// --baseline with the path of the
// release pulled into the cache.
func (rf *runFlags) pullBaselines(env *environ) error {
	for i, b := range rf.baseline {
		p, err := pullBaseline(env, b)
		if err != nil {
			return err
		}
		rf.baseline[i] = p
	}
	return nil
}

// pullWindow is --releases oci://REGISTRY/REPOSITORY: the releases the
// compatibility window of m names among the repository's version tags,
// newest first, pulled into the cache.
func pullWindow(env *environ, m *manifest.Manifest, releases string) ([]string, error) {
	ref, repo, err := openRegistry(env, releases, false)
	if err != nil {
		return nil, fmt.Errorf("--releases: %w", err)
	}
	if ref.Named() != "" {
		return nil, usageError{fmt.Sprintf("--releases %s: give the repository without a tag; its version tags are the releases", releases)}
	}
	cache, err := releasesCache()
	if err != nil {
		return nil, err
	}
	ctx, cancel := registryContext(env)
	defer cancel()
	tags, err := oci.Window(ctx, repo, m)
	if err != nil {
		return nil, fmt.Errorf("--releases %s: %w", releases, err)
	}
	var paths []string
	for _, tag := range tags {
		p, err := oci.Fetch(ctx, repo, tag, cache)
		if err != nil {
			return nil, fmt.Errorf("--releases: %w", err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}
