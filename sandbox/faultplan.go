package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tetherkit/tether/internal/yamldoc"
)

// FaultPlan is a seed and the faults it draws for. It reads from YAML with
// [ParseFaults] or [LoadFaults], and is sent as JSON, with the same field
// names, to the admin API:
//
//	seed: 42            # absent means 0
//	faults:
//	  - kind: status
//	    status: 503
//	    operation: CreateMessage
//	    first: 2
//	  - kind: rate-limit
//	    limit: 2
//	    per: 1s
type FaultPlan struct {
	Seed   uint64  `json:"seed" yaml:"seed"`
	Faults []Fault `json:"faults" yaml:"faults"`
}

// FaultError is a mistake in a fault file, at the place it was found.
// Column is 0 where the YAML parser does not tell it.
type FaultError struct {
	File         string
	Line, Column int
	Message      string // what is wrong, and how to put it right
}

// Error is "file:line:col: message", without col when it is unknown.
func (e *FaultError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return e.File + ": " + e.Message
}

// LoadFaults reads the fault plan in the YAML (or JSON) file at path; see
// [ParseFaults].
func LoadFaults(path string) (*FaultPlan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load faults: %w", err)
	}
	return ParseFaults(path, data)
}

// faultFields are the names of a fault's fields in a file, in the order
// they are listed to someone who misspelt one.
var faultFields = []string{"kind", "vendor", "operation", "status", "limit", "per", "retry-after", "latency", "min", "max", "for", "scope", "first", "probability"}

var planFields = []string{"seed", "faults"}

// ParseFaults reads a fault plan from data, a YAML document (JSON is YAML
// too) laid out as [FaultPlan] shows; name is the file named in errors.
// Reading is strict: an unknown field, a value of the wrong type, or a fault
// that fails [Fault.Validate] is a *[FaultError] at its line. A plan with no
// faults is valid: it clears the faults in force.
func ParseFaults(name string, data []byte) (*FaultPlan, error) {
	return parseFaults(name, data)
}

func parseFaults(name string, data []byte) (plan *FaultPlan, err error) {
	defer func() {
		// The YAML parser is third-party code; whatever it does with odd
		// input must come out as an error, not a crash.
		if r := recover(); r != nil {
			plan, err = nil, &FaultError{File: name, Message: fmt.Sprintf("cannot read the file: %v", r)}
		}
	}()
	p := &planParser{file: name}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, p.fail(nil, "the file is empty; write a mapping with faults: and a list of faults, and seed: if you want one")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg, hint := yamldoc.Syntax(err)
		// The helper's hint is about flow collections; for a block one
		// the parser names where the list opened, or the field it choked
		// on, so say what to look for there.
		switch {
		case strings.Contains(msg, "expected '-' indicator"):
			hint = "an item of the list that starts on this line is indented differently from the others"
		case strings.Contains(msg, "did not find expected key"):
			hint = "check the indentation of the fields on and around this line"
		}
		if hint != "" {
			msg += "; " + hint
		}
		return nil, &FaultError{File: name, Line: line, Message: "invalid YAML: " + msg}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, p.fail(nil, "the file holds no document; write a mapping with faults: and a list of faults")
	}
	return p.plan(doc.Content[0])
}

// DecodeFaults reads a fault plan from n, a node of a larger YAML document
// in the file called file, such as the faults: of a scenario. n is either
// a plan laid out as [FaultPlan] shows, or just its list of faults (the
// seed is then 0). Errors are as [ParseFaults] gives them, at lines of
// file.
func DecodeFaults(file string, n *yaml.Node) (plan *FaultPlan, err error) {
	defer func() {
		if r := recover(); r != nil {
			plan, err = nil, &FaultError{File: file, Message: fmt.Sprintf("cannot read the faults: %v", r)}
		}
	}()
	p := &planParser{file: file}
	if n == nil {
		return &FaultPlan{}, nil
	}
	if d := deref(n); d.Kind == yaml.SequenceNode {
		plan := &FaultPlan{}
		for i, item := range d.Content {
			f, err := p.fault(i+1, item)
			if err != nil {
				return nil, err
			}
			plan.Faults = append(plan.Faults, f)
		}
		return plan, nil
	}
	return p.plan(n)
}

type planParser struct{ file string }

func (p *planParser) fail(n *yaml.Node, format string, args ...any) error {
	e := &FaultError{File: p.file, Line: 1, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// fields walks the pairs of a mapping, refusing unknown and repeated keys.
func (p *planParser) fields(m *yaml.Node, what string, known []string, each func(key string, value *yaml.Node) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := deref(m.Content[i]), deref(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return p.fail(k, "a field name in %s must be plain text; the fields are %s", what, strings.Join(known, ", "))
		}
		if !contains(known, k.Value) {
			msg := fmt.Sprintf("unknown field %q in %s", k.Value, what)
			if near := closest(k.Value, known); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			}
			return p.fail(k, "%s; the fields are %s", msg, strings.Join(known, ", "))
		}
		if line, dup := seen[k.Value]; dup {
			return p.fail(k, "field %q is set twice in %s, first on line %d; keep one", k.Value, what, line)
		}
		seen[k.Value] = k.Line
		if err := each(k.Value, v); err != nil {
			return err
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *planParser) plan(top *yaml.Node) (*FaultPlan, error) {
	top = deref(top)
	if top.Kind != yaml.MappingNode {
		return nil, p.fail(top, "the top level is %s; it must be a mapping with faults: (a list of faults) and seed:", yamldoc.Describe(top))
	}
	plan := &FaultPlan{}
	err := p.fields(top, "the plan", planFields, func(key string, v *yaml.Node) error {
		switch key {
		case "seed":
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(&plan.Seed) != nil {
				return p.fail(v, "seed is %s; it must be a whole number from 0 to %d", yamldoc.Describe(v), uint64(1<<64-1))
			}
		case "faults":
			if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
				return nil
			}
			if v.Kind != yaml.SequenceNode {
				return p.fail(v, "faults is %s; it must be a list of faults, each item starting with \"- kind:\"", yamldoc.Describe(v))
			}
			for i, item := range v.Content {
				f, err := p.fault(i+1, item)
				if err != nil {
					return err
				}
				plan.Faults = append(plan.Faults, f)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return plan, nil
}

func (p *planParser) fault(index int, item *yaml.Node) (Fault, error) {
	var f Fault
	item = deref(item)
	what := fmt.Sprintf("fault %d", index)
	if item.Kind != yaml.MappingNode {
		return f, p.fail(item, "%s is %s; it must be a mapping such as {kind: status, status: 503}", what, yamldoc.Describe(item))
	}
	err := p.fields(item, what, faultFields, func(key string, v *yaml.Node) error {
		if v.Kind != yaml.ScalarNode {
			return p.fail(v, "%s: %s is %s; it must be a single value", what, key, yamldoc.Describe(v))
		}
		null := v.ShortTag() == "!!null"
		whole := func(dst *int, example string) error {
			if null {
				return nil
			}
			if v.ShortTag() != "!!int" || v.Decode(dst) != nil {
				msg := fmt.Sprintf("%s: %s is %s; it must be a whole number, such as %s", what, key, yamldoc.Describe(v), example)
				if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
					msg += ", without quotes"
				}
				return p.fail(v, "%s", msg)
			}
			return nil
		}
		duration := func(dst *Duration) error {
			if null {
				return nil
			}
			d, err := parseDuration(v.Value)
			if err != nil {
				return p.fail(v, "%s: %s: %v", what, key, err)
			}
			*dst = d
			return nil
		}
		text := func(dst *string) error {
			if !null {
				*dst = v.Value
			}
			return nil
		}
		switch key {
		case "kind":
			return text(&f.Kind)
		case "vendor":
			return text(&f.Vendor)
		case "operation":
			return text(&f.Operation)
		case "retry-after":
			return text(&f.RetryAfter)
		case "scope":
			return text(&f.Scope)
		case "status":
			return whole(&f.Status, "503")
		case "limit":
			return whole(&f.Limit, "2")
		case "first":
			return whole(&f.First, "2")
		case "per":
			return duration(&f.Per)
		case "latency":
			return duration(&f.Latency)
		case "min":
			return duration(&f.Min)
		case "max":
			return duration(&f.Max)
		case "for":
			return duration(&f.For)
		case "probability":
			if null {
				return nil
			}
			tag := v.ShortTag()
			if (tag != "!!float" && tag != "!!int") || v.Decode(&f.Probability) != nil {
				return p.fail(v, "%s: probability is %s; it must be a number from 0 to 1, such as 0.25", what, yamldoc.Describe(v))
			}
		}
		return nil
	})
	if err != nil {
		return f, err
	}
	if err := f.Validate(); err != nil {
		return f, p.fail(item, "%s (%s): %v", what, f, err)
	}
	return f, nil
}

// faultTable decides, call by call, which faults of a plan apply. It is
// immutable apart from its counters, so the sandbox swaps a whole new table
// in when the plan changes, and it is safe for concurrent use.
type faultTable struct {
	seed  uint64
	now   func() time.Time
	rules []faultRule
}

// faultRule is one fault and what it has counted.
type faultRule struct {
	fault        Fault
	method, path string // Operation split, when it is "METHOD /path"

	calls atomic.Uint64 // matching calls so far

	mu          sync.Mutex // rate-limit window
	started     bool
	windowStart time.Time
	windowCalls int
}

// decision is what the fault plan does to one call.
type decision struct {
	delay      time.Duration // sum of the latency faults that apply
	fault      *Fault        // the first other fault that applies; nil if none
	retryAfter string        // for a rate-limit fault: the Retry-After value
}

// newFaultTable makes a table for faults, which must be valid. now is the
// clock of rate-limit windows; nil means time.Now.
func newFaultTable(seed uint64, faults []Fault, now func() time.Time) *faultTable {
	if now == nil {
		now = time.Now
	}
	t := &faultTable{seed: seed, now: now, rules: make([]faultRule, len(faults))}
	for i, f := range faults {
		r := &t.rules[i]
		if f.Kind == kindHang && f.For == 0 {
			f.For = Duration(defaultHang)
		}
		r.fault = f
		if m, path, ok := strings.Cut(f.Operation, " "); ok {
			r.method, r.path = strings.ToUpper(m), path
		}
	}
	return t
}

func (r *faultRule) matches(vendor, operationID, method, template string) bool {
	f := &r.fault
	if f.Vendor != "" && f.Vendor != vendor {
		return false
	}
	if f.Operation == "" || f.Operation == operationID {
		return true
	}
	return r.path != "" && r.path == template && strings.EqualFold(r.method, method)
}

// decide counts the call against every fault it matches and says what to
// do with it. With no faults it costs a nil check and allocates nothing.
func (t *faultTable) decide(vendor, operationID, method, template string) decision {
	var d decision
	if t == nil {
		return d
	}
	for i := range t.rules {
		r := &t.rules[i]
		if !r.matches(vendor, operationID, method, template) {
			continue
		}
		f := &r.fault
		n := r.calls.Add(1)
		if f.First > 0 && n > uint64(f.First) {
			continue
		}
		switch f.Kind {
		case kindLatency:
			if t.applies(i, n) {
				d.delay = addDelay(d.delay, t.latency(i, n))
			}
		case kindRateLimit:
			// The window counts every call, answered or not, as a
			// vendor's would.
			now := t.now()
			left, limited := r.admit(now)
			if limited && d.fault == nil && t.applies(i, n) {
				d.fault = f
				d.retryAfter = retryAfterValue(left, f.RetryAfter == "date", now)
			}
		default:
			if d.fault == nil && t.applies(i, n) {
				d.fault = f
			}
		}
	}
	return d
}

// admit counts a call in the rate-limit window and says whether it is
// beyond the limit, and how long the window has left.
func (r *faultRule) admit(now time.Time) (left time.Duration, limited bool) {
	per := time.Duration(r.fault.Per)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case !r.started:
		r.started, r.windowStart = true, now
	case per > 0:
		if since := now.Sub(r.windowStart); since >= per {
			r.windowStart = r.windowStart.Add(since - since%per)
			r.windowCalls = 0
		}
	}
	r.windowCalls++
	if r.windowCalls <= r.fault.Limit {
		return 0, false
	}
	left = per - now.Sub(r.windowStart)
	return min(max(left, 0), per), true
}

// Streams of draws for one call of one fault.
const (
	drawApplies = iota
	drawLatency
)

// draw is the deterministic random number of the n-th matching call of
// fault i, in one stream.
func (t *faultTable) draw(i int, n uint64, stream uint64) uint64 {
	return splitmix64(splitmix64(splitmix64(t.seed^stream<<56)^uint64(i)) ^ n)
}

func (t *faultTable) applies(i int, n uint64) bool {
	p := t.rules[i].fault.Probability
	if p <= 0 || p >= 1 {
		return true
	}
	return float64(t.draw(i, n, drawApplies)>>11)/(1<<53) < p
}

func (t *faultTable) latency(i int, n uint64) time.Duration {
	f := &t.rules[i].fault
	if f.Min == 0 && f.Max == 0 {
		return time.Duration(f.Latency)
	}
	span := uint64(f.Max-f.Min) + 1
	return time.Duration(f.Min) + time.Duration(t.draw(i, n, drawLatency)%span)
}

// splitmix64 is the finaliser of the SplitMix64 generator: a cheap,
// well-mixed hash of x.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
