package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Setup builds a connector's webhook handler for an environment. Each
// example connector exports one: it reads its configuration and secrets
// from env, refusing what it cannot use, and returns
// [NewWebhookHandler] with its verifier and retry policy. The harness
// calls it in-process; [Main] calls it in a connector binary.
type Setup func(env *Env) (http.Handler, error)

// RunConfig is what a connector process runs with: where it listens, the
// base URL of each vendor, its configuration and secrets, and where it
// keeps state. A connector binary reads it from a JSON file
// ([LoadRunConfig]); the harness writes that file with the sandbox's
// URLs, so a connector under test calls the sandbox without knowing it.
//
//	{
//	  "listen": ":8080",
//	  "vendors": {"crm": "https://api.crm.example/v2", "chat": "https://chat.example/api"},
//	  "config": {"channel": "C0DEALS001", "stages": ["won"]},
//	  "secrets": {"crm_token": "...", "crm_webhook_secret": "..."},
//	  "state_dir": "/var/lib/dealnotify"
//	}
type RunConfig struct {
	// Listen is the address to serve on; empty means ":8080".
	Listen string `json:"listen,omitempty"`
	// Vendors maps each vendor's name to its base URL.
	Vendors map[string]string `json:"vendors"`
	// Config is the connector's configuration, valid against its schema.
	Config map[string]any `json:"config,omitempty"`
	// Secrets are credentials and signing keys, by name. They are never
	// logged.
	Secrets map[string]string `json:"secrets,omitempty"`
	// TokenURLs maps each vendor that takes OAuth2 to its authorization
	// server's token endpoint (Vendor.TokenURL).
	TokenURLs map[string]string `json:"token_urls,omitempty"`
	// StateDir holds the idempotency store (idempotency.keys) and the
	// dead-letter file (dead-letters.jsonl), so both survive a restart.
	// Empty keeps both in memory, which suits tests only.
	StateDir string `json:"state_dir,omitempty"`
}

// DefaultListen is where a connector binary serves when its run
// configuration names no address.
const DefaultListen = ":8080"

// File names inside [RunConfig.StateDir].
const (
	IdempotencyFile = "idempotency.keys"
	DeadLetterFile  = "dead-letters.jsonl"
)

// LoadRunConfig reads a run configuration from a JSON file. An error names
// the file, and the line and column where the JSON breaks or holds a field
// RunConfig does not have.
func LoadRunConfig(path string) (*RunConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read run configuration: %w", err)
	}
	return ParseRunConfig(path, data)
}

// ParseRunConfig is [LoadRunConfig] for data read from the file called
// name.
func ParseRunConfig(name string, data []byte) (*RunConfig, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var rc RunConfig
	if err := dec.Decode(&rc); err != nil {
		return nil, runConfigError(name, data, dec.InputOffset(), err)
	}
	if dec.More() {
		return nil, runConfigError(name, data, dec.InputOffset(), errors.New("more than one JSON value"))
	}
	if len(rc.Vendors) == 0 {
		return nil, fmt.Errorf("%s: no vendors: give each vendor's base URL under \"vendors\"", name)
	}
	for _, v := range slices.Sorted(maps.Keys(rc.Vendors)) {
		if !strings.HasPrefix(rc.Vendors[v], "http://") && !strings.HasPrefix(rc.Vendors[v], "https://") {
			return nil, fmt.Errorf("%s: vendor %q: base URL %q is not an http or https URL", name, v, rc.Vendors[v])
		}
	}
	for _, v := range slices.Sorted(maps.Keys(rc.TokenURLs)) {
		switch u := rc.TokenURLs[v]; {
		case rc.Vendors[v] == "":
			return nil, fmt.Errorf("%s: token_urls names vendor %q, which is not among the vendors", name, v)
		case !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://"):
			return nil, fmt.Errorf("%s: vendor %q: token URL %q is not an http or https URL", name, v, u)
		}
	}
	return &rc, nil
}

func runConfigError(name string, data []byte, offset int64, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		offset = se.Offset - 1 // the offset is after the byte at fault
	case errors.As(err, &te):
		offset = te.Offset
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%s: empty; want a JSON object with \"vendors\"", name)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// The decoder does not say where; the field's first key is it.
		key := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if loc := regexp.MustCompile(regexp.QuoteMeta(key) + `\s*:`).FindIndex(data); loc != nil {
			offset = int64(loc[0])
		}
	}
	line, col := 1, 1
	for _, b := range data[:min(int(offset), len(data))] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return fmt.Errorf("%s:%d:%d: %s", name, line, col, msg)
}

// Env returns the environment rc describes: a vendor per base URL, the
// configuration and secrets, logger (see [NewEnv]), and, with a state
// directory, a [FileStore] and a [JSONLinesSink] in it (else an in-memory
// store and a [MemorySink]). Close the returned closer when the connector
// stops, to close those files.
func (rc *RunConfig) Env(logger *slog.Logger) (*Env, io.Closer, error) {
	vendors := make([]*Vendor, 0, len(rc.Vendors))
	for _, name := range slices.Sorted(maps.Keys(rc.Vendors)) {
		v := NewVendor(name, rc.Vendors[name], nil)
		v.TokenURL = rc.TokenURLs[name]
		vendors = append(vendors, v)
	}
	env := NewEnv(logger, vendors...)
	for k, v := range rc.Config {
		env.Config[k] = v
	}
	for k, v := range rc.Secrets {
		env.Secrets[k] = v
	}
	if rc.StateDir == "" {
		env.DeadLetters = &MemorySink{}
		return env, closers(nil), nil
	}
	if err := os.MkdirAll(rc.StateDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("state directory: %w", err)
	}
	store, err := OpenFileStore(filepath.Join(rc.StateDir, IdempotencyFile))
	if err != nil {
		return nil, nil, err
	}
	sink, err := OpenJSONLinesSink(filepath.Join(rc.StateDir, DeadLetterFile))
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	env.Idempotency, env.DeadLetters = store, sink
	return env, closers{store, sink}, nil
}

type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// HealthPath is answered 200 by [Serve] once the connector is ready, for
// a container's health check or a test waiting for the process.
const HealthPath = "/healthz"

// MetricsPath answers, on [Serve]'s address, the connector's [Metrics] as
// a JSON array of [MetricsRow], for the harness to read from a connector
// it runs as a process or a container.
const MetricsPath = "/metricz"

// PrometheusPath answers, on [Serve]'s address, the connector's [Metrics]
// in the Prometheus text format ([Metrics.WritePrometheus]), for a
// scraper.
const PrometheusPath = "/metrics"

// Serve runs the connector setup builds until ctx ends: it builds the
// environment from rc, serves the handler on rc.Listen (every path but
// [HealthPath], [MetricsPath] and [PrometheusPath]), and on the end of ctx
// stops accepting, lets in-flight deliveries finish for up to 10 seconds,
// and closes the state files.
// ready, when not nil, is called with the address served once the
// listener is open.
func Serve(ctx context.Context, rc *RunConfig, setup Setup, logger *slog.Logger, ready func(addr string)) error {
	env, closer, err := rc.Env(logger)
	if err != nil {
		return err
	}
	defer closer.Close()
	h, err := setup(env)
	if err != nil {
		return fmt.Errorf("set up connector: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET "+MetricsPath, func(w http.ResponseWriter, _ *http.Request) {
		rows := env.Metrics.Snapshot()
		if rows == nil {
			rows = []MetricsRow{}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(rows)
	})
	mux.HandleFunc("GET "+PrometheusPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", PrometheusContentType)
		env.Metrics.WritePrometheus(w)
	})
	mux.Handle("/", h)

	addr := rc.Listen
	if addr == "" {
		addr = DefaultListen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	env.Logger.Info("connector listening", slog.String("addr", ln.Addr().String()))
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	env.Logger.Info("connector stopped")
	return nil
}

// Main is the whole main function of a connector binary:
//
//	func main() { connectors.Main("escalate", escalate.Setup) }
//
// It reads the run configuration named by --config, lets --listen
// override its address, logs JSON lines to standard error, and serves
// until SIGINT or SIGTERM. It exits 0 after a clean stop, 1 when the
// connector fails, and 2 for a usage or configuration error.
func Main(name string, setup Setup) {
	os.Exit(run(name, setup, os.Args[1:], os.Stderr))
}

func run(name string, setup Setup, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "the run configuration, a JSON `file` (required)")
	listen := fs.String("listen", "", "serve on this `address`, such as :8080, instead of the configuration's")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s --config FILE [--listen ADDR]\n\n", name)
		fmt.Fprintf(stderr, "%s is a connector: it receives signed webhooks on every path but %s,\n", name, HealthPath)
		fmt.Fprintf(stderr, "%s (Prometheus metrics) and %s (the same as JSON), and calls the vendors\n", PrometheusPath, MetricsPath)
		fmt.Fprintln(stderr, "named in its run configuration. It stops on SIGINT or SIGTERM after")
		fmt.Fprintln(stderr, "finishing the deliveries in flight.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *config == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	rc, err := LoadRunConfig(*config)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	if *listen != "" {
		rc.Listen = *listen
	}
	logger := mainLogger(name, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Serve(ctx, rc, setup, logger, nil); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// mainLogger is [Main]'s logger: JSON lines on w, each naming the
// connector. The webhook handler names it on its lines too; With on a
// CorrelatingHandler keeps the key to one.
func mainLogger(name string, w io.Writer) *slog.Logger {
	return slog.New(CorrelatingHandler(slog.NewJSONHandler(w, nil))).With(slog.String("connector", name))
}
