package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/internal/yamldoc"
)

// Event is one inbound delivery to a connector, such as a CRM's
// deal.updated webhook: the headers and the exact body bytes it is sent
// with. A signature, if any, is added at delivery by a [Signer].
type Event struct {
	Name    string
	Headers http.Header
	Body    []byte
}

// LoadEvents reads a file of events. The file is YAML (so JSON works too)
// and holds a list; each item has
//
//	name:    what the event is, e.g. deal.updated (required)
//	headers: a map of header name to a value or a list of values (optional)
//	body:    the payload (required; "" for an empty one)
//
// A body written as a map or a list is sent as compact JSON, its keys in
// the order written, with Content-Type application/json unless headers
// says otherwise. A body written as a string is sent exactly as written.
//
//	# two events
//	- name: deal.updated
//	  headers: {X-Crm-Event: deal.updated}
//	  body: {id: 42, stage: won, amount: 1200.5}
//	- name: ping
//	  headers: {Content-Type: text/plain}
//	  body: "ping"
//
// A file that cannot be read or breaks this format gives a
// *[contracts.Error] naming the file and the line.
func LoadEvents(path string) ([]Event, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &contracts.Error{File: path, Msg: "read events: " + err.Error(), Err: err}
	}
	return ParseEvents(path, data)
}

// ParseEvents reads the events held in data, as [LoadEvents] reads a file;
// name is used in errors.
func ParseEvents(name string, data []byte) ([]Event, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlSyntaxError(name, err)
	}
	const listHint = "an events file is a list of {name, headers, body}"
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &contracts.Error{File: name, Line: 1, Msg: "holds no events", Hint: listHint}
	}
	root := doc.Content[0]
	if root.Kind != yaml.SequenceNode {
		return nil, &contracts.Error{File: name, Line: root.Line, Column: root.Column, Msg: "want a list of events, found " + yamldoc.Describe(root), Hint: listHint}
	}
	if len(root.Content) == 0 {
		return nil, &contracts.Error{File: name, Line: root.Line, Column: root.Column, Msg: "holds no events", Hint: listHint}
	}
	events := make([]Event, 0, len(root.Content))
	for i, item := range root.Content {
		ev, err := parseEvent(item)
		if err != nil {
			var le *locatedError
			if errors.As(err, &le) {
				return nil, &contracts.Error{File: name, Line: le.line, Column: le.column, Msg: fmt.Sprintf("event %d: %s", i+1, le.msg), Hint: le.hint}
			}
			return nil, err
		}
		events = append(events, ev)
	}
	return events, nil
}

// locatedError is a problem at one node of an events file; parseEvents
// turns it into a *contracts.Error naming the file.
type locatedError struct {
	line, column int
	msg, hint    string
}

func (e *locatedError) Error() string { return fmt.Sprintf("%d:%d: %s", e.line, e.column, e.msg) }

func errAt(n *yaml.Node, hint, format string, args ...any) error {
	return &locatedError{line: n.Line, column: n.Column, msg: fmt.Sprintf(format, args...), hint: hint}
}

func parseEvent(n *yaml.Node) (Event, error) {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		return Event{}, errAt(n, "write each event as {name, headers, body}", "want a map, found %s", yamldoc.Describe(n))
	}
	var ev Event
	var nameNode, bodyNode *yaml.Node
	jsonBody := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		switch k.Value {
		case "name":
			if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
				return Event{}, errAt(v, "", "name must be a string, found %s", yamldoc.Describe(v))
			}
			nameNode = v
			ev.Name = v.Value
		case "headers":
			h, err := parseHeaders(v)
			if err != nil {
				return Event{}, err
			}
			ev.Headers = h
		case "body":
			bodyNode = v
			switch {
			case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
				return Event{}, errAt(k, `write body: "" for an empty body`, "body is null")
			case v.Kind == yaml.ScalarNode:
				ev.Body = []byte(v.Value)
			default:
				var b bytes.Buffer
				if err := writeJSON(&b, v); err != nil {
					return Event{}, err
				}
				ev.Body = b.Bytes()
				jsonBody = true
			}
		default:
			return Event{}, errAt(k, "an event has name, headers and body", "unknown field %q", k.Value)
		}
	}
	if nameNode == nil || strings.TrimSpace(ev.Name) == "" {
		at := n
		if nameNode != nil {
			at = nameNode
		}
		return Event{}, errAt(at, "name says what the event is, e.g. deal.updated", "no name")
	}
	if bodyNode == nil {
		return Event{}, errAt(n, `write body: "" for an empty body`, "%s has no body", ev.Name)
	}
	if ev.Headers == nil {
		ev.Headers = http.Header{}
	}
	if jsonBody && ev.Headers.Get("Content-Type") == "" {
		ev.Headers.Set("Content-Type", "application/json")
	}
	return ev, nil
}

func parseHeaders(n *yaml.Node) (http.Header, error) {
	const hint = "headers is a map of name to a value or a list of values"
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return http.Header{}, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, hint, "headers must be a map, found %s", yamldoc.Describe(n))
	}
	h := http.Header{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			return nil, errAt(k, hint, "a header name must be a non-empty string")
		}
		switch v.Kind {
		case yaml.ScalarNode:
			h.Add(k.Value, v.Value)
		case yaml.SequenceNode:
			for _, item := range v.Content {
				item = resolveAlias(item)
				if item.Kind != yaml.ScalarNode {
					return nil, errAt(item, hint, "header %s: a value must be a string, found %s", k.Value, yamldoc.Describe(item))
				}
				h.Add(k.Value, item.Value)
			}
		default:
			return nil, errAt(v, hint, "header %s: want a value or a list of values, found %s", k.Value, yamldoc.Describe(v))
		}
	}
	return h, nil
}

// writeJSON writes a YAML value as compact JSON, keeping the order of map
// keys as written, so a body's bytes (and its signature) are what the
// author sees in the file.
func writeJSON(b *bytes.Buffer, n *yaml.Node) error {
	return writeJSONDepth(b, n, 0)
}

// maxBodyDepth and maxBodySize bound the work an alias cycle, or aliases
// nested to expand exponentially, can cause.
const (
	maxBodyDepth = 200
	maxBodySize  = 16 << 20
)

func writeJSONDepth(b *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > maxBodyDepth {
		return errAt(n, "", "body nests deeper than %d levels", maxBodyDepth)
	}
	if b.Len() > maxBodySize {
		return errAt(n, "", "body is larger than %d MiB", maxBodySize>>20)
	}
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolveAlias(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return errAt(k, "JSON object keys are strings", "body: a map key must be a string, found %s", yamldoc.Describe(k))
			}
			if k.Value == "<<" && k.Tag == "!!merge" {
				return errAt(k, "write the keys out", "body: YAML merge keys are not supported")
			}
			if i > 0 {
				b.WriteByte(',')
			}
			key, _ := json.Marshal(k.Value)
			b.Write(key)
			b.WriteByte(':')
			if err := writeJSONDepth(b, n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSONDepth(b, item, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		return writeJSONScalar(b, n)
	default:
		return errAt(n, "", "body: unexpected %s", yamldoc.Describe(n))
	}
	return nil
}

func writeJSONScalar(b *bytes.Buffer, n *yaml.Node) error {
	switch n.Tag {
	case "!!null":
		b.WriteString("null")
		return nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return errAt(n, "", "body: %v", err)
		}
		if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return errAt(n, "quote it to send it as a string", "body: %s is not a JSON number", n.Value)
		}
		out, err := json.Marshal(v)
		if err != nil {
			return errAt(n, "", "body: %v", err)
		}
		b.Write(out)
		return nil
	default:
		out, _ := json.Marshal(n.Value)
		b.Write(out)
		return nil
	}
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// yamlSyntaxError gives a parser error the file and line it names.
func yamlSyntaxError(name string, err error) error {
	line, msg, hint := yamldoc.Syntax(err)
	return &contracts.Error{File: name, Line: line, Msg: "invalid YAML: " + msg, Hint: hint, Err: err}
}

// Target is where [Deliver] sends events: an in-process [Handler] or a
// running [Endpoint].
type Target interface {
	deliver(ctx context.Context, req *http.Request) (answered, error)
	url() string
}

// Handler is a connector in-process: each event is served by h directly,
// as a POST to "/", with no network in between. A panic in h is recorded
// as that delivery's error, as a server would drop the connection.
func Handler(h http.Handler) Target { return handlerTarget{h} }

// Endpoint is a running connector: each event is POSTed to rawURL, its
// webhook address such as http://127.0.0.1:8080/events.
func Endpoint(rawURL string) Target { return endpointTarget{rawURL} }

type handlerTarget struct{ h http.Handler }

func (t handlerTarget) url() string { return "http://connector.invalid/" }

// answered is what a connector answered to one delivery.
type answered struct {
	status int
	header http.Header
	body   []byte
}

// maxAnswerBody is how much of a connector's answer a Delivery keeps.
const maxAnswerBody = 64 << 10

func (t handlerTarget) deliver(ctx context.Context, req *http.Request) (a answered, err error) {
	if t.h == nil {
		return a, errors.New("replay.Handler(nil): pass the connector's http.Handler")
	}
	rec := httptest.NewRecorder()
	req.RemoteAddr = "192.0.2.1:1234"
	req.RequestURI = req.URL.RequestURI()
	defer func() {
		if p := recover(); p != nil {
			a, err = answered{}, fmt.Errorf("connector panicked: %v", p)
		}
	}()
	t.h.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if len(body) > maxAnswerBody {
		body = body[:maxAnswerBody]
	}
	return answered{status: rec.Code, header: rec.Header(), body: body}, nil
}

type endpointTarget struct{ raw string }

func (t endpointTarget) url() string { return t.raw }

func (t endpointTarget) deliver(ctx context.Context, req *http.Request) (answered, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return answered{}, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return answered{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// DeliverOption changes how [Deliver] sends events.
type DeliverOption func(*deliverConfig)

type deliverConfig struct {
	copies   int
	shuffle  bool
	seed     int64
	delay    time.Duration
	signer   Signer
	retries  int
	backoff  time.Duration
	hook     func(Delivery)
	problems []string
}

// SignWith signs every delivery with s, after any duplication, so each copy
// carries a valid signature.
func SignWith(s Signer) DeliverOption {
	return func(c *deliverConfig) {
		if s == nil {
			c.problems = append(c.problems, "SignWith(nil): pass a Signer such as replay.HMACSHA256")
		}
		c.signer = s
	}
}

// Duplicate delivers each event n times in a row, identical to the byte,
// as a sender that retries after a lost acknowledgement does. n must be at
// least 1; 1 is the default.
func Duplicate(n int) DeliverOption {
	return func(c *deliverConfig) {
		if n < 1 {
			c.problems = append(c.problems, fmt.Sprintf("Duplicate(%d): n counts deliveries of each event and must be at least 1", n))
		}
		c.copies = n
	}
}

// OutOfOrder shuffles the deliveries (copies from [Duplicate] included).
// The same seed gives the same order on every platform and Go release, and
// with at least two distinct events the order is never the one given.
func OutOfOrder(seed int64) DeliverOption {
	return func(c *deliverConfig) { c.shuffle, c.seed = true, seed }
}

// Delay waits d between one delivery's answer and the next delivery, for
// connectors whose effects depend on time passing. A retry waits as
// [Retry] says instead.
func Delay(d time.Duration) DeliverOption {
	return func(c *deliverConfig) {
		if d < 0 {
			c.problems = append(c.problems, fmt.Sprintf("Delay(%s): a delay cannot be negative", d))
		}
		c.delay = d
	}
}

// Retry re-sends a delivery whose answer is not 2xx, or that got no
// answer, up to attempts more times, as vendors do: it waits backoff
// before the first retry and twice as long before each retry after, up to
// 64×backoff. Retries of a delivery are made before the next delivery is
// sent. Each is signed afresh (a new timestamp, the same webhook-id), and
// each is a [Delivery] of its own. attempts and backoff cannot be
// negative; by default a delivery is not retried.
func Retry(attempts int, backoff time.Duration) DeliverOption {
	return func(c *deliverConfig) {
		if attempts < 0 {
			c.problems = append(c.problems, fmt.Sprintf("Retry(%d, %s): attempts counts retries and cannot be negative", attempts, backoff))
		}
		if backoff < 0 {
			c.problems = append(c.problems, fmt.Sprintf("Retry(%d, %s): a backoff cannot be negative", attempts, backoff))
		}
		c.retries, c.backoff = attempts, backoff
	}
}

// OnAttempt calls f with each [Delivery] as soon as its answer is in,
// before any wait for the next, so a journal can keep every attempt as it
// happens. f runs on the goroutine that called [Deliver].
func OnAttempt(f func(Delivery)) DeliverOption {
	return func(c *deliverConfig) {
		if f == nil {
			c.problems = append(c.problems, "OnAttempt(nil): pass a func(replay.Delivery)")
		}
		c.hook = f
	}
}

// maxBackoffDoublings stops the wait between retries growing past
// 64×backoff, where vendors level off too, and keeps it from overflowing.
const maxBackoffDoublings = 6

// retryWait is how long to wait before retry n (from 1).
func retryWait(backoff time.Duration, n int) time.Duration {
	w := backoff
	for range min(n-1, maxBackoffDoublings) {
		if w > math.MaxInt64/2 {
			return math.MaxInt64
		}
		w *= 2
	}
	return w
}

// Delivery is one attempt to deliver an event, and what came of it.
type Delivery struct {
	Index   int    // position of the event in the list given to Deliver
	Name    string // the event's Name
	Copy    int    // 1 for the first delivery of this event, 2 for its duplicate, ...
	Attempt int    // 1 for the first try of this copy, 2 for its first retry, ...
	Status  int    // the connector's HTTP status; 0 when it gave none
	Err     error  // why there was no answer: connection refused, a panic; nil otherwise

	URL string // where it was sent; for a Handler, "http://connector.invalid/"
	// Header holds the headers sent, signature included: the event's own,
	// then the Signer's. An Endpoint's transport may add its own, such as
	// Content-Length, which are not here.
	Header http.Header
	Body   []byte        // the body sent: the event's Body itself, not a copy
	Sent   time.Time     // when the request was sent
	Took   time.Duration // how long the answer (or the failure) took to come

	// AnswerHeader and Answer are the connector's answer: its headers and
	// the first 64 KiB of its body. Both are nil when it gave none.
	AnswerHeader http.Header
	Answer       []byte
}

// ok reports whether d was answered with a 2xx status.
func (d Delivery) ok() bool { return d.Err == nil && d.Status >= 200 && d.Status < 300 }

// Deliver sends events to a connector one at a time, each waiting for the
// answer of the one before, and returns one [Delivery] per attempt, in the
// order sent. A connector that fails to answer is recorded in
// [Delivery.Err] and delivery goes on; the returned error is for bad
// options or a bad target, and for ctx ending, in which case the
// deliveries made so far are returned with it.
//
// Every event is sent as a POST with its headers and body. To see the
// vendor calls the connector makes in response, give it an *http.Client
// whose Transport is a [Capture].
//
// Deliver takes [Duplicate], [OutOfOrder], [Delay], [SignWith], [Retry]
// and [OnAttempt].
func Deliver(ctx context.Context, to Target, events []Event, opts ...DeliverOption) ([]Delivery, error) {
	c := &deliverConfig{copies: 1}
	for _, opt := range opts {
		opt(c)
	}
	if len(c.problems) > 0 {
		return nil, fmt.Errorf("deliver: %s", strings.Join(c.problems, "; "))
	}
	if to == nil {
		return nil, errors.New("deliver: no target: pass replay.Handler(h) or replay.Endpoint(url)")
	}
	target := to.url()
	if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("deliver: target %q is not an http or https URL", target)
	}
	order := deliveryOrder(len(events), c)
	out := make([]Delivery, 0, len(order))
	copies := make([]int, len(events))
	for i, idx := range order {
		if i > 0 {
			if err := sleep(ctx, c.delay); err != nil {
				return out, err
			}
		}
		copies[idx]++
		for attempt := 1; attempt <= 1+c.retries; attempt++ {
			if attempt > 1 {
				if err := sleep(ctx, retryWait(c.backoff, attempt-1)); err != nil {
					return out, err
				}
			}
			if err := ctx.Err(); err != nil {
				return out, fmt.Errorf("deliver: %w", err)
			}
			d, err := deliverOnce(ctx, to, target, events[idx], c.signer)
			if err != nil {
				return out, err
			}
			d.Index, d.Copy, d.Attempt = idx, copies[idx], attempt
			out = append(out, d)
			if c.hook != nil {
				c.hook(d)
			}
			if d.Err != nil && ctx.Err() != nil {
				return out, fmt.Errorf("deliver: %w", ctx.Err())
			}
			if d.ok() {
				break
			}
		}
	}
	return out, nil
}

// deliverOnce sends ev to the target once, signed by s if it is not nil.
func deliverOnce(ctx context.Context, to Target, target string, ev Event, s Signer) (Delivery, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(ev.Body))
	if err != nil {
		return Delivery{}, fmt.Errorf("deliver: %w", err)
	}
	for k, vs := range ev.Headers {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if s != nil {
		s.Sign(req.Header, ev.Body)
	}
	// The connector may change the request's headers; keep what was sent.
	d := Delivery{Name: ev.Name, URL: target, Header: req.Header.Clone(), Body: ev.Body, Sent: time.Now()}
	a, err := to.deliver(ctx, req)
	d.Status, d.Answer, d.AnswerHeader, d.Err = a.status, a.body, a.header, err
	d.Took = time.Since(d.Sent)
	return d, nil
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("deliver: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}

// deliveryOrder lists event indexes in the order they are sent.
func deliveryOrder(n int, c *deliverConfig) []int {
	order := make([]int, 0, n*c.copies)
	for i := range n {
		for range c.copies {
			order = append(order, i)
		}
	}
	if !c.shuffle || n < 2 {
		return order
	}
	given := append([]int(nil), order...)
	// PCG's output is fixed by its definition, and the Fisher-Yates below
	// is ours, so a seed means the same order everywhere.
	rng := rand.NewPCG(uint64(c.seed), 0x7e7e7e7e)
	for i := len(order) - 1; i > 0; i-- {
		j := int(rng.Uint64() % uint64(i+1))
		order[i], order[j] = order[j], order[i]
	}
	if equalInts(order, given) {
		for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
			order[i], order[j] = order[j], order[i]
		}
	}
	return order
}

func equalInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// Capture is an http.RoundTripper that keeps every request passing through
// it as a [Call], redacted, then sends it on unchanged. Give it to a
// connector as its vendor client's Transport, with a replay transport or a
// sandbox as next. It is safe for concurrent use.
type Capture struct {
	next     http.RoundTripper
	redactor *fixtures.Redactor
	mu       sync.Mutex
	calls    []Call
}

// NewCapture returns a [Capture] that sends requests on to next
// (http.DefaultTransport when nil). Calls are redacted with
// [fixtures.DefaultRedactor] unless [RedactWith] says otherwise.
func NewCapture(next http.RoundTripper, opts ...CaptureOption) (*Capture, error) {
	cfg, err := configure("new capture", opts, CaptureOption.applyCapture)
	if err != nil {
		return nil, err
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &Capture{next: next, redactor: cfg.redactor}, nil
}

// RoundTrip records req and passes it to the next transport. Calls are kept
// in the order they reach the Capture; a call whose body cannot be read is
// not kept, and its error is returned.
func (c *Capture) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("capture: read request body: %w", err)
		}
		body = b
		// The request is the caller's; send on a copy with a fresh body.
		clone := req.Clone(req.Context())
		clone.Body = io.NopCloser(bytes.NewReader(body))
		clone.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req = clone
	}
	rec := fixtures.Request{
		Method:  req.Method,
		URL:     req.URL.String(),
		Headers: req.Header.Clone(),
		Body:    string(body),
	}
	if rec.Method == "" {
		rec.Method = http.MethodGet
	}
	if rec.Headers == nil {
		rec.Headers = http.Header{}
	}
	c.redactor.RedactRequest(&rec)
	call := Call{Method: rec.Method, URL: rec.URL, Body: rec.Body}
	if len(rec.Headers) > 0 {
		call.Headers = rec.Headers
	}
	c.mu.Lock()
	c.calls = append(c.calls, call)
	c.mu.Unlock()
	return c.next.RoundTrip(req)
}

// Calls returns a copy of the calls kept so far, in order.
func (c *Capture) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Call, len(c.calls))
	for i, call := range c.calls {
		call.Headers = call.Headers.Clone()
		out[i] = call
	}
	return out
}
