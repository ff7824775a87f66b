// Package connectors is the small SDK a tether connector is written
// against. It uses the standard library only, so a connector built on it
// pulls in nothing heavy.
//
// A connector turns one vendor's event into calls to other vendors: a CRM's
// deal.updated becomes a chat message. It implements [Connector]; the SDK
// gives it, through [Env], a client and base URL per vendor, its validated
// configuration and secrets, a logger, an idempotency store and a
// dead-letter sink. [NewWebhookHandler] runs a connector for signed
// deliveries, so the same connector is tested in-process, or run as a
// process or a container with a main of a few lines.
package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Event is one delivery a connector handles.
type Event struct {
	ID       string      // the sender's event ID; duplicates share it
	Type     string      // what happened, such as "deal.updated"
	Tenant   string      // whose event it is
	Header   http.Header // as delivered
	Body     []byte      // exactly as delivered
	Received time.Time   // when the handler received it
}

// Connector handles events. Handle returns nil when the event is handled,
// an error made with [Permanent] when it must not be retried (a bad event,
// a refusal), and any other error, or one made with [Retryable], when a
// later attempt may succeed.
type Connector interface {
	Handle(ctx context.Context, env *Env, ev Event) error
}

// ConnectorFunc adapts a function to [Connector].
type ConnectorFunc func(ctx context.Context, env *Env, ev Event) error

// Handle calls f.
func (f ConnectorFunc) Handle(ctx context.Context, env *Env, ev Event) error { return f(ctx, env, ev) }

// Vendor is one API a connector calls: where it is and the client to call
// it with. The client sends the correlation ID of the event being handled
// on every call.
type Vendor struct {
	Name    string
	BaseURL string // no trailing slash
	Client  *http.Client
}

// Env is what a connector may use besides the event.
type Env struct {
	Vendors     map[string]*Vendor
	Config      map[string]any    // validated against the connector's config schema
	Secrets     map[string]string // never logged
	Logger      *slog.Logger      // every line carries the correlation ID
	Idempotency IdempotencyStore
	DeadLetters DeadLetterSink
	Metrics     *Metrics
}

// Vendor returns the vendor called name. It panics when the connector's
// environment has none, which is a mistake in its set-up, and says so.
func (e *Env) Vendor(name string) *Vendor {
	v, ok := e.Vendors[name]
	if !ok {
		panic(fmt.Sprintf("connectors: no vendor %q in the environment; give it a base URL in Env.Vendors", name))
	}
	return v
}
