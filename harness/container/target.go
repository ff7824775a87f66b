// Package container runs a connector's tests with containers: the
// connector as a container of the image its manifest describes
// ([Target]), and each scenario's sandbox as a container of the tether
// binary ([Sandboxes]). It is the only part of the harness that needs a
// Docker engine, and the only one that links testcontainers-go.
//
//	harness.Test(t, ".", harness.Drive(container.Target()), harness.WithSandboxes(container.Sandboxes()))
package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tetherkit/tether/connectors"
	"github.com/tetherkit/tether/harness"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/sandbox/container"
)

// Target runs the connector as a container of the image the manifest's
// run.image describes: its Go main package compiled as a static binary and
// packaged with its own FROM scratch Dockerfile (cached by content). Each
// scenario starts a container with the run configuration and state
// directory mounted from the host, and the sandbox reached at
// host.docker.internal. It needs a Docker engine; testcontainers-go reads
// its settings (DOCKER_HOST, TESTCONTAINERS_RYUK_DISABLED,
// TESTCONTAINERS_HOST_OVERRIDE) from the environment.
func Target() harness.Target { return containerTarget{} }

type containerTarget struct{}

func (containerTarget) Name() string { return "container" }

// containerPort is where the connector listens inside its container.
const containerPort = 8080

// Paths inside the container.
const (
	containerRunDir   = "/run/tether"
	containerStateDir = "/state"
)

func (containerTarget) Prepare(ctx context.Context, c *manifest.Connector, _ string) (harness.Starter, error) {
	img := c.Manifest.Run.Image
	if img == nil {
		return nil, fmt.Errorf("%s: run.image is not set, so the connector cannot run as a container; set it, or run it as a process", c.Path(manifest.File))
	}
	if err := container.DockerAvailable(ctx); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(c.Manifest.Dir)
	if err != nil {
		return nil, err
	}
	image, err := container.Build(ctx, container.BuildSpec{
		Main:       img.Main,
		Dir:        dir,
		Repo:       "tether-connector-" + c.Manifest.Name,
		Port:       containerPort,
		Dockerfile: filepath.Join(dir, img.Dockerfile),
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, rc *connectors.RunConfig, work string) (harness.Instance, error) {
		return startContainer(ctx, image, rc, work)
	}, nil
}

// SandboxAddr makes the sandbox listen where a container reaches it.
func (containerTarget) SandboxAddr() string { return "0.0.0.0:0" }

func startContainer(ctx context.Context, image container.Image, rc *connectors.RunConfig, work string) (harness.Instance, error) {
	inside := *rc
	inside.Listen = fmt.Sprintf(":%d", containerPort)
	inside.StateDir = containerStateDir
	inside.Vendors = map[string]string{}
	for name, u := range rc.Vendors {
		inside.Vendors[name] = toHostGateway(u)
	}
	if len(rc.TokenURLs) > 0 {
		inside.TokenURLs = map[string]string{}
		for name, u := range rc.TokenURLs {
			inside.TokenURLs[name] = toHostGateway(u)
		}
	}
	runDir := filepath.Join(work, "run")
	for _, d := range []string{runDir, rc.StateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := harness.WriteRunConfig(filepath.Join(runDir, "run.json"), &inside); err != nil {
		return nil, err
	}
	ctr, err := container.Run(ctx, image,
		container.WithCmd("--config", containerRunDir+"/run.json", "--listen", inside.Listen),
		container.WithBind(runDir, containerRunDir),
		container.WithBind(rc.StateDir, containerStateDir),
		container.WithHostGateway(),
		container.WithHealthPath(connectors.HealthPath),
		container.WithStartupTimeout(60*time.Second),
	)
	if err != nil {
		return nil, err
	}
	return &containerInstance{ctr: ctr}, nil
}

type containerInstance struct{ ctr *container.Container }

func (c *containerInstance) URL() string { return c.ctr.URL() }

func (c *containerInstance) Stop() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs, lerr := c.ctr.Logs(ctx)
	return logs, errors.Join(lerr, c.ctr.Terminate(ctx))
}
