package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/internal/yamldoc"
	"github.com/tetherkit/tether/sandbox"
)

const cassetteRecordHelp = `Usage:
  tether cassette record DIR [--only FILE]... [--timeout DURATION]

record writes the cassettes of the connector in DIR from what its vendors'
contracts promise: it starts a sandbox of the vendors the manifest names
(whatever their contract files are called), puts a recording proxy in
front of it, sends the requests DIR/recordings.yaml lists, and saves each
cassette as if it had been recorded against the vendor's own base URL.
The cassettes then replay, lint and gate as the vendor's own, and every
answer in them is one the contract allows.

DIR/recordings.yaml lists the cassettes and their requests:

  cassettes:
    - file: crm-deal-4207.yaml     # written to DIR/cassettes/
      vendor: crm                  # a vendor of connector.yaml
      base: https://api.crm.example/v2   # optional: the contract's server
      requests:
        - method: GET              # optional: GET
          path: /deals/4207        # under base
          headers:
            Authorization: Bearer crm-recording-token
          body: '{"a": 1}'         # optional

Each interaction is checked against the vendor's contract as it is
recorded, and redacted as every cassette tether writes. A cassette is
written atomically and only when all its requests were answered; the run
stops at --timeout (default 2m) with nothing more written.

  --only FILE        record only this cassette (repeat for several)
  --timeout D        give up after D, such as 30s or 5m

Exit codes: 0 every cassette written, 1 an interaction broke its contract
(the cassette is written and the finding printed), 2 nothing could be
recorded (a bad recordings.yaml, an unknown vendor, the timeout).

Example:
  tether cassette record connectors/dealnotify
  tether cassette record connectors/escalate --only incident-create.yaml
`

// RecordingsFile lists what 'tether cassette record' records.
const recordingsFile = "recordings.yaml"

// recordings is the document in recordings.yaml.
type recordings struct {
	Cassettes []recordedCassette `yaml:"cassettes"`
}

type recordedCassette struct {
	File     string            `yaml:"file"`
	Vendor   string            `yaml:"vendor"`
	Base     string            `yaml:"base"`
	Requests []recordedRequest `yaml:"requests"`
	line     int
}

type recordedRequest struct {
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	line    int
}

// maxRecordings bounds recordings.yaml and what it asks for.
const (
	maxRecordingsFile = 4 << 20
	maxRecordedCalls  = 10000
)

// parseRecordings reads recordings.yaml of connector c, checking each
// cassette's vendor and file name; errors are at their lines.
func parseRecordings(c *manifest.Connector) (*recordings, error) {
	data, ok := c.File(recordingsFile)
	if !ok {
		return nil, &contracts.Error{File: recordingsFile, Msg: "the connector has no " + recordingsFile,
			Hint: "list the cassettes to record and their requests in it; see 'tether cassette record --help'"}
	}
	if len(data) > maxRecordingsFile {
		return nil, &contracts.Error{File: recordingsFile, Msg: fmt.Sprintf("the file is %d bytes, over the %d a recordings file may be", len(data), maxRecordingsFile)}
	}
	var r recordings
	top, err := yamldoc.Decode(recordingsFile, data, &r, "recordings.yaml holds a mapping with a cassettes list")
	if err != nil {
		return nil, err
	}
	var items []*yaml.Node
	if n := yamldoc.Field(top, "cassettes"); n != nil && n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	fail := func(line int, format string, args ...any) error {
		return &contracts.Error{File: recordingsFile, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(r.Cassettes) == 0 {
		return nil, fail(yamldoc.Line(top, "cassettes"), "cassettes: the list is empty; name at least one cassette to record")
	}
	seen := map[string]bool{}
	calls := 0
	for i := range r.Cassettes {
		rc := &r.Cassettes[i]
		rc.line = yamldoc.Line(top, "cassettes")
		var reqs []*yaml.Node
		if i < len(items) {
			rc.line = items[i].Line
			if n := yamldoc.Field(items[i], "requests"); n != nil && n.Kind == yaml.SequenceNode {
				reqs = n.Content
			}
		}
		switch {
		case rc.File == "" || rc.File != path.Base(rc.File) || !strings.HasSuffix(rc.File, ".yaml") && !strings.HasSuffix(rc.File, ".yml"):
			return nil, fail(rc.line, "cassette %d: file %q: give a file name ending .yaml, written in %s/", i+1, rc.File, manifest.CassetteDir)
		case seen[rc.File]:
			return nil, fail(rc.line, "cassette %d: %s is listed twice", i+1, rc.File)
		case c.Contracts[rc.Vendor] == nil:
			return nil, fail(rc.line, "cassette %s: vendor %q is not one of connector.yaml's: %s", rc.File, rc.Vendor, strings.Join(slices.Sorted(maps.Keys(c.Contracts)), ", "))
		case len(rc.Requests) == 0:
			return nil, fail(rc.line, "cassette %s: no requests; a cassette records at least one", rc.File)
		}
		seen[rc.File] = true
		if rc.Base != "" {
			if u, err := url.Parse(rc.Base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fail(rc.line, "cassette %s: base %q: give the vendor's http or https base URL", rc.File, rc.Base)
			}
		}
		for j := range rc.Requests {
			rq := &rc.Requests[j]
			rq.line = rc.line
			if j < len(reqs) {
				rq.line = reqs[j].Line
			}
			if rq.Method == "" {
				rq.Method = http.MethodGet
			}
			if !strings.HasPrefix(rq.Path, "/") {
				return nil, fail(rq.line, "cassette %s: request %d: path %q: give the path under the base, starting with /", rc.File, j+1, rq.Path)
			}
			if _, err := url.ParseRequestURI(rq.Path); err != nil {
				return nil, fail(rq.line, "cassette %s: request %d: path %q is not a URL path: %v", rc.File, j+1, rq.Path, err)
			}
			calls++
		}
	}
	if calls > maxRecordedCalls {
		return nil, fail(1, "%d requests, over the %d one run records", calls, maxRecordedCalls)
	}
	return &r, nil
}

func runCassetteRecord(env *environ, args []string) int {
	fl := flag.NewFlagSet("cassette record", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	var only stringList
	fl.Var(&only, "only", "")
	timeout := fl.Duration("timeout", 2*time.Minute, "")
	dir, err := parseOne(fl, args, "connector directory", "cassette record: name the connector's directory")
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.stdout, cassetteRecordHelp)
		return exitOK
	}
	if err != nil {
		return fail(env, err)
	}
	if *timeout <= 0 {
		return fail(env, usageError{"cassette record: --timeout must be positive"})
	}
	c, err := manifest.Load(dir, manifest.VendorsOnly())
	if err != nil {
		return fail(env, err)
	}
	recs, err := parseRecordings(c)
	if err != nil {
		return fail(env, err)
	}
	for _, o := range only {
		if !slices.ContainsFunc(recs.Cassettes, func(rc recordedCassette) bool { return rc.File == o }) {
			return fail(env, usageError{fmt.Sprintf("cassette record: --only %s: %s lists no such cassette", o, recordingsFile)})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	cancelOnInterrupt(ctx, env, cancel)

	var vendors []sandbox.Vendor
	for _, name := range slices.Sorted(maps.Keys(c.Contracts)) {
		vendors = append(vendors, sandbox.Vendor{Name: name, Contract: c.Contracts[name]})
	}
	sb, err := sandbox.Start(vendors)
	if err != nil {
		return fail(env, fmt.Errorf("cassette record: start the sandbox: %w", err))
	}
	defer sb.Close()

	broke := false
	for _, rc := range recs.Cassettes {
		if len(only) > 0 && !slices.Contains(only, rc.File) {
			continue
		}
		findings, err := recordCassette(ctx, env, c, sb, rc)
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("stopped after %s (--timeout): %w", *timeout, err)
			}
			return fail(env, fmt.Errorf("cassette record: %s: %w", rc.File, err))
		}
		if findings > 0 {
			broke = true
		}
	}
	if broke {
		return exitFindings
	}
	return exitOK
}

// recordCassette records one cassette through a proxy in front of the
// sandbox's vendor and saves it; it returns how many error findings the
// contract had on what was recorded.
func recordCassette(ctx context.Context, env *environ, c *manifest.Connector, sb *sandbox.Sandbox, rc recordedCassette) (int, error) {
	ct := c.Contracts[rc.Vendor]
	base := rc.Base
	if base == "" {
		for _, s := range ct.Servers() {
			if u, err := url.Parse(s.Resolved); err == nil && u.Host != "" {
				base = s.Resolved
				break
			}
		}
		if base == "" {
			return 0, fmt.Errorf("the %s contract names no server with a host; give the cassette a base", rc.Vendor)
		}
	}
	bu, err := url.Parse(base)
	if err != nil {
		return 0, err
	}
	upstream := strings.TrimSuffix(sb.URL(), "/") + "/" + rc.Vendor + strings.TrimSuffix(bu.Path, "/")
	errorsFound := 0
	proxy, err := fixtures.NewProxy(upstream, fixtures.RecordAs(base), fixtures.ValidateAgainst(ct),
		fixtures.OnRecorded(func(r fixtures.Recorded) {
			if r.Err != nil {
				return
			}
			in := r.Interaction
			fmt.Fprintf(env.stderr, "  %s #%d %s %s -> %d\n", rc.File, in.ID, in.Request.Method, in.Request.URL, in.Response.Code)
			for _, f := range r.Findings {
				if f.Level == contracts.LevelError {
					errorsFound++
				}
				fmt.Fprintf(env.stdout, "%s %s: %s %s: %s\n", f.Level, f.ID, rc.File, f.Contract, f.Message)
			}
		}))
	if err != nil {
		return 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i, rq := range rc.Requests {
		var body io.Reader
		if rq.Body != "" {
			body = strings.NewReader(rq.Body)
		}
		req, err := http.NewRequestWithContext(ctx, rq.Method, "http://"+ln.Addr().String()+rq.Path, body)
		if err != nil {
			return 0, fmt.Errorf("%s:%d: request %d: %w", recordingsFile, rq.line, i+1, err)
		}
		for k, v := range rq.Headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("%s:%d: request %d: %w", recordingsFile, rq.line, i+1, err)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, fixtures.DefaultMaxBody))
		resp.Body.Close()
	}
	cas := proxy.Cassette()
	if len(cas.Interactions) != len(rc.Requests) {
		return 0, fmt.Errorf("%d of %d requests were recorded; nothing written", len(cas.Interactions), len(rc.Requests))
	}
	out := filepath.Join(c.Manifest.Dir, manifest.CassetteDir, rc.File)
	if err := cas.Save(out); err != nil {
		return 0, err
	}
	fmt.Fprintf(env.stdout, "recorded %s: %d interactions of %s\n", filepath.Join(manifest.CassetteDir, rc.File), len(cas.Interactions), rc.Vendor)
	return errorsFound, nil
}
