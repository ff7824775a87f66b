package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"

	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/report"
)

// MaxBundleSize bounds the bundle a release pushes or pulls: what
// release.ReadBundle would decompress at most.
const MaxBundleSize = 256 << 20

// Release is what [Push] publishes.
type Release struct {
	// Bundle is the path of the .tar.gz that tether package wrote.
	Bundle string
	// Signature, when set, is the bundle's signature (see package
	// signature), attached as a referrer.
	Signature []byte
	// TetherVersion is the version of tether pushing it, for
	// [AnnotationTetherVersion].
	TetherVersion string
}

// Published says what [Push] wrote.
type Published struct {
	// Name and Version are the connector's, from the bundled report.
	Name, Version string
	// Tag is the tag the release got.
	Tag string
	// Manifest is the release's manifest; Bundle its layer.
	Manifest, Bundle ocispec.Descriptor
	// Report and Signature are the referrers' manifests; Signature is
	// nil when the release was not signed.
	Report    ocispec.Descriptor
	Signature *ocispec.Descriptor
}

// Push publishes the bundle of rel to t under tag: the bundle's artifact,
// then the report and the signature as its referrers, and the tag last,
// so that a push cut short leaves no tag naming a partial release. An
// empty tag is the connector's version; any other tag than the version is
// refused, since the compatibility window reads versions from tags.
func Push(ctx context.Context, t Target, tag string, rel Release) (*Published, error) {
	data, err := readBundleFile(rel.Bundle)
	if err != nil {
		return nil, err
	}
	b, err := release.ReadBundle(rel.Bundle)
	if err != nil {
		return nil, err
	}
	reportJSON, ok := b.Files[release.BundleReport]
	if !ok {
		return nil, fmt.Errorf("push %s: it holds no %s; push what tether package wrote", rel.Bundle, release.BundleReport)
	}
	var rep report.Report
	if err := json.Unmarshal(reportJSON, &rep); err != nil {
		return nil, fmt.Errorf("push %s: read %s: %w", rel.Bundle, release.BundleReport, err)
	}
	name, version := rep.Connector.Name, rep.Connector.Version
	if name == "" || version == "" {
		return nil, fmt.Errorf("push %s: its report names no connector and version", rel.Bundle)
	}
	switch tag {
	case "":
		tag = version
	case version:
	default:
		return nil, fmt.Errorf("push %s: tag %q is not the connector's version %s; a release is tagged with its version, which the compatibility window reads", rel.Bundle, tag, version)
	}
	inputs := map[string]string{}
	for _, in := range rep.Inputs {
		inputs[in.Path] = in.SHA256
	}
	inputsJSON, err := json.Marshal(inputs) // keys sorted
	if err != nil {
		return nil, err
	}

	// A published version is not replaced by other bytes: the tag is
	// what verify, pull and the compatibility window trust. The same
	// bundle may be pushed again (to attach a signature).
	if prev, found, err := taggedBundle(ctx, t, tag); err != nil {
		return nil, explainFor(t, err)
	} else if found && prev != digest.FromBytes(data) {
		return nil, fmt.Errorf("push %s: tag %s already names another bundle (%s) of %s; a published release is not replaced: raise the version", rel.Bundle, tag, prev, name)
	}

	pub := &Published{Name: name, Version: version, Tag: tag}
	pub.Bundle, err = pushBlob(ctx, t, BundleMediaType, data)
	if err != nil {
		return nil, explainFor(t, err)
	}
	title := name + "-" + version + ".tar.gz"
	pub.Bundle.Annotations = map[string]string{ocispec.AnnotationTitle: title}
	pub.Manifest, err = oras.PackManifest(ctx, t, oras.PackManifestVersion1_1, ArtifactType, oras.PackManifestOptions{
		Layers: []ocispec.Descriptor{pub.Bundle},
		ManifestAnnotations: map[string]string{
			ocispec.AnnotationTitle:   title,
			ocispec.AnnotationVersion: version,
			AnnotationConnector:       name,
			AnnotationTetherVersion:   rel.TetherVersion,
			AnnotationInputs:          string(inputsJSON),
		},
	})
	if err != nil {
		return nil, explainFor(t, err)
	}
	if pub.Report, err = attach(ctx, t, pub.Manifest, ReportArtifactType, reportJSON); err != nil {
		return nil, explainFor(t, err)
	}
	if len(rel.Signature) > 0 {
		sig, err := attach(ctx, t, pub.Manifest, SignatureArtifactType, rel.Signature)
		if err != nil {
			return nil, explainFor(t, err)
		}
		pub.Signature = &sig
	}
	if err := t.Tag(ctx, pub.Manifest, tag); err != nil {
		return nil, explainFor(t, err)
	}
	return pub, nil
}

// attach pushes data as the one layer of an artifact of type typ whose
// subject is subject.
func attach(ctx context.Context, t Target, subject ocispec.Descriptor, typ string, data []byte) (ocispec.Descriptor, error) {
	layer, err := pushBlob(ctx, t, typ, data)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return oras.PackManifest(ctx, t, oras.PackManifestVersion1_1, typ, oras.PackManifestOptions{
		Subject: &subject,
		Layers:  []ocispec.Descriptor{layer},
	})
}

// pushBlob pushes data unless the target has it already.
func pushBlob(ctx context.Context, t Target, mediaType string, data []byte) (ocispec.Descriptor, error) {
	desc := content.NewDescriptorFromBytes(mediaType, data)
	err := t.Push(ctx, desc, bytes.NewReader(data))
	if err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return ocispec.Descriptor{}, err
	}
	return desc, nil
}

// readBundleFile reads a bundle's bytes, refusing one over MaxBundleSize.
func readBundleFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBundleSize+1))
	if err != nil {
		return nil, fmt.Errorf("read bundle %s: %w", path, err)
	}
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("read bundle %s: over %d MiB, more than a bundle may be", path, MaxBundleSize>>20)
	}
	return data, nil
}

// taggedBundle is the digest of the bundle layer tag names in t, if the
// tag exists.
func taggedBundle(ctx context.Context, t Target, tag string) (digest.Digest, bool, error) {
	desc, err := t.Resolve(ctx, tag)
	if errors.Is(err, errdef.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	raw, err := fetchBounded(ctx, t, desc, maxManifestSize)
	if err != nil {
		return "", false, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil || len(m.Layers) != 1 {
		// Something else holds the tag: not a release to keep.
		return "", true, nil
	}
	return m.Layers[0].Digest, true, nil
}
