package connectors

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
)

// IdempotencyKey returns the key of doing action for the event eventID:
// 32 lowercase hex digits, the first half of a SHA-256 over both strings,
// each prefixed with its length so that no two pairs share a key. It is
// stable across releases: stores and vendors keep these keys.
func IdempotencyKey(eventID, action string) string {
	h := sha256.New()
	for _, s := range []string{eventID, action} {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// SetIdempotencyKey sets the Idempotency-Key header of req to key when req
// writes (POST, PUT, PATCH or DELETE), so that a vendor that honours the
// header applies a retried write once. It leaves other requests alone.
func SetIdempotencyKey(req *http.Request, key string) {
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		req.Header.Set("Idempotency-Key", key)
	}
}

// IdempotencyStore keeps which keys (see [IdempotencyKey]) are done, so an
// event already handled is not handled again, and which are claimed, so
// two deliveries of one event at once do not both run.
//
// The protocol: Claim a key before the work; then Complete it when the
// work is done for good (handled, or dead-lettered), or Release it when a
// later attempt should do the work. Claim is atomic: of concurrent claims
// of a key, one alone gets claimed.
//
// A store keeps claims in memory only: a claim dies with the process that
// made it, whose work died too, so a later delivery runs again.
type IdempotencyStore interface {
	// Claim claims key for the caller (claimed), or reports that its work
	// is done already (done), or neither when another caller holds it.
	Claim(ctx context.Context, key string) (claimed, done bool, err error)
	// Complete marks key done and ends any claim on it.
	Complete(ctx context.Context, key string) error
	// Release ends the claim on key without marking it done. Releasing a
	// key that is done or not claimed does nothing.
	Release(ctx context.Context, key string) error
}

// keyTable is the state both stores share: done keys and claims.
type keyTable struct {
	mu      sync.Mutex
	done    map[string]bool
	claimed map[string]bool
}

func newKeyTable() keyTable {
	return keyTable{done: map[string]bool{}, claimed: map[string]bool{}}
}

// claim must be called with mu held.
func (t *keyTable) claim(key string) (claimed, done bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.done[key]:
		return false, true
	case t.claimed[key]:
		return false, false
	}
	t.claimed[key] = true
	return true, false
}

// release drops the claim on key.
func (t *keyTable) release(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.claimed, key)
}

// MemoryStore is an [IdempotencyStore] in memory, safe for concurrent use.
// It forgets everything when the process ends; see [OpenFileStore] for
// one that does not.
type MemoryStore struct{ t keyTable }

// NewMemoryStore returns an empty [MemoryStore].
func NewMemoryStore() *MemoryStore { return &MemoryStore{t: newKeyTable()} }

// Claim implements [IdempotencyStore].
func (s *MemoryStore) Claim(_ context.Context, key string) (claimed, done bool, err error) {
	claimed, done = s.t.claim(key)
	return claimed, done, nil
}

// Complete implements [IdempotencyStore].
func (s *MemoryStore) Complete(_ context.Context, key string) error {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	delete(s.t.claimed, key)
	s.t.done[key] = true
	return nil
}

// Release implements [IdempotencyStore].
func (s *MemoryStore) Release(_ context.Context, key string) error {
	s.t.release(key)
	return nil
}

// FileStore is an [IdempotencyStore] whose done keys survive restarts, in
// a file. Safe for concurrent use within one process; two processes must
// not share a file.
//
// The file holds one done key per line, as a Go-quoted string, appended
// and synced to disk by each Complete before it returns. It grows by a
// line per key and is never compacted.
type FileStore struct {
	t    keyTable
	path string
	f    *os.File // nil once closed
	size int64    // of the file's complete lines
}

// OpenFileStore opens the store in the file at path, creating it when it
// does not exist, and loads its keys. A last line cut short (by a crash
// during a write: it has no newline) is dropped from the file, as its
// key was never reported done; any other bad line is an error naming
// path and line.
func OpenFileStore(path string) (*FileStore, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open idempotency store: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read idempotency store: %w", err)
	}
	keys, n, err := parseStoreKeys(data)
	size := int64(n)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read idempotency store %s:%w", path, err)
	}
	if size < int64(len(data)) {
		if err := f.Truncate(size); err != nil {
			f.Close()
			return nil, fmt.Errorf("drop the torn last line of idempotency store %s: %w", path, err)
		}
	}
	s := &FileStore{t: newKeyTable(), path: path, f: f, size: size}
	for _, k := range keys {
		s.t.done[k] = true
	}
	return s, nil
}

// parseStoreKeys reads the keys of a store file and returns the length of
// its complete lines. An error starts with the line number and a colon.
func parseStoreKeys(data []byte) (keys []string, size int, err error) {
	line := 0
	for {
		i := bytes.IndexByte(data[size:], '\n')
		if i < 0 {
			return keys, size, nil // a torn last line, or none
		}
		line++
		k, err := strconv.Unquote(string(data[size : size+i]))
		if err != nil {
			return nil, 0, fmt.Errorf("%d: not a quoted key: %q", line, excerpt(data[size:size+i]))
		}
		keys = append(keys, k)
		size += i + 1
	}
}

// Claim implements [IdempotencyStore].
func (s *FileStore) Claim(_ context.Context, key string) (claimed, done bool, err error) {
	claimed, done = s.t.claim(key)
	return claimed, done, nil
}

// Complete implements [IdempotencyStore]: it returns once the key is on
// disk. When it fails, the key is neither done nor claimed.
func (s *FileStore) Complete(_ context.Context, key string) error {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	if s.t.done[key] {
		delete(s.t.claimed, key)
		return nil
	}
	delete(s.t.claimed, key)
	if s.f == nil {
		return fmt.Errorf("complete key in idempotency store %s: %w", s.path, os.ErrClosed)
	}
	line := strconv.Quote(key) + "\n"
	if _, err := s.f.WriteString(line); err != nil {
		// Cut off what was written, so the next line starts clean.
		s.f.Truncate(s.size)
		return fmt.Errorf("complete key in idempotency store: %w", err)
	}
	s.size += int64(len(line))
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("complete key in idempotency store: %w", err)
	}
	s.t.done[key] = true
	return nil
}

// Release implements [IdempotencyStore].
func (s *FileStore) Release(_ context.Context, key string) error {
	s.t.release(key)
	return nil
}

// Close closes the file. Claims still answer afterwards, but Complete
// fails.
func (s *FileStore) Close() error {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("close idempotency store: %w", err)
	}
	return nil
}
