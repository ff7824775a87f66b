package sandbox

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

var (
	errOverBudget = errors.New("the sandbox holds as many request bodies as its budget allows")
	errTooLarge   = errors.New("request body too large")
)

// readBody reads a call's request body within the sandbox's bounds: at
// most MaxRequestBody bytes, within the body timeout, and only while the
// bodies held at once fit the budget. It returns the body and the bytes
// taken from the budget, which the caller gives back once the call is
// answered, or the answer that refuses the call.
func (s *Sandbox) readBody(w http.ResponseWriter, r *http.Request, e *Entry) ([]byte, int64, *answer) {
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return nil, 0, nil
	}
	refuse := func(status int, rule, msg string) *answer {
		e.Findings = append(e.Findings, finding(rule, "", msg))
		// The rest of the body is not wanted; closing the connection
		// spares reading it.
		a := problemAnswer(status, SourceLimit, msg, http.Header{"Connection": {"close"}})
		if status == http.StatusServiceUnavailable {
			a.header.Set("Retry-After", budgetRetry)
		}
		return a
	}
	if r.ContentLength > MaxRequestBody {
		return nil, 0, refuse(http.StatusRequestEntityTooLarge, RuleBodyTooLarge, fmt.Sprintf("the body of %d bytes is over the %d the sandbox reads", r.ContentLength, MaxRequestBody))
	}
	body, held, err := s.readWithin(w, r)
	switch {
	case err == nil:
		return body, held, nil
	case errors.Is(err, errTooLarge):
		return nil, 0, refuse(http.StatusRequestEntityTooLarge, RuleBodyTooLarge, fmt.Sprintf("the body is over the %d bytes the sandbox reads", MaxRequestBody))
	case errors.Is(err, errOverBudget):
		return nil, 0, refuse(http.StatusServiceUnavailable, RuleBodyBudget, fmt.Sprintf("%s (%d bytes); try again shortly", errOverBudget, s.cfg.bodyBudget))
	case isTimeout(err):
		return nil, 0, refuse(http.StatusRequestTimeout, RuleBodyTimeout, fmt.Sprintf("the body did not arrive within %s", s.cfg.bodyTimeout))
	}
	return nil, 0, problemAnswer(http.StatusBadRequest, SourceRoute, "the request body could not be read: "+err.Error(), nil)
}

// readWithin reads r's body under the body deadline and the budget. A
// declared length is taken from the budget whole, before reading, so the
// buffer is allocated once; a chunked body is taken as it arrives.
func (s *Sandbox) readWithin(w http.ResponseWriter, r *http.Request) ([]byte, int64, error) {
	rc := http.NewResponseController(w)
	// Not every ResponseWriter has a connection (a test's recorder): then
	// there is nothing to bound.
	if rc.SetReadDeadline(time.Now().Add(s.cfg.bodyTimeout)) == nil {
		// A deadline left in place would end a held call (a hang fault)
		// once the server starts watching the connection for a close.
		defer rc.SetReadDeadline(time.Time{})
	}
	if n := r.ContentLength; n > 0 {
		if !s.bodies.take(n) {
			return nil, 0, errOverBudget
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			s.bodies.give(n)
			return nil, 0, err
		}
		return b, n, nil
	}
	br := &budgetReader{r: io.LimitReader(r.Body, MaxRequestBody+1), b: s.bodies}
	b, err := io.ReadAll(br)
	if err == nil && len(b) > MaxRequestBody {
		err = errTooLarge
	}
	if err != nil {
		s.bodies.give(br.held)
		return nil, 0, err
	}
	return b, br.held, nil
}

// budgetReader takes from the budget what it reads.
type budgetReader struct {
	r    io.Reader
	b    *budget
	held int64
}

func (br *budgetReader) Read(p []byte) (int, error) {
	if len(p) > 64<<10 {
		p = p[:64<<10] // take what a read may bring, not what the buffer could hold
	}
	if !br.b.take(int64(len(p))) {
		return 0, errOverBudget
	}
	n, err := br.r.Read(p)
	br.b.give(int64(len(p) - n))
	br.held += int64(n)
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
