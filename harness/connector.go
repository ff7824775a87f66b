// Package harness tests a connector directory: it loads the manifest,
// contracts, cassettes and scenarios, starts a sandbox that plays the
// vendors and the connector itself (in-process, as a process or as a
// container), delivers each scenario's events and checks what the
// connector did against the contracts and the golden files.
//
// A connector's test is one call:
//
//	func TestDealnotify(t *testing.T) {
//		harness.Test(t, ".", harness.InProcess(dealnotify.Setup))
//	}
package harness

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tetherkit/tether/contracts"
)

// Connector is a loaded connector directory.
type Connector struct {
	Manifest *Manifest
	// Contracts holds each vendor's contract, by vendor name.
	Contracts map[string]*contracts.Contract
	// Events is the contract whose webhooks describe the events.
	Events *contracts.Contract
	// ConfigSchema is the configuration's JSON Schema; nil when the
	// manifest names none.
	ConfigSchema *contracts.Schema
	Scenarios    []*Scenario
}

// Load reads the connector in dir: its manifest, each contract (parsed
// once, however many vendors share it), the configuration schema and the
// scenarios, and checks each scenario's configuration against the schema.
// With update, scenarios may name golden files that do not exist yet.
// Every mistake is an error naming the file and, where there is one, the
// line.
func Load(dir string, update bool) (*Connector, error) {
	m, err := LoadManifest(dir)
	if err != nil {
		return nil, err
	}
	c := &Connector{Manifest: m, Contracts: map[string]*contracts.Contract{}}
	reg := contracts.NewRegistry()
	for _, name := range slices.Sorted(maps.Keys(m.Vendors)) {
		ct, err := reg.Load(m.Path(m.Vendors[name].Contract))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: vendors.%s.contract: %w", m.File, m.line("vendors", name, "contract"), name, err)
		}
		c.Contracts[name] = ct
	}
	if c.Events, err = reg.Load(m.Path(m.Events.Contract)); err != nil {
		return nil, fmt.Errorf("%s:%d: events.contract: %w", m.File, m.line("events", "contract"), err)
	}
	if len(c.Events.Events()) == 0 {
		return nil, m.fail([]string{"events", "contract"}, "events.contract %s has no webhooks; the events a connector receives are its webhooks", m.Events.Contract)
	}
	if m.Config.Schema != "" {
		if c.ConfigSchema, err = contracts.LoadSchema(m.Path(m.Config.Schema)); err != nil {
			return nil, fmt.Errorf("%s:%d: config.schema: %w", m.File, m.line("config", "schema"), err)
		}
	}
	if c.Scenarios, err = LoadScenarios(dir, update); err != nil {
		return nil, err
	}
	for _, sc := range c.Scenarios {
		if err := c.checkConfig(sc); err != nil {
			return nil, err
		}
		if err := c.checkCassettes(sc); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// checkConfig validates a scenario's configuration against the schema.
func (c *Connector) checkConfig(sc *Scenario) error {
	if c.ConfigSchema == nil {
		return nil
	}
	data, err := json.Marshal(sc.Config)
	if err != nil {
		return &Error{File: sc.File, Line: sc.ConfigLine, Msg: "config: " + err.Error()}
	}
	if ps := c.ConfigSchema.Validate(data); len(ps) > 0 {
		msg := "config fails " + c.Manifest.Config.Schema + ":"
		for _, p := range ps {
			msg += fmt.Sprintf("\n\t%s: %s", p.Path, p.Message)
		}
		return &Error{File: sc.File, Line: sc.configLine(ps[0].Path), Msg: msg}
	}
	return nil
}

// Finding is one thing a run found wrong, or worth a look.
type Finding struct {
	ID       string `json:"id"`    // stable, kebab-case
	Level    string `json:"level"` // error, warning or info
	Location string `json:"location,omitempty"`
	Message  string `json:"message"`
	Hint     string `json:"hint,omitempty"`
	// Where it was found: the suite, the scenario (empty for the
	// connector as a whole) and the check.
	Suite    string `json:"suite,omitempty"`
	Scenario string `json:"scenario,omitempty"`
	Check    string `json:"check,omitempty"`
	// Waived holds the reason of the policy's waiver, when one applies;
	// a waived finding does not fail the gate.
	Waived string `json:"waived,omitempty"`
}

// Levels of a [Finding].
const (
	LevelError   = "error"
	LevelWarning = "warning"
	LevelInfo    = "info"
)

func (f Finding) String() string {
	s := f.Level + " " + f.ID
	if f.Location != "" {
		s += " at " + f.Location
	}
	s += ": " + f.Message
	if f.Hint != "" {
		s += " (" + f.Hint + ")"
	}
	return s
}

// checkCassettes checks that a scenario's cassettes are filed under
// vendors of the manifest.
func (c *Connector) checkCassettes(sc *Scenario) error {
	for _, vendor := range slices.Sorted(maps.Keys(sc.Cassettes)) {
		if _, ok := c.Manifest.Vendors[vendor]; !ok {
			return &Error{File: sc.File, Line: sc.cassetteLines[vendor],
				Msg: fmt.Sprintf("cassettes: %q is not a vendor of the manifest (%s)", vendor, strings.Join(slices.Sorted(maps.Keys(c.Manifest.Vendors)), ", "))}
		}
	}
	return nil
}
