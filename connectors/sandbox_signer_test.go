package connectors_test

import (
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetherkit/tether/connectors"
	"github.com/tetherkit/tether/replay"
)

// The verifiers accept what the sandbox's signers (package replay, which
// the sandbox delivers webhooks with) sign, and refuse the same delivery
// signed with another key. Only this test imports replay; the SDK itself
// stays on the standard library.
func TestVerifiersAcceptTheSandboxSigners(t *testing.T) {
	const secret, forged = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_bm90IHRoZSBzZWNyZXQgYXQgYWxsIQ=="
	body := []byte(`{"id":"evt_1","type":"deal.updated"}`)
	std := func(key string) replay.Signer {
		s, err := replay.StandardWebhooks(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	stdVerifier, err := connectors.VerifyStandardWebhooks(secret, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		style          string
		signer, forger replay.Signer
		verifier       connectors.Verifier
	}{
		{"hex", replay.HMACSHA256("X-Crm-Signature", secret, replay.SignaturePrefix("sha256=")),
			replay.HMACSHA256("X-Crm-Signature", forged, replay.SignaturePrefix("sha256=")),
			connectors.VerifyHex("X-Crm-Signature", "sha256=", secret)},
		{"timestamped", replay.TimestampedHMAC("X-Signature", secret), replay.TimestampedHMAC("X-Signature", forged),
			connectors.VerifyTimestamped("X-Signature", secret, time.Minute)},
		{"standard-webhooks", std(secret), std(forged), stdVerifier},
	}
	for _, tc := range tests {
		h := http.Header{}
		tc.signer.Sign(h, body)
		if err := tc.verifier.Verify(h, body, time.Now()); err != nil {
			t.Errorf("%s: the sandbox's signature is refused: %v", tc.style, err)
		}
		if err := tc.verifier.Verify(h, append([]byte(" "), body...), time.Now()); err == nil {
			t.Errorf("%s: a changed body is accepted", tc.style)
		}
		h = http.Header{}
		tc.forger.Sign(h, body)
		if err := tc.verifier.Verify(h, body, time.Now()); err == nil {
			t.Errorf("%s: a signature made with another key is accepted", tc.style)
		}
	}
}

// The SDK imports the standard library only, and golang.org/x/oauth2 for
// its TokenSource, so that a connector built on it pulls in nothing heavy;
// its tests may import more.
func TestStandardLibraryOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "golang.org/x/oauth2" || strings.HasPrefix(path, "golang.org/x/oauth2/") {
				continue
			}
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s, which is not in the standard library", fset.Position(imp.Pos()), path)
			}
		}
	}
}
