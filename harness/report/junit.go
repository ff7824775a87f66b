package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/internal/junit"
)

// JUnit writes the report as JUnit XML, the format CI systems read test
// results in: one testsuite per suite, one testcase per [Check]. A failed
// check has one failure, typed by the ID of its first error finding, whose
// text lists every error finding of the check; its other findings
// (warnings, infos and waived errors) go in system-out. Times are in
// seconds, from [Report.Timings]; test cases carry none.
func (r *Report) JUnit(w io.Writer) error {
	out := junit.Report{
		Name: "tether " + r.Connector.Name,
		Time: seconds(r.Timings.Total),
	}
	for _, suite := range r.suiteNames() {
		s := junit.Suite{Name: suite, Time: seconds(r.Timings.Suites[suite])}
		for _, c := range r.Checks {
			if c.Suite != suite {
				continue
			}
			tc, err := r.junitCase(c)
			if err != nil {
				return err
			}
			s.Cases = append(s.Cases, tc)
		}
		out.Suites = append(out.Suites, s)
	}
	// The coverage is the run's, not a suite's; CI systems read
	// properties per suite, so the first suite carries it.
	if len(out.Suites) > 0 {
		out.Suites[0].Properties = append(out.Suites[0].Properties, r.coverageProperties()...)
	}
	return junit.Write(w, out)
}

func (r *Report) junitCase(c Check) (junit.Case, error) {
	tc := junit.Case{Classname: r.Connector.Name + "." + c.Suite, Name: c.Name}
	if c.Scenario != "" {
		tc.Name = c.Scenario + "/" + c.Name
	}
	var errs, others []string
	var first *Finding
	for _, i := range c.Findings {
		if i < 0 || i >= len(r.Findings) {
			return tc, fmt.Errorf("check %s of suite %s: finding index %d is out of range: the report has %d findings", tc.Name, c.Suite, i, len(r.Findings))
		}
		f := r.Findings[i]
		switch {
		case f.Level == contracts.LevelError && f.Waived == "":
			if first == nil {
				first = &r.Findings[i]
			}
			errs = append(errs, f.String())
		case f.Waived != "":
			others = append(others, f.String()+" [waived: "+f.Waived+"]")
		default:
			others = append(others, f.String())
		}
	}
	switch c.Status {
	case StatusFail:
		// A check can fail with no error finding of its own; it still needs a
		// message a person can act on.
		failure := junit.Failure{Message: "check failed", Type: "fail"}
		if first != nil {
			failure.Message = first.Message
			if len(errs) > 1 {
				failure.Message += fmt.Sprintf(" (and %d more)", len(errs)-1)
			}
			failure.Type = first.ID
			failure.Text = strings.Join(errs, "\n")
		}
		tc.Failures = []junit.Failure{failure}
	case StatusSkip:
		tc.Skipped = &struct{}{}
		others = append(errs, others...)
	default:
		others = append(errs, others...)
	}
	tc.SystemOut = junit.Text(strings.Join(others, "\n"))
	return tc, nil
}

// coverageProperties are the coverage as JUnit properties, named
// coverage.<vendor>.<measure>, with the ratio as value.
func (r *Report) coverageProperties() []junit.Property {
	c := r.Coverage
	if c == nil {
		return nil
	}
	props := []junit.Property{
		{Name: "coverage.used-operations", Value: c.UsedOperations.String()},
		{Name: "coverage.declared-statuses", Value: c.DeclaredStatuses.String()},
	}
	for _, v := range c.Vendors {
		p := "coverage." + v.Vendor + "."
		props = append(props,
			junit.Property{Name: p + "used-operations", Value: v.UsedOperations.String()},
			junit.Property{Name: p + "declared-statuses", Value: v.DeclaredStatuses.String()},
			junit.Property{Name: p + "required-fields", Value: v.RequiredFields.String()},
			junit.Property{Name: p + "optional-fields", Value: v.OptionalFields.String()})
		if len(v.Unexercised) > 0 {
			props = append(props, junit.Property{Name: p + "unexercised", Value: strings.Join(v.Unexercised, ", ")})
		}
		if m := v.MissedStatuses(); len(m) > 0 {
			props = append(props, junit.Property{Name: p + "missed-statuses", Value: strings.Join(m, ", ")})
		}
	}
	if e := c.Events; e != nil {
		props = append(props, junit.Property{Name: "coverage.events.delivered", Value: e.Ratio.String()})
		if len(e.Missed) > 0 {
			props = append(props, junit.Property{Name: "coverage.events.missed", Value: strings.Join(e.Missed, ", ")})
		}
	}
	return props
}
