// Package coverage measures what of each vendor contract a connector uses,
// and what of that the suites exercised: the operations it calls, the
// statuses the contract declares for them that the suites made the vendor
// answer (and the transport faults they made), the request fields it
// sends against each operation's schema, and the event types of its event
// contract the scenarios delivered. [Measure] makes a [report.Coverage]
// from the connector and the journals of a run's scenarios.
package coverage

import (
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
	"github.com/tetherkit/tether/sandbox"
)

// Run is what one scenario run (one of the connector's scenarios, or a case
// a suite derived from one) showed of the connector's use of its vendors.
type Run struct {
	// Own is true for a run of one of the connector's own scenarios: what
	// it calls and sends counts as used. A derived case's calls count as
	// exercised only.
	Own bool
	// Calls are the sandbox's journal of the connector's calls to the
	// vendors' APIs (not their authorization servers).
	Calls []sandbox.Entry
	// Events are the names of the events delivered.
	Events []string
}

// opUse is what was seen of one operation.
type opUse struct {
	op        *contracts.Operation
	used      bool
	exercised bool
	answered  map[int]bool
	faults    map[string]bool
	sent      map[string]bool
}

// Measure is the coverage of the connector c by runs. The operations used
// are those its cassettes, golden files and own runs call; the operations
// exercised, statuses answered and faults made are those of every run.
func Measure(c *manifest.Connector, runs []Run) *report.Coverage {
	cov := &report.Coverage{Vendors: []report.VendorCoverage{}}
	vendors := slices.Sorted(maps.Keys(c.Contracts))
	uses := map[string]map[string]*opUse{} // vendor -> operation ID
	get := func(vendor string, op *contracts.Operation) *opUse {
		if uses[vendor] == nil {
			uses[vendor] = map[string]*opUse{}
		}
		u := uses[vendor][op.ID]
		if u == nil {
			u = &opUse{op: op, answered: map[int]bool{}, faults: map[string]bool{}, sent: map[string]bool{}}
			uses[vendor][op.ID] = u
		}
		return u
	}
	for _, call := range compat.RecordedCalls(c) {
		for _, vendor := range vendors {
			ct := c.Contracts[vendor]
			if !underServer(ct, call.URL) {
				continue
			}
			if m, err := ct.Find(call.Method, call.URL); err == nil {
				u := get(vendor, m.Operation)
				u.used = true
				fieldsOf(call.Body, u.sent)
				break
			}
		}
	}
	for _, r := range runs {
		for _, e := range r.Calls {
			ct := c.Contracts[e.Vendor]
			if ct == nil || e.Operation == "" {
				continue
			}
			op, ok := ct.Operation(e.Operation)
			if !ok {
				continue
			}
			u := get(e.Vendor, op)
			u.exercised = true
			if r.Own {
				u.used = true
				fieldsOf([]byte(e.RequestBody), u.sent)
			}
			if e.Status != 0 && !strings.Contains(e.Fault, "malformed") && !strings.Contains(e.Fault, "truncated") {
				u.answered[e.Status] = true
			}
			if f := FaultKind(e.Fault); f != "" {
				u.faults[f] = true
			}
		}
	}

	var usedAll, exAll, stAll, stAnswered int
	for _, vendor := range vendors {
		ct := c.Contracts[vendor]
		v := report.VendorCoverage{Vendor: vendor, Contract: c.Manifest.Vendors[vendor].Contract, Declared: len(ct.Operations()),
			Used: []string{}, Exercised: []string{}, Unexercised: []string{}, Operations: []report.OperationCoverage{}}
		var statuses, answered, req, reqSent, opt, optSent int
		for _, id := range slices.Sorted(maps.Keys(uses[vendor])) {
			u := uses[vendor][id]
			if !u.used {
				continue
			}
			oc := report.OperationCoverage{ID: id, Method: u.op.Method, Path: u.op.Path, Exercised: u.exercised, Statuses: []report.StatusCoverage{}}
			v.Used = append(v.Used, id)
			if u.exercised {
				v.Exercised = append(v.Exercised, id)
			} else {
				v.Unexercised = append(v.Unexercised, id)
			}
			for _, code := range declaredStatuses(u.op) {
				hit := answers(code, u.answered, declaredStatuses(u.op))
				oc.Statuses = append(oc.Statuses, report.StatusCoverage{Status: code, Answered: hit})
				statuses++
				if hit {
					answered++
				}
			}
			oc.Faults = slices.Sorted(maps.Keys(u.faults))
			props, required := requestFields(u.op)
			for _, name := range props {
				f := report.FieldCoverage{Name: name, Required: required[name], Sent: u.sent[name]}
				oc.Fields = append(oc.Fields, f)
				switch {
				case f.Required:
					req++
					if f.Sent {
						reqSent++
					}
				default:
					opt++
					if f.Sent {
						optSent++
					}
				}
			}
			if len(props) > 0 {
				for _, name := range slices.Sorted(maps.Keys(u.sent)) {
					if !slices.Contains(props, name) {
						oc.Undeclared = append(oc.Undeclared, name)
					}
				}
			}
			v.Operations = append(v.Operations, oc)
		}
		v.UsedOperations = report.NewRatio(len(v.Exercised), len(v.Used))
		v.DeclaredStatuses = report.NewRatio(answered, statuses)
		v.RequiredFields = report.NewRatio(reqSent, req)
		v.OptionalFields = report.NewRatio(optSent, opt)
		usedAll += len(v.Used)
		exAll += len(v.Exercised)
		stAll += statuses
		stAnswered += answered
		cov.Vendors = append(cov.Vendors, v)
	}
	cov.UsedOperations = report.NewRatio(exAll, usedAll)
	cov.DeclaredStatuses = report.NewRatio(stAnswered, stAll)

	if c.Events != nil {
		declared := slices.Sorted(slices.Values(c.Events.Events()))
		seen := map[string]bool{}
		for _, r := range runs {
			for _, name := range r.Events {
				seen[name] = true
			}
		}
		ev := &report.EventCoverage{Contract: c.Manifest.Events.Contract, Declared: declared,
			Delivered: slices.Sorted(maps.Keys(seen)), Missed: []string{}}
		if ev.Contract == "" {
			ev.Contract = manifest.File + " events.schemas"
		}
		n := 0
		for _, name := range declared {
			if seen[name] {
				n++
			} else {
				ev.Missed = append(ev.Missed, name)
			}
		}
		ev.Ratio = report.NewRatio(n, len(declared))
		cov.Events = ev
	}
	return cov
}

// FaultKind names the transport fault a journal entry's fault text
// describes, or "" for none (a status, a rate limit, a latency).
func FaultKind(fault string) string {
	switch {
	case strings.Contains(fault, "hang"):
		return "timeout"
	case strings.Contains(fault, "connection reset"):
		return "reset"
	case strings.Contains(fault, "malformed body"):
		return "malformed"
	case strings.Contains(fault, "truncated body"):
		return "truncated"
	}
	return ""
}

// declaredStatuses are the response codes op declares, as written ("200",
// "4XX"), sorted, then "default" when it declares one.
func declaredStatuses(op *contracts.Operation) []string {
	_, o := op.Model()
	if o == nil || o.Responses == nil {
		return nil
	}
	var out []string
	if o.Responses.Codes != nil {
		for code := range o.Responses.Codes.KeysFromOldest() {
			out = append(out, strings.ToUpper(code))
		}
	}
	slices.Sort(out)
	if o.Responses.Default != nil {
		out = append(out, "default")
	}
	return out
}

// answers says whether one of the statuses got is what the declared code
// covers: itself, its range ("4XX"), or for "default" any status no
// other declared code covers.
func answers(code string, got map[int]bool, declared []string) bool {
	covers := func(code string, s int) bool {
		if len(code) == 3 && strings.HasSuffix(code, "XX") {
			return strconv.Itoa(s/100) == code[:1]
		}
		n, err := strconv.Atoi(code)
		return err == nil && n == s
	}
	for s := range got {
		if code != "default" {
			if covers(code, s) {
				return true
			}
			continue
		}
		if !slices.ContainsFunc(declared, func(d string) bool { return d != "default" && covers(d, s) }) {
			return true
		}
	}
	return false
}

// requestFields are the top-level properties of op's request body schema
// (its JSON content, else its first), with those of its allOf members,
// sorted, and which of them are required.
func requestFields(op *contracts.Operation) ([]string, map[string]bool) {
	_, o := op.Model()
	if o == nil || o.RequestBody == nil || o.RequestBody.Content == nil {
		return nil, nil
	}
	var media string
	for mt := range o.RequestBody.Content.KeysFromOldest() {
		if media == "" || strings.Contains(mt, "json") && !strings.Contains(media, "json") {
			media = mt
		}
	}
	mt := o.RequestBody.Content.GetOrZero(media)
	if mt == nil || mt.Schema == nil {
		return nil, nil
	}
	props := map[string]bool{}
	required := map[string]bool{}
	var walk func(p *base.SchemaProxy, depth int)
	walk = func(p *base.SchemaProxy, depth int) {
		if p == nil || depth > 8 {
			return
		}
		s := p.Schema()
		if s == nil {
			return
		}
		if s.Properties != nil {
			for name := range s.Properties.KeysFromOldest() {
				props[name] = true
			}
		}
		for _, r := range s.Required {
			required[r] = true
		}
		for _, sub := range s.AllOf {
			walk(sub, depth+1)
		}
	}
	walk(mt.Schema, 0)
	for r := range required {
		if !props[r] {
			delete(required, r)
		}
	}
	return slices.Sorted(maps.Keys(props)), required
}

// fieldsOf adds the top-level fields of a JSON object or form-encoded
// body to into; other bodies add nothing.
func fieldsOf(body []byte, into map[string]bool) {
	if len(body) == 0 {
		return
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) == nil {
		for k := range obj {
			into[k] = true
		}
		return
	}
	s := string(body)
	if strings.ContainsAny(s, "{[ \n") || !strings.Contains(s, "=") {
		return
	}
	if vals, err := url.ParseQuery(s); err == nil {
		for k := range vals {
			into[k] = true
		}
	}
}

// underServer says whether u is under one of ct's servers; a contract
// whose servers are relative takes every URL.
func underServer(ct *contracts.Contract, u string) bool {
	for _, s := range ct.Servers() {
		base := strings.TrimSuffix(s.Resolved, "/")
		if !strings.Contains(base, "://") {
			return true
		}
		if u == base || strings.HasPrefix(u, base+"/") || strings.HasPrefix(u, base+"?") {
			return true
		}
	}
	return false
}
