package manifest

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/internal/jsonpath"
	"github.com/tetherkit/tether/internal/yamldoc"
	"github.com/tetherkit/tether/replay"
	"github.com/tetherkit/tether/sandbox"
	"github.com/tetherkit/tether/sandbox/state"
)

// ScenarioDir is where a connector keeps its scenarios.
const ScenarioDir = "scenarios"

// Scenario is one run of a connector, read from a YAML file in its
// scenarios/ directory. Paths in it, and the file names it holds, are
// relative to the connector's directory.
//
//	# A deal moves to won above the minimum amount: one message.
//	description: a won deal is posted to the channel
//	tenant: acme                        # default "acme"
//	events: [events/deal-won.yaml]      # delivered in this order
//	deliver: {duplicates: 2}            # optional: duplicates, reorder, retries
//	config: {channel: C0DEALS001, stages: [won], min_amount: 10000}
//	cassettes:                          # by vendor, answering before the contract's examples
//	  crm: [cassettes/crm-deal-4207.yaml]
//	faults:                             # a sandbox fault plan, or just its list
//	  - {kind: rate-limit, vendor: chat, operation: postMessage, limit: 0, per: 1s, first: 1}
//	expect:
//	  outcome: handled                  # handled | rejected | dead-lettered | retry
//	  golden: golden/won.json           # the outbound calls, rewritten with -update
//	  ignore: [body $.ts]               # fields that differ from run to run
//	  state:                            # what a vendor holds at the end
//	    crm:
//	      deals: [{object: {id: d_7, stage: won}}]
//
// A scenario may seed the vendors' state before the first delivery with
// state:, in the same form (vendor, resource as `tether sandbox model`
// names it, items with their parent keys). expect.state names resources
// whose items are compared at the end: as many items, each matching one
// held in the fields it gives; "state $.path" in ignore leaves a field
// out of that comparison.
//
// Events files are in the format [replay.LoadEvents] reads. Each
// delivery of an event must end in the expected outcome, except a
// repeated delivery of an event already handled, which must be answered
// as a duplicate. The golden file holds the calls the connector makes to
// the sandbox, in order, with their Authorization (redacted),
// Content-Type and Idempotency-Key headers.
type Scenario struct {
	Name        string // the file's base name without .yaml
	File        string
	Description string
	Tenant      string
	Events      []ScenarioEvent
	Deliver     DeliverSpec
	Config      map[string]any
	Cassettes   map[string][]string // by vendor
	Faults      *sandbox.FaultPlan
	// State seeds the vendors' state before the first delivery, by vendor,
	// in the format of a state file (see [sandbox.LoadState]).
	State  map[string]state.Document
	Expect Expect
	// StateLine is where state: is; ExpectStateLine where expect.state:
	// is, for errors about them.
	StateLine, ExpectStateLine int

	// ConfigLine is where config: is, for errors about the configuration.
	ConfigLine int

	cassetteLines map[string]int
	configNode    *yaml.Node
}

// configLine is the line of the value at a JSON path such as
// "$.stages[0]" inside config:, or of config: itself.
func (s *Scenario) configLine(path string) int {
	n := s.configNode
	if n == nil {
		return s.ConfigLine
	}
	line := s.ConfigLine
	steps, _ := jsonpath.Parse(path)
	for _, step := range steps {
		var next *yaml.Node
		switch {
		case n.Kind == yaml.MappingNode && step.Index < 0 && !step.Any:
			next = yamldoc.Field(n, step.Key)
		case n.Kind == yaml.SequenceNode && step.Index >= 0 && step.Index < len(n.Content):
			next = n.Content[step.Index]
		}
		if next == nil {
			break
		}
		n, line = next, next.Line
	}
	return line
}

// ScenarioEvent is one event to deliver, with the file it came from.
type ScenarioEvent struct {
	File  string
	Event replay.Event
}

// DeliverSpec says how the events are delivered.
type DeliverSpec struct {
	Duplicates int  `yaml:"duplicates"` // deliver each event this many times (0 and 1: once)
	Reorder    bool `yaml:"reorder"`    // shuffle the order by the run's seed
	Retries    int  `yaml:"retries"`    // redeliver an event not answered 2xx, as vendors do
}

// Expect is what the scenario must show.
type Expect struct {
	Outcome string   `yaml:"outcome"`
	Golden  string   `yaml:"golden"`
	Ignore  []string `yaml:"ignore"`
	// State is what the vendors must hold when the scenario ends, by
	// vendor and resource: each resource named holds exactly as many
	// items, and each item matches one of them in the fields it gives.
	State map[string]state.Document `yaml:"state"`
}

// Outcomes a scenario can expect, as the SDK's webhook handler answers
// them.
const (
	OutcomeHandled      = "handled"
	OutcomeRejected     = "rejected"
	OutcomeDeadLettered = "dead-lettered"
	OutcomeRetry        = "retry"
	OutcomeDuplicate    = "duplicate"
)

var expectable = []string{OutcomeHandled, OutcomeRejected, OutcomeDeadLettered, OutcomeRetry}

var scenarioFields = []string{"description", "tenant", "events", "deliver", "config", "cassettes", "faults", "state", "expect"}

// scenarioYAML is a scenario as written, apart from faults, which
// sandbox.DecodeFaults reads from the node.
type scenarioYAML struct {
	Description string                    `yaml:"description"`
	Tenant      string                    `yaml:"tenant"`
	Events      []string                  `yaml:"events"`
	Deliver     DeliverSpec               `yaml:"deliver"`
	Config      map[string]any            `yaml:"config"`
	Cassettes   map[string][]string       `yaml:"cassettes"`
	Faults      yaml.Node                 `yaml:"faults"`
	State       map[string]state.Document `yaml:"state"`
	Expect      Expect                    `yaml:"expect"`
}

// DefaultTenant is the tenant of a scenario that names none.
const DefaultTenant = "acme"

// parseScenario reads the scenario held in data, the connector's file
// rel. exists says whether the connector has a file; events parses an
// events file of the connector. Every mistake is a *[contracts.Error] at
// its line, including an events, cassette or golden file that does not
// exist (a golden file may be missing when update is true, as the run
// CassetteVendors are the vendors the scenario names cassettes for, in
// the order its file lists them.
func (sc *Scenario) CassetteVendors() []string {
	vendors := slices.Collect(maps.Keys(sc.Cassettes))
	slices.SortFunc(vendors, func(a, b string) int {
		if c := cmp.Compare(sc.cassetteLines[a], sc.cassetteLines[b]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return vendors
}

// writes it).
func parseScenario(rel string, data []byte, update bool, exists func(string) bool, events func(string) ([]replay.Event, error)) (sc *Scenario, err error) {
	defer func() {
		if r := recover(); r != nil {
			sc, err = nil, &contracts.Error{File: rel, Msg: fmt.Sprintf("cannot read the scenario: %v", r)}
		}
	}()
	var raw scenarioYAML
	top, err := yamldoc.Decode(rel, data, &raw, "a scenario is a mapping with events, config and expect")
	if err != nil {
		return nil, err
	}
	at := func(keys ...string) int { return yamldoc.Line(top, keys...) }
	fail := func(line int, format string, args ...any) error {
		return &contracts.Error{File: rel, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	sc = &Scenario{
		Name:        strings.TrimSuffix(path.Base(rel), path.Ext(rel)),
		File:        rel,
		Description: raw.Description,
		Tenant:      raw.Tenant,
		Deliver:     raw.Deliver,
		Config:      raw.Config,
		Expect:      raw.Expect,
		ConfigLine:  at("config"),
		configNode:  yamldoc.Field(top, "config"),
		State:       raw.State,
		StateLine:   at("state"),
	}
	sc.ExpectStateLine = at("expect", "state")
	if sc.Tenant == "" {
		sc.Tenant = DefaultTenant
	}
	if !namePattern.MatchString(sc.Tenant) {
		return nil, fail(at("tenant"), "tenant %q: use lower-case letters, digits and hyphens", sc.Tenant)
	}
	if sc.Config == nil {
		sc.Config = map[string]any{}
	}
	// local checks that name is a file of the connector, and returns its
	// file name.
	local := func(name string) (string, error) {
		if name == "" || filepath.IsAbs(name) || !filepath.IsLocal(name) {
			return "", fmt.Errorf("%q must be a path inside the connector's directory", name)
		}
		if !exists(name) {
			return "", fmt.Errorf("%s does not exist in the connector's directory", name)
		}
		return clean(name), nil
	}
	itemLine := func(list *yaml.Node, i int, fallback int) int {
		if list != nil && list.Kind == yaml.SequenceNode && i < len(list.Content) {
			return list.Content[i].Line
		}
		return fallback
	}
	if len(raw.Events) == 0 {
		return nil, fail(at("events"), "events is missing; list the events files to deliver, in order")
	}
	for i, name := range raw.Events {
		line := itemLine(yamldoc.Field(top, "events"), i, at("events"))
		file, err := local(name)
		if err != nil {
			return nil, fail(line, "events: %v", err)
		}
		evs, err := events(file)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: events: %w", rel, line, err)
		}
		for _, ev := range evs {
			sc.Events = append(sc.Events, ScenarioEvent{File: file, Event: ev})
		}
	}
	sc.Cassettes = map[string][]string{}
	for _, vendor := range slices.Sorted(maps.Keys(raw.Cassettes)) {
		list := yamldoc.Field(yamldoc.Field(top, "cassettes"), vendor)
		for i, name := range raw.Cassettes[vendor] {
			file, err := local(name)
			if err != nil {
				return nil, fail(itemLine(list, i, at("cassettes", vendor)), "cassettes.%s: %v", vendor, err)
			}
			sc.Cassettes[vendor] = append(sc.Cassettes[vendor], file)
		}
	}
	sc.cassetteLines = map[string]int{}
	for vendor := range raw.Cassettes {
		sc.cassetteLines[vendor] = at("cassettes", vendor)
	}
	if raw.Deliver.Duplicates < 0 || raw.Deliver.Retries < 0 {
		return nil, fail(at("deliver"), "deliver: duplicates and retries are 0 or more")
	}
	if raw.Faults.Kind != 0 {
		plan, err := sandbox.DecodeFaults(rel, &raw.Faults)
		if err != nil {
			return nil, err
		}
		sc.Faults = plan
	}
	switch {
	case sc.Expect.Outcome == "":
		return nil, fail(at("expect"), "expect.outcome is missing; say how each event must end: %s", strings.Join(expectable, ", "))
	case !slices.Contains(expectable, sc.Expect.Outcome):
		return nil, fail(at("expect", "outcome"), "expect.outcome %q: use %s", sc.Expect.Outcome, strings.Join(expectable, ", "))
	case sc.Expect.Golden == "":
		return nil, fail(at("expect"), "expect.golden is missing; name the file of expected outbound calls, such as golden/%s.json", sc.Name)
	}
	if update {
		if name := sc.Expect.Golden; filepath.IsAbs(name) || !filepath.IsLocal(name) {
			return nil, fail(at("expect", "golden"), "expect.golden %q must be a path inside the connector's directory", name)
		}
		sc.Expect.Golden = clean(sc.Expect.Golden)
	} else {
		file, err := local(sc.Expect.Golden)
		if err != nil {
			return nil, fail(at("expect", "golden"), "expect: %v (run with -update to write it)", err)
		}
		sc.Expect.Golden = file
	}
	for i, pat := range sc.Expect.Ignore {
		line := itemLine(yamldoc.Field(yamldoc.Field(top, "expect"), "ignore"), i, at("expect", "ignore"))
		path, isBody := strings.CutPrefix(pat, "body ")
		switch {
		case isBody:
			steps, err := jsonpath.Parse(path)
			if err == nil && len(steps) == 0 {
				err = fmt.Errorf("the path names the whole body; name a field, as in $.meta.ts")
			}
			if err != nil {
				return nil, fail(line, "expect.ignore %q: %v", pat, err)
			}
		case strings.HasPrefix(pat, "state "):
			steps, err := jsonpath.Parse(strings.TrimPrefix(pat, "state "))
			if err == nil && len(steps) == 0 {
				err = fmt.Errorf("the path names the whole object; name a field, as in $.updated_at")
			}
			if err != nil {
				return nil, fail(line, "expect.ignore %q: %v", pat, err)
			}
		case strings.HasPrefix(pat, "header ") && strings.TrimSpace(pat[len("header "):]) != "",
			strings.HasPrefix(pat, "query ") && strings.TrimSpace(pat[len("query "):]) != "":
		default:
			return nil, fail(line, "expect.ignore %q: write body $.path, header Name, query name or state $.path", pat)
		}
	}
	return sc, nil
}

// IgnoreOptions turns expect.ignore into options for golden comparison
// ([replay.Compare], [replay.UpdateGolden]).
func (s *Scenario) IgnoreOptions() []replay.CompareOption {
	var opts []replay.CompareOption
	for _, pat := range s.Expect.Ignore {
		switch {
		case strings.HasPrefix(pat, "body "):
			opts = append(opts, replay.IgnoreField(strings.TrimPrefix(pat, "body ")))
		case strings.HasPrefix(pat, "header "):
			opts = append(opts, replay.IgnoreHeader(strings.TrimPrefix(pat, "header ")))
		case strings.HasPrefix(pat, "query "):
			opts = append(opts, replay.IgnoreQuery(strings.TrimPrefix(pat, "query ")))
		}
	}
	return opts
}
