package container_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/tetherkit/tether/sandbox/container"
)

// This example builds an image of a small HTTP server, runs it, and calls it.
// It needs a Docker engine, so it is compiled but not run by go test.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := container.DockerAvailable(ctx); err != nil {
		fmt.Println("no docker:", err)
		return
	}

	img, err := container.Build(ctx, container.BuildSpec{
		Main: "./testdata/hello",
		Port: 8080,
		Args: []string{"-addr=:8080"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := container.Run(ctx, img, container.WithHealthPath("/healthz"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Terminate(context.Background())

	resp, err := http.Get(c.URL() + "/hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s", body)
}

// This example starts the CRM test sandbox in a container and asks it for
// its health. It needs a Docker engine, so it is compiled but not run by go
// test.
func ExampleStartSandbox() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	sb, err := container.StartSandbox(ctx, container.SandboxSpec{
		Vendors: []container.Vendor{{
			Name:      "crm",
			Contract:  "../testdata/crm.yaml",
			Cassettes: []string{"../testdata/crm_deals.yaml"},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Right after the start, so that the container goes whatever happens.
	defer sb.Terminate(context.Background())

	h, err := sb.Client.Health(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.Status, h.Vendors[0].Name, h.Vendors[0].BasePath)
}

// startCRM is the helper a test suite writes around StartSandbox: it skips
// without Docker, and t.Cleanup removes the container even when the test
// fails or stops early with t.Fatal.
func startCRM(t *testing.T) *container.Sandbox {
	t.Helper()
	if err := container.DockerAvailable(t.Context()); err != nil {
		t.Skip(err)
	}
	sb, err := container.StartSandbox(t.Context(), container.SandboxSpec{
		Vendors: []container.Vendor{{Name: "crm", Contract: "../testdata/crm.yaml"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sb.Terminate(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return sb
}

// This example shows a test helper that gives each test its own
// containerised sandbox, cleaned up with the test.
func ExampleStartSandbox_testHelper() {
	_ = func(t *testing.T) {
		sb := startCRM(t)
		url, err := sb.Client.VendorURL(t.Context(), "crm")
		if err != nil {
			t.Fatal(err)
		}
		t.Log("point the connector's CRM base URL at", url)
	}
}
