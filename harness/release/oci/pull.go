package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry"

	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/release/signature"
	"github.com/tetherkit/tether/internal/atomicfile"
)

// maxManifestSize bounds a manifest read from a registry.
const maxManifestSize = 4 << 20

// Pulled says what [Pull] read.
type Pulled struct {
	// Name, Version and TetherVersion are the manifest's annotations.
	Name, Version, TetherVersion string
	// Manifest is the release's manifest; Bundle its layer.
	Manifest, Bundle ocispec.Descriptor
	// Signatures are the signature referrers' contents, in the order the
	// registry lists them; none when the release is not signed.
	Signatures [][]byte
}

// Pull reads the release ref names (a tag or a digest) from t and writes
// its bundle to out, and its first signature, if any, to out followed by
// signature.FileSuffix, where `tether verify --key` finds it. Both are
// written atomically, and checked against their digests before they
// replace anything; a stale signature file at out is removed. An
// artifact of another type than [ArtifactType] is refused.
func Pull(ctx context.Context, t Target, ref, out string) (*Pulled, error) {
	p, data, err := fetch(ctx, t, ref)
	if err != nil {
		return nil, explainFor(t, err)
	}
	// The bundle first: a pull that fails leaves what was there, the
	// signature beside it included.
	if err := atomicfile.WriteBytes(out, 0o644, data); err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	sigPath := out + signature.FileSuffix
	if len(p.Signatures) > 0 {
		if err := atomicfile.WriteBytes(sigPath, 0o644, p.Signatures[0]); err != nil {
			return nil, fmt.Errorf("pull %s: the bundle is written, its signature not: %w", ref, err)
		}
	} else if err := os.Remove(sigPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("pull %s: remove the stale signature: %w", ref, err)
	}
	return p, nil
}

// Fetch pulls the release ref names into dir, as a file named after its
// manifest's digest, unless that file is there already, and returns the
// file's path. Use it to keep the releases a compatibility window reads:
// a digest names exactly one release, so a kept file is never stale.
func Fetch(ctx context.Context, t Target, ref, dir string) (string, error) {
	desc, err := t.Resolve(ctx, ref)
	if err != nil {
		return "", explainFor(t, err)
	}
	path := filepath.Join(dir, strings.ReplaceAll(desc.Digest.String(), ":", "-")+".tar.gz")
	if _, err := os.Stat(path); err == nil {
		// Kept by digest, so it is that release; the tag may have moved
		// to it since, and must still name its version.
		b, err := release.ReadBundle(path)
		if err != nil {
			return "", err
		}
		_, version, err := releaseOf(b)
		if err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		if err := checkTag(ref, version); err != nil {
			return "", err
		}
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("pull %s: %w", ref, err)
	}
	p, err := Pull(ctx, t, desc.Digest.String(), path)
	if err != nil {
		return "", err
	}
	if err := checkTag(ref, p.Version); err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}

// fetch resolves ref and reads the release's manifest, bundle and
// signatures, each checked against its digest and bounded in size.
func fetch(ctx context.Context, t Target, ref string) (*Pulled, []byte, error) {
	if ref == "" {
		return nil, nil, errors.New("no tag or digest: say which release, as oci://REGISTRY/REPOSITORY:VERSION")
	}
	desc, err := t.Resolve(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return nil, nil, fmt.Errorf("%s is a %s, not the OCI manifest of a tether release", ref, desc.MediaType)
	}
	raw, err := fetchBounded(ctx, t, desc, maxManifestSize)
	if err != nil {
		return nil, nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, fmt.Errorf("read manifest of %s: %w", ref, err)
	}
	if m.ArtifactType != ArtifactType {
		return nil, nil, fmt.Errorf("%s is an artifact of type %q, not a tether release (%s)", ref, m.ArtifactType, ArtifactType)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != BundleMediaType {
		return nil, nil, fmt.Errorf("%s: a tether release has one layer of type %s", ref, BundleMediaType)
	}
	p := &Pulled{
		Name:          m.Annotations[AnnotationConnector],
		Version:       m.Annotations[ocispec.AnnotationVersion],
		TetherVersion: m.Annotations[AnnotationTetherVersion],
		Manifest:      desc,
		Bundle:        m.Layers[0],
	}
	data, err := fetchBounded(ctx, t, p.Bundle, MaxBundleSize)
	if err != nil {
		return nil, nil, err
	}
	// The annotations and the tag are not signed: the release is what its
	// bundle's report says, and they must agree with it.
	b, err := release.ReadBundleBytes(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", ref, err)
	}
	name, version, err := releaseOf(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", ref, err)
	}
	if p.Name != name || p.Version != version {
		return nil, nil, fmt.Errorf("%s: its annotations name %s %s, but its bundle holds %s %s", ref, p.Name, p.Version, name, version)
	}
	if err := checkTag(ref, version); err != nil {
		return nil, nil, err
	}
	sigs, err := registry.Referrers(ctx, t, desc, SignatureArtifactType)
	if err != nil {
		return nil, nil, fmt.Errorf("list signatures of %s: %w", ref, err)
	}
	for _, s := range sigs {
		sig, err := referrerLayer(ctx, t, s, SignatureArtifactType, signature.MaxSize)
		if err != nil {
			return nil, nil, fmt.Errorf("read signature %s of %s: %w", s.Digest, ref, err)
		}
		p.Signatures = append(p.Signatures, sig)
	}
	return p, data, nil
}

// referrerLayer reads the one layer of the referrer desc, of mediaType.
func referrerLayer(ctx context.Context, t Target, desc ocispec.Descriptor, mediaType string, limit int64) ([]byte, error) {
	raw, err := fetchBounded(ctx, t, desc, maxManifestSize)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != mediaType {
		return nil, fmt.Errorf("want one layer of type %s", mediaType)
	}
	return fetchBounded(ctx, t, m.Layers[0], limit)
}

// fetchBounded reads the content desc describes, refusing more than limit
// bytes, and checks it against the descriptor's size and digest.
func fetchBounded(ctx context.Context, t Target, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	if desc.Size < 0 || desc.Size > limit {
		return nil, fmt.Errorf("%s is %d bytes, over the %d allowed", desc.Digest, desc.Size, limit)
	}
	rc, err := t.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := content.ReadAll(io.LimitReader(rc, desc.Size+1), desc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", desc.Digest, err)
	}
	return data, nil
}

// releaseOf is the connector and version the bundle's report names.
func releaseOf(b *release.Bundle) (name, version string, err error) {
	data, ok := b.Files[release.BundleReport]
	if !ok {
		return "", "", fmt.Errorf("the bundle holds no %s", release.BundleReport)
	}
	var rep struct {
		Connector struct{ Name, Version string } `json:"connector"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return "", "", fmt.Errorf("read %s: %w", release.BundleReport, err)
	}
	if rep.Connector.Name == "" || rep.Connector.Version == "" {
		return "", "", fmt.Errorf("%s names no connector and version", release.BundleReport)
	}
	return rep.Connector.Name, rep.Connector.Version, nil
}

// checkTag refuses a release pulled by a tag that is not its version: a
// tag moved to another release would pass it off as that version.
func checkTag(ref, version string) error {
	if strings.Contains(ref, ":") || ref == version {
		return nil // a digest, or the release's own tag
	}
	return fmt.Errorf("tag %s names release %s, not %s: the tag was moved to another release; refusing it", ref, version, ref)
}
