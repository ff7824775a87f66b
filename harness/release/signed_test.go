package release_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/release/signature"
	"github.com/tetherkit/tether/internal/releasetest"
)

// One good signature among several is enough; with none good, each
// failure is reported under its own ID, before the other checks.
func TestRequireSignature(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string) (*signature.Signer, *signature.PublicKey) {
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
		return s, k
	}
	signer, key := mk("acme")
	other, _ := mk("other")
	path := releasetest.Bundle(t, filepath.Join("..", "..", "connectors", "dealnotify"), "1.0.0", filepath.Join(dir, "dealnotify-1.0.0.tar.gz"))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := signer.Sign(data)
	byOther, _ := other.Sign(data)
	ofOther, _ := signer.Sign(append(data, 0))

	for _, tc := range []struct {
		name string
		sigs [][]byte
		want []string
	}{
		{"good", [][]byte{good}, nil},
		{"good among bad", [][]byte{byOther, ofOther, good}, nil},
		{"none", nil, []string{release.RuleUnsigned}},
		{"empty", [][]byte{{}}, []string{release.RuleUnsigned}},
		{"other key", [][]byte{byOther}, []string{release.RuleSignatureOtherKey}},
		{"other bytes", [][]byte{ofOther}, []string{release.RuleSignatureMismatch}},
		{"both bad", [][]byte{byOther, ofOther}, []string{release.RuleSignatureOtherKey, release.RuleSignatureMismatch}},
		{"garbage", [][]byte{[]byte("{}")}, []string{release.RuleSignatureInvalid}},
	} {
		v, err := release.VerifyBundle(path, nil, time.Now(), release.RequireSignature(key, tc.sigs...))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range v.Problems {
			got = append(got, p.ID)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: problems %v, want %v", tc.name, v.Problems, tc.want)
		}
	}
}
