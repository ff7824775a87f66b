// Command tether proves that an integration connector still honours its
// vendors' contracts. Run `tether help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Exit codes, the same for every command.
const (
	exitOK       = 0 // nothing to report
	exitFindings = 1 // the command ran and found errors
	exitCannot   = 2 // the command could not run: bad usage, unreadable input
)

// command is one subcommand: a name, a line for the overview, and a run
// function that returns an exit code.
type command struct {
	name    string
	summary string
	run     func(env *environ, args []string) int
}

// environ is what a command may touch outside its arguments. Tests give
// their own; main gives the process's.
type environ struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// interrupted is closed on the first Ctrl-C or SIGTERM; long-running
	// commands stop cleanly on it. Nil means never.
	interrupted <-chan struct{}
}

func main() {
	env := &environ{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env.interrupted = ctx.Done()
	go func() {
		// After the first signal, the next one acts as it normally would:
		// a second Ctrl-C ends the process even while it saves.
		<-ctx.Done()
		stop()
		endAfter(signalGrace, os.Stderr, os.Exit)
	}()
	os.Exit(run(env, os.Args[1:]))
}

// signalGrace is how long a command has to end after Ctrl-C or SIGTERM.
const signalGrace = 10 * time.Second

// endAfter ends the process with exitCannot after grace: a command that
// cannot stop where it is (a contract being parsed) still ends on a
// signal. Every file tether writes is written atomically, so nothing is
// left half-written.
func endAfter(grace time.Duration, stderr io.Writer, exit func(int)) {
	time.Sleep(grace)
	fmt.Fprintf(stderr, "tether: stopped: the command did not end within %v of the signal\n", grace)
	exit(exitCannot)
}

func commands() []command {
	return []command{
		{"contract", "read vendor contracts: lint them, synthesise examples", runContract},
		{"diff", "compare two versions of a contract: breaking changes, who they affect", runDiff},
		{"cassette", "check recorded interactions: scan for secrets, lint, import HAR", runCassette},
		{"record", "record a real vendor through a redacting, validating proxy", runRecord},
		{"drift", "replay recorded calls against the live vendor: what changed", runDrift},
		{"replay", "deliver events to a connector, capture its vendor calls, compare", runReplay},
		{"sandbox", "impersonate vendors from their contracts: faults, auth, journal", runSandbox},
		{"test", "run the contract, negative and replay suites over a connector", runTest},
		{"gate", "run every suite, write the reports, pass or fail the release", runGate},
		{"package", "gate the connector and write its release bundle", runPackage},
		{"verify", "check a release bundle as a marketplace does on upload", runVerify},
		{"sign", "sign a release bundle with a private key, offline", runSign},
		{"keygen", "make a key pair to sign releases with", runKeygen},
		{"push", "publish a release bundle to an OCI registry", runPush},
		{"pull", "read a release bundle back from an OCI registry", runPull},
		{"impact", "which releases of a fleet a vendor's new contract breaks", runImpact},
		{"report", "merge the reports of a fleet gate's shards into one", runReport},
		{"rules", "list every rule a finding can carry: ID, level, meaning", runRules},
		{"version", "print tether's version", runVersion},
	}
}

const overview = `tether proves that an integration connector still honours its vendors'
contracts before it ships.

Usage:
  tether <command> [arguments]

Commands:
%s
Exit codes: 0 nothing found, 1 findings, 2 could not run.
Run 'tether <command> --help' for what a command does and its flags.
`

func run(env *environ, args []string) int {
	if len(args) == 0 || isHelp(args[0]) || args[0] == "help" {
		if len(args) > 1 && args[0] == "help" {
			return run(env, []string{args[1], "--help"})
		}
		w := env.stdout
		code := exitOK
		if len(args) == 0 {
			w, code = env.stderr, exitCannot
		}
		fmt.Fprintf(w, overview, commandList(commands()))
		return code
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(env, args[1:])
		}
	}
	fmt.Fprintf(env.stderr, "tether: unknown command %q\n\n", args[0])
	fmt.Fprintf(env.stderr, overview, commandList(commands()))
	return exitCannot
}

func commandList(cs []command) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	return b.String()
}

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// version is set at build time with -ldflags "-X main.version=..."; a plain
// build reports "dev".
var version = "dev"

func runVersion(env *environ, args []string) int {
	fmt.Fprintf(env.stdout, "tether %s\n", version)
	return exitOK
}

// fail prints an error that stopped a command and returns exitCannot.
func fail(env *environ, err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(env.stderr, "tether: %v\nRun with --help for usage.\n", err)
		return exitCannot
	}
	fmt.Fprintf(env.stderr, "tether: %v\n", err)
	return exitCannot
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// cancelOnInterrupt cancels ctx, through cancel, when the user interrupts
// the command (Ctrl-C); it stops watching once ctx is done.
func cancelOnInterrupt(ctx context.Context, env *environ, cancel context.CancelFunc) {
	if env.interrupted == nil {
		return
	}
	go func() {
		select {
		case <-env.interrupted:
			cancel()
		case <-ctx.Done():
		}
	}()
}
