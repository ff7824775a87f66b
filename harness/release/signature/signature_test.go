package signature_test

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/harness/release/signature"
)

// keyPair writes a fresh key pair under t's temporary directory.
func keyPair(t *testing.T, name string) (*signature.Signer, *signature.PublicKey, string, string) {
	t.Helper()
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	if err := signature.GenerateKey(priv, pub); err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := signature.LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s, k, priv, pub
}

func TestSignVerify(t *testing.T) {
	s, k, _, _ := keyPair(t, "release")
	_, other, _, _ := keyPair(t, "other")
	artifact := []byte("a release bundle's bytes")
	digest := sha256.Sum256(artifact)
	sig, err := s.Sign(artifact)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID() != k.ID() {
		t.Fatalf("signer ID %s, public key ID %s: one pair should have one ID", s.ID(), k.ID())
	}
	signed, err := signature.Read(sig)
	if err != nil {
		t.Fatal(err)
	}
	if string(signed.Digest) != string(digest[:]) || signed.KeyID != k.ID() {
		t.Fatalf("Read = digest %x key %s, want %x key %s", signed.Digest, signed.KeyID, digest, k.ID())
	}
	changed := sha256.Sum256([]byte("a release bundle's bytes, changed"))
	forged := []byte(strings.Replace(string(sig), `"signature":"`, `"signature":"AAAA`, 1))
	for _, tc := range []struct {
		name   string
		key    *signature.PublicKey
		sig    []byte
		digest []byte
		want   error
		reason string
	}{
		{"good", k, sig, digest[:], nil, "the signer's own public key and the bytes signed verify"},
		{"other key", other, sig, digest[:], signature.ErrOtherKey, "a public key of another pair names another key"},
		{"changed", k, sig, changed[:], signature.ErrArtifactChanged, "other bytes than those signed"},
		{"forged", k, forged, digest[:], signature.ErrOtherKey, "signature bytes that do not verify with the named key"},
		{"not json", k, []byte("{"), digest[:], signature.ErrMalformed, "not a Sigstore bundle"},
		{"empty bundle", k, []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`), digest[:], signature.ErrMalformed, "a bundle without a message signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := signature.Verify(tc.key, tc.sig, tc.digest)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v (%s)", err, tc.want, tc.reason)
			}
		})
	}
}

func TestKeysNeverPrinted(t *testing.T) {
	_, _, priv, pub := keyPair(t, "release")
	data, err := os.ReadFile(priv)
	if err != nil {
		t.Fatal(err)
	}
	// A private key given where a public key belongs is refused without
	// echoing any of it.
	_, err = signature.LoadPublicKey(priv)
	if err == nil {
		t.Fatal("LoadPublicKey read a private key")
	}
	body := strings.Split(string(data), "\n")[1]
	if strings.Contains(err.Error(), body[:16]) {
		t.Fatalf("the error shows key material: %v", err)
	}
	if _, err := signature.LoadSigner(pub); err == nil {
		t.Fatal("LoadSigner read a public key")
	}
	if err := signature.GenerateKey(priv, pub+".new"); err == nil {
		t.Fatal("GenerateKey overwrote an existing key")
	}
	if info, err := os.Stat(priv); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v (%v), want 0600", info.Mode().Perm(), err)
	}
}

func TestEncryptedAndOtherKeys(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, pem, want string }{
		{"encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted"},
		{"not pem", "hello", "not a PEM file"},
		{"rsa type", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", `"RSA PRIVATE KEY" PEM block`},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, []byte(tc.pem), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := signature.LoadSigner(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: LoadSigner = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}
