package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/sandbox"
	"github.com/tetherkit/tether/sandbox/state"
)

const sandboxHelp = `Usage:
  tether sandbox model --contract FILE [--overrides FILE] [--samples FILE...]
  tether sandbox serve --contract [NAME=]FILE... [--overlay [NAME=]FILE...] [--cassettes PATH...]
                       [--faults FILE] [--tenant NAME=CREDENTIAL...]
                       [--port N] [--host ADDR] [--admin-host NAME...]
                       [--deliver-to HOST[:PORT]...] [--events DIR...]
                       [--strict] [--seed N] [--quiet] [--ref-root DIR]
                       [--state FILE] [--samples [NAME=]FILE...] [--overrides [NAME=]FILE...]
                       [--state-cap SIZE] [--strict-state] [--stateless]
                       [--token-ttl DURATION] [--refresh-rotation]

sandbox model prints the resources the sandbox infers from a contract
(collections, items, ids, operations, pagination) and what it could not
infer; tether sandbox model --help says more.

sandbox serve impersonates vendors from their contracts until Ctrl-C. Each
vendor gets a base URL of its own on one port:

  http://HOST:PORT/<vendor><the contract's server base path>

so that base URL plus a path template of the contract is a valid call.
Point your connector's vendor base URLs there. Every call is routed to an
operation, validated against the contract, checked for credentials,
put through the fault plan, answered (from state, else a cassette, else
the contract's example, else one synthesised from its schema), and printed
as one line:

  15:04:05.123 crm GET /v2/deals/d_1 200 synthesised 0.4ms getDeal

State is on by default: the sandbox infers each vendor's resources from its
contract (tether sandbox model prints them), and what a call creates a
later call reads, updates, lists in pages and deletes, per tenant. Every
tenant starts from the same seeds: the cassettes' answers, the contracts'
list examples and the --state file. At start it prints, per vendor, what
state models:

  stripe: state on, 142 resources (97 stored), 3 seeded objects

The admin API is at http://HOST:PORT/__tether/: health, journal (with
filters), faults (GET, PUT, POST, DELETE), reset, deliver, targets and
state (GET ?tenant=T[&vendor=V] reads a tenant's state in the layout of a
state file, PUT ?tenant=T replaces it, DELETE ?tenant=T returns it to the
seeds, DELETE without a tenant every tenant's). It
takes the admin token as "Authorization: Bearer TOKEN": the sandbox makes a
random one and prints it once at start, or takes it from the environment
variable TETHER_ADMIN_TOKEN (then it is not printed). A tenant's credential
reads only health and that tenant's journal entries, and reads, replaces
and resets only that tenant's state. The admin API answers
only at an IP address, localhost or an --admin-host name, refuses
cross-site browser requests, and takes only JSON or YAML bodies.

With no --tenant, any credential of the right shape is accepted; a missing
one gets 401.

Each vendor whose contract declares oauth2 flows gets an authorization
server at the paths of the flows' URLs, under the vendor's name
(https://discord.com/api/oauth2/token is served at
http://HOST:PORT/discord/api/oauth2/token; a relative URL resolves against
the server URL); the start-up lines print them. It grants
client_credentials, authorization_code (with PKCE; the authorize endpoint
redirects at once to the client's redirect_uri with a code, as a
consenting user would) and refresh_token to the clients of --tenant
NAME=oauth2:..., and answers errors as RFC 6749 says. Where the token URL
is an operation of the contract (Slack's oauth.access) its answers keep
that operation's shape. The admin API can, for a tenant, expire its
access tokens (POST /__tether/credentials/expire {"tenant": T}), revoke
its refresh tokens (.../revoke-refresh), take a scope away
(.../remove-scope, with "scope") and rotate a key or client secret
(.../rotate, with "old" and "new"; a new one is made when "new" is
empty). The journal and the lines printed hold no credential: each
is replaced by a placeholder, REDACTED- and a keyed digest, followed by
(TENANT/KIND) for a registered one.

  --contract [NAME=]FILE  an OpenAPI 3.x or Swagger 2.0 contract; repeat for
                          several vendors. NAME is the vendor's path
                          segment (default: the file name without extension)
  --overlay [NAME=]FILE   an OpenAPI Overlay describing where the vendor
                          behaves otherwise than its contract (Slack accepts
                          a form POST for every method); repeat, applied in
                          order. NAME is the vendor (default: the only one).
                          Calls the original contract refuses but the
                          overlay allows are answered and journaled as
                          overlay-departure findings
  --cassettes PATH        a cassette, or a directory of them; repeat. With
                          one vendor they all answer for it; with several,
                          a cassette answers for the vendor whose server host
                          it recorded, or give NAME=PATH
  --faults FILE           a fault plan (YAML): status codes, 429 with
                          Retry-After, latency, hangs, resets, truncated or
                          malformed bodies, per operation or for all; and
                          what happens to the caller's credential as a call
                          arrives: token-expired, grant-revoked,
                          scope-removed (with scope), key-rotated
  --tenant NAME=CREDENTIAL
                          register a credential of tenant NAME; repeat for
                          more credentials or tenants. CREDENTIAL is
                          bearer:TOKEN[;SCOPE,SCOPE...] (also for OAuth2),
                          api-key:KEY, basic:USER:PASSWORD, or
                          oauth2:CLIENT_ID:CLIENT_SECRET[;SCOPE,SCOPE...], a
                          client of the vendors' authorization servers. A
                          call is answered as the tenant whose credential
                          it carries; an unknown one gets 401, a token
                          without a scope the operation needs 403. These
                          are the sandbox's own test credentials, never
                          real ones
  --token-ttl DURATION    how long issued access tokens last, such as 90s
                          (default 1h); an expired one gets 401 with
                          WWW-Authenticate: Bearer error="invalid_token"
  --refresh-rotation      each use of a refresh token retires it; the
                          answer carries a new one (default: a refresh
                          token stays valid until revoked)
  --port N                the port to listen on (default 8787; 0 for any)
  --host ADDR             the address to listen on (default 127.0.0.1;
                          0.0.0.0 in a container)
  --admin-host NAME       a host name the admin API answers at, besides IP
                          addresses and localhost; repeat
  --deliver-to HOST[:PORT]
                          a host webhooks may be delivered to, besides the
                          loopback interface and targets registered through
                          the admin API (POST /__tether/targets); repeat
  --events DIR            a directory whose events files a delivery's "file"
                          may name; repeat. Without one, "file" is refused
  --strict                answer requests that break the contract with 400
                          and a problem+json body, instead of only journaling
  --seed N                seed for synthesised answers and fault draws
                          (default 1, or the fault file's seed)
  --quiet                 do not print a line per call
  --ref-root DIR          let the contracts' $refs read files anywhere under
                          DIR, which must hold each contract's folder. By
                          default a $ref may only name files under its
                          contract's own folder: a contract cannot make the
                          sandbox read and serve other files
                          (../../secret.yaml, /etc/passwd)

  --state FILE            objects every tenant starts with (YAML or JSON,
                          at most 64 MiB; layout below). A vendor, resource,
                          parent key or identifier the contracts do not have
                          stops the start with the file's line and column
  --samples [NAME=]FILE   a JSON file of objects the vendor answers with,
                          such as Stripe's fixtures; their identifiers give
                          the shape of the ones state makes (cus_...) where
                          the contract does not. NAME is the vendor
                          (default: the only one); repeat
  --overrides [NAME=]FILE corrections to the resource model inferred from
                          the contract (tether sandbox model --help shows
                          the file); NAME as for --samples. Without it, a
                          contract's CONTRACT.model.yaml is read if present
  --state-cap SIZE        the most one tenant's objects of one vendor hold,
                          such as 16MiB (default 64MiB); past it the oldest
                          go first and the call says so in the journal
  --strict-state          answer a read, update or delete of an identifier
                          state never saw with the vendor's 404, instead of
                          an object synthesised under that identifier
  --stateless             no state: answer every call on its own, from
                          cassettes, examples and synthesis

State file example (resources named as tether sandbox model names them;
keys are the parent's path parameters of a resource that has one):
  stripe:
    customers:
      - object: {id: cus_1, email: ada@example.com}
  github:
    repos/issues:
      - keys: {owner: octo, repo: hello}
        object: {number: 1, title: It broke, state: open}

Fault file example:
  seed: 7
  faults:
    - {kind: status, status: 503, operation: createDeal, first: 2}
    - {kind: rate-limit, limit: 5, per: 1s}
    - {kind: latency, min: 10ms, max: 80ms, probability: 0.5}

Limits: a request body may hold 32 MiB and must arrive within 30 s of its
headers (else 408); bodies held at once may hold 64 MiB in all (else 503
with Retry-After); headers may hold 64 KiB; an events file 8 MiB.

Exit codes: 0 stopped by Ctrl-C, 2 could not start (bad flags, a contract,
cassette, fault, state, samples or overrides file that does not load, the
port in use).

Examples:
  tether sandbox serve --contract crm=contracts/crm.yaml \
      --contract chat=contracts/chat.yaml --cassettes cassettes/ --port 8787
  tether sandbox serve --contract stripe=stripe-spec3.yaml \
      --samples stripe-fixtures3.json --state state.yaml --strict-state
`

func runSandbox(env *environ, args []string) int {
	if len(args) == 0 || isHelp(args[0]) {
		w, code := env.stderr, exitCannot
		if len(args) > 0 {
			w, code = env.stdout, exitOK
		}
		fmt.Fprint(w, sandboxHelp)
		return code
	}
	if args[0] == "model" {
		return runSandboxModel(env, args[1:])
	}
	if args[0] != "serve" {
		return fail(env, usageError{fmt.Sprintf("sandbox: unknown subcommand %q; there are model and serve", args[0])})
	}
	return runSandboxServe(env, args[1:])
}

func runSandboxServe(env *environ, args []string) int {
	fl := flag.NewFlagSet("sandbox serve", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	var contractArgs, cassetteArgs, overlayArgs, tenantArgs, adminHosts, deliverTo, eventDirs, sampleArgs, overrideArgs stringList
	var stateCap sizeFlag
	fl.Var(&sampleArgs, "samples", "")
	fl.Var(&overrideArgs, "overrides", "")
	fl.Var(&stateCap, "state-cap", "")
	stateFile := fl.String("state", "", "")
	stateless := fl.Bool("stateless", false, "")
	strictState := fl.Bool("strict-state", false, "")
	fl.Var(&contractArgs, "contract", "")
	fl.Var(&adminHosts, "admin-host", "")
	fl.Var(&deliverTo, "deliver-to", "")
	fl.Var(&eventDirs, "events", "")
	fl.Var(&tenantArgs, "tenant", "")
	fl.Var(&cassetteArgs, "cassettes", "")
	fl.Var(&overlayArgs, "overlay", "")
	faultsFile := fl.String("faults", "", "")
	port := fl.Int("port", 8787, "")
	host := fl.String("host", "127.0.0.1", "")
	strict := fl.Bool("strict", false, "")
	seedText := fl.String("seed", "", "")
	quiet := fl.Bool("quiet", false, "")
	refRoot := fl.String("ref-root", "", "")
	tokenTTL := fl.Duration("token-ttl", sandbox.DefaultTokenTTL, "")
	refreshRotation := fl.Bool("refresh-rotation", false, "")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.stdout, sandboxHelp)
			return exitOK
		}
		return fail(env, usageError{"sandbox serve: " + err.Error()})
	}
	switch {
	case len(contractArgs) == 0:
		return fail(env, usageError{"sandbox serve: --contract is required (the vendor to impersonate)"})
	case *port < 0 || *port > 65535:
		return fail(env, usageError{fmt.Sprintf("sandbox serve: --port %d is not a port", *port)})
	case fl.NArg() > 0:
		return fail(env, usageError{fmt.Sprintf("sandbox serve: unexpected argument %q", fl.Arg(0))})
	case *tokenTTL < time.Second:
		return fail(env, usageError{fmt.Sprintf("sandbox serve: --token-ttl %s: give at least 1s", *tokenTTL)})
	case *stateless && (*stateFile != "" || *strictState || stateCap.n != 0 || len(sampleArgs) > 0 || len(overrideArgs) > 0):
		return fail(env, usageError{"sandbox serve: --stateless turns state off; --state, --samples, --overrides, --state-cap and --strict-state are about state, so give one or the other"})
	}

	if env.getenv("GOGC") == "" {
		// A sandbox's live heap is small (contracts, rendered answers, a
		// bounded journal) and it allocates per call; collecting at 5x
		// the live heap instead of 2x costs little memory and cuts the
		// collector's share of the latency tail.
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	start := time.Now()
	vendors, err := loadVendors(contractArgs, cassetteArgs, overlayArgs, *refRoot, env.stderr)
	if err != nil {
		return fail(env, fmt.Errorf("sandbox serve: %w", err))
	}
	if err := loadModelInputs(vendors, sampleArgs, overrideArgs, !*stateless); err != nil {
		return fail(env, fmt.Errorf("sandbox serve: %w", err))
	}
	opts := []sandbox.Option{sandbox.WithAddr(net.JoinHostPort(*host, strconv.Itoa(*port)))}
	switch {
	case *stateless:
		opts = append(opts, sandbox.Stateless())
	case *stateFile != "":
		opts = append(opts, sandbox.WithStateFile(*stateFile))
	}
	if stateCap.n != 0 {
		opts = append(opts, sandbox.WithStateCap(stateCap.n))
	}
	if *strictState {
		opts = append(opts, sandbox.StrictState())
	}
	tokenFromEnv := env.getenv(adminTokenEnv)
	if tokenFromEnv != "" {
		if len(tokenFromEnv) < sandbox.MinAdminTokenLen || strings.ContainsAny(tokenFromEnv, " \t\r\n") {
			return fail(env, usageError{fmt.Sprintf("sandbox serve: %s must hold at least %d characters, without spaces; unset it to have a random token made and printed", adminTokenEnv, sandbox.MinAdminTokenLen)})
		}
		opts = append(opts, sandbox.WithAdminToken(tokenFromEnv))
	}
	if len(adminHosts) > 0 {
		opts = append(opts, sandbox.WithAdminHost(adminHosts...))
	}
	if len(deliverTo) > 0 {
		opts = append(opts, sandbox.WithTargetHost(deliverTo...))
	}
	if len(eventDirs) > 0 {
		opts = append(opts, sandbox.WithEventsDir(eventDirs...))
	}
	tenantOpts, err := tenantOptions(tenantArgs)
	if err != nil {
		return fail(env, err)
	}
	opts = append(opts, tenantOpts...)
	opts = append(opts, sandbox.WithTokenTTL(*tokenTTL))
	if *refreshRotation {
		opts = append(opts, sandbox.WithRefreshRotation())
	}
	if *strict {
		opts = append(opts, sandbox.Strict())
	}
	var seed *uint64
	if *seedText != "" {
		n, err := strconv.ParseUint(*seedText, 10, 64)
		if err != nil {
			return fail(env, usageError{fmt.Sprintf("sandbox serve: --seed %q: want a whole number", *seedText)})
		}
		seed = &n
	}
	if *faultsFile != "" {
		plan, err := sandbox.LoadFaults(*faultsFile)
		if err != nil {
			return fail(env, err)
		}
		if seed == nil && plan.Seed != 0 {
			seed = &plan.Seed
		}
		opts = append(opts, sandbox.WithFault(plan.Faults...))
	}
	if seed != nil {
		opts = append(opts, sandbox.WithSeed(*seed))
	}
	var mu sync.Mutex
	if !*quiet {
		opts = append(opts, sandbox.OnCall(func(e sandbox.Entry) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintln(env.stdout, callLine(e))
		}))
	}
	sb, err := sandbox.Start(vendors, opts...)
	if err != nil {
		return fail(env, fmt.Errorf("sandbox serve: %w", err))
	}
	mu.Lock()
	fmt.Fprintf(env.stdout, "tether sandbox: %d vendor(s) on %s, ready in %s\n", len(vendors), sb.URL(), time.Since(start).Round(time.Millisecond))
	for _, v := range sb.Health().Vendors {
		fmt.Fprintf(env.stdout, "  %-16s %s%s  (%s, %s, %s)\n", v.Name, sb.URL(), v.BasePath, v.Contract, counted(v.Operations, "operation"), counted(v.Cassettes, "cassette"))
	}
	for _, v := range sb.Health().Vendors {
		if v.State == nil {
			fmt.Fprintf(env.stdout, "  %s: state off\n", v.Name)
			continue
		}
		fmt.Fprintf(env.stdout, "  %s: state on, %s (%d stored), %s\n", v.Name, counted(v.State.Resources, "resource"), v.State.Stored, counted(v.State.Seeded, "seeded object"))
	}
	for _, v := range sb.Health().Vendors {
		for _, ep := range v.OAuth2 {
			line := fmt.Sprintf("  %s: oauth2 %-9s %s%s", v.Name, ep.Kind, sb.URL(), ep.Path)
			if ep.Operation != "" {
				line += "  (operation " + ep.Operation + ")"
			}
			fmt.Fprintln(env.stdout, line)
		}
	}
	fmt.Fprintf(env.stdout, "  %-16s %s%s\n", "admin", sb.URL(), sandbox.AdminPrefix)
	if tokenFromEnv != "" {
		fmt.Fprintf(env.stdout, "  %-16s from %s\n", "admin token", adminTokenEnv)
	} else {
		// Printed this once: the journal and the call lines never show it.
		fmt.Fprintf(env.stdout, "  %-16s %s  (send as Authorization: Bearer; set %s to choose it)\n", "admin token", sb.AdminToken(), adminTokenEnv)
	}
	mu.Unlock()

	if env.interrupted != nil {
		<-env.interrupted
	} else {
		select {}
	}
	mu.Lock()
	fmt.Fprintln(env.stdout, "tether sandbox: stopping")
	mu.Unlock()
	if err := sb.Close(); err != nil {
		return fail(env, fmt.Errorf("sandbox serve: stop: %w", err))
	}
	return exitOK
}

// adminTokenEnv names the environment variable that sets the admin token.
const adminTokenEnv = "TETHER_ADMIN_TOKEN"

// tenantOptions reads --tenant NAME=CREDENTIAL flags, gathering each
// tenant's credentials into one option.
func tenantOptions(args []string) ([]sandbox.Option, error) {
	var names []string
	creds := map[string][]sandbox.Credential{}
	for _, arg := range args {
		name, c, err := parseTenant(arg)
		if err != nil {
			return nil, err
		}
		if _, seen := creds[name]; !seen {
			names = append(names, name)
		}
		creds[name] = append(creds[name], c)
	}
	var opts []sandbox.Option
	for _, n := range names {
		opts = append(opts, sandbox.WithTenant(n, creds[n]...))
	}
	return opts, nil
}

// parseTenant reads one --tenant NAME=CREDENTIAL. Its errors never repeat
// the secret.
func parseTenant(arg string) (string, sandbox.Credential, error) {
	name, cred, ok := strings.Cut(arg, "=")
	if !ok || name == "" {
		return "", sandbox.Credential{}, usageError{"sandbox serve: --tenant: write NAME=CREDENTIAL, such as acme=bearer:TOKEN or acme=oauth2:CLIENT_ID:CLIENT_SECRET"}
	}
	shown := quoteName(name)
	kind, secret, _ := strings.Cut(cred, ":")
	scopeList := func(scopes string) ([]string, error) {
		if scopes == "" {
			return nil, nil
		}
		list := strings.Split(scopes, ",")
		for _, sc := range list {
			if sc == "" || strings.ContainsAny(sc, " \t\r\n\"") {
				return nil, usageError{fmt.Sprintf("sandbox serve: --tenant %s: scopes are a comma-separated list of names without spaces or quotes, as in ;read,write", shown)}
			}
		}
		return list, nil
	}
	var c sandbox.Credential
	switch kind {
	case "bearer":
		token, scopes, _ := strings.Cut(secret, ";")
		list, err := scopeList(scopes)
		if err != nil {
			return "", c, err
		}
		c = sandbox.Bearer(token, list...)
		secret = token
	case "api-key":
		c = sandbox.APIKey(secret)
	case "basic":
		user, pass, ok := strings.Cut(secret, ":")
		if !ok {
			return "", c, usageError{fmt.Sprintf("sandbox serve: --tenant %s: basic needs USER:PASSWORD", shown)}
		}
		c = sandbox.Basic(user, pass)
	case "oauth2":
		id, rest, ok := strings.Cut(secret, ":")
		if !ok || id == "" {
			return "", c, usageError{fmt.Sprintf("sandbox serve: --tenant %s: oauth2 needs CLIENT_ID:CLIENT_SECRET[;SCOPE,...]", shown)}
		}
		clientSecret, scopes, _ := strings.Cut(rest, ";")
		list, err := scopeList(scopes)
		if err != nil {
			return "", c, err
		}
		c = sandbox.OAuth2Client(id, clientSecret, list...)
		secret = clientSecret
	default:
		return "", c, usageError{fmt.Sprintf("sandbox serve: --tenant %s: the credential must start with bearer:, api-key:, basic: or oauth2:", shown)}
	}
	if secret == "" {
		return "", c, usageError{fmt.Sprintf("sandbox serve: --tenant %s: the %s credential is empty", shown, kind)}
	}
	return name, c, nil
}

// quoteName shows a tenant's name in a message, bounded and printable.
func quoteName(n string) string {
	if len(n) > 64 {
		n = n[:64] + "..."
	}
	return strconv.Quote(strings.ToValidUTF8(n, "?"))
}

// callLine is the line printed for one journaled call or delivery.
func callLine(e sandbox.Entry) string {
	took := fmt.Sprintf("%.1fms", float64(e.Took)/float64(time.Millisecond))
	if e.Kind == sandbox.KindDelivery {
		s := fmt.Sprintf("%s %s deliver %s to %s attempt %d: %d %s", e.Time.Format("15:04:05.000"), e.Vendor, e.Event, e.Target, e.Attempt, e.Status, took)
		if e.Error != "" {
			s += " " + e.Error
		}
		return s
	}
	target := e.Path
	if e.Query != "" {
		target += "?" + e.Query
	}
	s := fmt.Sprintf("%s %s %s %s %d %s %s", e.Time.Format("15:04:05.000"), e.Vendor, e.Method, target, e.Status, e.Source, took)
	if e.Operation != "" {
		s += " " + e.Operation
	}
	if e.Tenant != "" && e.Tenant != sandbox.DefaultTenant {
		s += " tenant=" + e.Tenant
	}
	if e.Fault != "" {
		s += " fault=" + strconv.Quote(e.Fault)
	}
	for _, f := range e.Findings {
		s += "\n    " + f.ID + ": " + f.Message
	}
	return s
}

// loadVendors loads each --contract and gives each vendor its cassettes.
// A contract's $refs may reach files under refRoot, when given, instead of
// under the contract's own folder only. An overlay's warnings (an action
// that matches nothing: the contract changed under it) go to warn.
func loadVendors(contractArgs, cassetteArgs, overlayArgs []string, refRoot string, warn io.Writer) ([]sandbox.Vendor, error) {
	var vendors []sandbox.Vendor
	byName := map[string]int{}
	hosts := map[string]int{}
	vendorName := func(name, file string) string {
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		}
		return name
	}
	overlays := map[string][]contracts.Option{}
	for _, arg := range overlayArgs {
		name, file := splitNamed(arg)
		if name == "" {
			if len(contractArgs) != 1 {
				return nil, usageError{fmt.Sprintf("--overlay %s: name the vendor (NAME=FILE); there are %d contracts", arg, len(contractArgs))}
			}
			name = vendorName(splitNamed(contractArgs[0]))
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--overlay %s: %w", arg, err)
		}
		overlays[name] = append(overlays[name], contracts.WithOverlay(file, data))
	}
	for _, arg := range contractArgs {
		name, file := splitNamed(arg)
		name = vendorName(name, file)
		// The sandbox checks credentials itself, per tenant; the
		// contract's own check would only repeat it.
		c, err := contracts.Load(file, refOptions(refRoot, append([]contracts.Option{contracts.IgnoreSecurity()}, overlays[name]...)...)...)
		if err != nil {
			return nil, err
		}
		for _, w := range c.Warnings() {
			if w.ID == contracts.RuleOverlayUnmatched {
				fmt.Fprintf(warn, "tether: %s: warning [%s] %s\n", w.Position, w.ID, w.Message)
			}
		}
		delete(overlays, name)
		v := sandbox.Vendor{Name: name, Contract: c}
		byName[v.Name] = len(vendors)
		for _, s := range c.Servers() {
			if u, err := url.Parse(s.Resolved); err == nil && u.Host != "" {
				hosts[strings.ToLower(u.Hostname())] = len(vendors)
			}
		}
		vendors = append(vendors, v)
	}
	if len(overlays) > 0 {
		name := slices.Sorted(maps.Keys(overlays))[0]
		return nil, usageError{fmt.Sprintf("--overlay %s=...: no vendor %q among the contracts", name, name)}
	}
	for _, arg := range cassetteArgs {
		name, path := splitNamed(arg)
		if name != "" {
			if _, ok := byName[name]; !ok {
				return nil, fmt.Errorf("--cassettes %s: no vendor %q", arg, name)
			}
		}
		files, err := cassetteFiles([]string{path})
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			c, err := fixtures.Load(f)
			if err != nil {
				return nil, err
			}
			i, err := vendorOf(c, name, byName, hosts, len(vendors))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			vendors[i].Cassettes = append(vendors[i].Cassettes, c)
		}
	}
	return vendors, nil
}

// loadModelInputs gives vendors the samples and overrides of
// --samples [NAME=]FILE and --overrides [NAME=]FILE; without NAME, the
// only vendor. With beside, a vendor given no overrides file gets the one
// beside its contract, if there is one.
func loadModelInputs(vendors []sandbox.Vendor, sampleArgs, overrideArgs []string, beside bool) error {
	vendorFor := func(flagName, arg string) (*sandbox.Vendor, string, error) {
		name, file := splitNamed(arg)
		if name == "" {
			if len(vendors) != 1 {
				return nil, "", usageError{fmt.Sprintf("%s %s: name the vendor (NAME=FILE); there are %d contracts", flagName, arg, len(vendors))}
			}
			return &vendors[0], file, nil
		}
		for i := range vendors {
			if vendors[i].Name == name {
				return &vendors[i], file, nil
			}
		}
		return nil, "", usageError{fmt.Sprintf("%s %s: no vendor %q among the contracts", flagName, arg, name)}
	}
	for _, arg := range sampleArgs {
		v, file, err := vendorFor("--samples", arg)
		if err != nil {
			return err
		}
		data, err := readCapped(file, maxSamplesFile)
		if err != nil {
			return fmt.Errorf("--samples %s: %w", arg, err)
		}
		samples, err := state.SamplesFromJSON(file, data)
		if err != nil {
			return err
		}
		v.Samples = append(v.Samples, samples...)
	}
	for _, arg := range overrideArgs {
		v, file, err := vendorFor("--overrides", arg)
		if err != nil {
			return err
		}
		if v.Overrides != nil {
			return usageError{fmt.Sprintf("--overrides %s: vendor %q has an overrides file already; give one per vendor", arg, v.Name)}
		}
		if v.Overrides, err = state.LoadOverrides(file); err != nil {
			return err
		}
	}
	// Without --overrides, a vendor's corrections are read from beside
	// its contract, as `tether sandbox model` reads them.
	for i := range vendors {
		if !beside {
			break
		}
		v := &vendors[i]
		if v.Overrides != nil || v.Contract == nil || v.Stateless {
			continue
		}
		file := state.OverridesFile(v.Contract.File())
		if _, err := os.Stat(file); err != nil {
			continue
		}
		var err error
		if v.Overrides, err = state.LoadOverrides(file); err != nil {
			return err
		}
	}
	return nil
}

// vendorOf picks the vendor a cassette answers for.
func vendorOf(c *fixtures.Cassette, name string, byName, hosts map[string]int, n int) (int, error) {
	switch {
	case name != "":
		return byName[name], nil
	case n == 1:
		return 0, nil
	}
	for _, it := range c.Interactions {
		if u, err := url.Parse(it.Request.URL); err == nil {
			if i, ok := hosts[strings.ToLower(u.Hostname())]; ok {
				return i, nil
			}
		}
	}
	return 0, errors.New("no vendor's server host matches the hosts this cassette recorded; give --cassettes NAME=PATH")
}

// splitNamed splits "name=path" into its parts; a plain path has no name.
// A path holding "=" with a separator before it stays whole.
func splitNamed(arg string) (string, string) {
	name, path, ok := strings.Cut(arg, "=")
	if !ok || name == "" || strings.ContainsAny(name, `/\`) {
		return "", arg
	}
	return name, path
}
