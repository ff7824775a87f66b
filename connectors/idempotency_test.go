package connectors

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestIdempotencyKey(t *testing.T) {
	k := IdempotencyKey("evt_1", "post message")
	if len(k) != 32 || strings.Trim(k, "0123456789abcdef") != "" {
		t.Errorf("IdempotencyKey = %q, want 32 lowercase hex digits", k)
	}
	if IdempotencyKey("evt_1", "post message") != k {
		t.Errorf("IdempotencyKey is not stable")
	}
	// Pinned, so a change that would orphan stored keys fails here.
	if want := "e6420ec7706b206cd0f93a3c649ac823"; k != want {
		t.Errorf("IdempotencyKey(evt_1, post message) = %s, want %s", k, want)
	}
	if IdempotencyKey("a", "bc") == IdempotencyKey("ab", "c") {
		t.Errorf("IdempotencyKey gives one key to (a, bc) and (ab, c)")
	}
}

func TestSetIdempotencyKey(t *testing.T) {
	tests := []struct {
		reason string
		method string
		want   string
	}{
		{"POST writes", http.MethodPost, "k"},
		{"PUT writes", http.MethodPut, "k"},
		{"PATCH writes", http.MethodPatch, "k"},
		{"DELETE writes", http.MethodDelete, "k"},
		{"GET does not", http.MethodGet, ""},
		{"HEAD does not", http.MethodHead, ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, "https://crm.example/deals", nil)
		SetIdempotencyKey(req, "k")
		if got := req.Header.Get("Idempotency-Key"); got != tt.want {
			t.Errorf("%s: Idempotency-Key %q, want %q", tt.reason, got, tt.want)
		}
	}
}

// checkStore runs the claim protocol on a store, concurrent claims
// included.
func checkStore(t *testing.T, s IdempotencyStore) {
	t.Helper()
	ctx := context.Background()
	step := func(reason, key string, wantClaimed, wantDone bool) {
		t.Helper()
		claimed, done, err := s.Claim(ctx, key)
		if err != nil || claimed != wantClaimed || done != wantDone {
			t.Errorf("%s: Claim(%q) = %v, %v, %v; want %v, %v", reason, key, claimed, done, err, wantClaimed, wantDone)
		}
	}
	step("a new key is claimed", "a", true, false)
	step("a claimed key is not claimed again", "a", false, false)
	if err := s.Release(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	step("a released key is claimed again", "a", true, false)
	if err := s.Complete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	step("a completed key is done", "a", false, true)
	if err := s.Release(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	step("releasing a done key leaves it done", "a", false, true)
	if err := s.Complete(ctx, "b\n\"odd\" key"); err != nil {
		t.Fatal(err)
	}
	step("a key completed without a claim is done, whatever it holds", "b\n\"odd\" key", false, true)

	// Of many concurrent claims of one key, one alone wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if claimed, _, _ := s.Claim(ctx, "race"); claimed {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("64 concurrent claims of one key: %d won, want 1", wins.Load())
	}
}

func TestMemoryStore(t *testing.T) {
	checkStore(t, NewMemoryStore())
}

func TestFileStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	s, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	checkStore(t, s)
	ctx := context.Background()
	s.Claim(ctx, "in flight") // dies with the process
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "late"); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Complete after Close: %v, want os.ErrClosed", err)
	}

	// A restart: done keys are done, claims are gone.
	s, err = OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		reason      string
		key         string
		wantClaimed bool
		wantDone    bool
	}{
		{"a completed key is still done", "a", false, true},
		{"an odd key survives the file", "b\n\"odd\" key", false, true},
		{"a claim does not survive", "in flight", true, false},
		{"a key Complete refused after Close is not done", "late", true, false},
	}
	for _, tt := range tests {
		claimed, done, err := s.Claim(ctx, tt.key)
		if err != nil || claimed != tt.wantClaimed || done != tt.wantDone {
			t.Errorf("%s: Claim(%q) after a restart = %v, %v, %v; want %v, %v", tt.reason, tt.key, claimed, done, err, tt.wantClaimed, tt.wantDone)
		}
	}
}

func TestFileStoreTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	// A crash while writing the key "c" left half its line.
	if err := os.WriteFile(path, []byte(`"a"`+"\n"+`"b"`+"\n"+`"c`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenFileStore(path)
	if err != nil {
		t.Fatalf("OpenFileStore with a torn last line: %v", err)
	}
	ctx := context.Background()
	for key, wantDone := range map[string]bool{"a": true, "b": true, "c": false, `"c`: false} {
		if _, done, _ := s.Claim(ctx, key); done != wantDone {
			t.Errorf("after a torn last line, key %q done = %v, want %v", key, done, wantDone)
		}
	}
	// The next key starts a clean line.
	if err := s.Complete(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	data, _ := os.ReadFile(path)
	if want := `"a"` + "\n" + `"b"` + "\n" + `"d"` + "\n"; string(data) != want {
		t.Errorf("file after a torn line and a Complete:\n%s\nwant\n%s", data, want)
	}
}

func TestFileStoreBadLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(path, []byte(`"a"`+"\nnot quoted\n"+`"c"`+"\n"), 0o600)
	_, err := OpenFileStore(path)
	if err == nil || !strings.Contains(err.Error(), path+":2:") {
		t.Errorf("OpenFileStore with a bad second line: %v; want an error naming %s:2", err, path)
	}
}

func FuzzFileStoreLoad(f *testing.F) {
	f.Add([]byte(`"a"` + "\n" + `"b"` + "\n"))
	f.Add([]byte(`"a"` + "\n" + `"b`))
	f.Add([]byte("\n\n"))
	f.Add([]byte(`"\u00e9\n"` + "\n" + `x`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, size, err := parseStoreKeys(data)
		if err != nil {
			if !strings.Contains(err.Error(), ":") {
				t.Errorf("error %q names no line", err)
			}
			return
		}
		if size > len(data) || (size > 0 && data[size-1] != '\n') || strings.Contains(string(data[size:]), "\n") {
			t.Fatalf("complete lines end at %d of %q", size, data)
		}
		// What loads, written again, loads the same.
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(strconv.Quote(k) + "\n")
		}
		again, _, err := parseStoreKeys([]byte(b.String()))
		if err != nil || len(again) != len(keys) {
			t.Fatalf("rewritten keys %q load as %q, %v", keys, again, err)
		}
		for i := range keys {
			if again[i] != keys[i] {
				t.Fatalf("key %d: %q, rewritten %q", i, keys[i], again[i])
			}
		}
	})
}
