package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/harness/release/oci"
	"github.com/tetherkit/tether/internal/registrytest"
	"github.com/tetherkit/tether/internal/releasetest"
)

// Against a real registry (Distribution, in a container): releases are
// pushed signed and unsigned, pulled back byte for byte, verified by
// reference, and read as a compatibility window from the version tags; an
// unsigned release, one signed by another key and one changed after
// signing are refused.
func TestRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts a registry container; skipped with -short, runs in the plain pass")
	}
	addr := registrytest.Start(t)
	// Pulled releases go to a cache of this test's own, after the
	// registry binary was found in the real one.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	env := map[string]string{"DOCKER_CONFIG": dir}
	priv, pub := keygen(t, dir, "acme")
	_, otherPub := keygen(t, dir, "other")
	repo := "oci://" + addr + "/acme/dealnotify"

	bundles := map[string]string{}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		bundles[v] = releasetest.Bundle(t, exampleDir, v, filepath.Join(dir, "dealnotify-"+v+".tar.gz"))
		if v != "1.2.0" { // 1.2.0 stays unsigned
			if code, stdout, stderr := runCLI("sign", bundles[v], "--key", priv); code != exitOK {
				t.Fatalf("sign %s: exit %d\n%s%s", v, code, stdout, stderr)
			}
		}
		code, stdout, stderr := runCLIEnv(env, "push", bundles[v], repo+":"+v)
		if code != exitOK || !strings.Contains(stdout, "push: OK "+repo+":"+v+"@sha256:") {
			t.Fatalf("push %s: exit %d\n%s%s", v, code, stdout, stderr)
		}
		if signed := strings.Contains(stdout, "(signed)"); signed != (v != "1.2.0") {
			t.Errorf("push %s: %s", v, stdout)
		}
	}

	out := filepath.Join(t.TempDir(), "pulled.tar.gz")
	code, stdout, stderr := runCLIEnv(env, "pull", repo+":1.1.0", "-o", out)
	if code != exitOK {
		t.Fatalf("pull: exit %d\n%s%s", code, stdout, stderr)
	}
	if string(mustRead(t, out)) != string(mustRead(t, bundles["1.1.0"])) {
		t.Error("the pulled bundle differs from the pushed one")
	}
	if code, stdout, _ := runCLI("verify", out, "--key", pub); code != exitOK {
		t.Errorf("verify of the pulled bundle with the signature pulled beside it: exit %d\n%s", code, stdout)
	}

	for _, tc := range []struct {
		ref, key string
		code     int
		want     string
		reason   string
	}{
		{repo + ":1.1.0", pub, exitOK, "BUNDLE: OK dealnotify 1.1.0", "signed by the key"},
		{repo + ":1.1.0", otherPub, exitFindings, "bundle-signature-other-key", "signed by another key"},
		{repo + ":1.2.0", pub, exitFindings, "bundle-unsigned", "not signed"},
		{repo + ":1.2.0", "", exitOK, "BUNDLE: OK dealnotify 1.2.0", "no key asked for"},
		{repo + ":9.9.9", pub, exitCannot, "not found", "no such tag"},
	} {
		args := []string{"verify", tc.ref}
		if tc.key != "" {
			args = append(args, "--key", tc.key)
		}
		code, stdout, stderr := runCLIEnv(env, args...)
		if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
			t.Errorf("verify %s (%s): exit %d, want %d saying %q\n%s%s", tc.ref, tc.reason, code, tc.code, tc.want, stdout, stderr)
		}
	}

	// A bundle changed after signing, published with the original's
	// signature (tether push refuses that, a hostile publisher need not
	// use it).
	tampered := rewriteBundle(t, bundles["1.0.0"], func(files map[string][]byte) {
		files["dealnotify-1.0.0/listing.md"] = append(files["dealnotify-1.0.0/listing.md"], '\n')
	})
	ref, target, err := openRegistry(&environ{getenv: func(k string) string { return env[k] }}, repo+"-tampered:1.0.0", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Push(t.Context(), target, ref.Tag, oci.Release{Bundle: tampered, Signature: mustRead(t, bundles["1.0.0"]+".sigstore.json")}); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLIEnv(env, "verify", ref.String(), "--key", pub)
	if code != exitFindings || !strings.Contains(stdout, "bundle-signature-mismatch") {
		t.Errorf("verify of a release changed after signing: exit %d\n%s", code, stdout)
	}

	// The compatibility window from the tags: 1.3.0 compares with the
	// newest releases below it, pulled into the cache once.
	next := releaseCopy(t, "1.3.0")
	code, stdout, stderr = runCLIEnv(env, "test", next, "--suite", "compatibility", "--releases", repo)
	if code != exitOK || !strings.Contains(stdout, "compatibility") {
		t.Errorf("test 1.3.0 --releases %s: exit %d\n%s\n%s", repo, code, stdout, tailLines(stderr, 20))
	}
	cache, _ := releasesCache()
	if pulled, _ := filepath.Glob(filepath.Join(cache, "*.tar.gz")); len(pulled) != 2 {
		t.Errorf("the cache holds %d releases, want the window's 2 (compatibility.window of the example)", len(pulled))
	}
	code, _, stderr = runCLIEnv(env, "test", exampleDir, "--suite", "compatibility", "--releases", repo)
	if code != exitCannot || !strings.Contains(stderr, "raise version") {
		t.Errorf("1.0.0 against its own repository: exit %d, %q", code, stderr)
	}

	// The releases under acme/dealnotify are a fleet (acme/dealnotify-
	// tampered is beside it, not under it): a breaking change to the chat
	// vendor affects each of the three, read through the catalog.
	oldChat, newChat := breakingChat(t)
	code, stdout, stderr = runCLIEnv(env, "impact", oldChat, newChat, "--fleet", repo)
	if code != exitFindings || strings.Count(stdout, "changes affect it") != 3 || !strings.Contains(stdout, "dealnotify 1.2.0") {
		t.Errorf("impact over %s: exit %d\n%s%s", repo, code, stdout, stderr)
	}
}
