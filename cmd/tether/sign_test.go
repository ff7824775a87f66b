package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/internal/releasetest"
)

// keygen makes a key pair NAME.key, NAME.pub in dir with the CLI.
func keygen(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	base := filepath.Join(dir, name)
	if code, stdout, stderr := runCLI("keygen", base); code != exitOK || !strings.Contains(stdout, "keygen: wrote") {
		t.Fatalf("keygen: exit %d\n%s%s", code, stdout, stderr)
	}
	return base + ".key", base + ".pub"
}

// A bundle verifies with --key only when signed by that key, over its
// exact bytes; each refusal has its own ID.
func TestSignVerify(t *testing.T) {
	dir := t.TempDir()
	priv, pub := keygen(t, dir, "acme")
	_, otherPub := keygen(t, dir, "other")
	if code, _, stderr := runCLI("keygen", filepath.Join(dir, "acme")); code != exitCannot || !strings.Contains(stderr, "never overwritten") {
		t.Errorf("keygen over an existing pair: exit %d, %q", code, stderr)
	}
	bundle := releasetest.Bundle(t, exampleDir, "1.0.0", filepath.Join(dir, "dealnotify-1.0.0.tar.gz"))

	code, stdout, _ := runCLI("verify", bundle, "--key", pub)
	if code != exitFindings || !strings.Contains(stdout, "bundle-unsigned") {
		t.Errorf("verify --key of an unsigned bundle: exit %d\n%s", code, stdout)
	}
	if code, stdout, _ := runCLI("verify", bundle); code != exitOK {
		t.Errorf("verify without --key of an unsigned bundle: exit %d\n%s", code, stdout)
	}

	code, stdout, stderr := runCLI("sign", bundle, "--key", priv)
	if code != exitOK || !strings.Contains(stdout, bundle+".sigstore.json") {
		t.Fatalf("sign: exit %d\n%s%s", code, stdout, stderr)
	}
	key, _ := os.ReadFile(priv)
	if body := strings.Split(string(key), "\n")[1]; strings.Contains(stdout+stderr, body[:20]) {
		t.Error("sign printed the private key")
	}
	code, stdout, _ = runCLI("verify", bundle, "--key", pub)
	if code != exitOK || !strings.Contains(stdout, "signed by key") {
		t.Errorf("verify --key of a signed bundle: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runCLI("verify", bundle, "--key", otherPub)
	if code != exitFindings || !strings.Contains(stdout, "bundle-signature-other-key") {
		t.Errorf("verify with another key: exit %d\n%s", code, stdout)
	}

	// The bundle changed after it was signed, its signature kept.
	tampered := rewriteBundle(t, bundle, func(files map[string][]byte) {
		files["dealnotify-1.0.0/listing.md"] = append(files["dealnotify-1.0.0/listing.md"], '\n')
	})
	sig, _ := os.ReadFile(bundle + ".sigstore.json")
	os.WriteFile(tampered+".sigstore.json", sig, 0o644)
	code, stdout, _ = runCLI("verify", tampered, "--key", pub)
	if code != exitFindings || !strings.Contains(stdout, "bundle-signature-mismatch") {
		t.Errorf("verify of a bundle changed after signing: exit %d\n%s", code, stdout)
	}
	code, _, stderr = runCLIEnv(map[string]string{"DOCKER_CONFIG": dir}, "push", tampered, "oci://127.0.0.1:1/dealnotify:1.0.0")
	if code != exitCannot || !strings.Contains(stderr, "sign the bundle again") {
		t.Errorf("push of a bundle with another's signature: exit %d, %q", code, stderr)
	}

	garbage := filepath.Join(dir, "garbage.sigstore.json")
	os.WriteFile(garbage, []byte(`{"mediaType":"nope"}`), 0o644)
	code, stdout, _ = runCLI("verify", bundle, "--key", pub, "--signature", garbage)
	if code != exitFindings || !strings.Contains(stdout, "bundle-signature-invalid") {
		t.Errorf("verify with an unreadable signature: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runCLI("verify", bundle, "--key", priv); code != exitCannot || strings.Contains(stderr, strings.Split(string(key), "\n")[1][:20]) {
		t.Errorf("verify --key with a private key: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI("package", exampleDir, "--sign", filepath.Join(dir, "missing.key")); code != exitCannot || !strings.Contains(stderr, "missing.key") {
		t.Errorf("package --sign with a missing key: exit %d, %q", code, stderr)
	}
	if code, _, _ := runCLI("verify", bundle, "--key", pub, "--signature", filepath.Join(dir, "missing.json")); code != exitCannot {
		t.Errorf("verify --signature of a missing file: exit %d, want %d", code, exitCannot)
	}

	// package --sign signs what it wrote, beside it.
	cdir, _, rep := releasetest.Connector(t, exampleDir, "1.0.1")
	data, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	reportFile := filepath.Join(dir, "report.json")
	os.WriteFile(reportFile, data, 0o644)
	packaged := filepath.Join(dir, "dealnotify-1.0.1.tar.gz")
	code, stdout, stderr = runCLI("package", cdir, "--report", reportFile, "--out", packaged, "--sign", priv)
	if code != exitOK || !strings.Contains(stdout, "package: signed "+packaged+".sigstore.json") {
		t.Fatalf("package --sign: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, _ := runCLI("verify", packaged, "--key", pub); code != exitOK {
		t.Errorf("verify --key of what package --sign wrote: exit %d\n%s", code, stdout)
	}
}

// Bad references, unreachable registries and refused credentials exit 2
// with a clear message, and write nothing.
func TestRegistryErrors(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DOCKER_CONFIG": dir}
	bundle := releasetest.Bundle(t, exampleDir, "1.0.0", filepath.Join(dir, "dealnotify-1.0.0.tar.gz"))
	out := filepath.Join(dir, "out", "pulled.tar.gz")
	os.Mkdir(filepath.Dir(out), 0o755)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer refusing.Close()
	auth := strings.TrimPrefix(refusing.URL, "http://")

	for _, tc := range []struct {
		args   []string
		want   string
		reason string
	}{
		{[]string{"pull", "registry.example.com/a:1", "-o", out}, "want oci://", "no scheme"},
		{[]string{"pull", "oci://registry.example.com/Acme:1", "-o", out}, "reference", "an uppercase repository"},
		{[]string{"pull", "oci://registry.example.com/acme", "-o", out}, "say which release", "no tag"},
		{[]string{"pull", "oci://" + closed + "/acme:1.0.0", "-o", out}, "cannot reach the registry", "nothing listens"},
		{[]string{"pull", "oci://" + auth + "/acme:1.0.0", "-o", out}, "docker login", "credentials refused"},
		{[]string{"push", bundle, "oci://" + auth + "/acme:1.0.0"}, "docker login", "credentials refused on push"},
		{[]string{"push", bundle, "oci://" + closed + "/acme"}, "cannot reach the registry", "nothing listens on push"},
		{[]string{"push", bundle}, "give the bundle and where to push it", "no reference"},
		{[]string{"verify", "oci://" + closed + "/acme:1.0.0"}, "cannot reach the registry", "verify by reference, nothing listens"},
		{[]string{"test", exampleDir, "--suite", "compatibility", "--releases", "oci://" + closed + "/acme"}, "cannot reach the registry", "--releases from a registry that is not there"},
		{[]string{"test", exampleDir, "--suite", "compatibility", "--baseline", "oci://" + auth + "/acme:0.9.0"}, "docker login", "--baseline from a registry that refuses"},
	} {
		code, stdout, stderr := runCLIEnv(env, tc.args...)
		if code != exitCannot || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, want %d saying %q\n%s%s", tc.reason, code, exitCannot, tc.want, stdout, stderr)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Errorf("failed pulls left %d files", len(entries))
	}
}

func TestRegistryHelp(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		want []string
	}{
		{"push", []string{"artifact type", "referrers", "docker login", "--plain-http", "Exit codes", "Examples:"}},
		{"pull", []string{"atomically", "sigstore.json", "-o FILE", "Exit codes"}},
		{"sign", []string{"ECDSA P-256", "Sigstore bundle", "--key KEY", "Exit codes"}},
		{"keygen", []string{"NAME.key", "never overwrites", "Exit codes"}},
		{"verify", []string{"bundle-unsigned", "bundle-signature-other-key", "bundle-signature-mismatch", "oci://"}},
		{"package", []string{"--sign KEY"}},
		{"gate", []string{"oci://REGISTRY/REPOSITORY"}},
	} {
		code, stdout, _ := runCLI(tc.cmd, "--help")
		for _, w := range tc.want {
			if code != exitOK || !strings.Contains(stdout, w) {
				t.Errorf("%s --help: exit %d, lacks %q", tc.cmd, code, w)
			}
		}
	}
	code, stdout, _ := runCLI("rules")
	for _, id := range []string{"bundle-unsigned", "bundle-signature-other-key", "bundle-signature-mismatch", "bundle-signature-invalid"} {
		if code != exitOK || !strings.Contains(stdout, id) {
			t.Errorf("tether rules lacks %s", id)
		}
	}
}
