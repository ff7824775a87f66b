package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func sampleLetter(id string, body []byte) DeadLetter {
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	return DeadLetter{
		Event: Event{ID: id, Type: "deal.updated", Tenant: "acme",
			Header: http.Header{"Content-Type": {"application/json"}, "X-Crm-Signature": {"sha256=00"}},
			Body:   body, Received: at},
		Error: "POST https://chat.example/messages: 503 Service Unavailable", Class: "retryable",
		Attempts: 3, CorrelationID: "corr-1", Time: at.Add(time.Second),
	}
}

func TestJSONLinesSinkRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	sink, err := OpenJSONLinesSink(path)
	if err != nil {
		t.Fatal(err)
	}
	withAuth := sampleLetter("evt_auth", []byte(`{}`))
	withAuth.Event.Header.Set("Authorization", "Bearer s3cret")
	letters := []DeadLetter{
		sampleLetter("evt_json", []byte(`{"id":"evt_json","deal":{"id":42}}`)),
		sampleLetter("evt_binary", []byte{0xff, 0x00, 0xfe}),
		sampleLetter("evt_empty", nil),
		withAuth,
	}
	for _, d := range letters {
		if err := sink.Put(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sink.Put(context.Background(), letters[0]); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Put after Close: %v, want os.ErrClosed", err)
	}

	got, err := ReadDeadLetters(path)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]DeadLetter(nil), letters...)
	want[3].Event.Header = withAuth.Event.Header.Clone()
	want[3].Event.Header.Set("Authorization", "REDACTED")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
	if withAuth.Event.Header.Get("Authorization") != "Bearer s3cret" {
		t.Errorf("writing a letter changed the event's own header")
	}

	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	tests := []struct {
		reason string
		line   int
		want   string
	}{
		{"a UTF-8 body is a readable string", 0, `"body":"{\"id\":\"evt_json\",\"deal\":{\"id\":42}}"`},
		{"another body is base64", 1, `"body_base64":"/wD+"`},
		{"the class, attempts and correlation ID are there", 0, `"class":"retryable","attempts":3,"correlation_id":"corr-1"`},
		{"a credential is not written", 3, `"Authorization":["REDACTED"]`},
	}
	for _, tt := range tests {
		if len(lines) != len(letters) || !strings.Contains(lines[tt.line], tt.want) {
			t.Errorf("%s: line %d of\n%s\nlacks %s", tt.reason, tt.line+1, data, tt.want)
		}
	}
}

func TestJSONLinesSinkConcurrentAndTorn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	sink, err := OpenJSONLinesSink(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			sink.Put(context.Background(), sampleLetter(fmt.Sprint("evt_", i), bytes.Repeat([]byte("x"), 10000)))
		})
	}
	wg.Wait()
	sink.Close()

	// A crash cut the next line short.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"event":{"id":"evt_torn"`)
	f.Close()
	got, err := ReadDeadLetters(path)
	if err != nil || len(got) != 20 {
		t.Fatalf("ReadDeadLetters with a torn last line: %d letters, %v; want the 20 whole ones", len(got), err)
	}

	// Reopening drops the torn line, so the next letter reads.
	sink, err = OpenJSONLinesSink(path)
	if err != nil {
		t.Fatal(err)
	}
	sink.Put(context.Background(), sampleLetter("evt_after", nil))
	sink.Close()
	got, err = ReadDeadLetters(path)
	if err != nil || len(got) != 21 || got[20].Event.ID != "evt_after" {
		t.Errorf("after reopening a file with a torn line: %d letters, %v; want 21 ending with evt_after", len(got), err)
	}
}

func TestReadDeadLettersErrors(t *testing.T) {
	dir := t.TempDir()
	good, _ := json.Marshal(sampleLetter("evt_1", nil))
	tests := []struct {
		reason string
		data   string
		want   string // in the error
	}{
		{"a line that is not JSON names its line", string(good) + "\n\nnot json\n", "bad.jsonl:3:"},
		{"a body in both forms is refused", `{"event":{"id":"e","body":"a","body_base64":"YQ=="}}` + "\n", "bad.jsonl:1: event has both"},
		{"a bad base64 body is refused", `{"event":{"id":"e","body_base64":"!!"}}` + "\n", "bad.jsonl:1: event body_base64"},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, "bad.jsonl")
		os.WriteFile(path, []byte(tt.data), 0o600)
		_, err := ReadDeadLetters(path)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one with %q", tt.reason, err, tt.want)
		}
	}
	if _, err := ReadDeadLetters(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v, want os.ErrNotExist", err)
	}
}

func TestMemorySink(t *testing.T) {
	var s MemorySink
	s.Put(context.Background(), sampleLetter("evt_1", nil))
	got := s.Letters()
	got[0].Error = "changed"
	if len(s.Letters()) != 1 || s.Letters()[0].Error == "changed" {
		t.Errorf("Letters = %+v, want one letter and a copy", s.Letters())
	}
}

func FuzzReadDeadLetters(f *testing.F) {
	good, _ := json.Marshal(sampleLetter("evt_1", []byte(`{"a":1}`)))
	binary, _ := json.Marshal(sampleLetter("evt_2", []byte{0xff}))
	f.Add(string(good) + "\n" + string(binary) + "\n")
	f.Add(string(good) + "\n" + `{"event":`)
	f.Add("\n \n")
	f.Add(`{"event":{"body_base64":"!"}}` + "\n")
	f.Fuzz(func(t *testing.T, data string) {
		letters, err := decodeDeadLetters(strings.NewReader(data), "fuzz.jsonl")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.jsonl:") {
				t.Errorf("error %q names no file:line", err)
			}
			return
		}
		// What reads, written again, reads the same.
		var b bytes.Buffer
		for _, d := range letters {
			line, err := json.Marshal(d)
			if err != nil {
				t.Fatalf("marshal a letter that was read: %v", err)
			}
			b.Write(append(line, '\n'))
		}
		again, err := decodeDeadLetters(&b, "again.jsonl")
		if err != nil || len(again) != len(letters) {
			t.Fatalf("rewritten letters read as %d, %v; want %d", len(again), err, len(letters))
		}
		for i := range letters {
			if !bytes.Equal(again[i].Event.Body, letters[i].Event.Body) || again[i].Error != letters[i].Error {
				t.Fatalf("letter %d changed when written again", i)
			}
		}
	})
}
