package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/internal/yamldoc"
)

// Policy is what the gate fails on, read from a YAML file:
//
//	fail-on: [error]            # levels that fail the gate; the default is [error]
//	waivers:
//	  - id: scope-unused        # the finding's ID (required)
//	    suite: contract         # optional: only in this suite,
//	    scenario: won           # this scenario,
//	    check: scopes           # this check
//	    reason: chat:write is granted for the next release's threads
//	    expires: 2027-03-31     # required; the waiver stops on this date
//	coverage:                   # optional minimums, in percent, per vendor
//	  used-operations: 100      # used operations the suites called
//	  declared-statuses: 80     # declared statuses of those the suites made the vendor answer
//	  delivered-events: 100     # event types of the event contract the scenarios delivered
//
// A waived finding stays in the report, marked with the waiver's reason,
// and does not fail the gate. A waiver past its expiry date waives
// nothing and is itself an error, so that no waiver outlives its reason
// unnoticed.
type Policy struct {
	FailOn   []string         `yaml:"fail-on"`
	Waivers  []Waiver         `yaml:"waivers"`
	Coverage CoverageMinimums `yaml:"coverage"`

	// File is the policy's file, as given; Digest the SHA-256 of its
	// bytes, which a report records so that a gate can be reproduced.
	File   string `yaml:"-"`
	Digest string `yaml:"-"`
}

// Waiver excuses the findings it matches until it expires.
type Waiver struct {
	ID       string `yaml:"id"`
	Suite    string `yaml:"suite"`
	Scenario string `yaml:"scenario"`
	Check    string `yaml:"check"`
	Reason   string `yaml:"reason"`
	Expires  string `yaml:"expires"` // YYYY-MM-DD

	line    int
	expires time.Time
}

// CoverageMinimums are the least coverage, in percent, the gate accepts;
// a minimum left out is not checked. See [Coverage].
type CoverageMinimums struct {
	UsedOperations   *float64 `yaml:"used-operations"`
	DeclaredStatuses *float64 `yaml:"declared-statuses"`
	DeliveredEvents  *float64 `yaml:"delivered-events"`

	line int
}

// DefaultPolicy fails on errors and waives nothing.
func DefaultPolicy() *Policy {
	return &Policy{FailOn: []string{"error"}}
}

// LoadPolicy reads a policy file. Every mistake is an *[Error] at its
// line: an unknown field, a level that is not one, a waiver without an ID,
// a reason or a valid expiry date.
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &contracts.Error{File: path, Msg: "read policy: " + err.Error()}
	}
	return ParsePolicy(path, data)
}

// ParsePolicy reads the policy held in data, as [LoadPolicy] reads a file;
// path names it in errors.
func ParsePolicy(path string, data []byte) (p *Policy, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, &contracts.Error{File: path, Msg: fmt.Sprintf("cannot read the policy: %v", r)}
		}
	}()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line, msg, _ := yamldoc.Syntax(err)
		return nil, &contracts.Error{File: path, Line: line, Msg: "invalid YAML: " + msg}
	}
	sum := sha256.Sum256(data)
	p = &Policy{File: path, Digest: hex.EncodeToString(sum[:])}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(p); err != nil {
			return nil, yamldoc.TypeError(path, err)
		}
	}
	var top *yaml.Node
	if len(root.Content) > 0 {
		top = root.Content[0]
	}
	line := func(keys ...string) int {
		if top == nil {
			return 1
		}
		return yamldoc.Line(top, keys...)
	}
	if len(p.FailOn) == 0 {
		p.FailOn = []string{"error"}
	}
	for _, l := range p.FailOn {
		if level, err := contracts.ParseLevel(l); err != nil || level.String() != l {
			return nil, &contracts.Error{File: path, Line: line("fail-on"), Msg: fmt.Sprintf("fail-on: %q is not a level; use error, warning or info", l)}
		}
	}
	p.Coverage.line = line("coverage")
	for _, m := range []struct {
		key string
		v   *float64
	}{{"used-operations", p.Coverage.UsedOperations}, {"declared-statuses", p.Coverage.DeclaredStatuses}, {"delivered-events", p.Coverage.DeliveredEvents}} {
		if m.v != nil && !(*m.v >= 0 && *m.v <= 100) {
			return nil, &contracts.Error{File: path, Line: line("coverage", m.key), Msg: fmt.Sprintf("coverage: %s is %v; give a percentage from 0 to 100", m.key, *m.v)}
		}
	}
	var items []*yaml.Node
	if top != nil {
		if n := yamldoc.Field(top, "waivers"); n != nil && n.Kind == yaml.SequenceNode {
			items = n.Content
		}
	}
	for i := range p.Waivers {
		w := &p.Waivers[i]
		w.line = line("waivers")
		if i < len(items) {
			w.line = items[i].Line
		}
		fail := func(msg string) error {
			return &contracts.Error{File: path, Line: w.line, Msg: fmt.Sprintf("waiver %d: %s", i+1, msg)}
		}
		switch {
		case w.ID == "":
			return nil, fail("id is missing; name the finding ID it waives")
		case strings.TrimSpace(w.Reason) == "":
			return nil, fail("reason is missing; say why the finding is acceptable")
		case w.Suite != "" && !slices.Contains(Suites, w.Suite):
			return nil, fail(fmt.Sprintf("suite %q is not one of %s", w.Suite, strings.Join(Suites, ", ")))
		}
		t, err := time.Parse(time.DateOnly, w.Expires)
		if err != nil {
			return nil, fail(fmt.Sprintf("expires %q: give the date the waiver ends, as YYYY-MM-DD", w.Expires))
		}
		w.expires = t
	}
	return p, nil
}

func (w *Waiver) matches(f Finding) bool {
	return w.ID == f.ID && (w.Suite == "" || w.Suite == f.Suite) &&
		(w.Scenario == "" || w.Scenario == f.Scenario) && (w.Check == "" || w.Check == f.Check)
}
