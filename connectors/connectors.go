// Package connectors is the small SDK a tether connector is written
// against. It uses the standard library only, and golang.org/x/oauth2 for
// its [TokenSource], so a connector built on it pulls in nothing heavy.
//
// A connector turns one vendor's event into calls to other vendors: a CRM's
// deal.updated becomes a chat message. Writing one takes four steps.
//
//  1. Implement [Connector]: Handle gets the [Event] and an [Env] holding a
//     client and base URL per vendor ([Env.Vendor]), the configuration
//     and secrets, and a logger. Classify failures: return [Permanent]
//     for what no retry fixes, and any other error (or [Retryable], with
//     a delay) for what may pass. [CheckResponse] does that for an HTTP
//     answer, reading Retry-After in both its forms. Put an
//     [IdempotencyKey] on each write with [SetIdempotencyKey].
//  2. Export a [Setup]: it reads the configuration and secrets from the
//     Env and returns [NewWebhookHandler] with the connector, a signature
//     [Verifier] ([VerifyHex], [VerifyTimestamped],
//     [VerifyStandardWebhooks]) and a [RetryPolicy]. The handler verifies,
//     de-duplicates by event ID ([IdempotencyStore]), retries, counts
//     [Metrics], puts what it gives up on in a [DeadLetterSink], and
//     answers the sender 2xx, 4xx or 5xx accordingly.
//  3. Write its main, one line: connectors.Main("name", Setup). [Main]
//     reads a [RunConfig] (where to listen, the vendors' base URLs, the
//     configuration, the secrets, a state directory that keeps the
//     idempotency keys and dead letters across restarts) and serves,
//     with the [Metrics] at /metrics in the Prometheus text format
//     ([PrometheusPath]) for a scraper, and as JSON at /metricz.
//  4. Test it with the harness: a directory with connector.yaml, the
//     vendors' contracts, cassettes and scenarios, and a test of one call,
//     harness.Test(t, ".", harness.Drive(harness.InProcess(Setup))).
//
// A vendor whose API takes OAuth2 tokens gets a [TokenSource] from a
// [Grant] ([ClientCredentials], [RefreshToken], [FromTokenSource]), and a
// client that sends them: NewVendor(name, baseURL, ts.Transport(nil)). It
// refreshes tokens ahead of expiry, mends one refused token per call, and
// turns a revoked grant or a missing scope into a permanent [AuthError].
//
// Every outbound call carries the event's correlation ID (X-Correlation-ID
// and a W3C traceparent) and so does every log line ([CorrelatingTransport],
// [CorrelatingHandler]). The examples connectors/dealnotify (tested
// in-process) and connectors/escalate (tested as a process and as a
// container) show the whole of it.
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
	// TokenURL is the token endpoint of the vendor's OAuth2
	// authorization server; empty for a vendor that takes no OAuth2.
	TokenURL string
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
