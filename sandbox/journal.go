package sandbox

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetherkit/tether/contracts"
)

// Kinds of journal entries.
const (
	KindCall     = "call"     // a call a client made to a vendor
	KindDelivery = "delivery" // one attempt to deliver a webhook
)

// Sources of an answer, as [Entry.Source] gives them.
const (
	SourceCassette    = "cassette"    // a recorded interaction
	SourceExample     = "example"     // the contract's own example
	SourceSynthesised = "synthesised" // made from the contract's schema
	SourceFault       = "fault"       // the fault plan
	SourceAuth        = "auth"        // refused for its credentials
	SourceValidation  = "validation"  // refused for breaking the contract (Strict)
	SourceRoute       = "route"       // no such vendor, path or method
	SourceTarget      = "target"      // for a delivery: the receiver's answer
	SourceLimit       = "limit"       // refused for the sandbox's own bounds: body size, budget, timeout
	SourceState       = "state"       // built from the objects earlier calls created, changed or deleted
)

// MaxJournalBody is how many bytes of each body the journal keeps; the
// rest is cut, and BodyCut says so.
const MaxJournalBody = 64 << 10

// MaxEntryFindings is how many findings the journal keeps of one call; a
// finding of rule [RuleFindingsCut] says how many more there were. Each
// message is cut to maxFindingMessage bytes.
const MaxEntryFindings = 100

const maxFindingMessage = 2 << 10

// Entry is one journaled call or delivery attempt. It is plain data and
// marshals to the JSON the admin API serves.
type Entry struct {
	Seq           uint64        `json:"seq"` // 1 for the first entry since the start or the last reset
	Kind          string        `json:"kind"`
	Time          time.Time     `json:"time"`
	Took          time.Duration `json:"took_ns"`
	Vendor        string        `json:"vendor,omitempty"`
	Tenant        string        `json:"tenant,omitempty"`
	Operation     string        `json:"operation,omitempty"`
	CorrelationID string        `json:"correlation_id,omitempty"`

	Method        string      `json:"method"`
	Path          string      `json:"path"` // after the vendor's name: the path the contract sees
	Query         string      `json:"query,omitempty"`
	RequestHeader http.Header `json:"request_header,omitempty"`
	RequestBody   string      `json:"request_body,omitempty"`

	Status         int         `json:"status"` // 0 when no answer was given (a reset, a hang)
	ResponseHeader http.Header `json:"response_header,omitempty"`
	ResponseBody   string      `json:"response_body,omitempty"`
	BodyCut        bool        `json:"body_cut,omitempty"`
	Source         string      `json:"source,omitempty"`
	Fault          string      `json:"fault,omitempty"` // the fault applied, as text

	Findings []contracts.Finding `json:"findings,omitempty"`

	// Delivery attempts only.
	Event   string `json:"event,omitempty"`
	Target  string `json:"target,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	Copy    int    `json:"copy,omitempty"`
	Error   string `json:"error,omitempty"`
}

// JournalFilter selects entries; zero fields select everything.
type JournalFilter struct {
	Vendor        string `json:"vendor,omitempty"`
	Tenant        string `json:"tenant,omitempty"`
	Operation     string `json:"operation,omitempty"`
	Kind          string `json:"kind,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	Status        int    `json:"status,omitempty"`
	After         uint64 `json:"after,omitempty"`    // only entries with a greater Seq
	Findings      bool   `json:"findings,omitempty"` // only entries with findings
	Limit         int    `json:"limit,omitempty"`    // at most this many, the oldest first
}

func (f *JournalFilter) pass(e *Entry) bool {
	return (f.Vendor == "" || e.Vendor == f.Vendor) &&
		(f.Tenant == "" || e.Tenant == f.Tenant) &&
		(f.Operation == "" || e.Operation == f.Operation) &&
		(f.Kind == "" || e.Kind == f.Kind) &&
		(f.CorrelationID == "" || e.CorrelationID == f.CorrelationID) &&
		(f.Status == 0 || e.Status == f.Status) &&
		e.Seq > f.After &&
		(!f.Findings || len(e.Findings) > 0)
}

// JournalPage is the answer to a journal query.
type JournalPage struct {
	Entries []Entry `json:"entries"`
	// Dropped counts the entries evicted from the ring since the start or
	// the last reset; a query may have missed them.
	Dropped uint64 `json:"dropped"`
	// Last is the Seq of the newest entry journaled; pass it as After to
	// see only what comes next.
	Last uint64 `json:"last"`
	Cap  int    `json:"cap"`
}

// record is an entry as the ring holds it: bodies stay the byte slices
// the pipeline already owns, and become text only when queried.
type record struct {
	Entry
	reqBody, respBody []byte
}

// journal is a ring of records: memory stays bounded however long the
// sandbox runs.
type journal struct {
	mu      sync.Mutex
	ring    []record
	next    int // where the next entry goes
	full    bool
	seq     uint64
	dropped uint64
}

func newJournal(capacity int) *journal { return &journal{ring: make([]record, capacity)} }

// add journals e with its bodies, which must not change afterwards; it
// sets e.Seq.
func (j *journal) add(e *Entry, reqBody, respBody []byte) uint64 {
	j.mu.Lock()
	j.seq++
	e.Seq = j.seq
	if j.full {
		j.dropped++
	}
	j.ring[j.next] = record{Entry: *e, reqBody: reqBody, respBody: respBody}
	j.next++
	if j.next == len(j.ring) {
		j.next, j.full = 0, true
	}
	j.mu.Unlock()
	return e.Seq
}

func (j *journal) query(f JournalFilter) JournalPage {
	j.mu.Lock()
	defer j.mu.Unlock()
	page := JournalPage{Entries: []Entry{}, Dropped: j.dropped, Last: j.seq, Cap: len(j.ring)}
	n := j.next
	start := 0
	if j.full {
		n, start = len(j.ring), j.next
	}
	for i := 0; i < n; i++ {
		r := &j.ring[(start+i)%len(j.ring)]
		if !f.pass(&r.Entry) {
			continue
		}
		page.Entries = append(page.Entries, r.entry())
		if f.Limit > 0 && len(page.Entries) == f.Limit {
			break
		}
	}
	return page
}

func (j *journal) reset() {
	j.mu.Lock()
	clear(j.ring)
	j.next, j.full, j.seq, j.dropped = 0, false, 0, 0
	j.mu.Unlock()
}

// entry is the record with its bodies as text, each cut to
// MaxJournalBody bytes.
func (r *record) entry() Entry {
	e := r.Entry
	// The ring shares header maps with the answers it journaled (cached
	// answers among them); what leaves it is the caller's own.
	e.RequestHeader = e.RequestHeader.Clone()
	e.ResponseHeader = e.ResponseHeader.Clone()
	e.Findings = slices.Clone(e.Findings)
	var cut1, cut2 bool
	if e.RequestBody == "" {
		e.RequestBody, cut1 = clip(r.reqBody)
	}
	if e.ResponseBody == "" {
		e.ResponseBody, cut2 = clip(r.respBody)
	}
	e.BodyCut = e.BodyCut || cut1 || cut2
	return e
}

// clip keeps at most MaxJournalBody bytes of a body. It keeps the bytes
// the journal holds, so entries whose bodies are over the cap are cut when
// journaled, not when read.
func clip(b []byte) (string, bool) {
	if len(b) > MaxJournalBody {
		return string(b[:MaxJournalBody]), true
	}
	return string(b), false
}

// boundFindings cuts e's findings to what the journal keeps.
func boundFindings(e *Entry) {
	if n := len(e.Findings); n > MaxEntryFindings {
		e.Findings = append(e.Findings[:MaxEntryFindings:MaxEntryFindings],
			finding(RuleFindingsCut, e.Operation, fmt.Sprintf("%d more findings of this call are not kept", n-MaxEntryFindings)))
	}
	for i := range e.Findings {
		if m := e.Findings[i].Message; len(m) > maxFindingMessage {
			e.Findings[i].Message = strings.ToValidUTF8(m[:maxFindingMessage], "") + "..."
		}
	}
}

// keep is what the journal holds of a body: at most MaxJournalBody bytes,
// copied when cut so that a large body is not kept alive by its head.
func keep(b []byte) ([]byte, bool) {
	if len(b) > MaxJournalBody {
		return bytes.Clone(b[:MaxJournalBody]), true
	}
	return b, false
}
