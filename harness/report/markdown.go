package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/internal/markdown"
)

// Markdown limits: a pull-request comment should stay short.
const (
	markdownFindings  = 50
	markdownDiffLines = 30
)

// Markdown writes a summary of the report fit for a pull-request comment
// or a GitHub step summary: the result, the counts, a table of suites and
// one of scenarios, the error and warning findings (the first 50) and the
// golden-file differences of failing scenarios (the first 30 lines of
// each). Text from the report is escaped, so a message cannot break a
// table or turn into markup.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s %s: tether %s", statusMark(r.passed()), statusWord(r.passed()), markdown.Text(r.Connector.Name))
	if r.Connector.Version != "" {
		fmt.Fprintf(&b, " %s", markdown.Text(r.Connector.Version))
	}
	b.WriteString("\n\n")
	b.WriteString(markdown.Text(r.CountLine()) + "\n")

	if len(r.Suites) > 0 {
		// Times are shown when the report has them: a report read back
		// from its JSON form has none, and gives the same summary as the
		// run that wrote it.
		timed := r.Timings.Total > 0
		b.WriteString("\n### Suites\n\n")
		if timed {
			b.WriteString("| Suite | Status | Checks | Failed | Errors | Warnings | Time |\n")
			b.WriteString("|---|---|--:|--:|--:|--:|--:|\n")
		} else {
			b.WriteString("| Suite | Status | Checks | Failed | Errors | Warnings |\n")
			b.WriteString("|---|---|--:|--:|--:|--:|\n")
		}
		for _, s := range r.Suites {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d |",
				markdown.Cell(s.Name), mdStatus(s.Status), s.Checks, s.Failed, s.Errors, s.Warnings)
			if timed {
				fmt.Fprintf(&b, " %s s |", seconds(r.Timings.Suites[s.Name]))
			}
			b.WriteString("\n")
		}
	}

	if len(r.Scenarios) > 0 {
		b.WriteString("\n### Scenarios\n\n")
		b.WriteString("| Scenario | Expected | Outcomes | Calls | Status |\n")
		b.WriteString("|---|---|---|--:|---|\n")
		for _, s := range r.Scenarios {
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %s |\n",
				markdown.Cell(s.Name), markdown.Cell(s.Expected), markdown.Cell(strings.Join(s.Outcomes, ", ")), s.Calls, mdStatus(s.Status))
		}
	}

	if len(r.Releases) > 0 {
		b.WriteString("\n### Compatibility\n\n")
		if c := r.Compatibility; c != nil {
			fmt.Fprintf(&b, "%s after %s needs a %s bump: %s.\n\n", markdown.Text(c.Version), markdown.Text(c.BaselineVersion), markdown.Text(c.RequiredBump),
				map[bool]string{true: "satisfied", false: "not satisfied"}[c.Satisfied])
		}
		b.WriteString("| Release | Version | Contract | Config | Manifest | Replay | Semver |\n")
		b.WriteString("|---|---|---|---|---|---|---|\n")
		for _, w := range r.Releases {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", markdown.Cell(w.Release), markdown.Cell(w.Version),
				mdStatus(w.Contract), mdStatus(w.Config), mdStatus(w.Manifest), mdStatus(w.Replay), mdStatus(w.Semver))
		}
	}

	if c := r.Coverage; c != nil {
		b.WriteString("\n### Coverage\n\n")
		b.WriteString("| Vendor | Used of declared | Used exercised | Declared statuses answered | Required fields sent | Optional fields sent | Missed |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|---|\n")
		for _, v := range c.Vendors {
			missed := append(slices.Clone(v.Unexercised), v.MissedStatuses()...)
			cell := markdown.Cell("")
			if len(missed) > 0 {
				cell = markdown.Cell(strings.Join(missed, ", "))
			}
			fmt.Fprintf(&b, "| %s | %d/%d | %s | %s | %s | %s | %s |\n", markdown.Cell(v.Vendor), len(v.Used), v.Declared,
				v.UsedOperations, v.DeclaredStatuses, v.RequiredFields, v.OptionalFields, cell)
		}
		if e := c.Events; e != nil {
			fmt.Fprintf(&b, "\nEvents of %s delivered: %s", markdown.Code(e.Contract), e.Ratio)
			if len(e.Missed) > 0 {
				b.WriteString("; never delivered: " + markdown.Text(strings.Join(e.Missed, ", ")))
			}
			b.WriteString(".\n")
		}
	}

	var shown []Finding
	for _, level := range []contracts.Level{contracts.LevelError, contracts.LevelWarning} {
		for _, f := range r.Findings {
			if f.Level == level {
				shown = append(shown, f)
			}
		}
	}
	if len(shown) > 0 {
		b.WriteString("\n### Findings\n\n")
		for i, f := range shown {
			if i == markdownFindings {
				fmt.Fprintf(&b, "\n%d more error and warning findings are left out; the JSON report has them all.\n", len(shown)-markdownFindings)
				break
			}
			b.WriteString(mdFinding(f) + "\n")
		}
	}

	for _, s := range r.Scenarios {
		if s.Status != StatusFail || len(s.Diff) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### Golden diff: %s\n\n", markdown.Text(s.Name))
		lines := s.Diff
		if len(lines) > markdownDiffLines {
			lines = lines[:markdownDiffLines]
		}
		// Diff lines may hold newlines of their own; the block holds them.
		body := strings.Join(lines, "\n")
		if len(s.Diff) > markdownDiffLines {
			body += fmt.Sprintf("\n… %d more lines", len(s.Diff)-markdownDiffLines)
		}
		b.WriteString(markdown.Block(body))
	}

	fmt.Fprintf(&b, "\n%s\n", markdown.Text(r.runLine()))
	_, err := io.WriteString(w, b.String())
	return err
}

func mdStatus(status string) string {
	switch status {
	case StatusPass:
		return "✅ pass"
	case StatusFail:
		return "❌ fail"
	case StatusSkip:
		return "⏭️ skip"
	}
	return markdown.Cell(status)
}

func mdFinding(f Finding) string {
	mark := "❌"
	switch {
	case f.Waived != "":
		mark = "➖"
	case f.Level == contracts.LevelWarning:
		mark = "⚠️"
	}
	s := fmt.Sprintf("- %s %s %s", mark, f.Level, markdown.Code(f.ID))
	if f.Position.Known() {
		s += " at " + markdown.Code(f.Position.String())
	}
	if f.Path != "" {
		s += " " + markdown.Code(f.Path)
	}
	s += ": " + markdown.Text(f.Message)
	if c := f.ContractShown(); c != "" {
		s += " (contract " + markdown.Code(c) + ")"
	}
	if f.Hint != "" {
		s += " (" + markdown.Text(f.Hint) + ")"
	}
	if f.Waived != "" {
		s += " **waived:** " + markdown.Text(f.Waived)
	}
	return s
}
