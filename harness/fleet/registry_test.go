package fleet_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ggcr "github.com/google/go-containerregistry/pkg/registry"

	"github.com/tetherkit/tether/harness/fleet"
	"github.com/tetherkit/tether/harness/release/oci"
	"github.com/tetherkit/tether/internal/releasetest"
)

// TestImpactOverARegistry pushes releases of the examples under a path of
// a registry (an in-memory one that serves the catalog, as Distribution
// does) and finds the same releases affected as in a directory of the same
// bundles; a repository beside the path is not part of the fleet, and a
// second run pulls nothing again.
func TestImpactOverARegistry(t *testing.T) {
	srv := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	client, err := oci.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	push := func(repo, path string) {
		t.Helper()
		target, err := client.Repository(oci.Reference{Registry: host, Repository: repo})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := oci.Push(ctx, target, "", oci.Release{Bundle: path, TetherVersion: "test"}); err != nil {
			t.Fatalf("push %s to %s: %v", path, repo, err)
		}
	}
	var want []string
	for _, r := range []struct{ name, version string }{
		{"dealnotify", "1.0.0"}, {"dealnotify", "1.1.0"}, {"escalate", "1.0.0"}, {"issuepage", "1.0.0"},
	} {
		path := filepath.Join(dir, r.name, r.name+"-"+r.version+".tar.gz")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		releasetest.Bundle(t, filepath.Join(examples, r.name), r.version, path)
		push("fleet/"+r.name, path)
		want = append(want, "fleet/"+r.name+":"+r.version)
	}
	// Beside the fleet's path, not under it.
	outside := filepath.Join(t.TempDir(), "dealnotify-1.0.0.tar.gz")
	releasetest.Bundle(t, filepath.Join(examples, "dealnotify"), "1.0.0", outside)
	push("fleetcorp/dealnotify", outside)

	cache := t.TempDir()
	src := fleet.Registry(client, oci.Reference{Registry: host, Repository: "fleet"}, cache)
	names, err := src.Releases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, want) {
		t.Errorf("releases %v, want %v", names, want)
	}

	oldFile, newFile := newChatContract(t)
	fromDir, err := fleet.Impact(ctx, fleet.Dir(dir), oldFile, newFile)
	if err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		fromRegistry, err := fleet.Impact(ctx, src, oldFile, newFile)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := affected(fromRegistry), affected(fromDir); len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("run %d: affected from the registry %v, from the directory %v", run+1, got, want)
		}
		if fromRegistry.Summary != fromDir.Summary {
			t.Errorf("run %d: summary from the registry %+v, from the directory %+v", run+1, fromRegistry.Summary, fromDir.Summary)
		}
		if pulled, _ := filepath.Glob(filepath.Join(cache, "*.tar.gz")); len(pulled) != len(want) {
			t.Errorf("run %d: %d bundles in the cache, want %d (one per release, pulled once)", run+1, len(pulled), len(want))
		}
	}

	if _, err := fleet.Registry(client, oci.Reference{Registry: host, Repository: "fleet"}, cache).Bundle(ctx, "fleetcorp/dealnotify:1.0.0"); err == nil {
		t.Error("a release outside the fleet's path was read")
	}
}

func affected(r *fleet.ImpactReport) []string {
	var out []string
	for _, a := range r.Affected {
		out = append(out, a.Connector+" "+a.Version)
	}
	return out
}
