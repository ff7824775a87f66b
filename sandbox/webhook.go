package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tetherkit/tether/replay"
)

// Webhook asks the sandbox to deliver events to a receiver, such as a
// connector's webhook endpoint. It is plain data: the admin API takes it
// as JSON.
type Webhook struct {
	// Vendor is the vendor the events come from: its contract's webhooks
	// are what Event names, and the journal files the attempts under it.
	Vendor string `json:"vendor"`
	// Event names a webhook of the vendor's contract to synthesise a
	// payload for, valid against its schema and fixed by the sandbox's
	// seed. Give Event, Events or File.
	Event string `json:"event,omitempty"`
	// Events are given in full, in delivery order.
	Events []WebhookEvent `json:"events,omitempty"`
	// File is an events file on the sandbox's host, in the format
	// replay.LoadEvents reads, inside a directory given with
	// [WithEventsDir]; a relative name is relative to the sandbox's working
	// directory.
	File string `json:"file,omitempty"`
	// Target is the receiver's URL: on the loopback interface, on a host
	// given with [WithTargetHost], or registered with
	// [Sandbox.AllowTarget].
	Target string `json:"target"`
	// Signature signs each attempt; the zero value sends no signature.
	Signature replay.Signature `json:"signature,omitzero"`
	// SignedAt signs as if at this time, for a receiver that must refuse
	// an old delivery; zero signs each attempt when it is sent. The
	// scheme must sign a time.
	SignedAt time.Time `json:"signed_at,omitzero"`
	// Duplicates delivers each event this many times in a row (0 and 1
	// mean once), as a vendor that lost an acknowledgement does.
	Duplicates int `json:"duplicates,omitempty"`
	// Reorder delivers the events in an order shuffled by the sandbox's
	// seed, as a vendor with parallel senders does.
	Reorder bool `json:"reorder,omitempty"`
	// Delay waits this long between deliveries.
	Delay Duration `json:"delay,omitempty"`
	// Retries re-sends a delivery the receiver did not answer with a 2xx
	// up to this many times, waiting Backoff, then twice that, and so on,
	// as vendors do.
	Retries int      `json:"retries,omitempty"`
	Backoff Duration `json:"backoff,omitempty"`
	// Timeout bounds the whole delivery, retries included, so that a
	// receiver that never answers cannot hold it forever. Zero means
	// [DefaultDeliveryTimeout] unless the caller's context ends sooner.
	Timeout Duration `json:"timeout,omitempty"`
}

// DefaultDeliveryTimeout bounds a delivery whose Webhook sets no Timeout.
const DefaultDeliveryTimeout = 2 * time.Minute

// WebhookEvent is one event to deliver: a name for the journal, headers,
// and the exact body.
type WebhookEvent struct {
	Name   string      `json:"name"`
	Header http.Header `json:"header,omitempty"`
	Body   string      `json:"body"`
}

// Deliver sends the webhook's events to its target, journals every attempt
// and its answer as a [KindDelivery] entry, and returns those entries. A
// receiver that fails is in the entries, not the error; the error is for a
// webhook that cannot be delivered as asked, or for ctx ending.
func (s *Sandbox) Deliver(ctx context.Context, wh Webhook) ([]Entry, error) {
	events, err := s.webhookEvents(wh)
	if err != nil {
		return nil, err
	}
	opts := []replay.DeliverOption{}
	signer, err := wh.Signature.Signer(wh.SignedAt)
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	if signer != nil {
		opts = append(opts, replay.SignWith(signer))
	}
	if wh.Duplicates > 1 {
		opts = append(opts, replay.Duplicate(wh.Duplicates))
	}
	if wh.Duplicates < 0 || wh.Retries < 0 || wh.Delay < 0 || wh.Backoff < 0 || wh.Timeout < 0 {
		return nil, &usageError{"webhook: duplicates, retries, delay, backoff and timeout cannot be negative"}
	}
	timeout := time.Duration(wh.Timeout)
	if timeout == 0 {
		timeout = DefaultDeliveryTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if wh.Reorder {
		opts = append(opts, replay.OutOfOrder(int64(s.cfg.seed)))
	}
	if wh.Delay > 0 {
		opts = append(opts, replay.Delay(time.Duration(wh.Delay)))
	}
	if wh.Retries > 0 {
		backoff := time.Duration(wh.Backoff)
		if backoff == 0 {
			backoff = time.Second
		}
		opts = append(opts, replay.Retry(wh.Retries, backoff))
	}
	var out []Entry
	opts = append(opts, replay.OnAttempt(func(d replay.Delivery) {
		e := deliveryEntry(wh.Vendor, d)
		body, cut := keep(d.Body)
		e.BodyCut = cut
		body = s.redactor.redactDelivery(&e, body)
		s.journal.add(&e, body, d.Answer)
		e.RequestBody, e.ResponseBody = string(body), string(d.Answer)
		if s.cfg.onCall != nil {
			s.cfg.onCall(e)
		}
		out = append(out, e)
	}))
	_, err = replay.Deliver(ctx, replay.Endpoint(wh.Target), events, opts...)
	if err != nil && ctx.Err() == nil {
		return out, &usageError{err.Error()}
	}
	return out, err
}

// webhookEvents gathers the events a webhook asks for.
func (s *Sandbox) webhookEvents(wh Webhook) ([]replay.Event, error) {
	v := s.vendors[wh.Vendor]
	// A sender that is not a vendor the connector calls has no contract
	// here: its events are given, never synthesised.
	if v == nil && (wh.Vendor != "" || wh.Event != "") {
		return nil, &usageError{fmt.Sprintf("webhook: no vendor %q; the vendors are %s", wh.Vendor, strings.Join(s.Vendors(), ", "))}
	}
	given := 0
	for _, b := range []bool{wh.Event != "", len(wh.Events) > 0, wh.File != ""} {
		if b {
			given++
		}
	}
	if given != 1 {
		return nil, &usageError{"webhook: give exactly one of event (a webhook of the contract), events, or file"}
	}
	if wh.Target == "" {
		return nil, &usageError{"webhook: no target URL"}
	}
	if err := s.targets.allowed(wh.Target); err != nil {
		return nil, &usageError{"webhook: " + err.Error()}
	}
	switch {
	case wh.File != "":
		data, err := s.events.read(wh.File)
		if err != nil {
			return nil, &usageError{"webhook: " + err.Error()}
		}
		evs, err := replay.ParseEvents(wh.File, data)
		if err != nil {
			return nil, &usageError{err.Error()}
		}
		return evs, nil
	case wh.Event != "":
		val, err := v.Contract.ExampleValue(wh.Event, s.cfg.seed)
		if err != nil {
			return nil, &usageError{fmt.Sprintf("webhook: synthesise %q from %s: %v", wh.Event, v.Name, err)}
		}
		body, err := json.Marshal(val)
		if err != nil {
			return nil, fmt.Errorf("webhook: encode %q: %w", wh.Event, err)
		}
		return []replay.Event{{Name: wh.Event, Headers: http.Header{"Content-Type": {"application/json"}}, Body: body}}, nil
	}
	out := make([]replay.Event, len(wh.Events))
	for i, ev := range wh.Events {
		if ev.Name == "" {
			return nil, &usageError{fmt.Sprintf("webhook: event %d has no name", i+1)}
		}
		h := ev.Header.Clone()
		if h == nil {
			h = http.Header{}
		}
		if h.Get("Content-Type") == "" && json.Valid([]byte(ev.Body)) {
			h.Set("Content-Type", "application/json")
		}
		out[i] = replay.Event{Name: ev.Name, Headers: h, Body: []byte(ev.Body)}
	}
	return out, nil
}

func deliveryEntry(vendor string, d replay.Delivery) Entry {
	e := Entry{
		Kind: KindDelivery, Time: d.Sent, Took: d.Took, Vendor: vendor, Method: http.MethodPost,
		Event: d.Name, Target: d.URL, Attempt: d.Attempt, Copy: d.Copy, Status: d.Status,
		RequestHeader: d.Header, ResponseHeader: d.AnswerHeader, Source: SourceTarget,
	}
	if d.Header != nil {
		e.CorrelationID = d.Header.Get("webhook-id")
	}
	if d.Err != nil {
		e.Error = d.Err.Error()
	}
	return e
}
