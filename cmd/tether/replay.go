package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/replay"
)

const replayHelp = `Usage:
  tether replay --cassette FILE... --events FILE... --target URL
                [--golden DIR [--update]] [--listen ADDR]
                [--secret-env NAME --signature-header HEADER [--signature-prefix P]]
                [--duplicate N] [--shuffle SEED] [--delay D]

replay delivers recorded events to a running connector and captures every
call it makes to its vendors. The vendor calls are answered from the
cassettes, so nothing real is touched, and the captured calls can be
compared with golden files.

It works in three steps:
  1. it starts a vendor stand-in on --listen that answers from the
     cassettes; start your connector with its vendor base URLs pointed
     there (the addresses are printed). With one vendor host in the
     cassettes, http://ADDR is that vendor; with several, put the vendor's
     host first in the path: http://ADDR/api.crm.example is
     https://api.crm.example;
  2. it POSTs each event of each --events file to --target, one at a time,
     signed if --secret-env is given, and prints the connector's status;
  3. with --golden, it compares the calls each events file caused with
     DIR/<events file name>.golden.json (e.g. deals.yaml is checked
     against DIR/deals.golden.json), or writes that file with --update.

  --cassette FILE        recorded vendor interactions (go-vcr YAML); repeat
                         for several; each answer is given once, in order
  --events FILE          events to deliver: a YAML or JSON list of
                         {name, headers, body}; repeat for several
  --target URL           the connector's webhook address,
                         e.g. http://127.0.0.1:8080/events
  --golden DIR           compare captured calls with golden files in DIR
  --update               write the golden files instead of comparing (only
                         a file that differs is rewritten)
  --listen ADDR          where the vendor stand-in listens
                         (default 127.0.0.1:8788; 127.0.0.1:0 for any port)
  --secret-env NAME      sign events with the HMAC-SHA256 secret held in the
                         environment variable NAME (never put it in a flag)
  --signature-header H   the header the signature goes in,
                         e.g. X-Crm-Signature (the manifest's events.signature)
  --signature-prefix P   text before the hex digest, e.g. sha256=
  --duplicate N          deliver each event N times in a row (default 1)
  --shuffle SEED         deliver in an order shuffled by SEED; the same seed
                         gives the same order every time
  --delay D              wait D between deliveries, e.g. 500ms

The calls counted for an events file are those made from its first
delivery to the connector's answer to its last; a connector that calls
its vendors after answering may have them counted with the next file.

The calls captured are redacted as cassettes are, so golden files hold
placeholders, never credentials. A vendor call the cassettes cannot
answer gets a 502 and is reported with the nearest recorded interaction.

Exit codes: 0 every event accepted and every call as golden, 1 a call
differs from its golden, a vendor call had no recorded answer, or the
connector answered an event with an error status, 2 could not run (bad
flags or files, connector unreachable, golden file missing without
--update).

Example:
  CRM_API_BASE=http://127.0.0.1:8788 go run ./connectors/dealnotify/cmd &
  CRM_WEBHOOK_SECRET=... tether replay \
      --cassette connectors/dealnotify/cassettes/deal_won.yaml \
      --events connectors/dealnotify/events/deals.yaml \
      --target http://127.0.0.1:8080/events \
      --secret-env CRM_WEBHOOK_SECRET --signature-header X-Crm-Signature \
      --golden connectors/dealnotify/golden
`

func runReplay(env *environ, args []string) int {
	fl := flag.NewFlagSet("replay", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	var cassetteFiles, eventFiles stringList
	fl.Var(&cassetteFiles, "cassette", "")
	fl.Var(&eventFiles, "events", "")
	target := fl.String("target", "", "")
	goldenDir := fl.String("golden", "", "")
	update := fl.Bool("update", false, "")
	listen := fl.String("listen", "127.0.0.1:8788", "")
	secretEnv := fl.String("secret-env", "", "")
	sigHeader := fl.String("signature-header", "", "")
	sigPrefix := fl.String("signature-prefix", "", "")
	duplicate := fl.Int("duplicate", 1, "")
	shuffle := fl.String("shuffle", "", "")
	delay := fl.Duration("delay", 0, "")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.stdout, replayHelp)
			return exitOK
		}
		return fail(env, usageError{"replay: " + err.Error()})
	}
	switch {
	case len(cassetteFiles) == 0:
		return fail(env, usageError{"replay: --cassette is required (the recorded vendor answers)"})
	case len(eventFiles) == 0:
		return fail(env, usageError{"replay: --events is required (what to deliver)"})
	case *target == "":
		return fail(env, usageError{"replay: --target is required (the connector's webhook URL)"})
	case *update && *goldenDir == "":
		return fail(env, usageError{"replay: --update needs --golden DIR (where to write)"})
	case (*secretEnv == "") != (*sigHeader == ""):
		return fail(env, usageError{"replay: --secret-env and --signature-header go together"})
	case *sigPrefix != "" && *secretEnv == "":
		return fail(env, usageError{"replay: --signature-prefix needs --secret-env and --signature-header"})
	case *duplicate < 1:
		return fail(env, usageError{fmt.Sprintf("replay: --duplicate %d: deliver each event at least once", *duplicate)})
	case *delay < 0:
		return fail(env, usageError{"replay: --delay cannot be negative"})
	case fl.NArg() > 0:
		return fail(env, usageError{fmt.Sprintf("replay: unexpected argument %q", fl.Arg(0))})
	}
	if u, err := url.Parse(*target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail(env, usageError{fmt.Sprintf("replay: --target %q is not an http or https URL", *target)})
	}

	opts := []replay.DeliverOption{replay.Duplicate(*duplicate), replay.Delay(*delay)}
	if *shuffle != "" {
		var seed int64
		if _, err := fmt.Sscan(*shuffle, &seed); err != nil {
			return fail(env, usageError{fmt.Sprintf("replay: --shuffle %q: want an integer seed", *shuffle)})
		}
		opts = append(opts, replay.OutOfOrder(seed))
	}
	if *secretEnv != "" {
		secret := env.getenv(*secretEnv)
		if secret == "" {
			return fail(env, usageError{fmt.Sprintf("replay: environment variable %s is empty; it must hold the signing secret", *secretEnv)})
		}
		var signOpts []replay.HMACOption
		if *sigPrefix != "" {
			signOpts = append(signOpts, replay.SignaturePrefix(*sigPrefix))
		}
		opts = append(opts, replay.SignWith(replay.HMACSHA256(*sigHeader, secret, signOpts...)))
	}

	// Load every input before listening, so a bad file stops the run
	// before a connector sends anything.
	var cassettes []*fixtures.Cassette
	for _, f := range cassetteFiles {
		c, err := fixtures.Load(f)
		if err != nil {
			return fail(env, fmt.Errorf("replay: %w", err))
		}
		cassettes = append(cassettes, c)
	}
	events := make([][]replay.Event, len(eventFiles))
	for i, f := range eventFiles {
		evs, err := replay.LoadEvents(f)
		if err != nil {
			return fail(env, fmt.Errorf("replay: %w", err))
		}
		events[i] = evs
	}
	goldens := make([][]replay.Call, len(eventFiles))
	if *goldenDir != "" {
		seen := map[string]string{}
		for _, f := range eventFiles {
			p := goldenPath(*goldenDir, f)
			if other, ok := seen[p]; ok {
				return fail(env, usageError{fmt.Sprintf("replay: %s and %s would share the golden file %s; give events files distinct names", other, f, p)})
			}
			seen[p] = f
		}
	}
	if *update {
		if err := os.MkdirAll(*goldenDir, 0o755); err != nil {
			return fail(env, fmt.Errorf("replay: %w", err))
		}
	}
	if *goldenDir != "" && !*update {
		for i, f := range eventFiles {
			p := goldenPath(*goldenDir, f)
			calls, err := replay.LoadGolden(p)
			if errors.Is(err, os.ErrNotExist) {
				return fail(env, fmt.Errorf("replay: no golden file %s for %s; run with --update to write it", p, f))
			}
			if err != nil {
				return fail(env, fmt.Errorf("replay: %w", err))
			}
			goldens[i] = calls
		}
	}

	transport, err := replay.NewTransport(cassettes)
	if err != nil {
		return fail(env, fmt.Errorf("replay: %w", err))
	}
	capture, err := replay.NewCapture(transport)
	if err != nil {
		return fail(env, fmt.Errorf("replay: %w", err))
	}
	stand := newVendorStandIn(capture, cassettes)
	if len(stand.origins) == 0 {
		return fail(env, fmt.Errorf("replay: the cassettes hold no interactions with an absolute URL to answer"))
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fail(env, fmt.Errorf("replay: listen: %w", err))
	}
	srv := &http.Server{Handler: stand, ReadHeaderTimeout: 30 * time.Second}
	go srv.Serve(ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	base := "http://" + ln.Addr().String()
	if len(stand.origins) == 1 {
		fmt.Fprintf(env.stderr, "tether replay: vendor %s answered at %s\n", stand.origins[stand.hosts[0]], base)
	} else {
		fmt.Fprintf(env.stderr, "tether replay: vendors answered at %s/<host>:\n", base)
		for _, h := range stand.hosts {
			fmt.Fprintf(env.stderr, "  %s at %s/%s\n", stand.origins[h], base, h)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelOnInterrupt(ctx, env, cancel)

	findings := 0
	for i, f := range eventFiles {
		start := len(capture.Calls())
		missesBefore := stand.missCount()
		ds, err := replay.Deliver(ctx, replay.Endpoint(*target), events[i], opts...)
		if err != nil {
			return fail(env, fmt.Errorf("replay: %s: %w", f, err))
		}
		fmt.Fprintf(env.stdout, "%s: %d deliveries\n", f, len(ds))
		for _, d := range ds {
			label := d.Name
			if d.Copy > 1 {
				label += fmt.Sprintf(" (copy %d)", d.Copy)
			}
			if d.Err != nil {
				fmt.Fprintf(env.stdout, "  event %d %s: no answer: %v\n", d.Index+1, label, d.Err)
				return fail(env, fmt.Errorf("replay: connector at %s did not answer; is it running?", *target))
			}
			mark := "ok  "
			if d.Status < 200 || d.Status > 299 {
				mark = "FAIL"
				findings++
			}
			fmt.Fprintf(env.stdout, "  %s event %d %s -> %d\n", mark, d.Index+1, label, d.Status)
		}
		calls := capture.Calls()[start:]
		fmt.Fprintf(env.stdout, "  %d vendor calls\n", len(calls))
		for _, m := range stand.missesSince(missesBefore) {
			fmt.Fprintf(env.stdout, "  FAIL no recorded answer: %s\n", m)
			findings++
		}
		if *goldenDir == "" {
			continue
		}
		p := goldenPath(*goldenDir, f)
		if *update {
			changed, err := replay.UpdateGolden(p, calls)
			if err != nil {
				return fail(env, fmt.Errorf("replay: %w", err))
			}
			if changed {
				fmt.Fprintf(env.stdout, "  wrote %s\n", p)
			} else {
				fmt.Fprintf(env.stdout, "  %s unchanged\n", p)
			}
			continue
		}
		diffs := replay.Compare(goldens[i], calls)
		if len(diffs) == 0 {
			fmt.Fprintf(env.stdout, "  ok   calls as in %s\n", p)
			continue
		}
		findings++
		fmt.Fprintf(env.stdout, "  FAIL %d differences from %s:\n", len(diffs), p)
		for _, d := range diffs {
			fmt.Fprintf(env.stdout, "    %s\n", d)
		}
	}
	if findings > 0 {
		return exitFindings
	}
	return exitOK
}

// goldenPath is where the golden calls for an events file live:
// DIR/deals.golden.json for deals.yaml.
func goldenPath(dir, eventsFile string) string {
	base := filepath.Base(eventsFile)
	return filepath.Join(dir, strings.TrimSuffix(base, filepath.Ext(base))+".golden.json")
}

// vendorStandIn is the server a black-box connector calls instead of its
// vendors: it turns each request back into one for the vendor origin it
// stands for and sends it through the capture, which answers from the
// cassettes.
type vendorStandIn struct {
	capture *replay.Capture
	origins map[string]string // lower-case host -> scheme://host
	hosts   []string          // sorted keys of origins

	mu     sync.Mutex
	misses []string
}

func newVendorStandIn(capture *replay.Capture, cassettes []*fixtures.Cassette) *vendorStandIn {
	v := &vendorStandIn{capture: capture, origins: map[string]string{}}
	for _, c := range cassettes {
		for _, in := range c.Interactions {
			u, err := url.Parse(in.Request.URL)
			if err != nil || u.Host == "" || u.Scheme == "" {
				continue
			}
			h := strings.ToLower(u.Host)
			if _, ok := v.origins[h]; !ok {
				v.origins[h] = u.Scheme + "://" + u.Host
				v.hosts = append(v.hosts, h)
			}
		}
	}
	sort.Strings(v.hosts)
	return v
}

// route finds the vendor origin for a path: the host named by its first
// segment, or the only origin there is.
func (v *vendorStandIn) route(path string) (origin, rest string) {
	first, after, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if o, ok := v.origins[strings.ToLower(first)]; ok {
		return o, "/" + after
	}
	if len(v.hosts) == 1 {
		return v.origins[v.hosts[0]], path
	}
	return "", path
}

// hopHeaders belong to one connection, not to the call; Content-Length and
// Accept-Encoding are set by the connector's HTTP library, not by the
// connector, and an in-process capture never sees them.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Accept-Encoding", "Content-Length"}

func (v *vendorStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The escaped path keeps %2F and %3F as they were sent.
	origin, path := v.route(r.URL.EscapedPath())
	if origin == "" {
		msg := fmt.Sprintf("%s %s: the path does not start with a vendor host (%s)", r.Method, r.URL.Path, strings.Join(v.hosts, ", "))
		v.miss(msg)
		http.Error(w, "tether replay: "+msg, http.StatusBadGateway)
		return
	}
	target := origin + path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, target, r.Body)
	if err != nil {
		// The parser's error quotes the whole URL, query secrets and all.
		msg := fmt.Sprintf("%s %s: not a URL the cassettes could hold", r.Method, r.URL.EscapedPath())
		v.miss(msg)
		http.Error(w, "tether replay: "+msg, http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	if strings.HasPrefix(out.Header.Get("User-Agent"), "Go-http-client/") {
		// Go's default, added on the wire like Content-Length.
		out.Header.Del("User-Agent")
	}
	out.ContentLength = r.ContentLength
	resp, err := v.capture.RoundTrip(out)
	if err != nil {
		v.miss(err.Error())
		http.Error(w, "tether replay: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (v *vendorStandIn) miss(msg string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.misses = append(v.misses, msg)
}

func (v *vendorStandIn) missCount() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.misses)
}

func (v *vendorStandIn) missesSince(n int) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.misses[n:]...)
}
