package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file holds what the renderers share: the run's result and counts in
// words. Each renderer reads the Report alone and gives the same bytes for
// the same Report; the JSON form is [Report.JSON].

// passed reports whether the run passed; a missing status is a failure,
// so that a half-made report never shows as a pass.
func (r *Report) passed() bool { return r.Summary.Status == StatusPass }

func statusWord(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

func statusMark(pass bool) string {
	if pass {
		return "✅"
	}
	return "❌"
}

// CountLine is the run's counts in one line: checks, findings by level,
// scenarios, and the time when the report has it.
func (r *Report) CountLine() string {
	skipped := 0
	for _, c := range r.Checks {
		if c.Status == StatusSkip {
			skipped++
		}
	}
	s := fmt.Sprintf("%s, %d failed", plural(r.Summary.Checks, "check"), r.Summary.Failed)
	if skipped > 0 {
		s += fmt.Sprintf(", %d skipped", skipped)
	}
	s += fmt.Sprintf(" · %s, %s, %s", plural(r.Summary.Errors, "error"), plural(r.Summary.Warnings, "warning"), plural(r.Summary.Infos, "info"))
	if r.Summary.Waived > 0 {
		s += fmt.Sprintf(", %d waived", r.Summary.Waived)
	}
	s += " · " + plural(len(r.Scenarios), "scenario")
	if r.Timings.Total > 0 {
		s += " · " + seconds(r.Timings.Total) + " s"
	}
	return s
}

// runLine says what is needed to reproduce the run.
func (r *Report) runLine() string {
	parts := []string{fmt.Sprintf("seed %d", r.Run.Seed)}
	if r.Run.Target != "" {
		parts = append(parts, "target "+r.Run.Target)
	}
	if r.Run.Sandbox != "" {
		parts = append(parts, "sandbox "+r.Run.Sandbox)
	}
	if r.Tools.Tether != "" {
		parts = append(parts, "tether "+r.Tools.Tether)
	}
	if r.Tools.Go != "" {
		parts = append(parts, r.Tools.Go)
	}
	return strings.Join(parts, " · ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// suiteNames lists the suites in the report's order, then any suite that
// only a check names, in the order the checks name it.
func (r *Report) suiteNames() []string {
	var names []string
	for _, s := range r.Suites {
		if !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
		}
	}
	for _, c := range r.Checks {
		if !slices.Contains(names, c.Suite) {
			names = append(names, c.Suite)
		}
	}
	return names
}

// seconds formats d in seconds with three decimals, as JUnit wants it.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
