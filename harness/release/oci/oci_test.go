package oci_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	orasoci "oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry"

	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/release/oci"
	"github.com/tetherkit/tether/harness/release/signature"
	"github.com/tetherkit/tether/internal/releasetest"
)

var dealnotify = filepath.Join("..", "..", "..", "connectors", "dealnotify")

// layout is an OCI layout store on disk: tags, referrers (through
// predecessors) and content as a registry has them.
func layout(t *testing.T) oci.Target {
	t.Helper()
	s, err := orasoci.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bundle(t *testing.T, version string) string {
	return releasetest.Bundle(t, dealnotify, version, filepath.Join(t.TempDir(), "dealnotify-"+version+".tar.gz"))
}

func TestPushPull(t *testing.T) {
	ctx := t.Context()
	store := layout(t)
	path := bundle(t, "1.0.0")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := signature.GenerateKey(filepath.Join(dir, "k"), filepath.Join(dir, "k.pub")); err != nil {
		t.Fatal(err)
	}
	signer, err := signature.LoadSigner(filepath.Join(dir, "k"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signer.Sign(data)
	if err != nil {
		t.Fatal(err)
	}

	pub, err := oci.Push(ctx, store, "", oci.Release{Bundle: path, Signature: sig, TetherVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if pub.Tag != "1.0.0" || pub.Name != "dealnotify" || pub.Signature == nil {
		t.Fatalf("Push = tag %q name %q signature %v, want the version as tag, the connector's name, a signature", pub.Tag, pub.Name, pub.Signature)
	}

	// The manifest says what it is without a download of the bundle.
	_, raw, err := oras.FetchBytes(ctx, store, "1.0.0", oras.DefaultFetchBytesOptions)
	if err != nil {
		t.Fatal(err)
	}
	m := string(raw)
	for _, want := range []string{oci.ArtifactType, oci.BundleMediaType, `"io.tetherkit.tether.connector":"dealnotify"`,
		`"org.opencontainers.image.version":"1.0.0"`, `"io.tetherkit.tether.version":"test"`, "connector.yaml"} {
		if !strings.Contains(m, want) {
			t.Errorf("the manifest lacks %s:\n%s", want, m)
		}
	}
	for typ, want := range map[string]int{oci.ReportArtifactType: 1, oci.SignatureArtifactType: 1} {
		got, err := registry.Referrers(ctx, store, pub.Manifest, typ)
		if err != nil || len(got) != want {
			t.Errorf("referrers of type %s: %d (%v), want %d", typ, len(got), err, want)
		}
	}

	out := filepath.Join(t.TempDir(), "pulled.tar.gz")
	pulled, err := oci.Pull(ctx, store, "1.0.0", out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(data) {
		t.Error("the pulled bundle differs from the pushed one")
	}
	if len(pulled.Signatures) != 1 || string(pulled.Signatures[0]) != string(sig) {
		t.Errorf("pulled %d signatures, want the one pushed", len(pulled.Signatures))
	}
	if s, err := os.ReadFile(out + signature.FileSuffix); err != nil || string(s) != string(sig) {
		t.Errorf("the signature beside the pulled bundle: %v", err)
	}

	// A pull of an unsigned release removes a stale signature file.
	unsigned := bundle(t, "1.1.0")
	if _, err := oci.Push(ctx, store, "1.1.0", oci.Release{Bundle: unsigned}); err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Pull(ctx, store, "1.1.0", out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out + signature.FileSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a stale signature is left beside an unsigned bundle: %v", err)
	}
}

func TestPushRefuses(t *testing.T) {
	store := layout(t)
	path := bundle(t, "1.0.0")
	_, err := oci.Push(t.Context(), store, "2.0.0", oci.Release{Bundle: path})
	if err == nil || !strings.Contains(err.Error(), "not the connector's version 1.0.0") {
		t.Errorf("Push under another tag than the version: %v", err)
	}
	if tags, _ := registry.Tags(t.Context(), store); len(tags) != 0 {
		t.Errorf("a refused push left tags %v", tags)
	}
	notBundle := filepath.Join(t.TempDir(), "x.tar.gz")
	os.WriteFile(notBundle, []byte("no"), 0o644)
	if _, err := oci.Push(t.Context(), store, "", oci.Release{Bundle: notBundle}); err == nil {
		t.Error("Push of a file that is no bundle succeeded")
	}
}

// An artifact of another type is not pulled, and nothing is written.
func TestPullRefusesOtherArtifacts(t *testing.T) {
	ctx := t.Context()
	store := layout(t)
	layer, err := oras.PushBytes(ctx, store, "application/octet-stream", []byte("an image layer"))
	if err != nil {
		t.Fatal(err)
	}
	desc, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, "application/vnd.example.thing", oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Tag(ctx, desc, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.tar.gz")
	_, err = oci.Pull(ctx, store, "1.0.0", out)
	if err == nil || !strings.Contains(err.Error(), "not a tether release") {
		t.Errorf("Pull of another artifact type: %v", err)
	}
	if _, err := oci.Pull(ctx, store, "9.9.9", out); !errors.Is(err, oci.ErrNotFound) && !strings.Contains(err.Error(), "not found") {
		t.Errorf("Pull of a missing tag: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Errorf("failed pulls left %d files", len(entries))
	}
}

// A layer changed in the store after the push is refused by its digest.
func TestPullChecksDigests(t *testing.T) {
	ctx := t.Context()
	store := &corrupting{Target: layout(t)}
	if _, err := oci.Push(ctx, store, "", oci.Release{Bundle: bundle(t, "1.0.0")}); err != nil {
		t.Fatal(err)
	}
	store.corrupt = oci.BundleMediaType
	out := filepath.Join(t.TempDir(), "out.tar.gz")
	if _, err := oci.Pull(ctx, store, "1.0.0", out); err == nil {
		t.Fatal("a corrupted layer was pulled")
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a corrupted pull left %s", out)
	}
}

// corrupting flips the first byte of content of one media type on fetch.
type corrupting struct {
	oci.Target
	corrupt string
}

func (c *corrupting) Fetch(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	rc, err := c.Target.Fetch(ctx, d)
	if err != nil || d.MediaType != c.corrupt {
		return rc, err
	}
	data, err := content.ReadAll(rc, d)
	rc.Close()
	if err != nil {
		return nil, err
	}
	data[0] ^= 1
	return io.NopCloser(bytes.NewReader(data)), nil
}

func TestWindow(t *testing.T) {
	ctx := t.Context()
	store := layout(t)
	for _, v := range []string{"0.9.0", "1.0.0", "1.1.0", "1.2.0"} {
		if _, err := oci.Push(ctx, store, "", oci.Release{Bundle: bundle(t, v)}); err != nil {
			t.Fatal(err)
		}
	}
	// A tag that is no version is ignored.
	if _, err := oras.Tag(ctx, store, "1.2.0", "latest"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		version string
		window  int
		want    []string
		err     string
		reason  string
	}{
		{"1.3.0", 2, []string{"1.2.0", "1.1.0"}, "", "the two newest below 1.3.0"},
		{"1.1.5", 0, []string{"1.1.0"}, "", "no window is one release"},
		{"1.1.5", 9, []string{"1.1.0", "1.0.0", "0.9.0"}, "", "a window wider than the releases takes them all"},
		{"0.9.0", 1, nil, "raise version", "0.9.0 is released and nothing is below it"},
		{"0.1.0", 1, nil, "no tag is an earlier release", "nothing below 0.1.0"},
	} {
		m := &manifest.Manifest{Name: "dealnotify", Version: tc.version}
		m.Compatibility.Window = tc.window
		got, err := oci.Window(ctx, store, m)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Window(%s) = %v, %v; want an error saying %q (%s)", tc.version, got, err, tc.err, tc.reason)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Window(%s, %d) = %v, %v; want %v (%s)", tc.version, tc.window, got, err, tc.want, tc.reason)
		}
	}
}

// Fetch keeps releases by digest, and pulls each once.
func TestFetch(t *testing.T) {
	ctx := t.Context()
	store := layout(t)
	if _, err := oci.Push(ctx, store, "", oci.Release{Bundle: bundle(t, "1.0.0")}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cache")
	p, err := oci.Fetch(ctx, store, "1.0.0", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := release.ReadBundle(p); err != nil {
		t.Fatalf("the fetched release: %v", err)
	}
	info, _ := os.Stat(p)
	again, err := oci.Fetch(ctx, store, "1.0.0", dir)
	if err != nil || again != p {
		t.Fatalf("Fetch again = %s, %v; want %s", again, err, p)
	}
	if info2, _ := os.Stat(again); !info2.ModTime().Equal(info.ModTime()) {
		t.Error("Fetch pulled a release it kept already")
	}
}

// A registry that wants credentials gets those of the Docker config, and
// a refusal names docker login without showing them.
func TestCredentials(t *testing.T) {
	const user, password = "publisher", "s3cret-passw0rd"
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	var sawCredentials bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		sawCredentials = true
		http.NotFound(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	ref, err := oci.ParseReference("oci://" + host + "/acme/dealnotify:1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.tar.gz")

	client, err := oci.NewClient(oci.WithDockerConfig(filepath.Join(t.TempDir(), "missing.json")))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := client.Repository(ref)
	if err != nil {
		t.Fatal(err)
	}
	_, err = oci.Pull(t.Context(), repo, ref.Named(), out)
	var oe *oci.Error
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "docker login "+host) {
		t.Errorf("pull without credentials: %v; want an *oci.Error naming docker login", err)
	}

	config := filepath.Join(t.TempDir(), "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	if err := os.WriteFile(config, []byte(`{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	client, err = oci.NewClient(oci.WithDockerConfig(config))
	if err != nil {
		t.Fatal(err)
	}
	repo, _ = client.Repository(ref)
	_, err = oci.Pull(t.Context(), repo, ref.Named(), out)
	if !sawCredentials || !errors.Is(err, oci.ErrNotFound) {
		t.Errorf("pull with the config's credentials: sent them %v, error %v; want them sent and a not-found", sawCredentials, err)
	}
	if err != nil && (strings.Contains(err.Error(), password) || strings.Contains(err.Error(), auth)) {
		t.Errorf("the error shows the credentials: %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Error("a failed pull wrote the output")
	}
}

// An address where nothing listens is said at once, with a hint.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ref, _ := oci.ParseReference("oci://" + addr + "/acme/dealnotify:1.0.0")
	client, _ := oci.NewClient()
	repo, _ := client.Repository(ref)
	start := time.Now()
	_, err = oci.Pull(t.Context(), repo, ref.Named(), filepath.Join(t.TempDir(), "out"))
	if err == nil || !strings.Contains(err.Error(), "cannot reach the registry at "+addr) {
		t.Errorf("pull from %s where nothing listens: %v", addr, err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("an unreachable registry took %v to report", took)
	}
}

// A tag moved to another release, as a hostile registry or publisher may
// do, does not pass that release off as the tag's version: Pull, Fetch
// and so the compatibility window refuse it, and a pull that fails leaves
// the signature that was beside the output file.
func TestPullRefusesAMovedTag(t *testing.T) {
	ctx := t.Context()
	store := layout(t)
	pub, err := oci.Push(ctx, store, "", oci.Release{Bundle: bundle(t, "1.0.0")})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Tag(ctx, pub.Manifest, "1.1.0"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "dealnotify-1.1.0.tar.gz")
	if err := os.WriteFile(out+signature.FileSuffix, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Pull(ctx, store, "1.1.0", out); err == nil || !strings.Contains(err.Error(), "tag 1.1.0 names release 1.0.0") {
		t.Errorf("pull of a moved tag: %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused pull wrote %s", out)
	}
	if data, err := os.ReadFile(out + signature.FileSuffix); err != nil || string(data) != "kept" {
		t.Errorf("a refused pull changed the signature beside the output: %q, %v", data, err)
	}
	if _, err := oci.Fetch(ctx, store, "1.1.0", t.TempDir()); err == nil {
		t.Error("fetch of a moved tag succeeded")
	}
	// By its own tag or digest the release is fine.
	if _, err := oci.Pull(ctx, store, "1.0.0", out); err != nil {
		t.Errorf("pull by the release's own tag: %v", err)
	}
	if _, err := oci.Pull(ctx, store, pub.Manifest.Digest.String(), out); err != nil {
		t.Errorf("pull by digest: %v", err)
	}
}

// A published version is not replaced by another bundle of that version;
// the same bundle may be pushed again.
func TestPushKeepsAPublishedVersion(t *testing.T) {
	ctx := t.Context()
	store := layout(t)
	first := bundle(t, "1.0.0")
	if _, err := oci.Push(ctx, store, "", oci.Release{Bundle: first}); err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Push(ctx, store, "", oci.Release{Bundle: first}); err != nil {
		t.Errorf("the same bundle again: %v", err)
	}
	// Another build of 1.0.0: its manifest carries one more comment.
	copyDir := filepath.Join(t.TempDir(), "dealnotify")
	if err := os.CopyFS(copyDir, os.DirFS(dealnotify)); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(copyDir, manifest.File)
	if err := os.WriteFile(m, append(mustReadFile(t, m), "# another build\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	other := releasetest.Bundle(t, copyDir, "1.0.0", filepath.Join(t.TempDir(), "dealnotify-1.0.0.tar.gz"))
	if bytes.Equal(mustReadFile(t, first), mustReadFile(t, other)) {
		t.Fatal("the two builds are byte-identical")
	}
	if _, err := oci.Push(ctx, store, "", oci.Release{Bundle: other}); err == nil || !strings.Contains(err.Error(), "already names another bundle") {
		t.Errorf("another bundle of a published version: %v", err)
	}
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
