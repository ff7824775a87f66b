package container_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/tetherkit/tether/internal/dockertest"
	"github.com/tetherkit/tether/sandbox/container"
)

func TestMain(m *testing.M) { dockertest.Main(m) }

func requireDocker(t *testing.T) { dockertest.Require(t) }

// TestBuildAndRun builds an image of testdata/hello, runs it twice, and
// checks that the second build is served from the cache and that every
// container is gone once terminated.
func TestBuildAndRun(t *testing.T) {
	requireDocker(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	// A greeting unique to this run gives a build context no earlier run has
	// built, so the first build is always cold.
	greeting := fmt.Sprintf("hello from run %d", time.Now().UnixNano())
	greetingFile := filepath.Join(t.TempDir(), "greeting.txt")
	if err := os.WriteFile(greetingFile, []byte(greeting+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := container.BuildSpec{
		Main:  "./testdata/hello",
		Repo:  "tether-test-hello",
		Port:  8080,
		Args:  []string{"-addr=:8080", "-greeting=/etc/hello/greeting.txt"},
		Files: map[string]string{"/etc/hello/greeting.txt": greetingFile},
	}
	docker := dockerClient(t)

	for _, run := range []struct {
		name       string
		wantCached bool
	}{
		{name: "cold", wantCached: false},
		{name: "warm", wantCached: true},
	} {
		start := time.Now()
		img, err := container.Build(ctx, spec)
		if err != nil {
			t.Fatalf("%s build: %v", run.name, err)
		}
		built := time.Since(start)
		if run.name == "cold" {
			t.Cleanup(func() { removeImage(t, docker, img.Ref) })
		}
		if img.Cached != run.wantCached {
			t.Errorf("%s build of %s: Cached = %v, want %v", run.name, img.Ref, img.Cached, run.wantCached)
		}

		c, err := container.Run(ctx, img, container.WithStartupTimeout(30*time.Second))
		if err != nil {
			t.Fatalf("%s run: %v", run.name, err)
		}
		// Registered before any check, so the container goes even when one fails.
		t.Cleanup(func() {
			if err := c.Terminate(context.Background()); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
		t.Logf("%s: image %s (cached=%v) built in %v, healthy after %v in total",
			run.name, img.Ref, img.Cached, built.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

		if got := getHello(t, ctx, c.URL()); got != greeting {
			t.Errorf("%s: GET /hello message = %q, want %q", run.name, got, greeting)
		}

		if err := c.Terminate(ctx); err != nil {
			t.Fatalf("%s terminate: %v", run.name, err)
		}
		assertGone(t, ctx, docker, c.ID())
	}
}

// TestRunFailureLeavesNothing starts a program that exits at once and checks
// that Run says why, with the program's own last words, and removes the
// container.
func TestRunFailureLeavesNothing(t *testing.T) {
	requireDocker(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	img, err := container.Build(ctx, container.BuildSpec{
		Main: "./testdata/hello",
		Repo: "tether-test-hello",
		Port: 8080,
		Args: []string{"-addr=:8080", "-greeting=/no/such/file"},
	})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	docker := dockerClient(t)
	t.Cleanup(func() { removeImage(t, docker, img.Ref) })

	c, err := container.Run(ctx, img, container.WithStartupTimeout(20*time.Second))
	if err == nil {
		c.Terminate(context.Background())
		t.Fatal("Run of a program that exits at once: no error")
	}
	t.Logf("Run failed as it should: %v", err)
	if !strings.Contains(err.Error(), "read greeting") {
		t.Errorf("Run error does not carry the container's log:\n%v", err)
	}
	list, err := docker.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("ancestor", img.Ref),
	})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	for _, left := range list.Items {
		t.Errorf("container %s of %s left behind in state %q", left.ID, img.Ref, left.State)
	}
}

func getHello(t *testing.T, ctx context.Context, baseURL string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/hello", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /hello: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET /hello: read body: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /hello: status %s, body %q", resp.Status, body)
	}
	var answer struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatalf("GET /hello: body %q: %v", body, err)
	}
	return answer.Message
}

// dockerClient returns a client for checking the engine's state directly.
func dockerClient(t *testing.T) client.APIClient {
	t.Helper()
	cli, err := testcontainers.NewDockerClientWithOpts(t.Context())
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func assertGone(t *testing.T, ctx context.Context, docker client.APIClient, id string) {
	t.Helper()
	list, err := docker.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("id", id),
	})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	if len(list.Items) != 0 {
		t.Errorf("container %s still exists after Terminate (state %q)", id, list.Items[0].State)
	}
	if _, err := docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil {
		t.Errorf("inspect container %s after Terminate: no error, want not found", id)
	}
}

// removeImage removes an image only this test can use, so that test runs
// do not pile up images.
func removeImage(t *testing.T, docker client.APIClient, ref string) {
	t.Helper()
	if _, err := docker.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
		t.Errorf("remove image %s: %v", ref, err)
	}
}
