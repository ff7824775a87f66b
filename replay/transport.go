package replay

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/internal/reqdiff"
)

// Transport is an [http.RoundTripper] that answers requests from recorded
// cassettes and never touches the network. Build one with [NewTransport].
//
// A request matches a recorded one when, after both are redacted with the
// same [fixtures.Redactor], they have the same method, URL (scheme and host
// in any case, path, query parameters in any order) and body (JSON in any
// key order, spacing and number spelling; form fields in any order; other
// bodies byte for byte), leaving out what [IgnoreQuery] and [IgnoreField]
// name, and the same values for the headers [MatchHeader] names. Identical
// requests get the recorded answers in recorded order, across cassettes in
// the order they were given. Finding the answer takes the same time however
// many interactions there are.
//
// A request with no answer left fails with a *[MissError]. A Transport is
// safe for concurrent use.
type Transport struct {
	cfg   *config
	match *matcher

	mu     sync.Mutex
	queues map[string]*answers // by requestKey.String()

	all []*recording // every interaction, for explaining misses
}

// recording is one recorded interaction, indexed.
type recording struct {
	file string
	pos  int // position in the cassette's interactions
	line int
	// req is the recorded request, redacted. Only a miss needs its key
	// again; keeping the request rather than the key keeps the heap small,
	// which keeps garbage collection cheap on large cassettes.
	req  fixtures.Request
	resp *fixtures.Response
}

// answers are the recordings that match one key, in recorded order.
type answers struct {
	recs []*recording
	next int
}

// NewTransport indexes the interactions of cassettes (as [fixtures.Load]
// reads them, in either format version) for replay. The cassettes are not
// changed, and must not be while the Transport answers from them.
func NewTransport(cassettes []*fixtures.Cassette, opts ...TransportOption) (*Transport, error) {
	cfg, err := configure("new transport", opts, TransportOption.applyTransport)
	if err != nil {
		return nil, err
	}
	m, err := newMatcher(cfg)
	if err != nil {
		return nil, fmt.Errorf("new transport: %w", err)
	}
	t := &Transport{cfg: cfg, match: m, queues: map[string]*answers{}}
	for ci, c := range cassettes {
		if c == nil {
			return nil, fmt.Errorf("new transport: cassette %d is nil", ci)
		}
		for i, in := range c.Interactions {
			// Recorded requests are redacted as live ones are, so a cassette
			// that still holds a credential matches the same requests as a
			// redacted one; placeholders are left as they are.
			req := in.Request
			req.Headers = in.Request.Headers.Clone()
			if req.Headers == nil {
				req.Headers = http.Header{}
			}
			req.Form = url.Values(http.Header(in.Request.Form).Clone())
			if req.Body == "" && len(req.Form) > 0 {
				// Some recorders keep a form post's fields and not its body.
				req.Body = req.Form.Encode()
				if req.Headers.Get("Content-Type") == "" {
					req.Headers.Set("Content-Type", "application/x-www-form-urlencoded")
				}
			}
			cfg.redactor.RedactRequest(&req)
			key := m.key(&req)
			k := key.String()
			rec := &recording{file: c.File, pos: i, line: in.Line, req: req, resp: &in.Response}
			q := t.queues[k]
			if q == nil {
				q = &answers{}
				t.queues[k] = q
			}
			q.recs = append(q.recs, rec)
			t.all = append(t.all, rec)
		}
	}
	return t, nil
}

// RoundTrip answers req from the cassettes. It reads and closes req's body.
// Without [Repeatable] each recorded answer is given once; with it, once the
// answers to a request are all given, the last one is given again. With
// [WithRecordedLatency] it waits as long as the recorded answer took, and
// returns the context's error if req's context ends first.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("replay: request has no URL")
	}
	live, err := liveRequest(req)
	if err != nil {
		return nil, fmt.Errorf("replay %s %s://%s%s: read request body: %w", req.Method, req.URL.Scheme, req.URL.Host, req.URL.EscapedPath(), err)
	}
	t.cfg.redactor.RedactRequest(&live)
	key := t.match.key(&live)

	rec, q := t.take(key.String())
	if rec == nil {
		return nil, t.miss(&key, q)
	}
	if t.cfg.latency && rec.resp.Duration > 0 {
		timer := time.NewTimer(rec.resp.Duration)
		select {
		case <-timer.C:
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		}
	}
	return respond(rec.resp, req), nil
}

// take gives the next answer for key, and the queue it came from.
func (t *Transport) take(key string) (*recording, *answers) {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.queues[key]
	switch {
	case q == nil:
		return nil, nil
	case q.next < len(q.recs):
		q.next++
		return q.recs[q.next-1], q
	case t.cfg.repeatable:
		return q.recs[len(q.recs)-1], q
	}
	return nil, q
}

// respond builds a response of the caller's own from a recorded one.
func respond(r *fixtures.Response, req *http.Request) *http.Response {
	status := r.Status
	if status == "" {
		status = strings.TrimSpace(fmt.Sprintf("%d %s", r.Code, http.StatusText(r.Code)))
	}
	proto, major, minor := r.Proto, r.ProtoMajor, r.ProtoMinor
	if proto == "" {
		proto, major, minor = "HTTP/1.1", 1, 1
	}
	h := r.Headers.Clone()
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{
		Status:        status,
		StatusCode:    r.Code,
		Proto:         proto,
		ProtoMajor:    major,
		ProtoMinor:    minor,
		Header:        h,
		Trailer:       r.Trailer.Clone(),
		Body:          io.NopCloser(strings.NewReader(r.Body)),
		ContentLength: int64(len(r.Body)),
		Uncompressed:  r.Uncompressed,
		Request:       req,
	}
}

// MissError is a request the transport had no answer for. Method and URL
// are the live request's, after redaction. Closest holds up to three
// recorded interactions, nearest first; when the request matched recorded
// interactions whose answers were all given, Closest lists those, each with
// no Differences.
type MissError struct {
	Method  string
	URL     string
	Closest []Candidate
}

// Candidate is a recorded interaction near a request that missed.
type Candidate struct {
	File        string // the cassette's file; empty for one built in memory
	Interaction int    // position in the cassette's interactions, from 0
	Line        int    // where the interaction starts in File; 0 if unknown
	Differences []Mismatch
}

// Mismatch is one way a request differs from a recorded one. Part is
// "method", "host", "path", "query", "header" or "body"; Name is the query
// parameter, header, form field or JSON path (such as "$.items[2].id"), or
// empty for the whole part. Recorded and Sent are rendered for reading:
// JSON as compact JSON, other values quoted, "(absent)" for a missing one.
type Mismatch = reqdiff.Mismatch

func (c Candidate) where() string {
	switch {
	case c.File == "":
		return fmt.Sprintf("interaction %d", c.Interaction)
	case c.Line > 0:
		return fmt.Sprintf("interaction %d (%s:%d)", c.Interaction, c.File, c.Line)
	}
	return fmt.Sprintf("interaction %d (%s)", c.Interaction, c.File)
}

func (e *MissError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "replay %s %s: ", e.Method, e.URL)
	switch {
	case len(e.Closest) == 0:
		b.WriteString("no recorded interaction matches, and the cassettes hold none to compare with")
		return b.String()
	case len(e.Closest[0].Differences) == 0:
		b.WriteString("every recorded answer to this request was already given (each is given once, in order; record more, or use Repeatable())")
		for _, c := range e.Closest {
			fmt.Fprintf(&b, "\n  matched %s", c.where())
		}
		return b.String()
	}
	b.WriteString("no recorded interaction matches; the closest:")
	for i, c := range e.Closest {
		fmt.Fprintf(&b, "\n  %d. %s", i+1, c.where())
		for _, d := range c.Differences {
			fmt.Fprintf(&b, "\n       %s", d)
		}
	}
	return b.String()
}

// miss explains why key got no answer. It is the slow path: it compares
// key with every recorded interaction.
func (t *Transport) miss(key *requestKey, q *answers) error {
	e := &MissError{Method: key.Method, URL: key.url}
	if q != nil {
		for _, rec := range q.recs[:min(3, len(q.recs))] {
			e.Closest = append(e.Closest, Candidate{File: rec.file, Interaction: rec.pos, Line: rec.line})
		}
		return e
	}
	type ranked struct {
		rec   *recording
		far   bool // another method or endpoint
		diffs []Mismatch
	}
	all := make([]ranked, 0, len(t.all))
	for _, rec := range t.all {
		rk := t.match.key(&rec.req)
		far := rk.Method != key.Method || rk.Origin != key.Origin || rk.Path != key.Path
		all = append(all, ranked{rec: rec, far: far, diffs: keyDiff(&rk, key)})
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].far != all[j].far {
			return !all[i].far
		}
		return len(all[i].diffs) < len(all[j].diffs)
	})
	for _, r := range all[:min(3, len(all))] {
		e.Closest = append(e.Closest, Candidate{File: r.rec.file, Interaction: r.rec.pos, Line: r.rec.line, Differences: r.diffs})
	}
	return e
}

func readAndClose(r io.ReadCloser) ([]byte, error) {
	defer r.Close()
	return io.ReadAll(r)
}
