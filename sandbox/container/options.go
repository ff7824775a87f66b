package container

import "time"

// Option configures [Run] and [StartSandbox]. Make one with
// [WithHealthPath] or [WithStartupTimeout].
type Option struct{ apply func(*runConfig) }

type runConfig struct {
	healthPath     string
	startupTimeout time.Duration
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
