package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	sigsig "github.com/sigstore/sigstore/pkg/signature"
)

// MaxSize bounds a signature's JSON; a Sigstore bundle with a public-key
// message signature is well under a kilobyte.
const MaxSize = 64 << 10

// Sign signs artifact, the bytes of a release's .tar.gz, and returns the
// signature: a Sigstore bundle in JSON whose message digest is the
// artifact's SHA-256 and whose verification material is the key's ID.
func (s *Signer) Sign(artifact []byte) ([]byte, error) {
	pb, err := sign.Bundle(&sign.PlainData{Data: artifact}, keypair{s}, sign.BundleOptions{Context: context.Background()})
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	data, err := b.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return data, nil
}

// keypair presents a Signer to sigstore-go.
type keypair struct{ s *Signer }

func (k keypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}

func (k keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}

func (k keypair) GetHint() []byte { return []byte(k.s.id) }

func (k keypair) GetKeyAlgorithm() string { return "ECDSA" }

func (k keypair) GetPublicKey() crypto.PublicKey { return &k.s.key.PublicKey }

func (k keypair) GetPublicKeyPem() (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&k.s.key.PublicKey)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// SignData signs the SHA-256 of data, and returns the signature and that
// digest, as sigstore-go expects of a key pair.
func (k keypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	sum := sha256.Sum256(data)
	sig, err := k.s.key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, nil, err
	}
	return sig, sum[:], nil
}

// Signed is what a signature says, read without checking it.
type Signed struct {
	// Digest is the SHA-256 of the artifact signed.
	Digest []byte
	// KeyID is the ID of the key the signature names (see [PublicKey.ID]).
	KeyID string
}

// Read decodes a signature without checking it: what it claims to be of,
// and by which key. The error wraps [ErrMalformed].
func Read(sig []byte) (*Signed, error) {
	s, _, err := read(sig)
	return s, err
}

func read(sig []byte) (*Signed, *bundle.Bundle, error) {
	if len(sig) > MaxSize {
		return nil, nil, fmt.Errorf("%w: it is %d bytes, over the %d KiB a signature may have", ErrMalformed, len(sig), MaxSize>>10)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(sig); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	ms := b.GetMessageSignature()
	if ms == nil || ms.GetMessageDigest() == nil {
		return nil, nil, fmt.Errorf("%w: it holds no message signature", ErrMalformed)
	}
	if ms.GetMessageDigest().GetAlgorithm() != protocommon.HashAlgorithm_SHA2_256 || len(ms.GetMessageDigest().GetDigest()) != sha256.Size {
		return nil, nil, fmt.Errorf("%w: its message digest is not a SHA-256", ErrMalformed)
	}
	pk := b.GetVerificationMaterial().GetPublicKey()
	if pk == nil {
		return nil, nil, fmt.Errorf("%w: its verification material is not a public key", ErrMalformed)
	}
	return &Signed{Digest: ms.GetMessageDigest().GetDigest(), KeyID: pk.GetHint()}, &b, nil
}

// Verify checks that sig is a signature by key of the artifact whose
// SHA-256 is digest. The error wraps [ErrMalformed], [ErrArtifactChanged]
// (the signature is of other content) or [ErrOtherKey] (the signature
// names another key, or does not verify with this one), and says which
// digests or key IDs differ.
func Verify(key *PublicKey, sig, digest []byte) error {
	signed, b, err := read(sig)
	if err != nil {
		return err
	}
	if !bytes.Equal(signed.Digest, digest) {
		return fmt.Errorf("%w: the signature is of %s, the bundle is %s", ErrArtifactChanged, hexDigest(signed.Digest), hexDigest(digest))
	}
	if signed.KeyID != key.id {
		return fmt.Errorf("%w: it names key %s, the key given is %s", ErrOtherKey, signed.KeyID, key.id)
	}
	verifier, err := sigsig.LoadVerifier(key.key, crypto.SHA256)
	if err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	trusted := root.NewTrustedPublicKeyMaterial(func(hint string) (root.TimeConstrainedVerifier, error) {
		if hint != key.id {
			return nil, fmt.Errorf("key %s is not trusted", hint)
		}
		return root.NewExpiringKey(verifier, time.Time{}, time.Time{}), nil
	})
	// No log and no timestamp authority: the signature is checked as of
	// now, which is what a key pair without expiry allows.
	v, err := verify.NewVerifier(trusted, verify.WithCurrentTime())
	if err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	if _, err := v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithKey())); err != nil {
		return fmt.Errorf("%w: it names key %s but does not verify with it (%v)", ErrOtherKey, key.id, err)
	}
	return nil
}
