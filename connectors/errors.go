package connectors

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// PermanentError is an error that a later attempt cannot mend: a bad
// event, a refusal, a missing resource. Make one with [Permanent].
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// RetryableError is an error that a later attempt may not meet, with the
// least time to wait before that attempt when the vendor said so. Make one
// with [Retryable].
type RetryableError struct {
	Err   error
	After time.Duration // 0 when there is no hint
}

func (e *RetryableError) Error() string { return e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// classedError is what [PermanentError] and [RetryableError] share, so the
// class nearest the top of an error's chain decides.
type classedError interface {
	error
	permanent() bool
}

func (*PermanentError) permanent() bool { return true }
func (*RetryableError) permanent() bool { return false }

// Permanent marks err as one that must not be retried. It returns nil
// when err is nil, so `return Permanent(err)` is safe.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// Retryable marks err as one a later attempt may not meet, no sooner than
// after (0: no hint; a negative after counts as 0). It returns nil when err
// is nil. Errors of no class are retryable too; Retryable adds the hint
// and makes the class explicit.
func Retryable(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryableError{Err: err, After: max(after, 0)}
}

// IsPermanent reports whether err, or an error it wraps, was made with
// [Permanent]. When an error's chain holds both classes, the outer one
// decides.
func IsPermanent(err error) bool {
	c, ok := errors.AsType[classedError](err)
	return ok && c.permanent()
}

// RetryAfter returns the delay hint of the [RetryableError] in err's chain,
// if there is one with a hint above 0 and no [PermanentError] above it.
func RetryAfter(err error) (time.Duration, bool) {
	c, ok := errors.AsType[classedError](err)
	if !ok || c.permanent() {
		return 0, false
	}
	r := c.(*RetryableError)
	return r.After, r.After > 0
}

// StatusError is the error [CheckResponse] makes of an answer that is not
// a success, inside a [PermanentError] or a [RetryableError]. A connector
// that must branch on the status finds it with errors.AsType.
type StatusError struct {
	Method     string
	URL        string // without query, fragment or user information
	StatusCode int
	Status     string // such as "429 Too Many Requests"
	Body       string // the start of the body, on one line
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: %s", e.Method, e.URL, e.Status)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// responseExcerpt bounds what [CheckResponse] reads of a body, and shows.
const (
	responseReadLimit = 4 << 10
	responseShowLimit = 200
)

// CheckResponse classifies a vendor's answer. It returns nil for a status
// below 400: a redirect the client did not follow is the caller's to
// handle. Otherwise it returns a [*StatusError] made:
//
//   - retryable ([Retryable]) for 408 Request Timeout, 429 Too Many
//     Requests and every 5xx, with the delay of a Retry-After header (in
//     seconds or as an HTTP date, read against now; see [ParseRetryAfter]);
//   - permanent ([Permanent]) for every other 4xx, such as 400, 401, 403,
//     404, 409, 410 and 422: sending the same request again gets the same
//     answer.
//
// For the error's text it reads up to 4 KiB of the body and then puts
// them back, so resp.Body still reads in full and the caller still
// closes it. The URL in the text has no query, which may carry a secret.
//
// An answer that is a failure with a 2xx status, such as a Slack-like
// {"ok":false}, is the connector's to classify.
func CheckResponse(resp *http.Response, now time.Time) error {
	if resp.StatusCode < 400 {
		return nil
	}
	se := &StatusError{StatusCode: resp.StatusCode, Status: resp.Status}
	if se.Status == "" {
		se.Status = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	}
	if req := resp.Request; req != nil {
		se.Method = req.Method
		if req.URL != nil {
			u := *req.URL
			u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
			se.URL = u.String()
		}
	}
	if resp.Body != nil {
		head, err := io.ReadAll(io.LimitReader(resp.Body, responseReadLimit))
		se.Body = excerpt(head)
		rest := resp.Body
		if err != nil {
			rest = io.NopCloser(errReader{err})
		}
		resp.Body = replayedBody{Reader: io.MultiReader(bytes.NewReader(head), rest), Closer: resp.Body}
	}
	switch code := resp.StatusCode; {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		after, _ := ParseRetryAfter(resp.Header.Get("Retry-After"), now)
		return Retryable(se, after)
	default:
		return Permanent(se)
	}
}

// replayedBody reads what CheckResponse read, then the rest, and closes
// the original body.
type replayedBody struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// excerpt returns the start of b on one line, cut at a character.
func excerpt(b []byte) string { return excerptN(string(b), responseShowLimit) }

// excerptN returns the start of s on one line, cut at a character to at
// most n bytes and an ellipsis.
func excerptN(s string, n int) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// ParseRetryAfter reads a Retry-After header value: delay-seconds (a
// non-negative whole number) or an HTTP date, from which it returns the
// time left after now, or 0 for a date past. It reports false for an
// empty or unreadable value, which a caller should treat as no hint.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 63)
		if err != nil || secs > uint64(1<<63-1)/uint64(time.Second) {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
