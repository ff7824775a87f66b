package sandbox

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// serve runs handler on a real HTTP/1.1 server and returns its URL and a
// plain client that opens a fresh connection per call.
func serve(t *testing.T, handler http.HandlerFunc) (string, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func TestResetConnection(t *testing.T) {
	handlerErr := make(chan error, 1)
	url, client := serve(t, func(w http.ResponseWriter, r *http.Request) {
		handlerErr <- resetConnection(w)
	})
	resp, err := client.Get(url)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET answered %s; want the connection reset", resp.Status)
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
		t.Errorf("GET error = %v; want connection reset by peer (or EOF)", err)
	}
	if err := <-handlerErr; err != nil {
		t.Errorf("resetConnection: %v", err)
	}
}

func TestResetConnectionWithoutHijack(t *testing.T) {
	if err := resetConnection(httptest.NewRecorder()); err == nil || !strings.Contains(err.Error(), "reset connection") {
		t.Errorf("resetConnection on a recorder = %v; want an error saying the reset failed", err)
	}
}

func TestHangUntilDuration(t *testing.T) {
	url, client := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hang(r.Context(), w, 100*time.Millisecond)
	})
	start := time.Now()
	resp, err := client.Get(url)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET answered %s; want the connection closed without an answer", resp.Status)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("GET error = %v; want EOF", err)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("the connection closed after %v; want at least 100ms", waited)
	}
}

func TestHangUntilClientGivesUp(t *testing.T) {
	done := make(chan struct{})
	url, client := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hang(r.Context(), w, time.Minute)
		close(done)
	})
	client.Timeout = 100 * time.Millisecond
	resp, err := client.Get(url)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET answered %s; want the client to time out", resp.Status)
	}
	var ue interface{ Timeout() bool }
	if !errors.As(err, &ue) || !ue.Timeout() {
		t.Errorf("GET error = %v; want a timeout", err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("hang still holds the call 5s after the client gave up")
	}
}

func TestWriteTruncated(t *testing.T) {
	body := []byte(`{"id":"deal-1","name":"Annual renewal","amount":12000,"stage":"won","owner":"ada"}`)
	handlerErr := make(chan error, 1)
	url, client := serve(t, func(w http.ResponseWriter, r *http.Request) {
		h := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"r1"}}
		handlerErr <- writeTruncated(w, http.StatusCreated, h, body)
	})
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET: %v; want the headers to arrive", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.ContentLength != int64(len(body)) || resp.Header.Get("X-Request-Id") != "r1" {
		t.Errorf("answer = %s, Content-Length %d, X-Request-Id %q; want 201, %d, r1", resp.Status, resp.ContentLength, resp.Header.Get("X-Request-Id"), len(body))
	}
	got, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading the body: %v; want io.ErrUnexpectedEOF", err)
	}
	if !bytes.Equal(got, body[:len(body)/2]) {
		t.Errorf("body read = %q; want its first half %q", got, body[:len(body)/2])
	}
	if err := <-handlerErr; err != nil {
		t.Errorf("writeTruncated: %v", err)
	}
}

func TestWriteTruncatedEmptyBody(t *testing.T) {
	url, client := serve(t, func(w http.ResponseWriter, r *http.Request) {
		writeTruncated(w, http.StatusOK, nil, nil)
	})
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading an empty truncated body: %v; want io.ErrUnexpectedEOF", err)
	}
}

func TestMalformedBody(t *testing.T) {
	parsesJSON := func(b []byte) bool { return json.Valid(b) }
	parsesXML := func(b []byte) bool {
		d := xml.NewDecoder(bytes.NewReader(b))
		for {
			if _, err := d.Token(); err != nil {
				return err == io.EOF
			}
		}
	}
	parsesForm := func(b []byte) bool { _, err := url.ParseQuery(string(b)); return err == nil }
	cases := []struct {
		body        string
		contentType string
		parses      func([]byte) bool
		reason      string
	}{
		{`{"id":"deal-1","amount":12000}`, "application/json", parsesJSON, "a JSON object"},
		{`[1,2,3]`, "application/json; charset=utf-8", parsesJSON, "a list whose prefix plus a bracket would parse"},
		{`{"a":"b"}`, "application/problem+json", parsesJSON, "a +json type"},
		{`7`, "application/json", parsesJSON, "one byte"},
		{``, "application/json", parsesJSON, "an empty body"},
		{`{"x":1}`, "", parsesJSON, "no type, but JSON by its look"},
		{`<deal><id>1</id></deal>`, "application/xml", parsesXML, "XML"},
		{`a=1&b=2`, "application/x-www-form-urlencoded", parsesForm, "a form"},
		{`hello`, "text/plain", utf8.Valid, "text becomes invalid UTF-8"},
	}
	for _, tc := range cases {
		got := malformedBody([]byte(tc.body), tc.contentType)
		if len(got) == 0 {
			t.Errorf("malformedBody(%q, %q) is empty (%s)", tc.body, tc.contentType, tc.reason)
		}
		if tc.parses(got) {
			t.Errorf("malformedBody(%q, %q) = %q still parses (%s)", tc.body, tc.contentType, got, tc.reason)
		}
		if again := malformedBody([]byte(tc.body), tc.contentType); !bytes.Equal(got, again) {
			t.Errorf("malformedBody(%q, %q) gave %q then %q; want the same (%s)", tc.body, tc.contentType, got, again, tc.reason)
		}
	}
	in := []byte(`{"a":1}`)
	malformedBody(in, "application/json")
	if string(in) != `{"a":1}` {
		t.Errorf("malformedBody changed its input to %q", in)
	}
}
