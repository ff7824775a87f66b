package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDeliverFileConfined is the regression test of webhook files: before,
// File named any file of the host, /etc/passwd came back in the error and
// /dev/zero was read until memory ran out.
func TestDeliverFileConfined(t *testing.T) {
	dir := t.TempDir()
	events, err := os.ReadFile(filepath.Join("testdata", "events.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("events.yaml", events)
	nested := write("more/events.yaml", events)
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(MaxEventsFile + 1) // sparse: costs no disk
	f.Close()
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	if err := os.WriteFile(outside, []byte("the-secret-content: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	rc, target := startReceiver(t)
	s := startCRM(t, WithEventsDir(dir))
	none := startCRM(t)

	for _, tc := range []struct {
		reason string
		s      *Sandbox
		file   string
		want   string // in the error; "" for a delivery
	}{
		{"a file in the directory", s, good, ""},
		{"a file below it", s, nested, ""},
		{"a relative name that leads into it", s, relTo(t, good), ""},
		{"/etc/passwd", s, "/etc/passwd", "outside the events directories"},
		{"/dev/zero", s, "/dev/zero", "outside the events directories"},
		{"a way out by ..", s, filepath.Join(dir, "..", filepath.Base(filepath.Dir(outside)), "secret.yaml"), "outside"},
		{"a link out of the directory", s, filepath.Join(dir, "link.yaml"), "escapes"},
		{"a link to a device", s, filepath.Join(dir, "zero.yaml"), "escapes"},
		{"a FIFO, which would block the reader", s, filepath.Join(dir, "fifo.yaml"), "not a regular file"},
		{"a file over the bound", s, big, "may hold"},
		{"a file that is not there", s, filepath.Join(dir, "nope.yaml"), "no such file"},
		{"a sandbox without an events directory", none, good, "reads no events files"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n := len(rc.received())
		t0 := time.Now()
		_, err := tc.s.Deliver(ctx, Webhook{Vendor: "crm", File: tc.file, Target: target})
		cancel()
		var ue *usageError
		switch {
		case tc.want == "" && (err != nil || len(rc.received()) != n+2):
			t.Errorf("%s: %v, %d events received; want both events delivered", tc.reason, err, len(rc.received())-n)
		case tc.want != "" && (!errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want a refusal containing %q", tc.reason, err, tc.want)
		case tc.want != "" && len(rc.received()) != n:
			t.Errorf("%s: refused, yet events were delivered", tc.reason)
		case err != nil && (strings.Contains(err.Error(), "root:") || strings.Contains(err.Error(), "the-secret-content")):
			t.Errorf("%s: the refusal quotes the file: %v", tc.reason, err)
		case time.Since(t0) > 5*time.Second:
			t.Errorf("%s: took %s", tc.reason, time.Since(t0))
		}
	}
}

func relTo(t *testing.T, p string) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// TestDeliverTargetsConfined is the regression test of delivery targets:
// before, the sandbox posted to any URL it was given and journaled the
// answer, a request forger for whoever reached the admin API.
func TestDeliverTargetsConfined(t *testing.T) {
	// 192.0.2.0/24 is for documentation (RFC 5737): nothing answers there,
	// so an allowed target is an attempt with an error, and a refused one
	// is refused before any attempt.
	s := startCRM(t, WithTargetHost("192.0.2.10", "connector.invalid:8080"))
	_, loopback := startReceiver(t)
	for _, tc := range []struct {
		reason, target string
		refused        bool
	}{
		{"the loopback interface", loopback, false},
		{"localhost", strings.Replace(loopback, "127.0.0.1", "localhost", 1), false},
		{"a host given at start, any port", "http://192.0.2.10:9/events", false},
		{"a host and port given at start", "http://connector.invalid:8080/events", false},
		{"a host given at start, another port", "http://connector.invalid:8081/events", true},
		{"an address of the network", "http://192.0.2.11:9/events", true},
		{"a metadata service", "http://169.254.169.254/latest/meta-data/", true},
		{"a name that merely starts with localhost", "http://localhost.evil.example/", true},
		{"credentials in the URL", "http://user:pass@127.0.0.1:9/", true},
		{"not http", "file:///etc/passwd", true},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		attempts, err := s.Deliver(ctx, Webhook{Vendor: "crm", Event: "deal.updated", Target: tc.target, Timeout: Duration(300 * time.Millisecond)})
		cancel()
		var ue *usageError
		refused := errors.As(err, &ue) && len(attempts) == 0
		if refused != tc.refused {
			t.Errorf("%s: %s gave %d attempts, %v; want refused %v", tc.reason, tc.target, len(attempts), err, tc.refused)
		}
	}

	// Registered through the admin API, with the admin token.
	target := "http://192.0.2.11:9/events"
	if err := s.Client().AllowTarget(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	attempts, err := s.Deliver(context.Background(), Webhook{Vendor: "crm", Event: "deal.updated", Target: target, Timeout: Duration(300 * time.Millisecond)})
	var ue *usageError
	if errors.As(err, &ue) || len(attempts) != 1 {
		t.Errorf("a registered target: %d attempts, %v; want one attempt", len(attempts), err)
	}
	if err := NewClient(s.URL(), nil).AllowTarget(context.Background(), "http://192.0.2.12/"); err == nil {
		t.Error("a client without the admin token registered a target")
	}
}
