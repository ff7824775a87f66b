package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tetherkit/tether/harness/fleet"
	"github.com/tetherkit/tether/harness/report"
)

const reportHelp = `Usage:
  tether report merge REPORT... [--out DIR]

report merge joins the reports of a fleet gate's shards ('tether gate
--fleet DIR --shard K/N', one per CI job) into the report one unsharded
run over the same connectors writes, byte for byte: report.json,
summary.md and junit.xml in --out. Each REPORT is a shard's report.json;
the timings.json beside each, when there, are merged into --out's
timings.json, which the next run's --timings balances the shards with.

It refuses reports about different fleets, a shard given twice, a
connector in two reports, and a fleet not wholly covered, each naming
what is wrong.

  --out DIR       where to write (default fleet-report)

Exit codes: 0 every connector passed, 1 one failed, 2 one could not run,
or the reports cannot be merged.

Example:
  tether report merge shard-*/report.json --out fleet-report
`

// maxReportFile bounds a report read for merging.
const maxReportFile = 256 << 20

func runReport(env *environ, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, reportHelp)
		return exitCannot
	}
	if isHelp(args[0]) {
		fmt.Fprint(env.stdout, reportHelp)
		return exitOK
	}
	if args[0] != "merge" {
		return fail(env, usageError{fmt.Sprintf("report %q: the subcommand is merge", args[0])})
	}
	fl := newFlags("report merge", env, reportHelp)
	out := fl.String("out", "fleet-report", "")
	files, code, ok := parseFlags(fl, env, reportHelp, args[1:])
	if !ok {
		return code
	}
	if len(files) == 0 {
		return fail(env, usageError{"report merge needs the shards' report.json files"})
	}
	var reports []*fleet.GateReport
	var timings []fleet.Timings
	for _, f := range files {
		data, err := readBounded(f, maxReportFile)
		if err != nil {
			return fail(env, err)
		}
		r, err := fleet.ParseGateReport(f, data)
		if err != nil {
			return fail(env, err)
		}
		reports = append(reports, r)
		tf := filepath.Join(filepath.Dir(f), "timings.json")
		data, err = readBounded(tf, maxReportFile)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fail(env, err)
		}
		t, err := fleet.ParseTimings(tf, data)
		if err != nil {
			return fail(env, err)
		}
		timings = append(timings, t)
	}
	merged, err := fleet.Merge(reports...)
	if err != nil {
		return fail(env, err)
	}
	var t fleet.Timings
	if len(timings) > 0 {
		t = fleet.MergeTimings(timings...)
	}
	written, err := writeFleetReports(merged, t, *out)
	if err != nil {
		return fail(env, err)
	}
	fmt.Fprintf(env.stdout, "%s\nwrote %s\n", merged.Line(), strings.Join(written, ", "))
	return fleetExit(merged)
}

// readBounded reads a regular file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: over %d MiB", path, limit>>20)
	}
	return data, nil
}

// writeFleetReports writes a fleet report's forms into dir, each
// atomically, and the timings when there are some.
func writeFleetReports(r *fleet.GateReport, t fleet.Timings, dir string) ([]string, error) {
	files := []rendering{
		{"report.json", func(w io.Writer) error { return writeBytes(w, r.JSON) }},
		{"summary.md", r.Markdown},
		{"junit.xml", r.JUnit},
	}
	if t != nil {
		files = append(files, rendering{"timings.json", func(w io.Writer) error { return writeBytes(w, t.JSON) }})
	}
	return writeRenderings(dir, files)
}

// fleetExit is the exit code of a fleet report.
func fleetExit(r *fleet.GateReport) int {
	switch r.Summary.Status {
	case report.StatusPass:
		return exitOK
	case report.StatusFail:
		return exitFindings
	}
	return exitCannot
}
