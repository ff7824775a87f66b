package connectors

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
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
// InfoContext), and passes it to next. Inside a group opened with
// WithGroup, the attribute is in that group; a logger that has it from
// Logger.With does not get it again.
//
// No key appears twice in one object of a line it passes on: a key that
// Logger.With already gave is dropped from a later With and from a
// record, so the first value stays, and a record that repeats a key keeps
// its first. Attributes that next had before it was wrapped are not seen:
// call With on a logger built on this handler, as [Main] does.
func CorrelatingHandler(next slog.Handler) slog.Handler {
	return &correlatingHandler{next: next}
}

type correlatingHandler struct {
	next slog.Handler
	// keys are those With gave in the innermost group (or at the top
	// level), where a record's attributes and later With's go. The slice
	// is never appended to in place, as handlers share it.
	keys  []string
	hasID bool // With gave the correlation ID already, here or further out
}

func (h *correlatingHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *correlatingHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.repeats(r) {
		r = h.firstOnly(r)
	}
	if id := CorrelationID(ctx); id != "" && !h.hasID && !recordHas(r, CorrelationAttr) {
		r = r.Clone()
		r.AddAttrs(slog.String(CorrelationAttr, id))
	}
	return h.next.Handle(ctx, r)
}

// repeats reports whether r has a key With gave, or one of its own twice.
func (h *correlatingHandler) repeats(r slog.Record) bool {
	if r.NumAttrs() == 0 {
		return false
	}
	repeat := false
	seen := make([]string, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "" && (slices.Contains(h.keys, a.Key) || slices.Contains(seen, a.Key)) {
			repeat = true
			return false
		}
		seen = append(seen, a.Key)
		return true
	})
	return repeat
}

// firstOnly returns r without the attributes whose key came before.
func (h *correlatingHandler) firstOnly(r slog.Record) slog.Record {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	seen := slices.Clone(h.keys)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "" || !slices.Contains(seen, a.Key) {
			out.AddAttrs(a)
			seen = append(seen, a.Key)
		}
		return true
	})
	return out
}

func recordHas(r slog.Record, key string) bool {
	has := false
	r.Attrs(func(a slog.Attr) bool {
		has = a.Key == key
		return !has
	})
	return has
}

func (h *correlatingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	keys := slices.Clip(h.keys) // appending copies, so handlers never share an append
	kept := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if a.Key != "" && slices.Contains(keys, a.Key) {
			continue
		}
		if a.Key != "" {
			keys = append(keys, a.Key)
		}
		kept = append(kept, a)
	}
	return &correlatingHandler{next: h.next.WithAttrs(kept), keys: keys, hasID: h.hasID || slices.Contains(keys, CorrelationAttr)}
}

func (h *correlatingHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h // slog ignores an empty group
	}
	return &correlatingHandler{next: h.next.WithGroup(name), hasID: h.hasID}
}
