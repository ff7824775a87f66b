package oci

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"oras.land/oras-go/v2/registry"
)

// Scheme starts every reference tether takes on its command line.
const Scheme = "oci://"

// Reference names a repository in a registry, and optionally one
// artifact in it by tag or digest: oci://REGISTRY/REPOSITORY[:TAG][@DIGEST].
type Reference struct {
	// Registry is the host, with its port when it has one.
	Registry string
	// Repository is the path of the repository within the registry.
	Repository string
	// Tag and Digest name an artifact; both are empty for a whole
	// repository. With both, the digest wins and the tag is only checked
	// to exist.
	Tag, Digest string
}

// IsReference says whether s is meant as a registry reference (starts with
// oci://) rather than a file or directory.
func IsReference(s string) bool { return strings.HasPrefix(s, Scheme) }

// maxReference bounds a reference's length; registries refuse names far
// shorter.
const maxReference = 4096

// ParseReference reads oci://REGISTRY/REPOSITORY[:TAG][@sha256:HEX]. The
// registry must be a host name or address with an optional port; the
// repository follows the OCI distribution grammar (lowercase path
// components); a tag is at most 128 letters, digits, '_', '.' and '-'.
func ParseReference(s string) (Reference, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return Reference{}, fmt.Errorf("reference %q: want oci://REGISTRY/REPOSITORY[:TAG]", s)
	}
	if len(s) > maxReference {
		return Reference{}, fmt.Errorf("reference of %d bytes: over the %d a reference may have", len(s), maxReference)
	}
	host, _, _ := strings.Cut(rest, "/")
	if host == "" {
		return Reference{}, fmt.Errorf("reference %q: no registry: want oci://REGISTRY/REPOSITORY[:TAG]", s)
	}
	if !strings.Contains(rest, "/") {
		return Reference{}, fmt.Errorf("reference %q: no repository after the registry %s", s, host)
	}
	if strings.ContainsAny(rest, " \t\r\n?#\\") {
		return Reference{}, fmt.Errorf("reference %q: a reference holds no spaces, '?', '#' or '\\'", s)
	}
	r, err := registry.ParseReference(rest)
	if err != nil {
		return Reference{}, fmt.Errorf("reference %q: %w", s, cleanError(err))
	}
	out := Reference{Registry: r.Registry, Repository: r.Repository}
	// oras keeps one of tag and digest in Reference; the text shows both.
	name, dgst, hasDigest := strings.Cut(rest, "@")
	if hasDigest {
		out.Digest = dgst
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		out.Tag = name[i+1:]
	}
	if hasDigest && out.Tag != "" {
		// oras checks the digest of tag@digest but not the tag.
		tagged := registry.Reference{Registry: r.Registry, Repository: r.Repository, Reference: out.Tag}
		if err := tagged.ValidateReferenceAsTag(); err != nil {
			return Reference{}, fmt.Errorf("reference %q: %w", s, cleanError(err))
		}
	}
	return out, nil
}

// cleanError drops the library's wrapping, which repeats the input.
func cleanError(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// String is the reference as ParseReference reads it.
func (r Reference) String() string {
	s := Scheme + r.Registry + "/" + r.Repository
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Named is the artifact part oras resolves: the digest when there is
// one, else the tag.
func (r Reference) Named() string {
	if r.Digest != "" {
		return r.Digest
	}
	return r.Tag
}

// Local says whether the registry is on this machine (localhost, or a
// loopback address), where plain HTTP is allowed without asking.
func (r Reference) Local() bool {
	host := r.Registry
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
