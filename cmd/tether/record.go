package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
)

const recordHelp = `Usage:
  tether record --upstream URL --cassette FILE [--contract FILE]... [--as URL] [--listen ADDR] [--append] [--max-body SIZE]

record runs a reverse proxy in front of a real vendor API. Point the client
you want to record (a connector, curl, a test) at the address it prints;
each request goes to the vendor, the client gets the vendor's answer as it
is, and the interaction is kept, redacted, for the cassette.

  --upstream URL     the vendor's base URL, e.g. https://api.stripe.com
  --cassette FILE    where to write the cassette (go-vcr format version 2)
  --contract FILE    validate every interaction against this contract as it
                     happens and print what breaks it; repeat for vendors
                     with several contracts
  --as URL           keep each interaction as if made to this base URL, such
                     as the vendor's production one, when recording through
                     a sandbox or a staging host: the cassette then replays
                     and lints as the vendor's own
  --listen ADDR      where the proxy listens (default 127.0.0.1:8787; use
                     127.0.0.1:0 for any free port)
  --append           keep the interactions already in FILE and add the new
                     ones after them; without it FILE is replaced
  --max-body SIZE    the largest request or response body kept (default
                     64MiB; units KiB, MiB, GiB). A larger body still goes
                     through whole, streamed, but the cassette keeps the
                     interaction without it, with a body_omitted note, and
                     the log says so

Redaction is on and cannot be turned off here: credentials in headers,
query strings and bodies (multipart parts included), and values shaped
like known keys and tokens, become placeholders before anything is kept
(see 'tether cassette scan --help' for the rules). Bodies compressed with
gzip, deflate, br or zstd are kept decoded, without their Content-Encoding,
so that they can be redacted, read and replayed; one that does not decode
is not kept, with a note. Your client sends the real credentials; the
vendor sees them; the cassette never does.

Stop with Ctrl-C (or SIGTERM): the proxy stops taking requests, finishes
those in flight, and writes the cassette atomically. A second Ctrl-C
abandons the save; the previous FILE is then left exactly as it was.
Nothing recorded means FILE is not touched.

Exit codes: 0 saved, 1 saved but some interaction broke a contract,
2 could not run or could not save.

Example:
  tether record --upstream https://api.stripe.com \
      --cassette connectors/billing/cassettes/refund.yaml \
      --contract connectors/billing/contracts/stripe.yaml
  STRIPE_API_BASE=http://127.0.0.1:8787 go run ./connectors/billing/cmd/refund

  # through a sandbox of the contract, kept at the vendor's URL
  tether record --upstream http://127.0.0.1:8080/crm/v2 --as https://api.crm.example/v2 \
      --cassette connectors/dealnotify/cassettes/crm-deal-4207.yaml
`

// stringList is a flag that may be given several times.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runRecord(env *environ, args []string) int {
	fl := flag.NewFlagSet("record", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	upstream := fl.String("upstream", "", "")
	cassette := fl.String("cassette", "", "")
	listen := fl.String("listen", "127.0.0.1:8787", "")
	appendOld := fl.Bool("append", false, "")
	recordAs := fl.String("as", "", "")
	maxBody := sizeFlag{fixtures.DefaultMaxBody}
	fl.Var(&maxBody, "max-body", "")
	var contractFiles stringList
	fl.Var(&contractFiles, "contract", "")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.stdout, recordHelp)
			return exitOK
		}
		return fail(env, usageError{"record: " + err.Error()})
	}
	switch {
	case *upstream == "":
		return fail(env, usageError{"record: --upstream is required (the vendor's base URL)"})
	case *cassette == "":
		return fail(env, usageError{"record: --cassette is required (where to write)"})
	case fl.NArg() > 0:
		return fail(env, usageError{fmt.Sprintf("record: unexpected argument %q", fl.Arg(0))})
	}

	var old *fixtures.Cassette
	if *appendOld {
		c, err := fixtures.Load(*cassette)
		switch {
		case err == nil:
			old = c
		case errors.Is(err, os.ErrNotExist):
		default:
			return fail(env, err)
		}
	}
	reg := contracts.NewRegistry()
	var cs []*contracts.Contract
	for _, f := range contractFiles {
		c, err := reg.Load(f)
		if err != nil {
			return fail(env, err)
		}
		cs = append(cs, c)
	}

	var mu sync.Mutex // keeps each interaction's lines together
	errorsFound := 0
	proxyOpts := []fixtures.ProxyOption{fixtures.ValidateAgainst(cs...), fixtures.WithMaxBody(maxBody.n)}
	if *recordAs != "" {
		proxyOpts = append(proxyOpts, fixtures.RecordAs(*recordAs))
	}
	proxy, err := fixtures.NewProxy(*upstream, append(proxyOpts, fixtures.OnRecorded(func(rec fixtures.Recorded) {
		mu.Lock()
		defer mu.Unlock()
		if rec.Err != nil {
			fmt.Fprintf(env.stderr, "  upstream failed: %v (not recorded)\n", rec.Err)
			return
		}
		in := rec.Interaction
		fmt.Fprintf(env.stderr, "  #%d %s %s -> %d in %s\n", in.ID, in.Request.Method, in.Request.URL, in.Response.Code, in.Response.Duration.Round(time.Millisecond))
		for _, note := range rec.Notes {
			fmt.Fprintf(env.stderr, "     note: %s\n", note)
		}
		for _, f := range rec.Findings {
			if f.Level == contracts.LevelError {
				errorsFound++
			}
			fmt.Fprintf(env.stderr, "     %s %s: %s", f.Level, f.ID, f.Message)
			if f.Path != "" {
				fmt.Fprintf(env.stderr, " (at %s)", f.Path)
			}
			if f.Contract.Known() {
				fmt.Fprintf(env.stderr, " [%s %s]", f.Contract, f.Operation)
			}
			fmt.Fprintln(env.stderr)
		}
	}))...)
	if err != nil {
		return fail(env, usageError{"record: " + err.Error()})
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fail(env, fmt.Errorf("record: listen: %w", err))
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(env.stderr, "tether record: listening on http://%s, forwarding to %s\n", ln.Addr(), *upstream)
	fmt.Fprintf(env.stderr, "recording into %s; Ctrl-C to stop and save\n", *cassette)

	select {
	case <-env.interrupted:
	case err := <-served:
		return fail(env, fmt.Errorf("record: serve: %w", err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv.Shutdown(ctx)

	c := proxy.Cassette()
	recorded := len(c.Interactions)
	if old != nil {
		for i, in := range c.Interactions {
			in.ID = len(old.Interactions) + i
		}
		c.Interactions = append(old.Interactions, c.Interactions...)
		c.Extra = old.Extra
	}
	if recorded == 0 {
		fmt.Fprintf(env.stderr, "nothing recorded; %s left as it was\n", *cassette)
		return exitOK
	}
	fmt.Fprintf(env.stderr, "saving %d interactions to %s ...\n", len(c.Interactions), *cassette)
	// Already redacted by the proxy; the default redactor runs again on
	// save, which leaves placeholders alone and catches anything appended.
	if err := c.Save(*cassette); err != nil {
		return fail(env, fmt.Errorf("record: %w", err))
	}
	fmt.Fprintf(env.stderr, "saved %d interactions (%d new) to %s\n", len(c.Interactions), recorded, *cassette)
	if errorsFound > 0 {
		fmt.Fprintf(env.stderr, "%d contract errors; see above, or run 'tether cassette lint'\n", errorsFound)
		return exitFindings
	}
	return exitOK
}
