package sandbox

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// openBody starts a call whose body declares n bytes and sends only the
// first few, and returns its connection.
func openBody(t *testing.T, s *Sandbox, n int) net.Conn {
	t.Helper()
	host := strings.TrimPrefix(s.URL(), "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /crm/v2/deals HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", host, n)
	return conn
}

// waitHeld waits until the budget holds at least n bytes.
func waitHeld(t *testing.T, s *Sandbox, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		s.bodies.mu.Lock()
		held := s.cfg.bodyBudget - s.bodies.free
		s.bodies.mu.Unlock()
		if held >= n {
			return
		}
	}
	t.Fatalf("the budget never held %d bytes", n)
}

// TestBodyBudget is the regression test of the bytes in flight: before,
// each body was bounded but their sum was not, and ten large bodies at
// once took gigabytes.
func TestBodyBudget(t *testing.T) {
	s := startCRM(t, WithBodyBudget(MaxRequestBody))
	first := openBody(t, s, 20<<20)
	waitHeld(t, s, 20<<20)

	// 20 MiB are held: 16 more do not fit, 1 KiB does.
	big := `{"name":"` + strings.Repeat("x", 16<<20) + `","amount":1}`
	resp, body := call(t, "POST", s.VendorURL("crm")+"/deals", big, "Authorization", "Bearer t", "Content-Type", "application/json")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a body over the budget: %d (Retry-After %q) %s; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	e := lastEntry(t, s)
	if e.Status != 503 || e.Source != SourceLimit || len(e.Findings) != 1 || e.Findings[0].ID != RuleBodyBudget {
		t.Errorf("journaled %d %s %v; want 503 from the limit with a %s finding", e.Status, e.Source, e.Findings, RuleBodyBudget)
	}
	resp, body = call(t, "POST", s.VendorURL("crm")+"/deals", `{"name":"small","amount":1}`, "Authorization", "Bearer t", "Content-Type", "application/json")
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("a small body beside the held one: %d %s, want 201", resp.StatusCode, body)
	}

	// A chunked body is taken as it comes, and refused once it does not fit.
	req, _ := http.NewRequest("POST", s.VendorURL("crm")+"/deals", io.MultiReader(strings.NewReader(big)))
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Content-Type", "application/json")
	r, err := http.DefaultClient.Do(req)
	if err == nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("a chunked body over the budget: %d, want 503", r.StatusCode)
		}
	} // else the sandbox closed the connection while the body was sent, as it may

	// Once the held body is done, its bytes are free again.
	first.Write([]byte(`"name":"n","amount":1}` + strings.Repeat(" ", 20<<20-23)))
	st, err := http.ReadResponse(bufio.NewReader(first), nil)
	if err != nil || st.StatusCode != http.StatusCreated {
		t.Fatalf("the held body, completed: %v %v", st, err)
	}
	waitHeld(t, s, 0)
	resp, body = call(t, "POST", s.VendorURL("crm")+"/deals", big, "Authorization", "Bearer t", "Content-Type", "application/json")
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("the large body once the budget is free: %d %s, want 201", resp.StatusCode, body)
	}
	if free := s.bodies.free; free != MaxRequestBody {
		t.Errorf("after every call, %d bytes of the budget are free; want all %d", free, MaxRequestBody)
	}
}

// TestBodyTimeout is the regression test of slow bodies: before, a body
// trickling a byte at a time held its connection and buffer for ever.
func TestBodyTimeout(t *testing.T) {
	s := startCRM(t, WithBodyTimeout(300*time.Millisecond))
	conn := openBody(t, s, 1000)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a body that stopped: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Errorf("a body that stopped: %d (close %v), want 408 and the connection closed", resp.StatusCode, resp.Close)
	}
	waitHeld(t, s, 0)
	e := lastEntry(t, s)
	if e.Status != 408 || len(e.Findings) != 1 || e.Findings[0].ID != RuleBodyTimeout {
		t.Errorf("journaled %d %v, want 408 with a %s finding", e.Status, e.Findings, RuleBodyTimeout)
	}

	// The deadline is for the body only: a call held by a hang fault after
	// its body arrived is held for the fault's time, not the body's.
	if err := s.SetFaults(&FaultPlan{Faults: []Fault{Hang(time.Second)}}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	req, _ := http.NewRequest("POST", s.VendorURL("crm")+"/deals", strings.NewReader(`{"name":"n","amount":1}`))
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Content-Type", "application/json")
	if r, err := http.DefaultClient.Do(req); err == nil {
		r.Body.Close()
	}
	if took := time.Since(t0); took < 900*time.Millisecond {
		t.Errorf("a hang of 1s with a body ended after %s: the body's deadline cut it", took)
	}
}

func TestBodyLimits(t *testing.T) {
	s := startCRM(t)
	host := strings.TrimPrefix(s.URL(), "http://")

	// A declared length over the bound is refused before a byte is read.
	conn := openBody(t, s, MaxRequestBody+1)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a declared %d bytes: %v %v, want 413", MaxRequestBody+1, resp, err)
	}
	e := lastEntry(t, s)
	if len(e.Findings) != 1 || e.Findings[0].ID != RuleBodyTooLarge {
		t.Errorf("journaled %v, want a %s finding", e.Findings, RuleBodyTooLarge)
	}

	// Headers are bounded too: the journal keeps them.
	c2, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fmt.Fprintf(c2, "GET /crm/v2/ping HTTP/1.1\r\nHost: %s\r\nX-Big: %s\r\n\r\n", host, strings.Repeat("x", 2*MaxHeaderBytes))
	resp, err = http.ReadResponse(bufio.NewReader(c2), nil)
	if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("headers of %d bytes: %v %v, want 431", 2*MaxHeaderBytes, resp, err)
	}
}

// TestFindingsBounded: the journal keeps a bounded number of findings of a
// call, each of bounded length, however many the body breaks.
func TestFindingsBounded(t *testing.T) {
	e := &Entry{Operation: "createDeal"}
	for i := 0; i < MaxEntryFindings+50; i++ {
		f := finding(RuleVendorUnknown, "", strings.Repeat("y", 3*maxFindingMessage))
		e.Findings = append(e.Findings, f)
	}
	boundFindings(e)
	last := e.Findings[len(e.Findings)-1]
	if len(e.Findings) != MaxEntryFindings+1 || last.ID != RuleFindingsCut || !strings.Contains(last.Message, "50 more") {
		t.Fatalf("kept %d findings, the last %s %q; want %d and one saying 50 more", len(e.Findings), last.ID, last.Message, MaxEntryFindings+1)
	}
	if len(e.Findings[0].Message) > maxFindingMessage+3 {
		t.Errorf("a message of %d bytes was kept whole", len(e.Findings[0].Message))
	}
}
