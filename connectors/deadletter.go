package connectors

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// DeadLetter is an event that could not be handled, with what is needed to
// understand why and to deliver it again.
type DeadLetter struct {
	Event         Event
	Error         string    // the connector's last error
	Class         string    // "permanent" or "retryable"
	Attempts      int       // attempts made
	CorrelationID string    // of the delivery, to find its log lines
	Time          time.Time // when it was dead-lettered
}

// deadLetterJSON is the form of a [DeadLetter] in JSON.
type deadLetterJSON struct {
	Event         eventJSON `json:"event"`
	Error         string    `json:"error"`
	Class         string    `json:"class"`
	Attempts      int       `json:"attempts"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	Time          time.Time `json:"time"`
}

// eventJSON holds the body as a string when it is UTF-8 (most are JSON),
// so that a person can read the file, and in base64 otherwise.
type eventJSON struct {
	ID         string      `json:"id"`
	Type       string      `json:"type,omitempty"`
	Tenant     string      `json:"tenant,omitempty"`
	Header     http.Header `json:"header,omitempty"`
	Body       *string     `json:"body,omitempty"`
	BodyBase64 string      `json:"body_base64,omitempty"`
	Received   time.Time   `json:"received"`
}

// redactCredentials returns h, or a copy of it whose headers that may
// carry credentials (Authorization, Proxy-Authorization, Cookie) hold
// REDACTED instead of their values.
func redactCredentials(h http.Header) http.Header {
	cloned := false
	for _, name := range [...]string{"Authorization", "Proxy-Authorization", "Cookie"} {
		vs, ok := h[name]
		if !ok {
			continue
		}
		if !cloned {
			h, cloned = h.Clone(), true
		}
		h[name] = slices.Repeat([]string{"REDACTED"}, len(vs))
	}
	return h
}

// MarshalJSON writes d as one JSON object: the body as a string when it is
// valid UTF-8, else as base64 in "body_base64". The values of the headers
// Authorization, Proxy-Authorization and Cookie are written as REDACTED.
func (d DeadLetter) MarshalJSON() ([]byte, error) {
	ev := eventJSON{ID: d.Event.ID, Type: d.Event.Type, Tenant: d.Event.Tenant,
		Header: redactCredentials(d.Event.Header), Received: d.Event.Received}
	switch {
	case len(d.Event.Body) == 0:
	case utf8.Valid(d.Event.Body):
		body := string(d.Event.Body)
		ev.Body = &body
	default:
		ev.BodyBase64 = base64.StdEncoding.EncodeToString(d.Event.Body)
	}
	return json.Marshal(deadLetterJSON{Event: ev, Error: d.Error, Class: d.Class, Attempts: d.Attempts, CorrelationID: d.CorrelationID, Time: d.Time})
}

// UnmarshalJSON reads what [DeadLetter.MarshalJSON] writes.
func (d *DeadLetter) UnmarshalJSON(data []byte) error {
	var w deadLetterJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	if w.Event.Body != nil && w.Event.BodyBase64 != "" {
		return errors.New("event has both body and body_base64")
	}
	var body []byte
	switch {
	case w.Event.Body != nil:
		body = []byte(*w.Event.Body)
	case w.Event.BodyBase64 != "":
		b, err := base64.StdEncoding.DecodeString(w.Event.BodyBase64)
		if err != nil {
			return fmt.Errorf("event body_base64: %w", err)
		}
		body = b
	}
	*d = DeadLetter{
		Event: Event{ID: w.Event.ID, Type: w.Event.Type, Tenant: w.Event.Tenant, Header: w.Event.Header,
			Body: body, Received: w.Event.Received},
		Error: w.Error, Class: w.Class, Attempts: w.Attempts, CorrelationID: w.CorrelationID, Time: w.Time,
	}
	return nil
}

// DeadLetterSink keeps what could not be handled. Put returns nil only
// once the letter is kept, so the sender may be told to stop delivering.
type DeadLetterSink interface {
	Put(ctx context.Context, d DeadLetter) error
}

// JSONLinesSink is a [DeadLetterSink] that appends each letter to a file
// as one line of JSON ([DeadLetter.MarshalJSON]), synced to disk before
// Put returns. Safe for concurrent use within one process. Read the file
// with [ReadDeadLetters].
type JSONLinesSink struct {
	mu   sync.Mutex
	path string
	f    *os.File // nil once closed
	size int64    // of the file's complete lines
}

// OpenJSONLinesSink opens the file at path for appending, creating it when
// it does not exist. A last line cut short by a crash during a write (it
// has no newline) is dropped from the file, as its Put never returned
// nil.
func OpenJSONLinesSink(path string) (*JSONLinesSink, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open dead-letter file: %w", err)
	}
	size, err := completeLinesSize(f)
	if err == nil {
		err = f.Truncate(size)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open dead-letter file %s: %w", path, err)
	}
	return &JSONLinesSink{path: path, f: f, size: size}, nil
}

// completeLinesSize returns the length of f up to and including its last
// newline, reading backwards from its end.
func completeLinesSize(f *os.File) (int64, error) {
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 4<<10)
	for end := info.Size(); end > 0; {
		start := max(end-int64(len(buf)), 0)
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// Put implements [DeadLetterSink].
func (s *JSONLinesSink) Put(_ context.Context, d DeadLetter) error {
	line, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("put dead letter of event %q: %w", d.Event.ID, err)
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return fmt.Errorf("put dead letter in %s: %w", s.path, os.ErrClosed)
	}
	if _, err := s.f.Write(line); err != nil {
		s.f.Truncate(s.size) // so the next line starts clean
		return fmt.Errorf("put dead letter in %s: %w", s.path, err)
	}
	s.size += int64(len(line))
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("put dead letter in %s: %w", s.path, err)
	}
	return nil
}

// Close closes the file; Put fails afterwards.
func (s *JSONLinesSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("close dead-letter file: %w", err)
	}
	return nil
}

// ReadDeadLetters reads the letters a [JSONLinesSink] wrote to path, in
// order. It skips blank lines and a last line cut short (no newline) by a
// crash; any other bad line is an error naming path and line.
func ReadDeadLetters(path string) ([]DeadLetter, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	defer f.Close()
	return decodeDeadLetters(f, path)
}

// decodeDeadLetters reads JSON lines from r; name is the file's, for
// errors.
func decodeDeadLetters(r io.Reader, name string) ([]DeadLetter, error) {
	br := bufio.NewReader(r)
	var letters []DeadLetter
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return letters, nil // line, if any, is torn
		}
		if err != nil {
			return nil, fmt.Errorf("read dead letters: %s:%d: %w", name, n, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var d DeadLetter
		if err := json.Unmarshal(line, &d); err != nil {
			return nil, fmt.Errorf("read dead letters: %s:%d: %w", name, n, err)
		}
		letters = append(letters, d)
	}
}

// MemorySink is a [DeadLetterSink] in memory, for tests. Safe for
// concurrent use.
type MemorySink struct {
	mu      sync.Mutex
	letters []DeadLetter
}

// Put implements [DeadLetterSink].
func (s *MemorySink) Put(_ context.Context, d DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.letters = append(s.letters, d)
	return nil
}

// Letters returns a copy of the letters put so far, in order.
func (s *MemorySink) Letters() []DeadLetter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.letters)
}
