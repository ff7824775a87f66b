// Package manifest loads a connector directory: its manifest
// (connector.yaml), the vendor contracts it names, the events contract, the
// configuration schema, the scenarios with their sample events, and every
// cassette and golden file. Each file is read once and parsed once; the
// suites, the report, the comparison of releases and packaging all work
// from the [Connector] it returns.
//
// Every mistake in those files is a *[contracts.Error] naming the file
// (relative to the connector's directory) and the line.
package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/internal/memfs"
	"github.com/tetherkit/tether/replay"
)

// Connector is a loaded connector directory. File names in it, and in the
// positions of what it holds, are relative to the directory, with forward
// slashes.
type Connector struct {
	Manifest *Manifest
	// Contracts holds each vendor's contract, by vendor name.
	Contracts map[string]*contracts.Contract
	// Events describes the events the connector receives: the events
	// contract's webhooks or messages, or the event types' schema files.
	Events *contracts.EventContract
	// ConfigSchema is the configuration's JSON Schema; nil when the
	// manifest names none.
	ConfigSchema *contracts.Schema
	Scenarios    []*Scenario
	// Cassettes holds every cassette of the connector, parsed: those in
	// its cassettes directory and those its scenarios name, by file name.
	Cassettes map[string]*fixtures.Cassette
	// Golden holds the calls of each golden file that exists, by file
	// name. A scenario's file may be missing when the run is to write it.
	Golden map[string][]replay.Call
	// Inputs are the files the connector is made of, with their digests,
	// in name order: those at the top of its directory and those under
	// [InputDirs]. Reports and bundles name exactly these.
	Inputs []Input

	files      map[string][]byte
	notRegular []string
}

// Input is one file of a connector, with the SHA-256 of its bytes.
type Input struct {
	Path   string `json:"path"` // relative to the connector's directory, forward slashes
	SHA256 string `json:"sha256"`
}

// InputDirs are the directories of a connector whose files are inputs,
// besides the files at its top level. Reports written into the directory
// are not inputs.
var InputDirs = []string{"contracts", "cassettes", "scenarios", "events", "golden", "cmd"}

// CassetteDir is where a connector keeps its cassettes.
const CassetteDir = "cassettes"

// Option configures [Load].
type Option func(*options)

type options struct {
	update      bool
	vendorsOnly bool
	fsys        fs.FS
}

// ForUpdate loads a connector whose run is to write its golden files: a
// scenario may name a golden file that does not exist yet.
func ForUpdate(update bool) Option { return func(o *options) { o.update = update } }

// VendorsOnly loads the manifest and the vendors' contracts and stops
// there: for tools that need only the vendors, such as recording the
// cassettes that scenarios are yet to name.
func VendorsOnly() Option { return func(o *options) { o.vendorsOnly = true } }

// ReadFrom reads the connector's files from fsys, whose root is the
// connector's directory, instead of from the directory itself: for a
// connector held in memory, such as a release bundle.
func ReadFrom(fsys fs.FS) Option { return func(o *options) { o.fsys = fsys } }

// Load reads the connector in dir: every input file once, then its
// manifest, each contract (parsed once, however many vendors share it),
// the configuration schema, the scenarios with their events, and the
// cassettes and golden files; and it checks each scenario's
// configuration against the schema.
func Load(dir string, opts ...Option) (*Connector, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.fsys == nil {
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, &contracts.Error{File: File, Msg: "read the connector " + dir + ": " + errText(err) + "; a connector directory holds a " + File, Err: err}
		}
		defer root.Close()
		o.fsys = root.FS()
	}
	c := &Connector{Contracts: map[string]*contracts.Contract{}, Cassettes: map[string]*fixtures.Cassette{}, Golden: map[string][]replay.Call{}}
	var err error
	if c.files, c.Inputs, c.notRegular, err = readInputs(o.fsys); err != nil {
		return nil, err
	}
	data, ok := c.files[File]
	if !ok {
		return nil, &contracts.Error{File: File, Msg: "the directory " + dir + " holds no " + File + "; a connector directory holds one"}
	}
	m, err := Parse(dir, data, c.exists)
	if err != nil {
		return nil, err
	}
	c.Manifest = m
	parsed := map[string]*contracts.Contract{}
	// A contract's $refs reach only the connector's input files, which
	// are what its bundle ships; nothing else is read for them.
	inputs, err := memfs.New(c.files)
	if err != nil {
		return nil, &contracts.Error{File: File, Msg: "the connector's files: " + err.Error(), Err: err}
	}
	contract := func(rel string, overlays ...string) (*contracts.Contract, error) {
		key := strings.Join(append([]string{rel}, overlays...), "\x00")
		if ct := parsed[key]; ct != nil {
			return ct, nil
		}
		opts := []contracts.Option{contracts.RefsFrom(inputs, path.Dir(rel))}
		for _, ov := range overlays {
			opts = append(opts, contracts.WithOverlay(ov, c.files[ov]))
		}
		ct, err := contracts.Parse(rel, c.files[rel], opts...)
		if err != nil {
			return nil, err
		}
		parsed[key] = ct
		return ct, nil
	}
	for _, name := range slices.Sorted(maps.Keys(m.Vendors)) {
		var overlays []string
		for _, ov := range m.Vendors[name].Overlays {
			overlays = append(overlays, clean(ov))
		}
		ct, err := contract(clean(m.Vendors[name].Contract), overlays...)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: vendors.%s.contract: %w", File, m.line("vendors", name, "contract"), name, err)
		}
		c.Contracts[name] = ct
	}
	if o.vendorsOnly {
		return c, nil
	}
	if c.Events, err = c.loadEvents(m, parsed, inputs); err != nil {
		return nil, err
	}
	if m.Config.Schema != "" {
		rel := clean(m.Config.Schema)
		if c.ConfigSchema, err = contracts.ParseSchema(rel, c.files[rel]); err != nil {
			return nil, fmt.Errorf("%s:%d: config.schema: %w", File, m.line("config", "schema"), err)
		}
	}
	events := map[string][]replay.Event{}
	for _, rel := range c.names(ScenarioDir + "/") {
		if !strings.HasSuffix(rel, ".yaml") || strings.Contains(strings.TrimPrefix(rel, ScenarioDir+"/"), "/") {
			continue
		}
		sc, err := parseScenario(rel, c.files[rel], o.update, c.exists, func(file string) ([]replay.Event, error) {
			if evs, ok := events[file]; ok {
				return evs, nil
			}
			evs, err := replay.ParseEvents(file, c.files[file])
			events[file] = evs
			return evs, err
		})
		if err != nil {
			return nil, err
		}
		c.Scenarios = append(c.Scenarios, sc)
	}
	for _, rel := range c.cassetteFiles() {
		cas, err := fixtures.Parse(rel, c.files[rel])
		if err != nil {
			return nil, err
		}
		c.Cassettes[rel] = cas
	}
	for _, sc := range c.Scenarios {
		if err := c.checkConfig(sc); err != nil {
			return nil, err
		}
		if err := c.checkCassettes(sc); err != nil {
			return nil, err
		}
		data, ok := c.files[sc.Expect.Golden]
		if !ok || c.Golden[sc.Expect.Golden] != nil {
			continue
		}
		calls, err := replay.ParseGolden(sc.Expect.Golden, data)
		if err != nil {
			return nil, err
		}
		c.Golden[sc.Expect.Golden] = calls
	}
	return c, nil
}

// maxInput bounds one input file: a connector's files are documents and
// recordings, not data sets.
const maxInput = 256 << 20

// readInputs reads every input file of the connector in fsys once, in name
// order, and digests it. Links and special files are not read; their
// names are returned apart.
func readInputs(fsys fs.FS) (map[string][]byte, []Input, []string, error) {
	files := map[string][]byte{}
	var inputs []Input
	var irregular []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil
		}
		if d.IsDir() {
			top, _, _ := strings.Cut(p, "/")
			if p != "." && (strings.HasPrefix(d.Name(), ".") || !slices.Contains(InputDirs, top)) {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		if !d.Type().IsRegular() {
			irregular = append(irregular, p)
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if info.Size() > maxInput {
			return &contracts.Error{File: p, Msg: fmt.Sprintf("the file is %d MiB, over the %d MiB a connector's file may be", info.Size()>>20, maxInput>>20)}
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return &contracts.Error{File: p, Msg: "read: " + errText(err), Err: err}
		}
		files[p] = data
		sum := sha256.Sum256(data)
		inputs = append(inputs, Input{Path: p, SHA256: hex.EncodeToString(sum[:])})
		return nil
	})
	if err != nil {
		var ce *contracts.Error
		if errors.As(err, &ce) {
			return nil, nil, nil, err
		}
		return nil, nil, nil, &contracts.Error{File: File, Msg: "read the connector: " + errText(err), Err: err}
	}
	return files, inputs, irregular, nil
}

// errText is an I/O error without the path the caller names already.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// clean turns a path from the manifest or a scenario into a file name of
// the connector.
func clean(rel string) string { return path.Clean(filepath.ToSlash(rel)) }

// exists reports whether the connector has the input file rel.
func (c *Connector) exists(rel string) bool {
	_, ok := c.files[clean(rel)]
	return ok
}

// names lists the connector's file names under prefix, in order.
func (c *Connector) names(prefix string) []string {
	var out []string
	for _, in := range c.Inputs {
		if strings.HasPrefix(in.Path, prefix) {
			out = append(out, in.Path)
		}
	}
	return out
}

// File returns the bytes of the connector's input file rel, as read when
// it was loaded.
func (c *Connector) File(rel string) ([]byte, bool) {
	data, ok := c.files[clean(rel)]
	return data, ok
}

// cassetteFiles are the connector's cassettes: the YAML files in its
// cassettes directory and those its scenarios name, in name order.
func (c *Connector) cassetteFiles() []string {
	set := map[string]bool{}
	for _, rel := range c.names(CassetteDir + "/") {
		if strings.HasSuffix(rel, ".yaml") && !strings.Contains(strings.TrimPrefix(rel, CassetteDir+"/"), "/") {
			set[rel] = true
		}
	}
	for _, sc := range c.Scenarios {
		for _, list := range sc.Cassettes {
			for _, rel := range list {
				set[rel] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Path is the connector's file rel on disk.
func (c *Connector) Path(rel string) string { return c.Manifest.Path(rel) }

// checkConfig validates a scenario's configuration against the schema.
func (c *Connector) checkConfig(sc *Scenario) error {
	if c.ConfigSchema == nil {
		return nil
	}
	data, err := json.Marshal(sc.Config)
	if err != nil {
		return &contracts.Error{File: sc.File, Line: sc.ConfigLine, Msg: "config: " + err.Error()}
	}
	if ps := c.ConfigSchema.Validate(data); len(ps) > 0 {
		msg := "config fails " + c.Manifest.Config.Schema + ":"
		for _, p := range ps {
			msg += fmt.Sprintf("\n\t%s: %s", p.Path, p.Message)
		}
		return &contracts.Error{File: sc.File, Line: sc.configLine(ps[0].Path), Msg: msg}
	}
	return nil
}

// checkCassettes checks that a scenario's cassettes are filed under
// vendors of the manifest.
func (c *Connector) checkCassettes(sc *Scenario) error {
	for _, vendor := range slices.Sorted(maps.Keys(sc.Cassettes)) {
		if _, ok := c.Manifest.Vendors[vendor]; !ok {
			return &contracts.Error{File: sc.File, Line: sc.cassetteLines[vendor],
				Msg: fmt.Sprintf("cassettes: %q is not a vendor of the manifest (%s)", vendor, strings.Join(slices.Sorted(maps.Keys(c.Manifest.Vendors)), ", "))}
		}
	}
	return nil
}

// ScenarioCassettes returns the parsed cassettes a scenario names for
// vendor, in the order it names them.
func (c *Connector) ScenarioCassettes(sc *Scenario, vendor string) []*fixtures.Cassette {
	var out []*fixtures.Cassette
	for _, rel := range sc.Cassettes[vendor] {
		if cas := c.Cassettes[rel]; cas != nil {
			out = append(out, cas)
		}
	}
	return out
}

// NotRegular lists the connector's entries among its inputs' places that
// are links or special files, which are neither read nor shipped.
func (c *Connector) NotRegular() []string { return slices.Clone(c.notRegular) }

// Files returns the connector's input files as read, by name: what a
// bundle or a container is made from. The caller must not modify them.
func (c *Connector) Files() map[string][]byte { return c.files }

// loadEvents loads the events the manifest describes: from a vendor's
// contract already parsed, from an events document of their own, or from
// a schema file per event type.
func (c *Connector) loadEvents(m *Manifest, parsed map[string]*contracts.Contract, inputs fs.FS) (*contracts.EventContract, error) {
	strict := contracts.StrictEvents(m.Events.Strict)
	if len(m.Events.Schemas) > 0 {
		schemas := map[string]string{}
		for ev, file := range m.Events.Schemas {
			schemas[ev] = clean(file)
		}
		ec, err := contracts.EventSchemas(File, schemas, contracts.RefsFrom(inputs, "."), strict)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: events.schemas: %w", File, m.line("events", "schemas"), err)
		}
		return ec, nil
	}
	rel := clean(m.Events.Contract)
	var ec *contracts.EventContract
	var err error
	if ct := parsed[rel]; ct != nil {
		ec, err = contracts.EventsOf(ct, strict)
	} else {
		ec, err = contracts.ParseEvents(rel, c.files[rel], contracts.RefsFrom(inputs, path.Dir(rel)), strict)
	}
	if errors.Is(err, contracts.ErrNoEvents) {
		return nil, m.fail([]string{"events", "contract"}, "events.contract %s has no webhooks; the events a connector receives are its webhooks (or an AsyncAPI document's messages)", m.Events.Contract)
	}
	if err != nil {
		return nil, fmt.Errorf("%s:%d: events.contract: %w", File, m.line("events", "contract"), err)
	}
	return ec, nil
}
