package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tetherkit/tether/connectors"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/internal/atomicfile"
)

// Target is how the harness runs the connector under test: [InProcess],
// [Process], or a container (package harness/container).
type Target interface {
	// Name names the target in reports: "in-process", "process",
	// "container".
	Name() string
	// Prepare does the work shared by every scenario, such as building a
	// binary, in work, and returns how to start one instance.
	Prepare(ctx context.Context, c *manifest.Connector, work string) (Starter, error)
}

// Starter starts one instance of the connector with rc, keeping its files
// in work.
type Starter func(ctx context.Context, rc *connectors.RunConfig, work string) (Instance, error)

// Instance is a running connector.
type Instance interface {
	// URL is where it serves.
	URL() string
	// Stop stops it, letting it finish in-flight work, and returns what
	// it logged.
	Stop() (logs string, err error)
}

// SandboxAddresser is a [Target] that needs the sandbox to listen on
// another address than a free port of the loopback interface, such as
// one a container reaches.
type SandboxAddresser interface {
	SandboxAddr() string
}

// InProcess runs the connector in this process, through the SDK:
// connectors.Serve with setup, on a free port of 127.0.0.1. It is the
// fastest target, and a panic in the connector fails the test with its
// stack.
func InProcess(setup connectors.Setup) Target { return inProcess{setup} }

type inProcess struct{ setup connectors.Setup }

func (inProcess) Name() string { return "in-process" }

func (t inProcess) Prepare(context.Context, *manifest.Connector, string) (Starter, error) {
	if t.setup == nil {
		return nil, errors.New("InProcess: no setup function")
	}
	return t.start, nil
}

func (t inProcess) start(ctx context.Context, rc *connectors.RunConfig, _ string) (Instance, error) {
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	if rc.Listen == "" {
		rc.Listen = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- connectors.Serve(ctx, rc, t.setup, logger, func(addr string) { ready <- addr }) }()
	select {
	case addr := <-ready:
		return &inProcessInstance{addr: addr, cancel: cancel, done: done, logs: logs}, nil
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("start connector in-process: %w", err)
	}
}

type inProcessInstance struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

func (i *inProcessInstance) URL() string { return "http://" + loopback(i.addr) }

// loopback names a listening address the way this host reaches it: an
// unspecified IP becomes 127.0.0.1.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func (i *inProcessInstance) Stop() (string, error) {
	i.cancel()
	err := <-i.done
	return i.logs.String(), err
}

// Process runs the connector as a separate process with the manifest's
// run.command, from the connector's directory, with {config} replaced by
// the run configuration file and {listen} by a free address of
// 127.0.0.1. A command that starts with "go run PKG" is built once per
// run and the binary started for each scenario, rather than compiled
// for each. The process is stopped with SIGTERM, sent to its process
// group so that a wrapper's child (a shell's, npm's) stops too.
func Process() Target { return process{} }

type process struct{}

func (process) Name() string { return "process" }

func (process) Prepare(ctx context.Context, c *manifest.Connector, work string) (Starter, error) {
	cmd := c.Manifest.Run.Command
	if len(cmd) == 0 {
		return nil, fmt.Errorf("%s: run.command is not set, so the connector cannot run as a process; set it, or run it in-process", c.Path(manifest.File))
	}
	dir := c.Manifest.Dir
	if len(cmd) >= 3 && cmd[0] == "go" && cmd[1] == "run" {
		bin := filepath.Join(work, "bin", c.Manifest.Name)
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, cmd[2])
		build.Dir = dir
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s for run.command: %v\n%s", cmd[2], err, out)
		}
		cmd = append([]string{bin}, cmd[3:]...)
	}
	return func(ctx context.Context, rc *connectors.RunConfig, work string) (Instance, error) {
		return startProcess(ctx, dir, cmd, rc, work)
	}, nil
}

// startProcess writes rc, starts the command and waits for its health
// check to pass. The port is chosen free just before the start, so another
// process may take it first; the start is then tried again on another.
func startProcess(ctx context.Context, dir string, words []string, rc *connectors.RunConfig, work string) (Instance, error) {
	everywhere := strings.HasPrefix(rc.Listen, "0.0.0.0:")
	for attempt := 1; ; attempt++ {
		p, err := startProcessOnce(ctx, dir, words, rc, work, everywhere)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return p, err
		}
	}
}

func startProcessOnce(ctx context.Context, dir string, words []string, rc *connectors.RunConfig, work string, everywhere bool) (Instance, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if everywhere {
		// Reached from a container too: listen on every interface.
		addr = "0.0.0.0:" + addr[strings.LastIndex(addr, ":")+1:]
	}
	rc.Listen = addr
	cfg := filepath.Join(work, "run.json")
	if err := WriteRunConfig(cfg, rc); err != nil {
		return nil, err
	}
	args := make([]string, len(words))
	for i, w := range words {
		w = strings.ReplaceAll(w, "{config}", cfg)
		args[i] = strings.ReplaceAll(w, "{listen}", addr)
	}
	logs := &syncBuffer{}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logs, logs
	ownGroup(cmd)
	// Wait returns this long after the process ends even if something it
	// started still holds its output open.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(args, " "), err)
	}
	p := &processInstance{addr: loopback(addr), cmd: cmd, logs: logs, exited: make(chan struct{})}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	if err := waitHealthy(ctx, "http://"+p.addr, p.exited, 60*time.Second); err != nil {
		p.Stop()
		return nil, fmt.Errorf("start %s: %w\nits output:\n%s", strings.Join(args, " "), err, tail(logs.String(), 40))
	}
	return p, nil
}

type processInstance struct {
	addr    string
	cmd     *exec.Cmd
	logs    *syncBuffer
	exited  chan struct{}
	waitErr error
}

func (p *processInstance) URL() string { return "http://" + p.addr }

// stopGrace is how long a connector may take to stop after SIGTERM before
// it is killed.
const stopGrace = 10 * time.Second

func (p *processInstance) Stop() (string, error) {
	select {
	case <-p.exited:
		signalGroup(p.cmd, syscall.SIGKILL) // what it left running
		return p.logs.String(), fmt.Errorf("the connector exited by itself: %v", p.waitErr)
	default:
	}
	signalGroup(p.cmd, syscall.SIGTERM)
	select {
	case <-p.exited:
		// Ending by the SIGTERM itself is a stop too: it is what a
		// wrapper such as a shell does while the connector under it
		// shuts down.
		if p.waitErr != nil && !endedBy(p.waitErr, syscall.SIGTERM) {
			return p.logs.String(), fmt.Errorf("the connector exited after SIGTERM with %v", p.waitErr)
		}
		return p.logs.String(), nil
	case <-time.After(stopGrace):
		signalGroup(p.cmd, syscall.SIGKILL)
		<-p.exited
		return p.logs.String(), fmt.Errorf("the connector did not stop within %s of SIGTERM and was killed", stopGrace)
	}
}

// waitHealthy polls base's health path until it answers 200, the process
// exits, or timeout passes.
func waitHealthy(ctx context.Context, base string, exited <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+connectors.HealthPath, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("it exited before its health check passed")
		case <-ctx.Done():
			return fmt.Errorf("its health check at %s%s did not pass within %s", base, connectors.HealthPath, timeout)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// WriteRunConfig writes rc to path as indented JSON, for a connector the
// harness starts as a process or a container: atomically, and readable by
// its owner only, as it holds secrets.
func WriteRunConfig(path string, rc *connectors.RunConfig) error {
	data, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, 0o600, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// syncBuffer is a bytes.Buffer safe for a process's output and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// endedBy reports whether a process's Wait error says it was ended by sig.
func endedBy(err error, sig syscall.Signal) bool {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	status, ok := exit.Sys().(syscall.WaitStatus)
	return ok && status.Signaled() && status.Signal() == sig
}
