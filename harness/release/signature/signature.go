// Package signature signs release bundles and checks their signatures,
// offline, with a key pair the publisher holds: no certificate authority,
// no transparency log, nothing on the network.
//
// A signature is a Sigstore bundle (media type [MediaType]) written by
// github.com/sigstore/sigstore-go: a message signature over the SHA-256 of
// the release's .tar.gz, with the public key's ID as its verification
// material. Sigstore bundles are what cosign and the other Sigstore
// clients read and write, so a marketplace can check a tether signature
// with the tools it has; sigstore-go is the Sigstore project's own
// library, and works with a plain key pair when asked to expect no
// timestamps or log entries.
//
// Keys are PEM files: the private key unencrypted PKCS #8 ("PRIVATE
// KEY") or SEC 1 ("EC PRIVATE KEY"), the public key PKIX ("PUBLIC KEY").
// The one algorithm is ECDSA on the NIST P-256 curve with SHA-256, the
// default of every Sigstore client. [GenerateKey] writes a pair.
//
// Nothing in this package prints or returns key material: errors name
// key files and key IDs, never the keys.
package signature

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// MediaType is the media type of a signature: a Sigstore bundle, version
// 0.3, in JSON.
const MediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// FileSuffix follows a bundle's path to name the file holding its
// signature: dist/dealnotify-1.1.0.tar.gz.sigstore.json.
const FileSuffix = ".sigstore.json"

// maxKeyFile bounds what a key file may hold; a PEM key is well under a
// kilobyte.
const maxKeyFile = 64 << 10

// Signer holds a private key that signs bundles.
type Signer struct {
	key *ecdsa.PrivateKey
	id  string
}

// PublicKey is the key a signature is checked with.
type PublicKey struct {
	key *ecdsa.PublicKey
	id  string
}

// ID is the key's identifier, the base64 SHA-256 of its PKIX encoding, as
// Sigstore's key hints are: it names the key without revealing it.
func (k *PublicKey) ID() string { return k.id }

// ID is the identifier of the signer's public key (see [PublicKey.ID]).
func (s *Signer) ID() string { return s.id }

// GenerateKey writes a new ECDSA P-256 key pair: the private key to
// private (mode 0600) and the public key to public (mode 0644). Neither
// file may exist already: a key is never overwritten.
func GenerateKey(private, public string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	if err := writeNew(private, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	if err := writeNew(public, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		os.Remove(private)
		return err
	}
	return nil
}

// writeNew writes data to a file that must not exist, through a
// temporary file in the same folder, so that no half-written key is left.
func writeNew(path string, data []byte, mode os.FileMode) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("write key %s: the file exists; a key is never overwritten", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return fmt.Errorf("write key %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write key %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write key %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write key %s: %w", path, err)
	}
	// Link, unlike rename, refuses to replace a file made meanwhile.
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return nil
}

// LoadSigner reads a private key file (see the package documentation for
// the formats).
func LoadSigner(path string) (*Signer, error) {
	block, err := readPEM(path, "PRIVATE KEY", "EC PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		key, err = x509.ParseECPrivateKey(block.Bytes)
	}
	if err != nil {
		// The parser's message says what is wrong with the encoding and
		// holds none of the key.
		return nil, fmt.Errorf("read private key %s: %w", path, err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("read private key %s: it is %s; tether signs with ECDSA P-256 keys (make one with tether keygen)", path, describe(key))
	}
	id, err := keyID(&ec.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("read private key %s: %w", path, err)
	}
	return &Signer{key: ec, id: id}, nil
}

// LoadPublicKey reads a public key file (see the package documentation
// for the format).
func LoadPublicKey(path string) (*PublicKey, error) {
	block, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read public key %s: %w", path, err)
	}
	ec, ok := key.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("read public key %s: it is %s; tether checks ECDSA P-256 signatures", path, describe(key))
	}
	id, err := keyID(ec)
	if err != nil {
		return nil, fmt.Errorf("read public key %s: %w", path, err)
	}
	return &PublicKey{key: ec, id: id}, nil
}

// readPEM reads the single PEM block of a key file, of one of types.
func readPEM(path string, types ...string) (*pem.Block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxKeyFile+1)); err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	if buf.Len() > maxKeyFile {
		return nil, fmt.Errorf("read key %s: over %d KiB, too large for a key file", path, maxKeyFile>>10)
	}
	block, _ := pem.Decode(buf.Bytes())
	if block == nil {
		return nil, fmt.Errorf("read key %s: not a PEM file (want a %q block)", path, types[0])
	}
	for _, t := range types {
		if block.Type == t {
			return block, nil
		}
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" {
		return nil, fmt.Errorf("read key %s: the key is encrypted; tether reads unencrypted PEM keys, so keep the file's permissions tight", path)
	}
	return nil, fmt.Errorf("read key %s: a %q PEM block, want %q", path, block.Type, types[0])
}

// describe names a key's algorithm for an error message.
func describe(key any) string {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return "an ECDSA " + k.Curve.Params().Name + " key"
	case *ecdsa.PublicKey:
		return "an ECDSA " + k.Curve.Params().Name + " key"
	default:
		return fmt.Sprintf("a %T key", key)
	}
}

// keyID is the base64 SHA-256 of the key's PKIX encoding.
func keyID(pub *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// Errors [Verify] returns, for callers to tell the cases apart with
// errors.Is. The error itself says more: the digests or key IDs.
var (
	// ErrMalformed: the signature cannot be read as a Sigstore bundle
	// holding a message signature.
	ErrMalformed = errors.New("the signature is not a Sigstore bundle with a message signature")
	// ErrOtherKey: the signature was not made by the key it is checked
	// with.
	ErrOtherKey = errors.New("the signature was made with another key")
	// ErrArtifactChanged: the signature is valid for other content: the
	// bundle changed after it was signed.
	ErrArtifactChanged = errors.New("the bundle changed after it was signed")
)

// hexDigest renders a digest for messages.
func hexDigest(d []byte) string { return "sha256:" + hex.EncodeToString(d) }
