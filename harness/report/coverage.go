package report

import (
	"fmt"
	"math"
	"strings"
)

// Coverage is what of each vendor contract the connector uses, and what of
// that the suites exercised; and which of the events its event contract
// declares the scenarios delivered. Every list is sorted, so that the same
// run gives the same coverage.
type Coverage struct {
	// UsedOperations are the used operations the suites called, over
	// every vendor; DeclaredStatuses the statuses the contracts declare
	// for those operations that the suites made the vendors answer.
	UsedOperations   Ratio            `json:"used_operations"`
	DeclaredStatuses Ratio            `json:"declared_statuses"`
	Vendors          []VendorCoverage `json:"vendors"`
	// Events is nil when the connector has no event contract.
	Events *EventCoverage `json:"events,omitempty"`
}

// Ratio is a part of a whole: Covered of Total, and the percentage,
// rounded down to one decimal (100 when Total is 0: nothing was missed).
type Ratio struct {
	Covered int     `json:"covered"`
	Total   int     `json:"total"`
	Percent float64 `json:"percent"`
}

// NewRatio is covered of total.
func NewRatio(covered, total int) Ratio {
	p := 100.0
	if total > 0 {
		p = math.Floor(float64(covered)*1000/float64(total)) / 10
	}
	return Ratio{Covered: covered, Total: total, Percent: p}
}

// String is "3/4 (75%)".
func (r Ratio) String() string {
	return fmt.Sprintf("%d/%d (%s%%)", r.Covered, r.Total, percent(r.Percent))
}

func percent(p float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.1f", p), ".0")
}

// VendorCoverage is the coverage of one vendor's contract.
type VendorCoverage struct {
	Vendor   string `json:"vendor"`
	Contract string `json:"contract"`
	// Declared is how many operations the contract declares.
	Declared int `json:"declared_operations"`
	// Used are the operations the connector uses: called in its
	// cassettes, golden files or the journal of its scenarios' runs.
	Used []string `json:"used"`
	// Exercised are the used operations some suite called; Unexercised
	// the used operations none did.
	Exercised   []string `json:"exercised"`
	Unexercised []string `json:"unexercised"`

	UsedOperations   Ratio `json:"used_operations"`
	DeclaredStatuses Ratio `json:"declared_statuses"`
	// RequestFields are the top-level request body fields the
	// operations' schemas declare that the connector sends.
	RequiredFields Ratio `json:"required_fields"`
	OptionalFields Ratio `json:"optional_fields"`

	// Operations has one entry per used operation.
	Operations []OperationCoverage `json:"operations"`
}

// OperationCoverage is what the suites did with one used operation.
type OperationCoverage struct {
	ID        string `json:"id"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	Exercised bool   `json:"exercised"`
	// Statuses are the statuses the contract declares ("200", "4XX",
	// "default"), each marked with whether a suite made the vendor
	// answer it.
	Statuses []StatusCoverage `json:"statuses"`
	// Faults are the transport faults the suites made on it: timeout,
	// reset, malformed, truncated.
	Faults []string `json:"faults,omitempty"`
	// Fields are the top-level properties of the request body's schema,
	// each marked with whether the connector sent it; Undeclared are
	// fields it sends that the schema does not name.
	Fields     []FieldCoverage `json:"fields,omitempty"`
	Undeclared []string        `json:"undeclared_fields,omitempty"`
}

// StatusCoverage is one declared status of an operation.
type StatusCoverage struct {
	Status   string `json:"status"`
	Answered bool   `json:"answered"`
}

// FieldCoverage is one request body field of an operation's schema.
type FieldCoverage struct {
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Sent     bool   `json:"sent"`
}

// EventCoverage is what of the event contract the scenarios delivered.
type EventCoverage struct {
	Contract  string   `json:"contract"`
	Declared  []string `json:"declared"`
	Delivered []string `json:"delivered"`
	Missed    []string `json:"missed"`
	Ratio     Ratio    `json:"ratio"`
}

// MissedStatuses lists the declared statuses no suite made the vendor
// answer, as "operation status".
func (v VendorCoverage) MissedStatuses() []string {
	var out []string
	for _, op := range v.Operations {
		for _, s := range op.Statuses {
			if !s.Answered {
				out = append(out, op.ID+" "+s.Status)
			}
		}
	}
	return out
}

// Lines is the coverage in plain text, one line per vendor and one for
// the events, as a terminal shows it.
func (c *Coverage) Lines() []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, v := range c.Vendors {
		s := fmt.Sprintf("coverage %s: operations used %d of %d declared, exercised %s; declared statuses answered %s; request fields sent: required %s, optional %s",
			v.Vendor, len(v.Used), v.Declared, v.UsedOperations, v.DeclaredStatuses, v.RequiredFields, v.OptionalFields)
		if len(v.Unexercised) > 0 {
			s += "; never exercised: " + strings.Join(v.Unexercised, ", ")
		}
		out = append(out, s)
	}
	if e := c.Events; e != nil {
		s := fmt.Sprintf("coverage events: delivered %s", e.Ratio)
		if len(e.Missed) > 0 {
			s += "; never delivered: " + strings.Join(e.Missed, ", ")
		}
		out = append(out, s)
	}
	return out
}
