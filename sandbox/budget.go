package sandbox

import (
	"sync"
	"time"
)

// Bounds of what one request may cost the sandbox before it is answered.
const (
	// MaxRequestBody is the largest request body the sandbox reads; a
	// larger one is answered 413.
	MaxRequestBody = 32 << 20
	// MaxHeaderBytes bounds a request's header block, as
	// http.Server.MaxHeaderBytes does; the journal keeps headers.
	MaxHeaderBytes = 64 << 10

	headerTimeout = 10 * time.Second
	idleTimeout   = 2 * time.Minute
	// budgetRetry is the Retry-After given when the body budget is spent:
	// bodies in flight are read within the body timeout.
	budgetRetry = "1"
)

// budget counts the bytes of request bodies held at once, across calls,
// so that many large bodies at a time cannot take all of the memory: a
// body that does not fit is refused at once, not queued.
type budget struct {
	mu   sync.Mutex
	free int64
}

func newBudget(n int64) *budget { return &budget{free: n} }

// take reserves n bytes, or reports that they are not there.
func (b *budget) take(n int64) bool {
	if n <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.free {
		return false
	}
	b.free -= n
	return true
}

// give returns n bytes taken before.
func (b *budget) give(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
}
