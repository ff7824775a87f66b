// Package oci publishes release bundles to OCI registries and reads them
// back: the registries that already hold container images, Helm charts
// and Wasm modules, so a marketplace needs no store of its own.
//
// A release is one artifact (OCI image manifest 1.1) of artifact type
// [ArtifactType] with a single layer, the bundle's .tar.gz byte for byte
// ([BundleMediaType]), tagged with the connector's version. Its manifest
// carries annotations: the connector's name and version, the tether
// version that pushed it, and the SHA-256 of every input the gate read
// ([AnnotationInputs]), so a registry listing answers "what was gated"
// without a download. The report ([ReportArtifactType]) and the signature
// (a Sigstore bundle, see package signature) are attached to it as
// referrers, whose subject is the bundle's manifest: they travel with the
// release when a registry copies it, and never hide its tag.
//
// The client library is oras.land/oras-go/v2, the OCI Registry As Storage
// project's: it is built around artifacts rather than container images
// (artifact types, referrers with the tag-schema fallback for registries
// without the referrers API), reads credentials as Docker does (the
// config file, its credential store and per-registry credential helpers)
// and has an in-memory and an on-disk OCI layout store that behave like a
// registry in tests. google/go-containerregistry, the alternative, is
// shaped around images and leaves referrers to the caller.
//
// Credentials come only from the Docker configuration ([WithDockerConfig]);
// nothing here takes a password. Plain HTTP is used for registries on
// this machine (see [Reference.Local]) or when asked for
// ([WithPlainHTTP]).
package oci

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/tetherkit/tether/harness/release/signature"
)

// Media and artifact types of what a release pushes.
const (
	// ArtifactType is the artifact type of a release's manifest.
	ArtifactType = "application/vnd.tetherkit.tether.bundle.v1"
	// BundleMediaType is the media type of its one layer, the bundle.
	BundleMediaType = "application/vnd.tetherkit.tether.bundle.v1.tar+gzip"
	// ReportArtifactType is the artifact type of the report referrer, and
	// the media type of its one layer, report/report.json.
	ReportArtifactType = "application/vnd.tetherkit.tether.report.v1+json"
	// SignatureArtifactType is the artifact type of the signature
	// referrer, and the media type of its one layer: a Sigstore bundle,
	// as cosign attaches them.
	SignatureArtifactType = signature.MediaType
)

// Annotations of a release's manifest, besides the OCI ones for its title
// (the bundle's file name) and version.
const (
	// AnnotationConnector is the connector's name.
	AnnotationConnector = "io.tetherkit.tether.connector"
	// AnnotationTetherVersion is the version of tether that pushed it.
	AnnotationTetherVersion = "io.tetherkit.tether.version"
	// AnnotationInputs is a JSON object from each input file the gate
	// read (relative to the connector) to its hex SHA-256, from the
	// report, keys sorted.
	AnnotationInputs = "io.tetherkit.tether.inputs"
)

// Target is what releases are pushed to and pulled from: a remote
// repository (see [Client.Repository]) or, in tests, an OCI layout store.
type Target interface {
	oras.GraphTarget
	registry.TagLister
}

// Client opens repositories in registries, with credentials from the
// Docker configuration.
type Client struct {
	store     credentials.Store
	plainHTTP bool
	http      *http.Client
	userAgent string
}

// Option configures a [Client].
type Option func(*Client) error

// WithDockerConfig reads credentials from the Docker configuration file at
// path (usually ~/.docker/config.json, or config.json under
// $DOCKER_CONFIG): its auths, its credential store and its per-registry
// credential helpers, as docker login leaves them. A missing file means no
// credentials. Without this option, no credentials are sent.
func WithDockerConfig(path string) Option {
	return func(c *Client) error {
		store, err := credentials.NewStore(path, credentials.StoreOptions{})
		if err != nil {
			return fmt.Errorf("read docker config %s: %w", path, err)
		}
		c.store = store
		return nil
	}
}

// WithPlainHTTP talks HTTP, not HTTPS, to every registry. Registries on
// this machine are talked to in HTTP without it.
func WithPlainHTTP() Option {
	return func(c *Client) error { c.plainHTTP = true; return nil }
}

// WithUserAgent sets the User-Agent of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) error { c.userAgent = ua; return nil }
}

// NewClient returns a client configured by opts.
func NewClient(opts ...Option) (*Client, error) {
	c := &Client{
		store: credentials.NewMemoryStore(),
		// No retries: an unreachable registry is said at once. Timeouts
		// bound each step, not a whole download.
		http: &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		}},
		userAgent: "tether",
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Repository opens the repository ref names; its tag or digest is not
// used.
func (c *Client) Repository(ref Reference) (Target, error) {
	repo, err := remote.NewRepository(ref.Registry + "/" + ref.Repository)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	repo.Client = c.authClient()
	repo.PlainHTTP = c.plainHTTP || ref.Local()
	// A hostile registry could page forever.
	repo.TagListMaxPages = 100
	repo.ReferrerListMaxPages = 10
	return &remoteTarget{Repository: repo, ref: ref}, nil
}

// authClient is an HTTP client for one repository or registry, with the
// credentials of the Docker configuration.
func (c *Client) authClient() *auth.Client {
	header := http.Header{}
	header.Set("User-Agent", c.userAgent)
	return &auth.Client{
		Client:     c.http,
		Header:     header,
		Credential: credentials.Credential(c.store),
		Cache:      auth.NewCache(),
	}
}

// remoteTarget is a remote repository that remembers its reference, to
// explain its errors (see [explainFor]).
type remoteTarget struct {
	*remote.Repository
	ref Reference
}

// explainFor explains err when it comes from a remote repository.
func explainFor(t Target, err error) error {
	if rt, ok := t.(*remoteTarget); ok {
		return explain(rt.ref, rt.PlainHTTP, err)
	}
	return err
}

// Error is a failure to talk to a registry, with what to do about it.
type Error struct {
	// Ref is the reference being used.
	Ref Reference
	// Err is the cause.
	Err error
	// Hint says what to do, when something can be done.
	Hint string
}

func (e *Error) Error() string {
	s := e.Ref.String() + ": " + e.Err.Error()
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNotFound is wrapped by errors about a tag, digest or repository the
// registry does not have.
var ErrNotFound = errdef.ErrNotFound

// explain wraps err from a registry with a hint of what to do.
func explain(ref Reference, plain bool, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	out := &Error{Ref: ref, Err: err}
	var resp *errcode.ErrorResponse
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &resp) && resp.StatusCode == http.StatusUnauthorized, errors.Is(err, auth.ErrBasicCredentialNotFound):
		out.Hint = "the registry wants credentials, or refused those given: log in with docker login " + ref.Registry + "; tether reads Docker's config file and credential helpers"
	case errors.As(err, &resp) && resp.StatusCode == http.StatusForbidden:
		out.Hint = "the credentials for " + ref.Registry + " may not do this to " + ref.Repository
	case errors.Is(err, errdef.ErrNotFound) || errors.As(err, &resp) && resp.StatusCode == http.StatusNotFound:
		out.Err = fmt.Errorf("%w: %v", ErrNotFound, err)
		out.Hint = "check the repository and tag"
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		out.Hint = "the registry speaks plain HTTP; pass --plain-http if that is intended"
	case errors.As(err, &opErr) || errors.As(err, &netErr):
		out.Hint = "cannot reach the registry at " + ref.Registry + "; check the address and that it runs"
		if !plain {
			out.Hint += " (HTTPS is used unless the registry is on this machine or --plain-http is given)"
		}
	}
	return out
}
