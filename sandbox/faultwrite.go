package sandbox

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// These helpers misbehave on the wire for the faults that are not an answer.
// They take the connection from net/http (hijack), which HTTP/1.x allows and
// HTTP/2 does not; where hijacking fails they return an error and the
// caller may answer normally or panic with http.ErrAbortHandler.

// resetConnection closes the call's connection with a TCP reset (linger 0),
// so the client sees "connection reset by peer" rather than an answer.
func resetConnection(w http.ResponseWriter) error {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return fmt.Errorf("reset connection: %w", err)
	}
	if tcp, ok := netConn(conn).(*net.TCPConn); ok {
		// Linger 0 makes Close send RST instead of FIN.
		_ = tcp.SetLinger(0)
	}
	return conn.Close()
}

// netConn unwraps a TLS connection to the TCP one beneath.
func netConn(c net.Conn) net.Conn {
	if u, ok := c.(interface{ NetConn() net.Conn }); ok {
		return u.NetConn()
	}
	return c
}

// hang holds the call until d has passed or ctx (the request's context) is
// done because the client gave up, then closes the connection without
// writing anything.
func hang(ctx context.Context, w http.ResponseWriter, d time.Duration) {
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}

// writeTruncated sends the headers h and status with the Content-Length of
// the whole body, then about half of the body, then closes the connection,
// so the client's read of the body fails with io.ErrUnexpectedEOF. An empty
// body is declared as one byte, so that it too comes up short.
func writeTruncated(w http.ResponseWriter, status int, h http.Header, body []byte) error {
	hdr := w.Header()
	for k, v := range h {
		hdr[k] = append([]string(nil), v...)
	}
	hdr.Del("Transfer-Encoding")
	hdr.Set("Content-Length", strconv.Itoa(max(len(body), 1)))
	w.WriteHeader(status)
	if _, err := w.Write(body[:len(body)/2]); err != nil {
		return fmt.Errorf("write truncated body: %w", err)
	}
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return fmt.Errorf("write truncated body: %w", err)
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		return fmt.Errorf("write truncated body: %w", err)
	}
	return conn.Close()
}

// malformedBody is body spoiled so that it no longer parses as contentType,
// the same every time: its first half (at least one byte) followed by a
// character that cannot continue it. JSON and XML get "<", which no JSON
// document contains outside a string and no string here is closed after;
// a form gets a broken %-escape; anything else an invalid UTF-8 byte. The
// result is never empty.
func malformedBody(body []byte, contentType string) []byte {
	cut := min(len(body), max(len(body)/2, 1))
	out := append([]byte(nil), body[:cut]...)
	mt := strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"),
		mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return append(out, '<')
	case mt == "application/x-www-form-urlencoded":
		return append(out, "%zz"...)
	case mt == "":
		if t := strings.TrimSpace(string(body)); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			return append(out, '<')
		}
	}
	return append(out, 0xff)
}

// retryAfterValue is the Retry-After header for a window with left to run:
// whole seconds rounded up (at least 1), or with date the HTTP date of the
// window's end, rounded up to the second.
func retryAfterValue(left time.Duration, date bool, now time.Time) string {
	if date {
		end := now.Add(left)
		if t := end.Truncate(time.Second); !t.Equal(end) {
			end = t.Add(time.Second)
		}
		return end.UTC().Format(http.TimeFormat)
	}
	secs := left / time.Second
	if left%time.Second != 0 {
		secs++
	}
	return strconv.FormatInt(max(int64(secs), 1), 10)
}
