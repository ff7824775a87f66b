// Package container runs programs of this module in Docker containers
// through testcontainers-go: [Build] compiles a Go main package into a
// FROM scratch image cached by content, [Run] starts it and waits until it
// answers its health check, and [DockerAvailable] says whether an engine is
// there at all. [StartSandbox] does both for `tether sandbox serve` with
// given contracts, cassettes and faults, and hands back the same admin
// client an in-process sandbox gives.
//
// The package reads no environment variables itself, but testcontainers-go
// does: DOCKER_HOST selects the engine, TESTCONTAINERS_RYUK_DISABLED=true is
// needed where the reaper image cannot be pulled, and
// TESTCONTAINERS_HOST_OVERRIDE names the host published ports are reached
// on. testcontainers-go reads them once, at its first use in a process.
package container

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	dockercontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// DockerAvailable returns nil when a Docker engine answers a ping and speaks
// an API version testcontainers-go supports. Otherwise its error says which
// engine was tried and why it did not answer. It gives up after 10 seconds,
// or sooner when ctx ends.
func DockerAvailable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("find docker engine: %w", err)
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("ping docker engine at %s: %w", cli.DaemonHost(), err)
	}
	return nil
}

// Container is a running container started by [Run].
type Container struct {
	ctr *testcontainers.DockerContainer
	url string

	once sync.Once
	err  error
}

// Run starts a container of img, publishes [Image.Port] on a free host port
// and returns once an HTTP GET of the health path there answers 200 (see
// [WithHealthPath], [WithStartupTimeout]). When it returns an error no
// container is left behind, and the error ends with the container's last log
// lines when there are any. Otherwise the caller must call
// [Container.Terminate].
func Run(ctx context.Context, img Image, opts ...Option) (*Container, error) {
	cfg := runConfig{healthPath: "/healthz", startupTimeout: 30 * time.Second}
	for _, opt := range opts {
		if opt.apply != nil {
			opt.apply(&cfg)
		}
	}
	if img.Ref == "" || img.Port == 0 {
		return nil, fmt.Errorf("run image %q: no reference or port; make the image with Build", img.Ref)
	}
	port := fmt.Sprintf("%d/tcp", img.Port)
	health := wait.ForHTTP(cfg.healthPath).WithPort(port).WithStartupTimeout(cfg.startupTimeout)
	if len(cfg.healthHeaders) > 0 {
		health = health.WithHeaders(cfg.healthHeaders)
	}
	reqOpts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(port),
		testcontainers.WithWaitStrategyAndDeadline(cfg.startupTimeout, health),
	}
	if len(cfg.env) > 0 {
		reqOpts = append(reqOpts, testcontainers.WithEnv(cfg.env))
	}
	if len(cfg.cmd) > 0 {
		reqOpts = append(reqOpts, testcontainers.WithCmd(cfg.cmd...))
	}
	if len(cfg.binds) > 0 || cfg.hostGateway {
		reqOpts = append(reqOpts, testcontainers.WithHostConfigModifier(func(hc *dockercontainer.HostConfig) {
			hc.Binds = append(hc.Binds, cfg.binds...)
			if cfg.hostGateway {
				hc.ExtraHosts = append(hc.ExtraHosts, HostGateway+":host-gateway")
			}
		}))
	}
	ctr, err := testcontainers.Run(ctx, img.Ref, reqOpts...)
	if err != nil {
		// testcontainers hands back a container that started but never
		// became healthy; remove it so the caller has nothing to clean up.
		return nil, fmt.Errorf("run %s: %w%s", img.Ref, err, removeAfterFailure(ctx, ctr))
	}
	url, err := ctr.PortEndpoint(ctx, port, "http")
	if err != nil {
		return nil, fmt.Errorf("run %s: find published port: %w%s", img.Ref, err, removeAfterFailure(ctx, ctr))
	}
	return &Container{ctr: ctr, url: url}, nil
}

// URL returns the base URL of the published port, such as
// "http://localhost:32768", with no trailing slash.
func (c *Container) URL() string { return c.url }

// Logs returns what the container's program has written to its standard
// output and error so far.
func (c *Container) Logs(ctx context.Context) (string, error) {
	rc, err := c.ctr.Logs(ctx)
	if err != nil {
		return "", fmt.Errorf("logs of container %s: %w", c.ID(), err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return string(data), err
}

// ID returns the engine's ID of the container.
func (c *Container) ID() string { return c.ctr.GetContainerID() }

// Terminate stops the container, giving it a few seconds to exit on
// SIGTERM before it is killed, and removes it with its anonymous volumes.
// It returns when the container is gone; later calls return the first
// call's result. The image stays.
func (c *Container) Terminate(ctx context.Context) error {
	c.once.Do(func() {
		if err := c.ctr.Terminate(ctx, testcontainers.StopTimeout(stopGrace)); err != nil {
			c.err = fmt.Errorf("terminate container %s: %w", c.ID(), err)
		}
	})
	return c.err
}

// stopGrace is how long a container may take to exit after SIGTERM.
const stopGrace = 5 * time.Second

// removeAfterFailure removes ctr, if there is one, and returns its last log
// lines and any removal error as text to append to an error message.
func removeAfterFailure(ctx context.Context, ctr *testcontainers.DockerContainer) string {
	if ctr == nil {
		return ""
	}
	// Clean up even when ctx has ended, which is often why Run failed.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var msg string
	if logs, err := ctr.Logs(ctx); err == nil {
		var tail tailBuffer
		_, _ = io.Copy(&tail, logs)
		logs.Close()
		if tail.String() != "" {
			msg += "\ncontainer log ends with:\n" + tail.String()
		}
	}
	if err := ctr.Terminate(ctx, testcontainers.StopTimeout(0)); err != nil {
		msg += fmt.Sprintf("\nremove container %s: %v", ctr.GetContainerID(), err)
	}
	return msg
}
