package report

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The parts of the HTML page drawn from the report's data: bars, metric
// tiles and timelines, each with the text it shows.

// barWidth is the width, in pixels, of a full coverage bar.
const barWidth = 240

// htmlBar is one bar: what it measures, its value in words, and its
// filled width and band ("good" from 80%, "fair" from 50%, else "poor"),
// which the page shows by colour and by pattern.
type htmlBar struct {
	Label string
	Value string
	Fill  int
	Band  string
}

func barOf(label string, r Ratio) htmlBar {
	band := "poor"
	switch {
	case r.Percent >= 80:
		band = "good"
	case r.Percent >= 50:
		band = "fair"
	}
	return htmlBar{Label: label, Value: r.String(), Fill: int(r.Percent * barWidth / 100), Band: band}
}

type htmlCoverage struct {
	Vendors []htmlVendorCoverage
	Events  *EventCoverage
	Bars    []htmlBar // the events'
}

type htmlVendorCoverage struct {
	VendorCoverage
	Bars   []htmlBar
	Missed []string
}

func htmlCoverageOf(c *Coverage) *htmlCoverage {
	if c == nil {
		return nil
	}
	out := &htmlCoverage{Events: c.Events}
	for _, v := range c.Vendors {
		hv := htmlVendorCoverage{VendorCoverage: v, Bars: []htmlBar{
			barOf("used operations exercised", v.UsedOperations),
			barOf("declared statuses answered", v.DeclaredStatuses),
			barOf("required request fields sent", v.RequiredFields),
			barOf("optional request fields sent", v.OptionalFields),
		}}
		hv.Missed = append(slices.Clone(v.Unexercised), v.MissedStatuses()...)
		out.Vendors = append(out.Vendors, hv)
	}
	if c.Events != nil {
		out.Bars = []htmlBar{barOf("declared event types delivered", c.Events.Ratio)}
	}
	return out
}

// htmlMetrics are the run's metrics in words.
type htmlMetrics struct {
	Tiles  []htmlTile
	Errors []htmlErrorClass
	// Success is the success rate as a bar.
	Success htmlBar
}

type htmlTile struct{ Label, Value string }

type htmlErrorClass struct {
	Class string
	Count int64
	Width int
}

func (r *Report) htmlMetrics() htmlMetrics {
	m := r.Metrics
	ms := func(d time.Duration) string {
		if d == 0 {
			return "–"
		}
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
	}
	rate := "–"
	if m.Handled+m.Failed > 0 {
		rate = strconv.FormatFloat(m.SuccessRate*100, 'f', 1, 64) + "%"
	}
	out := htmlMetrics{Tiles: []htmlTile{
		{"success rate", rate},
		{"deliveries", strconv.Itoa(m.Deliveries)},
		{"handled", strconv.FormatInt(m.Handled, 10)},
		{"failed", strconv.FormatInt(m.Failed, 10)},
		{"duplicates", strconv.FormatInt(m.Duplicates, 10)},
		{"retries", strconv.FormatInt(m.Retries, 10)},
		{"latency p50", ms(r.Timings.LatencyP50)},
		{"latency p95", ms(r.Timings.LatencyP95)},
		{"webhook lag (mean)", ms(r.Timings.LagMean)},
	}}
	out.Success = barOf("success rate", NewRatio(int(m.Handled), int(m.Handled+m.Failed)))
	var most int64
	for _, n := range m.Errors {
		most = max(most, n)
	}
	for _, class := range slices.Sorted(maps.Keys(m.Errors)) {
		n := m.Errors[class]
		w := 0
		if most > 0 {
			w = int(n * barWidth / most)
		}
		out.Errors = append(out.Errors, htmlErrorClass{Class: class, Count: n, Width: w})
	}
	return out
}

// htmlTimeline is one run's steps, each with a symbol and words.
type htmlTimeline struct {
	Anchor string // the element's id, "run-3"
	Suite  string
	Name   string
	Status string
	Steps  []htmlStep
	// Summary says in one line what happened, for the list of failing
	// runs and for screen readers.
	Summary string
}

type htmlStep struct {
	Step
	Symbol string // a mark that tells the kind without colour
	Text   string
	Bad    bool
	Retry  bool
}

func htmlTimelineOf(suite, name, status string, steps []Step) htmlTimeline {
	t := htmlTimeline{Suite: suite, Name: name, Status: status}
	var deliveries, calls, retries, waits, letters, bad int
	for _, s := range steps {
		hs := htmlStep{Step: s, Bad: s.Failed(), Retry: s.Attempt > 1 && s.Kind != StepDeadLetter}
		switch s.Kind {
		case StepDelivery:
			deliveries++
			hs.Symbol = "▶"
			hs.Text = fmt.Sprintf("%s → %s", s.Label, answerText(s.Status, s.Result))
			if s.Attempt > 1 {
				hs.Text = fmt.Sprintf("%s, attempt %d → %s", s.Label, s.Attempt, answerText(s.Status, s.Result))
			}
		case StepCall:
			calls++
			hs.Symbol = "●"
			answer := answerText(s.Status, "")
			if s.Result != "" {
				answer = s.Result
				hs.Symbol = "✕"
			} else if s.Status >= 400 {
				hs.Symbol = "✕"
			}
			hs.Text = fmt.Sprintf("%s → %s", s.Label, answer)
			if s.Attempt > 1 {
				retries++
				hs.Symbol = "↻"
				hs.Text = fmt.Sprintf("%s, retry %d → %s", s.Label, s.Attempt-1, answer)
			}
		case StepWait:
			waits++
			hs.Symbol = "‖"
			hs.Text = "wait: Retry-After " + s.Result
		case StepDeadLetter:
			letters++
			hs.Symbol = "✉"
			hs.Text = fmt.Sprintf("dead letter %s (%s, %d attempts)", s.Label, s.Result, s.Attempt)
		}
		if hs.Bad {
			bad++
		}
		t.Steps = append(t.Steps, hs)
	}
	t.Summary = fmt.Sprintf("%s %s: %s, %s, %s, %s, %s", suite, name, plural(deliveries, "delivery attempt"), plural(calls, "call"),
		plural(retries, "retry"), plural(waits, "wait"), plural(letters, "dead letter"))
	t.Summary = strings.ReplaceAll(t.Summary, "retrys", "retries")
	return t
}

// answerText is an answer in words: its status and what it meant.
func answerText(status int, result string) string {
	switch {
	case status == 0 && result == "":
		return "no answer"
	case status == 0:
		return result
	case result == "":
		return strconv.Itoa(status)
	}
	return strconv.Itoa(status) + " " + result
}
