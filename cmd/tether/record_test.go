package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/internal/atomicfile"
)

// TestMain lets the test binary stand in for the tether binary: tests that
// need a real process (signals, kills) start this binary with
// TETHER_TEST_AS_CLI=1 and tether's own arguments.
func TestMain(m *testing.M) {
	if os.Getenv("TETHER_TEST_AS_CLI") == "1" {
		main()
		return
	}
	// testcontainers-go reads its settings at its first call, which a
	// test's Docker check may make before a command sets them.
	containerDefaults()
	os.Exit(m.Run())
}

const (
	vendorToken = "vendor-live-token-0042"
	vendorKey   = "sk_test_51HqLyjWDarjtT1zdp7dcXyZ"
)

// keysVendor is a vendor that wants a bearer token and answers with a body
// holding a Stripe-shaped key. /v1/keys/broken answers with a body that
// breaks the contract. size pads answers, to make saving slow.
func keysVendor(t *testing.T, size int) (*httptest.Server, *int) {
	t.Helper()
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Header.Get("Authorization") != "Bearer "+vendorToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/v1/keys/")
		w.Header().Set("Content-Type", "application/json")
		if id == "broken" {
			fmt.Fprint(w, `{"id":7,"object":"api_key"}`)
			return
		}
		padding := strings.Repeat("lorem ipsum dolor sit amet ", size/27)
		fmt.Fprintf(w, `{"id":%q,"object":"api_key","secret":%q,"notes":%q}`, id, vendorKey, padding)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// recording is a `tether record` process.
type recording struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listening = regexp.MustCompile(`listening on http://(\S+),`)

func startRecording(t *testing.T, args ...string) *recording {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"record", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "TETHER_TEST_AS_CLI=1")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rec := &recording{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			rec.stderr.Write([]byte(line + "\n"))
			if m := listening.FindStringSubmatch(line); m != nil {
				found <- m[1]
			}
		}
		rec.done <- cmd.Wait()
	}()
	select {
	case rec.addr = <-found:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("tether record did not start listening; it printed:\n%s", rec.stderr)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return rec
}

func (rec *recording) get(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+rec.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// stop interrupts the process as Ctrl-C would, and returns its exit code.
func (rec *recording) stop(t *testing.T) int {
	t.Helper()
	rec.cmd.Process.Signal(os.Interrupt)
	select {
	case <-rec.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("tether record did not stop on interrupt; it printed:\n%s", rec.stderr)
	}
	return rec.cmd.ProcessState.ExitCode()
}

func TestRecordRedactsValidatesAndReplays(t *testing.T) {
	vendor, calls := keysVendor(t, 0)
	path := filepath.Join(t.TempDir(), "keys.yaml")
	rec := startRecording(t, "--upstream", vendor.URL, "--cassette", path, "--contract", filepath.Join("testdata", "keys.openapi.yaml"))

	code, body := rec.get(t, "/v1/keys/key_1", vendorToken)
	if code != 200 || !strings.Contains(body, vendorKey) {
		t.Fatalf("through the proxy: %d %s; want 200 and the real key (the client sees the vendor's answer as it is)", code, body)
	}
	if code, _ := rec.get(t, "/v1/keys/broken", vendorToken); code != 200 {
		t.Fatalf("broken answer came back %d", code)
	}
	if code, _ := rec.get(t, "/v1/keys/key_2?access_token="+vendorToken, vendorToken); code != 200 {
		t.Fatalf("a token in the query: %d", code)
	}
	if exit := rec.stop(t); exit != exitFindings {
		t.Errorf("record exited %d, want %d: one interaction broke the contract\n%s", exit, exitFindings, rec.stderr)
	}
	out := rec.stderr.String()
	for _, want := range []string{"#0 GET " + vendor.URL + "/v1/keys/key_1 -> 200", "#1 GET", "response-body-invalid", "#2 GET " + vendor.URL + "/v1/keys/key_2?access_token=REDACTED-", "saved 3 interactions"} {
		if !strings.Contains(out, want) {
			t.Errorf("record output lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{vendorToken, vendorKey} {
		if strings.Contains(out, secret) {
			t.Errorf("record printed the secret %q:\n%s", secret, out)
		}
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{vendorToken, vendorKey} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("the cassette holds the secret %q", secret)
		}
	}
	if code, out, errs := runCLI("cassette", "scan", path); code != exitOK {
		t.Errorf("cassette scan on the recording exited %d:\n%s%s", code, out, errs)
	}

	// A secret planted afterwards is caught.
	c, err := fixtures.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c.Interactions[0].Response.Body = strings.Replace(c.Interactions[0].Response.Body, `"object"`, `"leak":"`+vendorKey+`","object"`, 1)
	planted := filepath.Join(t.TempDir(), "planted.yaml")
	if err := c.Save(planted, fixtures.Unredacted()); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runCLI("cassette", "scan", "--format", "json", planted)
	var report struct {
		Findings []contracts.Finding `json:"findings"`
	}
	json.Unmarshal([]byte(stdout), &report)
	if code != exitFindings || len(report.Findings) != 1 || report.Findings[0].ID != fixtures.RuleStripeKey || !strings.HasPrefix(report.Findings[0].Message, "interaction 0:") {
		t.Errorf("scan of a planted key: exit %d, findings %+v; want exit 1 and one stripe-key finding in interaction 0", code, report.Findings)
	}

	replayWithRealToken(t, path, vendor.URL, calls)
}

func TestRecordKilledWhileSavingKeepsOldCassette(t *testing.T) {
	if testing.Short() {
		t.Skip("records 40 MB to make the save slow enough to interrupt; skipped with -short")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.yaml")
	old := []byte("---\nversion: 2\ninteractions: []\nnote: the cassette before this recording\n")
	vendor, _ := keysVendor(t, 1<<20)

	// A save is caught in the act when its temporary file exists and the
	// cassette is still the old one; the bigger the save, the surer. If a
	// save outruns the check, try again with the same size.
	for attempt := 1; attempt <= 3; attempt++ {
		if err := os.WriteFile(path, old, 0o644); err != nil {
			t.Fatal(err)
		}
		rec := startRecording(t, "--upstream", vendor.URL, "--cassette", path)
		for i := 0; i < 40; i++ {
			if code, _ := rec.get(t, fmt.Sprintf("/v1/keys/k%d", i), vendorToken); code != 200 {
				t.Fatalf("request %d: %d", i, code)
			}
		}
		rec.cmd.Process.Signal(os.Interrupt)
		temp := waitForTemp(dir, 30*time.Second)
		rec.cmd.Process.Signal(syscall.SIGKILL)
		<-rec.done
		if temp == "" {
			t.Fatalf("no save started after the interrupt; record printed:\n%s", rec.stderr)
		}
		if _, err := os.Stat(temp); err != nil {
			t.Logf("attempt %d: the save finished before the kill; trying again", attempt)
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, old) {
			t.Fatalf("killed mid-save, the cassette is now %d bytes (%v), want the old %d bytes untouched", len(got), err, len(old))
		}
		if _, err := fixtures.Load(path); err != nil {
			t.Fatalf("old cassette no longer loads: %v", err)
		}
		// The leftover is skipped by the commands that read directories.
		if code, out, errs := runCLI("cassette", "scan", dir); code != exitOK {
			t.Errorf("scan of the directory with a leftover temp file exited %d:\n%s%s", code, out, errs)
		}
		return
	}
	t.Fatal("three saves of 40 MB each finished before a kill could land; the test cannot show a kill mid-write on this machine")
}

// waitForTemp polls dir for a temporary file of an atomic write.
func waitForTemp(dir string, limit time.Duration) string {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if atomicfile.IsTemp(e.Name()) {
				return filepath.Join(dir, e.Name())
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	return ""
}

// replayWithRealToken replays the recording through the test recorder with
// the real token, as a connector's test would: the redacted recording still
// matches and answers without reaching the vendor, and a wrong token does
// not match.
func replayWithRealToken(t *testing.T, path, vendorURL string, calls *int) {
	t.Helper()
	rec, err := fixtures.NewRecorder(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Stop()
	get := func(token string) (*http.Response, error) {
		req, _ := http.NewRequest("GET", vendorURL+"/v1/keys/key_1", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return rec.Client().Do(req)
	}
	before := *calls
	resp, err := get(vendorToken)
	if err != nil {
		t.Fatalf("replay with the real token: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"id":"key_1"`) {
		t.Errorf("replay answered %d %s, want the recorded 200", resp.StatusCode, body)
	}
	if *calls != before {
		t.Errorf("replay reached the vendor %d times", *calls-before)
	}
	if _, err := get("some-other-token"); err == nil {
		t.Errorf("a request with another token matched the recording; the credential should count")
	}
}

func TestRecordMaxBodyNotesWhatItDoesNotKeep(t *testing.T) {
	vendor, _ := keysVendor(t, 4096)
	path := filepath.Join(t.TempDir(), "keys.yaml")
	rec := startRecording(t, "--upstream", vendor.URL, "--cassette", path, "--max-body", "2KiB")
	code, body := rec.get(t, "/v1/keys/key_1", vendorToken)
	if code != 200 || !strings.Contains(body, vendorKey) || len(body) < 4096 {
		t.Fatalf("through the proxy: %d, %d bytes; want 200 and the whole answer, over the limit as it is", code, len(body))
	}
	if exit := rec.stop(t); exit != exitOK {
		t.Fatalf("record exited %d:\n%s", exit, rec.stderr)
	}
	if out := rec.stderr.String(); !strings.Contains(out, "note: response.body not kept: ") || !strings.Contains(out, "over the 2 KiB limit") {
		t.Errorf("the log does not say the answer was not kept:\n%s", out)
	}
	c, err := fixtures.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	resp := c.Interactions[0].Response
	if note, _ := resp.Extra[fixtures.BodyOmitted].(string); resp.Body != "" || !strings.Contains(note, "over the 2 KiB limit") {
		t.Errorf("the cassette keeps %d bytes with note %q; want none, and the note", len(resp.Body), note)
	}

	for _, bad := range []string{"0", "-1", "12XB", "lots"} {
		if code, _, errs := runCLI("record", "--upstream", vendor.URL, "--cassette", path, "--max-body", bad); code != exitCannot || !strings.Contains(errs, "max-body") {
			t.Errorf("--max-body %s: exit %d, %q; want %d and an error naming the flag", bad, code, errs, exitCannot)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "64MiB": 64 << 20, "64M": 64 << 20, "512KiB": 512 << 10, "1GiB": 1 << 30, "2gb": 2 << 30, " 3 MiB ": 3 << 20} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5", "1.5GiB", "10TiB", "GiB", "99999999999999999999"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) took it", in)
		}
	}
}

func TestMaxSizeRefusesLargeInputs(t *testing.T) {
	dir := t.TempDir()
	har := filepath.Join(dir, "session.har")
	os.WriteFile(har, []byte(`{"log":{"entries":[]}}`+strings.Repeat(" ", 2048)), 0o644)
	code, _, errs := runCLI("cassette", "import", "--har", har, "--max-size", "1KiB")
	if code != exitCannot || !strings.Contains(errs, "over the 1 KiB limit") {
		t.Errorf("import of a 2 KiB capture with --max-size 1KiB: exit %d, %q", code, errs)
	}
	cas := filepath.Join(dir, "big.yaml")
	os.WriteFile(cas, []byte("version: 2\ninteractions: []\n"+strings.Repeat("# padding\n", 300)), 0o644)
	code, _, errs = runCLI("cassette", "scan", "--max-size", "1KiB", cas)
	if code != exitCannot || !strings.Contains(errs, "over the 1 KiB limit") {
		t.Errorf("scan of a 3 KiB cassette with --max-size 1KiB: exit %d, %q", code, errs)
	}
	if code, out, errs := runCLI("cassette", "scan", cas); code != exitOK {
		t.Errorf("scan under the default limit: exit %d\n%s%s", code, out, errs)
	}
}
