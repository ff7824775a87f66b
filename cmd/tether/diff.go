package main

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/internal/junit"
	"github.com/tetherkit/tether/internal/markdown"
)

const diffHelp = `Usage:
  tether diff OLD NEW [--usage DIR] [--format text|json|markdown|junit|githubactions]
              [--fail-on error|warning|info] [--all]

diff compares two versions of a vendor's contract, OLD and NEW (OpenAPI
3.0 or 3.1, or Swagger 2.0), and lists every change that a client written
against OLD could notice, each with its stable ID and where it is in each
file (file:line:col). Schemas are compared resolved: a $ref that moved or
was renamed, or keys in another order, are no change.

Each change has a severity:
  error     breaking: a client written against OLD fails, e.g. an
            operation removed, a required response property removed, a
            new required parameter
  warning   may break some clients, e.g. a response enum gained a value,
            an optional response property was removed
  info      safe, e.g. an operation or an optional parameter added

  --usage DIR     DIR is a connector (the directory with connector.yaml):
                  each change is marked as affecting the connector, when
                  its cassettes, golden files or events show it calls,
                  sends or reads what changed, or as elsewhere. Only the
                  changes that affect it count for the exit code; the
                  others are folded into one count per ID
  --all           with --usage, list the changes elsewhere in full too
  --fail-on S     the lowest severity that fails: error (the default),
                  warning, or info (any change fails)
  --format F      text (the default): one line per change and a summary
                  json: every change, with "affects" under --usage
                  markdown: a table, for a pull request or step summary
                  junit: one test case per operation, a failure per
                  change at or above --fail-on
                  githubactions: one annotation per change

Exit codes: 0 no (counted) change at or above --fail-on, 1 at least one,
2 could not run: bad flags, or a contract unreadable or invalid (the
error names file:line).

Examples:
  tether diff crm-2.3.yaml crm-2.4.yaml
  tether diff old.yaml new.yaml --fail-on warning --format githubactions
  tether diff connectors/dealnotify/contracts/crm.openapi.yaml crm-next/crm.openapi.yaml \
      --usage connectors/dealnotify
  tether diff old.yaml new.yaml --format json > changes.json
  tether diff old.yaml new.yaml --format markdown >> "$GITHUB_STEP_SUMMARY"
`

// diffFormats maps each --format to its renderer.
var diffFormats = map[string]func(w io.Writer, r *diffReport) error{
	"text":          writeDiffText,
	"json":          writeDiffJSON,
	"markdown":      writeDiffMarkdown,
	"junit":         writeDiffJUnit,
	"githubactions": writeDiffGitHub,
}

// diffReport is the outcome of one comparison, as --format json prints it.
// The same inputs give the same bytes: it holds no times.
type diffReport struct {
	Tether  string             `json:"tether"`
	Old     diffInput          `json:"old"`
	New     diffInput          `json:"new"`
	Usage   string             `json:"usage,omitempty"` // the connector's directory, with --usage
	FailOn  contracts.Level    `json:"fail_on"`
	Changes []contracts.Change `json:"changes"`
	Summary diffSummary        `json:"summary"`

	all bool // list the changes elsewhere in full
}

// diffInput names a contract compared and the digest of its bytes, so a
// report says which versions it is about.
type diffInput struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// diffSummary counts the changes. Without --usage every change counts;
// with it, only those that affect the connector.
type diffSummary struct {
	Status    string `json:"status"` // "pass" or "fail"
	Changes   int    `json:"changes"`
	Errors    int    `json:"errors"`
	Warnings  int    `json:"warnings"`
	Infos     int    `json:"infos"`
	Counted   int    `json:"counted"`             // the changes that count for the exit code
	Failing   int    `json:"failing"`             // counted changes at or above fail_on
	Connector *int   `json:"connector,omitempty"` // with --usage: the changes that affect the connector
	Elsewhere *int   `json:"elsewhere,omitempty"` // with --usage: the others
}

func runDiff(env *environ, args []string) int {
	fs := newFlags("diff", env, diffHelp)
	format := fs.String("format", "text", "")
	failOn := fs.String("fail-on", "error", "")
	usageDir := fs.String("usage", "", "")
	all := fs.Bool("all", false, "")
	files, code, ok := parseFlags(fs, env, diffHelp, args)
	// Two parsed contracts are most of the memory a comparison needs, and
	// they are garbage soon after; collecting more often keeps the peak
	// about an eighth lower for a few percent more time on Stripe's pair.
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	if !ok {
		return code
	}
	if len(files) != 2 {
		return fail(env, usageError{fmt.Sprintf("diff needs two contracts, OLD and NEW; got %d argument(s)", len(files))})
	}
	render, ok := diffFormats[*format]
	if !ok {
		return fail(env, usageError{fmt.Sprintf("--format %q: use text, json, markdown, junit or githubactions", *format)})
	}
	threshold, err := contracts.ParseLevel(*failOn)
	if err != nil {
		return fail(env, usageError{fmt.Sprintf("--fail-on %q: use error, warning or info", *failOn)})
	}
	if *all && *usageDir == "" {
		return fail(env, usageError{"--all folds nothing without --usage DIR"})
	}
	if *usageDir != "" {
		if st, err := os.Stat(*usageDir); err != nil || !st.IsDir() {
			return fail(env, usageError{fmt.Sprintf("--usage %s: not a directory; give the connector's, the one with connector.yaml", *usageDir)})
		}
	}

	r := &diffReport{Tether: version, Usage: *usageDir, FailOn: threshold, all: *all}
	var usage *contracts.Usage
	var usageErr error
	var wg sync.WaitGroup
	if *usageDir != "" {
		// Reading what the connector uses touches other files than the
		// contracts; it runs while they are compared.
		wg.Go(func() { usage, usageErr = usageFor(*usageDir, files[1]) })
	}
	changes, err := contracts.CompareFiles(files[0], files[1])
	wg.Wait()
	if err != nil {
		return fail(env, err)
	}
	if usageErr != nil {
		return fail(env, fmt.Errorf("read what %s uses: %w", *usageDir, usageErr))
	}
	for i, f := range files {
		in, err := diffDigest(f)
		if err != nil {
			return fail(env, err)
		}
		if i == 0 {
			r.Old = in
		} else {
			r.New = in
		}
	}
	if usage != nil {
		if usage.Empty() {
			fmt.Fprintf(env.stderr, "tether: nothing in %s shows it using %s: every change counts as elsewhere\n", *usageDir, files[1])
		}
		usage.Mark(changes)
	}
	r.Changes = changes
	if r.Changes == nil {
		r.Changes = []contracts.Change{} // "changes": [] rather than null
	}
	r.summarise()
	if err := render(env.stdout, r); err != nil {
		return fail(env, fmt.Errorf("write the %s output: %w", *format, err))
	}
	if r.Summary.Failing > 0 {
		return exitFindings
	}
	return exitOK
}

func diffDigest(path string) (diffInput, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return diffInput{}, fmt.Errorf("read %s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	return diffInput{File: path, SHA256: hex.EncodeToString(sum[:])}, nil
}

// counts reports whether a change counts for the exit code: every change
// without --usage, only those that affect the connector with it.
func (r *diffReport) counts(c contracts.Change) bool {
	return r.Usage == "" || c.Affects == contracts.AffectsConnector
}

// fails reports whether a change makes the run fail.
func (r *diffReport) fails(c contracts.Change) bool {
	return r.counts(c) && c.Level >= r.FailOn
}

// listed splits the changes: those that count, printed in full; those
// elsewhere printed in full (with --all); and those folded into counts.
func (r *diffReport) listed() (counted, elsewhere, folded []contracts.Change) {
	for _, c := range r.Changes {
		switch {
		case r.counts(c):
			counted = append(counted, c)
		case r.all:
			elsewhere = append(elsewhere, c)
		default:
			folded = append(folded, c)
		}
	}
	return counted, elsewhere, folded
}

func (r *diffReport) summarise() {
	s := diffSummary{Changes: len(r.Changes)}
	var connector, elsewhere int
	for _, c := range r.Changes {
		switch c.Level {
		case contracts.LevelError:
			s.Errors++
		case contracts.LevelWarning:
			s.Warnings++
		default:
			s.Infos++
		}
		if r.counts(c) {
			s.Counted++
		}
		if r.fails(c) {
			s.Failing++
		}
		if c.Affects == contracts.AffectsConnector {
			connector++
		} else {
			elsewhere++
		}
	}
	if r.Usage != "" {
		s.Connector, s.Elsewhere = &connector, &elsewhere
	}
	s.Status = "pass"
	if s.Failing > 0 {
		s.Status = "fail"
	}
	r.Summary = s
}

// summaryLine is the one-line verdict the text and markdown outputs end or
// start with.
func (r *diffReport) summaryLine() string {
	s := r.Summary
	verdict := strings.ToUpper(s.Status)
	if s.Changes == 0 {
		return verdict + ": no changes"
	}
	line := fmt.Sprintf("%s: %s: %s, %s, %s", verdict, diffPlural(s.Changes, "change"),
		diffPlural(s.Errors, "error"), diffPlural(s.Warnings, "warning"), diffPlural(s.Infos, "info"))
	if r.Usage != "" {
		line += fmt.Sprintf("; %s the connector, %s elsewhere", diffPlural(*s.Connector, "affects", "affect"), diffThousands(*s.Elsewhere))
	}
	return line + fmt.Sprintf("; %d at or above %s", s.Failing, r.FailOn)
}

// plural writes n and the noun, with an s when n is not 1; a second word
// replaces the noun for n != 1.
func diffPlural(n int, one string, many ...string) string {
	w := one
	if n != 1 {
		switch {
		case len(many) > 0:
			w = many[0]
		case one != "info":
			w = one + "s"
		}
	}
	return diffThousands(n) + " " + w
}

// thousands writes n with commas between groups of three digits.
func diffThousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// diffFold is how many changes of one ID were folded.
type diffFold struct {
	id       string
	severity contracts.Level
	n        int
}

// fold counts the folded changes by ID, the most severe first, then the
// most numerous.
func foldChanges(changes []contracts.Change) []diffFold {
	by := map[string]*diffFold{}
	for _, c := range changes {
		f := by[c.ID]
		if f == nil {
			f = &diffFold{id: c.ID, severity: c.Level}
			by[c.ID] = f
		}
		f.n++
		f.severity = max(f.severity, c.Level)
	}
	out := make([]diffFold, 0, len(by))
	for _, f := range by {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b diffFold) int {
		return cmp.Or(cmp.Compare(b.severity, a.severity), cmp.Compare(b.n, a.n), strings.Compare(a.id, b.id))
	})
	return out
}

func writeDiffText(w io.Writer, r *diffReport) error {
	counted, elsewhere, folded := r.listed()
	bw := &diffWriter{w: w}
	for _, c := range counted {
		fmt.Fprintln(bw, c.String())
	}
	if len(elsewhere) > 0 {
		fmt.Fprintln(bw, "elsewhere, in parts of the API the connector does not use:")
		for _, c := range elsewhere {
			fmt.Fprintln(bw, c.String())
		}
	}
	for _, f := range foldChanges(folded) {
		fmt.Fprintf(bw, "%s %s elsewhere (%s)\n", diffThousands(f.n), f.id, f.severity)
	}
	if len(folded) > 0 {
		fmt.Fprintln(bw, "(--all lists the changes elsewhere in full)")
	}
	fmt.Fprintln(bw, r.summaryLine())
	return bw.err
}

func writeDiffJSON(w io.Writer, r *diffReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func writeDiffMarkdown(w io.Writer, r *diffReport) error {
	counted, elsewhere, folded := r.listed()
	bw := &diffWriter{w: w}
	fmt.Fprintf(bw, "### Contract changes: %s → %s\n\n", markdown.Text(r.Old.File), markdown.Text(r.New.File))
	fmt.Fprintf(bw, "**%s**\n", markdown.Text(r.summaryLine()))
	table := func(changes []contracts.Change) {
		fmt.Fprintln(bw, "\n| Level | ID | Operation | Change | Old | New |")
		fmt.Fprintln(bw, "|---|---|---|---|---|---|")
		for _, c := range changes {
			fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s |\n", c.Level, markdown.Code(c.ID), markdown.Cell(c.Operation()),
				markdown.Cell(c.Message), markdown.Cell(c.Old.String()), markdown.Cell(c.New.String()))
		}
	}
	if len(counted) > 0 {
		table(counted)
	}
	if len(elsewhere) > 0 {
		fmt.Fprintln(bw, "\n#### Elsewhere, in parts of the API the connector does not use")
		table(elsewhere)
	}
	if len(folded) > 0 {
		fmt.Fprintln(bw, "\n#### Elsewhere, in parts of the API the connector does not use")
		fmt.Fprintln(bw)
		for _, f := range foldChanges(folded) {
			fmt.Fprintf(bw, "- %s %s elsewhere (%s)\n", diffThousands(f.n), markdown.Code(f.id), f.severity)
		}
	}
	return bw.err
}

func writeDiffJUnit(w io.Writer, r *diffReport) error {
	s := junit.Suite{Name: "tether diff " + r.Old.File + " " + r.New.File, Properties: []junit.Property{
		{Name: "old", Value: r.Old.File}, {Name: "old.sha256", Value: r.Old.SHA256},
		{Name: "new", Value: r.New.File}, {Name: "new.sha256", Value: r.New.SHA256},
		{Name: "fail-on", Value: r.FailOn.String()}, {Name: "tether", Value: r.Tether},
	}}
	if r.Usage != "" {
		s.Properties = append(s.Properties, junit.Property{Name: "usage", Value: r.Usage})
	}
	index := map[string]int{}
	for _, c := range r.Changes {
		op := c.Operation()
		if op == "" {
			op = "document"
		}
		i, ok := index[op]
		if !ok {
			i = len(s.Cases)
			index[op] = i
			s.Cases = append(s.Cases, junit.Case{Name: op, Classname: "diff"})
		}
		tc := &s.Cases[i]
		line := c.String()
		if c.Affects != "" {
			line += " [" + c.Affects + "]"
		}
		tc.SystemOut += junit.Text(line + "\n")
		if r.fails(c) {
			tc.Failures = append(tc.Failures, junit.Failure{Message: c.Message, Type: c.ID, Text: line})
		}
	}
	if len(s.Cases) == 0 {
		s.Cases = append(s.Cases, junit.Case{Name: "no changes", Classname: "diff"})
	}
	return junit.Write(w, junit.Report{Name: "tether diff", Suites: []junit.Suite{s}})
}

// diffGitHubData escapes a workflow command's message, as the Actions runner
// unescapes it.
func diffGitHubData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// diffGitHubProperty escapes a workflow command's property value, where , and
// : also separate.
func diffGitHubProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// diffGitHubCommand names the annotation for a severity.
func diffGitHubCommand(s contracts.Level) string {
	switch s {
	case contracts.LevelError:
		return "error"
	case contracts.LevelWarning:
		return "warning"
	}
	return "notice"
}

func writeDiffGitHub(w io.Writer, r *diffReport) error {
	counted, elsewhere, folded := r.listed()
	bw := &diffWriter{w: w}
	for _, c := range slices.Concat(counted, elsewhere) {
		// The annotation goes on the newer file where the change is there:
		// that is the file a pull request shows.
		at := c.New
		if at == nil {
			at = c.Old
		}
		cmd := diffGitHubCommand(c.Level)
		msg := c.Message
		if op := c.Operation(); op != "" {
			msg = op + ": " + msg
		}
		if r.Usage != "" && c.Affects != contracts.AffectsConnector {
			cmd = "notice" // listed with --all, it does not count
			msg += " (elsewhere: the connector does not use it)"
		}
		var props []string
		if at != nil {
			props = append(props, "file="+diffGitHubProperty(at.File))
			if at.Line > 0 {
				props = append(props, "line="+strconv.Itoa(at.Line))
			}
			if at.Column > 0 {
				props = append(props, "col="+strconv.Itoa(at.Column))
			}
		}
		props = append(props, "title="+diffGitHubProperty(c.ID))
		fmt.Fprintf(bw, "::%s %s::%s\n", cmd, strings.Join(props, ","), diffGitHubData(msg))
	}
	if len(folded) > 0 {
		var parts []string
		for _, f := range foldChanges(folded) {
			parts = append(parts, diffThousands(f.n)+" "+f.id)
		}
		fmt.Fprintf(bw, "::notice title=%s::%s\n", diffGitHubProperty("changes elsewhere"),
			diffGitHubData(diffPlural(len(folded), "change")+" in parts of the API the connector does not use: "+strings.Join(parts, ", ")))
	}
	return bw.err
}

// diffWriter keeps the first write error, so a renderer checks once.
type diffWriter struct {
	w   io.Writer
	err error
}

func (e *diffWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// usageFor reads what the connector in dir uses of the contract in file.
func usageFor(dir, file string) (*contracts.Usage, error) {
	c, err := manifest.Load(dir, manifest.ForUpdate(true))
	if err != nil {
		return nil, err
	}
	return compat.UsageOf(c, filepath.ToSlash(file)), nil
}
