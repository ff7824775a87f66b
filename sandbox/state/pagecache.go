package state

import (
	"net/http"
	"sync"
)

// pageCache keeps the written bodies of a tenant's latest list pages, so
// that a list asked again before anything in its bucket changed is sent
// as written, not gathered and written again. An entry holds the version
// of the bucket it was written from, and is used only while the bucket
// has that version: every change of a bucket gives it a new one.
//
// The cache holds at most maxPageCache bytes of bodies (less for a small
// cap: an eighth of it); past that it starts again empty. Its bodies are
// copies of what the state holds, which the cap counts, so it is bounded
// apart from the cap.
type pageCache struct {
	mu      sync.Mutex
	entries map[string]cachedPage
	size    int64
	budget  int64
}

const maxPageCache = 1 << 20

type cachedPage struct {
	ver    uint64 // the bucket's version the page was written from
	tmpl   *decodedTemplate
	status int
	header http.Header
	body   []byte
}

func newPageCache(capacity int64) *pageCache {
	return &pageCache{budget: min(maxPageCache, capacity/8)}
}

// get is the page written for key from the bucket at version ver.
func (p *pageCache) get(key string, ver uint64, tmpl *decodedTemplate) (cachedPage, bool) {
	p.mu.Lock()
	e, ok := p.entries[key]
	p.mu.Unlock()
	return e, ok && e.ver == ver && e.tmpl == tmpl
}

func (p *pageCache) put(key string, e cachedPage) {
	n := int64(len(e.body) + len(key))
	if n > p.budget {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.entries[key]; ok {
		p.size -= int64(len(old.body) + len(key))
	}
	if p.entries == nil || p.size+n > p.budget {
		p.entries, p.size = map[string]cachedPage{}, 0
	}
	p.entries[key] = e
	p.size += n
}

// clear forgets every page, for a state replaced as a whole.
func (p *pageCache) clear() {
	p.mu.Lock()
	p.entries, p.size = nil, 0
	p.mu.Unlock()
}
