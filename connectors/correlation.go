package connectors

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
)

// CorrelationHeader is the header that carries a correlation ID, inbound
// to [NewWebhookHandler] and outbound from [CorrelatingTransport].
const CorrelationHeader = "X-Correlation-ID"

// correlationKey is the context key of the correlation ID.
type correlationKey struct{}

// WithCorrelationID returns a copy of ctx that carries id. Calls made
// through a [CorrelatingTransport] with that context send it, and lines
// logged with it through a [CorrelatingHandler] carry it.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// CorrelationID returns the correlation ID ctx carries, or "".
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}

// NewCorrelationID returns a new random ID of 32 lowercase hex digits.
func NewCorrelationID() string {
	return hex.EncodeToString(randomBytes(16))
}

// CorrelatingTransport returns a transport that sends the correlation ID
// of each request's context on the request, and then sends it with next
// (http.DefaultTransport when nil). It sets two headers, keeping either
// when the request already has it:
//
//	X-Correlation-ID: the ID
//	traceparent:      00-<trace-id>-<span-id>-01 (W3C Trace Context)
//
// The trace-id is the first 16 bytes of the SHA-256 of the ID, so every
// call made for one event shares a trace; the span-id is new for each
// call. A request whose context has no ID is sent unchanged.
func CorrelatingTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &correlatingTransport{next: next}
}

type correlatingTransport struct{ next http.RoundTripper }

func (t *correlatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	id := CorrelationID(req.Context())
	if id == "" || (req.Header.Get(CorrelationHeader) != "" && req.Header.Get("traceparent") != "") {
		return t.next.RoundTrip(req)
	}
	// A RoundTripper must not change the caller's request.
	out := req.Clone(req.Context())
	if out.Header == nil {
		out.Header = http.Header{}
	}
	if out.Header.Get(CorrelationHeader) == "" {
		out.Header.Set(CorrelationHeader, id)
	}
	if out.Header.Get("traceparent") == "" {
		out.Header.Set("traceparent", traceparent(id))
	}
	return t.next.RoundTrip(out)
}

// traceparent returns a W3C traceparent for a new span in the trace of
// correlation ID id.
func traceparent(id string) string {
	sum := sha256.Sum256([]byte(id))
	trace := sum[:16]
	span := randomBytes(8)
	// All-zero IDs are invalid; the chance is negligible but costs a line.
	trace[0] |= isZero(trace)
	span[0] |= isZero(span)
	return "00-" + hex.EncodeToString(trace) + "-" + hex.EncodeToString(span) + "-01"
}

func isZero(b []byte) byte {
	for _, c := range b {
		if c != 0 {
			return 0
		}
	}
	return 1
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails: crypto/rand crashes the program instead
	return b
}

// CorrelationAttr is the log attribute key of the correlation ID.
const CorrelationAttr = "correlation_id"

// CorrelatingHandler returns a [slog.Handler] that adds the attribute
// correlation_id to every record logged with a context that carries a
// correlation ID (through the Context methods of [slog.Logger], such as
// InfoContext), and passes it to next. A logger that already has the
// attribute, from Logger.With, does not get it twice. Inside a group
// opened with WithGroup, the attribute is in that group.
func CorrelatingHandler(next slog.Handler) slog.Handler {
	return &correlatingHandler{next: next}
}

type correlatingHandler struct {
	next    slog.Handler
	hasID   bool // With gave the attribute already, at the top level
	grouped bool // WithGroup was called: later attributes are not top level
}

func (h *correlatingHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *correlatingHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := CorrelationID(ctx); id != "" && !h.hasID {
		r = r.Clone()
		r.AddAttrs(slog.String(CorrelationAttr, id))
	}
	return h.next.Handle(ctx, r)
}

func (h *correlatingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	has := h.hasID
	for _, a := range attrs {
		has = has || (!h.grouped && a.Key == CorrelationAttr)
	}
	return &correlatingHandler{next: h.next.WithAttrs(attrs), hasID: has, grouped: h.grouped}
}

func (h *correlatingHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h // slog ignores an empty group
	}
	return &correlatingHandler{next: h.next.WithGroup(name), hasID: h.hasID, grouped: true}
}
