package container

import "time"

// Option configures [Run] and [StartSandbox]. Make one with
// [WithHealthPath] or [WithStartupTimeout].
type Option struct{ apply func(*runConfig) }

type runConfig struct {
	healthPath     string
	startupTimeout time.Duration
	cmd            []string
	binds          []string
	hostGateway    bool
	env            map[string]string
	healthHeaders  map[string]string
}

// withEnv sets an environment variable of the container's program, such
// as a secret that must not be baked into the image.
func withEnv(name, value string) Option {
	return Option{func(c *runConfig) {
		if c.env == nil {
			c.env = map[string]string{}
		}
		c.env[name] = value
	}}
}

// withHealthHeader sends a header with each health check, such as the
// credential the health path needs.
func withHealthHeader(name, value string) Option {
	return Option{func(c *runConfig) {
		if c.healthHeaders == nil {
			c.healthHeaders = map[string]string{}
		}
		c.healthHeaders[name] = value
	}}
}

// WithCmd gives the container these arguments, after the image's
// entrypoint, instead of the image's CMD.
func WithCmd(args ...string) Option {
	return Option{func(c *runConfig) { c.cmd = args }}
}

// WithBind mounts the host directory hostDir at containerDir, so that the
// program's files (a run configuration, its state) are shared with the
// caller.
func WithBind(hostDir, containerDir string) Option {
	return Option{func(c *runConfig) { c.binds = append(c.binds, hostDir+":"+containerDir) }}
}

// HostGateway is the name a container started with [WithHostGateway]
// reaches the host by.
const HostGateway = "host.docker.internal"

// WithHostGateway lets the program reach servers of the host at
// [HostGateway], as Docker Desktop does everywhere: a server the caller
// runs on the host, listening on all interfaces, is then at
// http://host.docker.internal:PORT inside the container.
func WithHostGateway() Option {
	return Option{func(c *runConfig) { c.hostGateway = true }}
}

// WithHealthPath sets the path [Run] polls until it answers 200.
// The default is "/healthz".
func WithHealthPath(path string) Option {
	return Option{func(c *runConfig) { c.healthPath = path }}
}

// WithStartupTimeout bounds how long [Run] waits for the health check to
// pass. The default is 30 seconds.
func WithStartupTimeout(d time.Duration) Option {
	return Option{func(c *runConfig) { c.startupTimeout = d }}
}
