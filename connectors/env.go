package connectors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// VendorTimeout bounds each call made with the client of [NewVendor],
// reading of the answer's body included.
const VendorTimeout = 30 * time.Second

// NewVendor returns the vendor called name at baseURL (a trailing slash is
// dropped), with a client that sends every call through rt (when nil,
// http.DefaultTransport) wrapped in a [CorrelatingTransport], and gives
// up on a call after [VendorTimeout]. A test passes a replaying transport
// as rt; a connector binary passes nil.
func NewVendor(name, baseURL string, rt http.RoundTripper) *Vendor {
	return &Vendor{
		Name:    name,
		BaseURL: strings.TrimRight(baseURL, "/"),
		Client:  &http.Client{Transport: CorrelatingTransport(rt), Timeout: VendorTimeout},
	}
}

// NewEnv returns an environment with vendors, empty configuration and
// secrets, logger wrapped in a [CorrelatingHandler] unless it is one (when
// nil, a logger that discards; build it on one before calling With, for
// the handler to see those keys and not repeat them), an in-memory
// idempotency store and a [Metrics]. It has
// no dead-letter sink: set DeadLetters to keep what could not be handled.
// Change any field before the environment is first used.
func NewEnv(logger *slog.Logger, vendors ...*Vendor) *Env {
	var h slog.Handler = slog.DiscardHandler
	if logger != nil {
		h = logger.Handler()
	}
	if _, ok := h.(*correlatingHandler); !ok {
		h = CorrelatingHandler(h)
	}
	env := &Env{
		Vendors:     make(map[string]*Vendor, len(vendors)),
		Config:      map[string]any{},
		Secrets:     map[string]string{},
		Logger:      slog.New(h),
		Idempotency: NewMemoryStore(),
		Metrics:     &Metrics{},
	}
	for _, v := range vendors {
		env.Vendors[v.Name] = v
	}
	return env
}

// DecodeConfig decodes a configuration (such as Env.Config) into v, a
// pointer to the connector's configuration struct (with json tags),
// refusing a field v does not have, so that a misspelt setting is an
// error rather than a default.
func DecodeConfig(config map[string]any, v any) error {
	data, err := json.Marshal(config)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// RequireSecrets returns an error naming the first of names that has no
// value in the environment's secrets.
func (e *Env) RequireSecrets(names ...string) error {
	for _, n := range names {
		if e.Secrets[n] == "" {
			return fmt.Errorf("secret %s is not set", n)
		}
	}
	return nil
}
