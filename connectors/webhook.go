package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// NewWebhookHandler returns an http.Handler that runs c for each signed
// delivery POSTed to it. For each request it:
//
//  1. takes the correlation ID from the X-Correlation-ID header, or makes
//     one, and puts it in the context, the logger and the answer's header;
//  2. reads the body, up to a limit ([WithMaxBody]): 413 beyond it, 405
//     for a method other than POST;
//  3. verifies the signature and its timestamp ([WithVerifier]): 401 when
//     they fail;
//  4. builds the [Event] ([WithTenant], [WithEventID], [WithEventType]):
//     400 when a body sent as JSON is not JSON, or when env has an
//     idempotency store and the event has no ID;
//  5. claims the event in env.Idempotency, so that it is handled once: a
//     delivery of an event already handled (or dead-lettered) gets 200
//     and is not handled again; one that arrives while another delivery
//     of it is being handled gets 409 with Retry-After;
//  6. runs c with a copy of env whose Logger carries the correlation ID,
//     under the retry policy when one is given ([WithRetry]);
//  7. answers, counts the outcome in env.Metrics and logs it on
//     env.Logger with the correlation ID.
//
// The answers after c has run:
//
//   - 200 when c handled the event.
//   - 422 when c rejected it with a [Permanent] error. The event is put in
//     env.DeadLetters and is not handled again.
//   - 503, with Retry-After when the error gives a delay, when a later
//     attempt may succeed: the sender should deliver it again. The event
//     is not dead-lettered, because the sender still holds it. With
//     [WithDeadLetterExhausted] it is, and the answer is 202 instead.
//   - 500 when a dead letter could not be kept, so the sender keeps it.
//
// The 409 is the one 4xx that asks for another delivery. A sender that
// gave up waiting on the first delivery learns the outcome only from the
// second, so a 2xx there could lose an event whose first delivery then
// fails. A failing idempotency store also gets 503.
//
// The answer's body is a small JSON object such as
// {"outcome":"handled","event_id":"evt_1","correlation_id":"..."}. It
// says why a request was refused, but the connector's own errors are
// only logged, never sent.
//
// Without [WithVerifier] nothing is verified: use that only in tests.
func NewWebhookHandler(c Connector, env *Env, opts ...HandlerOption) http.Handler {
	if c == nil || env == nil {
		panic("connectors.NewWebhookHandler: a nil connector or env; pass the connector and the *Env it runs with")
	}
	h := &webhookHandler{
		connector: c,
		env:       env,
		name:      "connector",
		tenant:    func(r *http.Request) string { return r.Header.Get("X-Tenant-ID") },
		eventID:   defaultEventID,
		eventType: defaultEventType,
		now:       time.Now,
		maxBody:   1 << 20,
	}
	for _, opt := range opts {
		opt(h)
	}
	if h.tenant == nil || h.eventID == nil || h.eventType == nil || h.now == nil {
		panic("connectors.NewWebhookHandler: a nil function in WithTenant, WithEventID, WithEventType or WithClock; leave the option out for the default")
	}
	return h
}

// A HandlerOption configures [NewWebhookHandler].
type HandlerOption func(*webhookHandler)

// WithName names the connector in metrics and logs; the default is
// "connector".
func WithName(name string) HandlerOption {
	return func(h *webhookHandler) { h.name = name }
}

// WithVerifier makes the handler refuse, with 401, a delivery v does not
// verify.
func WithVerifier(v Verifier) HandlerOption {
	return func(h *webhookHandler) { h.verifier = v }
}

// WithTenant sets how the tenant of a delivery is found; the default reads
// the X-Tenant-ID header.
func WithTenant(tenant func(*http.Request) string) HandlerOption {
	return func(h *webhookHandler) { h.tenant = tenant }
}

// WithEventID sets how an event's ID is found. The default takes the first
// of the header webhook-id, the header X-Event-Id and the top-level "id"
// of a JSON body (a string or a number) that is not empty.
func WithEventID(id func(Event) string) HandlerOption {
	return func(h *webhookHandler) { h.eventID = id }
}

// WithEventType sets how an event's type is found. The default takes the
// header X-Event-Type, else the top-level "type" of a JSON body.
func WithEventType(typ func(Event) string) HandlerOption {
	return func(h *webhookHandler) { h.eventType = typ }
}

// WithRetry runs the connector under p, so a retryable failure is retried
// before the sender is answered. Keep p's budget well within the time the
// sender waits for an answer. Without it the connector runs once.
func WithRetry(p RetryPolicy) HandlerOption {
	return func(h *webhookHandler) { h.retry = &p }
}

// WithDeadLetterExhausted puts an event in env.DeadLetters when it still
// fails with a retryable error after the retry policy's attempts, and
// answers 202 so the sender stops: the dead-letter sink, not the sender,
// then holds it.
func WithDeadLetterExhausted() HandlerOption {
	return func(h *webhookHandler) { h.deadLetterExhausted = true }
}

// WithClock makes the handler read the time from now: for receipt times,
// signature timestamps, latency and dead letters.
func WithClock(now func() time.Time) HandlerOption {
	return func(h *webhookHandler) { h.now = now }
}

// WithMaxBody sets the largest body accepted, in bytes; the default is
// 1 MiB.
func WithMaxBody(n int64) HandlerOption {
	return func(h *webhookHandler) { h.maxBody = n }
}

type webhookHandler struct {
	connector           Connector
	env                 *Env
	name                string
	verifier            Verifier
	tenant              func(*http.Request) string
	eventID, eventType  func(Event) string
	retry               *RetryPolicy
	deadLetterExhausted bool
	now                 func() time.Time
	maxBody             int64
}

// Outcomes, as answered in the body and logged.
const (
	outcomeHandled      = "handled"
	outcomeDuplicate    = "duplicate"
	outcomeInProgress   = "in-progress"
	outcomeRejected     = "rejected"
	outcomeRetry        = "retry"
	outcomeDeadLettered = "dead-lettered"
	outcomeUnauthorized = "unauthorized"
	outcomeInvalid      = "invalid"
	outcomeFailed       = "failed"
)

// answer is the body of every answer.
type answer struct {
	Outcome       string `json:"outcome"`
	EventID       string `json:"event_id,omitempty"`
	CorrelationID string `json:"correlation_id"`
	Error         string `json:"error,omitempty"` // only about the request, never the connector's error
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := h.now()
	id := r.Header.Get(CorrelationHeader)
	if !validCorrelationID(id) {
		id = NewCorrelationID()
	}
	ctx := WithCorrelationID(r.Context(), id)
	w.Header().Set(CorrelationHeader, id)
	tenant := h.tenant(r)
	log := h.logger().With(slog.String(CorrelationAttr, id), slog.String("connector", h.name), slog.String("tenant", tenant))
	reply := func(status int, a answer) {
		a.CorrelationID = id
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(a)
	}
	refuse := func(status int, outcome, class, msg string) {
		h.env.Metrics.rejected(h.name, tenant, class)
		log.WarnContext(ctx, "webhook refused", slog.String("outcome", outcome), slog.Int("status", status), slog.String("reason", msg))
		reply(status, answer{Outcome: outcome, Error: msg})
	}

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		refuse(http.StatusMethodNotAllowed, outcomeInvalid, "invalid", "method "+r.Method+": deliver with POST")
		return
	}
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		refuse(status, outcomeInvalid, "invalid", "read body: "+err.Error())
		return
	}
	if h.verifier != nil {
		if err := h.verifier.Verify(r.Header, body, received); err != nil {
			refuse(http.StatusUnauthorized, outcomeUnauthorized, "signature", "verify signature: "+err.Error())
			return
		}
	}
	if sent, ok := h.sentAt(r.Header); ok {
		h.env.Metrics.lag(h.name, tenant, received.Sub(sent))
	}

	ev := Event{Tenant: tenant, Header: r.Header.Clone(), Body: body, Received: received}
	if isJSON(r.Header.Get("Content-Type")) && !json.Valid(body) {
		refuse(http.StatusBadRequest, outcomeInvalid, "invalid", "body: not valid JSON")
		return
	}
	ev.ID, ev.Type = h.eventID(ev), h.eventType(ev)
	log = log.With(slog.String("event_id", ev.ID), slog.String("event_type", ev.Type))
	store := h.env.Idempotency
	if store != nil && ev.ID == "" {
		refuse(http.StatusBadRequest, outcomeInvalid, "invalid", "event has no ID to de-duplicate by; send a webhook-id or X-Event-Id header, or an \"id\" field")
		return
	}

	var key string
	if store != nil {
		key = h.idempotencyKey(ev)
		claimed, done, err := store.Claim(ctx, key)
		switch {
		case err != nil:
			h.env.Metrics.rejected(h.name, tenant, "internal")
			log.ErrorContext(ctx, "webhook not handled: claim event", slog.String("error", err.Error()))
			reply(http.StatusServiceUnavailable, answer{Outcome: outcomeRetry, EventID: ev.ID})
			return
		case done:
			h.env.Metrics.duplicate(h.name, tenant)
			log.InfoContext(ctx, "webhook duplicate: already handled", slog.String("outcome", outcomeDuplicate))
			reply(http.StatusOK, answer{Outcome: outcomeDuplicate, EventID: ev.ID})
			return
		case !claimed:
			h.env.Metrics.duplicate(h.name, tenant)
			log.InfoContext(ctx, "webhook duplicate: in progress", slog.String("outcome", outcomeInProgress))
			w.Header().Set("Retry-After", "1")
			reply(http.StatusConflict, answer{Outcome: outcomeInProgress, EventID: ev.ID})
			return
		}
	}

	env := *h.env
	env.Logger = log
	attempts, err := h.run(ctx, &env, ev)
	latency := h.now().Sub(received)
	log = log.With(slog.Int("attempts", attempts), slog.Duration("latency", latency))

	if err == nil {
		h.settle(ctx, log, store, key, true)
		h.env.Metrics.outcome(h.name, tenant, true, "", attempts, latency)
		log.InfoContext(ctx, "webhook handled", slog.String("outcome", outcomeHandled))
		reply(http.StatusOK, answer{Outcome: outcomeHandled, EventID: ev.ID})
		return
	}

	class := errorClass(err)
	h.env.Metrics.outcome(h.name, tenant, false, class, attempts, latency)
	log = log.With(slog.String("class", class), slog.String("error", err.Error()))
	if class == "retryable" && !h.deadLetterExhausted {
		h.settle(ctx, log, store, key, false)
		if d, ok := RetryAfter(err); ok {
			w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10))
		}
		log.WarnContext(ctx, "webhook not handled: the sender should retry", slog.String("outcome", outcomeRetry))
		reply(http.StatusServiceUnavailable, answer{Outcome: outcomeRetry, EventID: ev.ID})
		return
	}

	if err := h.deadLetter(ctx, ev, err, class, attempts, id); err != nil {
		h.settle(ctx, log, store, key, false)
		log.ErrorContext(ctx, "webhook not handled, and not dead-lettered: the sender should retry", slog.String("outcome", outcomeFailed), slog.String("dead_letter_error", err.Error()))
		reply(http.StatusInternalServerError, answer{Outcome: outcomeFailed, EventID: ev.ID})
		return
	}
	// Dead-lettered: the sink holds the event now, so it is not handled again.
	h.env.Metrics.deadLettered(h.name, tenant)
	h.settle(ctx, log, store, key, true)
	if class == "permanent" {
		log.WarnContext(ctx, "webhook rejected and dead-lettered", slog.String("outcome", outcomeRejected))
		reply(http.StatusUnprocessableEntity, answer{Outcome: outcomeRejected, EventID: ev.ID})
		return
	}
	log.WarnContext(ctx, "webhook dead-lettered after the last attempt", slog.String("outcome", outcomeDeadLettered))
	reply(http.StatusAccepted, answer{Outcome: outcomeDeadLettered, EventID: ev.ID})
}

// run calls the connector, under the retry policy when there is one.
func (h *webhookHandler) run(ctx context.Context, env *Env, ev Event) (attempts int, err error) {
	if h.retry == nil {
		return 1, h.connector.Handle(ctx, env, ev)
	}
	return h.retry.Do(ctx, func(ctx context.Context, attempt int) error {
		if attempt > 1 {
			env.Logger.InfoContext(ctx, "webhook retry", slog.Int("attempt", attempt))
		}
		return h.connector.Handle(ctx, env, ev)
	})
}

func (h *webhookHandler) deadLetter(ctx context.Context, ev Event, err error, class string, attempts int, id string) error {
	sink := h.env.DeadLetters
	if sink == nil {
		return errors.New("env has no dead-letter sink")
	}
	// The sender is not told to retry, so the entry must be kept even when
	// the sender hangs up.
	ctx = context.WithoutCancel(ctx)
	return sink.Put(ctx, DeadLetter{
		Event:         ev,
		Error:         err.Error(),
		Class:         class,
		Attempts:      attempts,
		CorrelationID: id,
		Time:          h.now(),
	})
}

// settle ends the claim on key: done marks the event handled for good,
// otherwise the claim is released so a later delivery is handled.
func (h *webhookHandler) settle(ctx context.Context, log *slog.Logger, store IdempotencyStore, key string, done bool) {
	if store == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	var err error
	if done {
		err = store.Complete(ctx, key)
	} else {
		err = store.Release(ctx, key)
	}
	if err != nil {
		log.ErrorContext(ctx, "webhook idempotency store", slog.Bool("done", done), slog.String("store_error", err.Error()))
	}
}

// idempotencyKey is the key that makes the connector handle an event once:
// per connector and tenant, as two tenants' senders may reuse an ID.
func (h *webhookHandler) idempotencyKey(ev Event) string {
	return IdempotencyKey(ev.Tenant+"/"+ev.ID, "webhook "+h.name)
}

// sentAt returns when the sender signed the delivery, when known.
func (h *webhookHandler) sentAt(hd http.Header) (time.Time, bool) {
	if v, ok := h.verifier.(interface {
		sentAt(http.Header) (time.Time, bool)
	}); ok {
		return v.sentAt(hd)
	}
	return parseUnix(hd.Get("webhook-timestamp"))
}

func (h *webhookHandler) logger() *slog.Logger {
	if h.env.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.env.Logger
}

// errorClass names the class of a connector's error for metrics and dead
// letters.
func errorClass(err error) string {
	if IsPermanent(err) {
		return "permanent"
	}
	return "retryable"
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// validCorrelationID accepts up to 128 visible ASCII characters, so a
// header cannot smuggle anything odd into logs or outbound headers.
func validCorrelationID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := range len(id) {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

func defaultEventID(ev Event) string {
	for _, name := range []string{"webhook-id", "X-Event-Id"} {
		if v := ev.Header.Get(name); v != "" {
			return v
		}
	}
	return jsonField(ev.Body, "id")
}

func defaultEventType(ev Event) string {
	if v := ev.Header.Get("X-Event-Type"); v != "" {
		return v
	}
	return jsonField(ev.Body, "type")
}

// jsonField returns the top-level field name of a JSON object body when it
// is a string or a number, else "".
func jsonField(body []byte, name string) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return ""
	}
	raw, ok := obj[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}
