package container_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
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
