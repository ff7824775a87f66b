package manifest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/internal/yamldoc"
	"github.com/tetherkit/tether/replay"
)

// File is the name of a connector's manifest in its directory.
const File = "connector.yaml"

// PolicyFile is the connector's own gate policy, by convention: when a
// connector's directory holds one, [harness.Test], `tether gate` and
// `tether package` gate with it unless told to use another.
const PolicyFile = "policy.yaml"

// Manifest is a connector's connector.yaml: what an admin and a
// marketplace need to know about it, and what the harness needs to run
// it. Paths in it are relative to the connector's directory.
//
//	name: dealnotify
//	version: 1.4.0
//	summary: Posts CRM deal changes to a chat channel
//	support: stable                 # stable | beta | deprecated
//	vendors:
//	  crm:  {contract: contracts/crm.openapi.yaml, secret: crm_token}
//	  chat: {contract: contracts/chat.openapi.yaml, secret: chat_token}
//	events:
//	  contract: contracts/crm.openapi.yaml      # its webhooks
//	  signature: {scheme: hmac-sha256, header: X-Crm-Signature, prefix: "sha256=", secret: crm_webhook_secret}
//	scopes: [deals:read, chat:write]
//	config: {schema: config.schema.json}
//	run: {webhook: /events}
//	compatibility: {window: 2}
type Manifest struct {
	Name          string            `yaml:"name"`
	Version       string            `yaml:"version"` // semantic version, such as 1.4.0
	Summary       string            `yaml:"summary"`
	Support       string            `yaml:"support"` // stable, beta or deprecated
	Vendors       map[string]Vendor `yaml:"vendors"`
	Events        Events            `yaml:"events"`
	Scopes        []string          `yaml:"scopes"`
	Config        ConfigRef         `yaml:"config"`
	Run           RunSpec           `yaml:"run"`
	Compatibility Compatibility     `yaml:"compatibility"`

	// Dir is the connector's directory, as given to [Load].
	Dir string `yaml:"-"`

	root   *yaml.Node
	exists func(rel string) bool
}

// Vendor is an API the connector calls.
type Vendor struct {
	// Contract is the vendor's OpenAPI document.
	Contract string `yaml:"contract"`
	// Overlays are OpenAPI Overlay documents describing where the vendor
	// behaves otherwise than Contract says, applied in order: the sandbox
	// serves, and the suites judge against, the overlaid contract, and
	// each call the original refuses is an overlay-departure finding.
	Overlays []string `yaml:"overlays"`
	// Secret names the secret that holds the connector's bearer token for
	// the vendor; the harness puts a test token there and registers it
	// with the sandbox, with the manifest's scopes. It is short for
	// Credential {kind: bearer, secret: NAME}.
	Secret string `yaml:"secret"`
	// Credential is what the connector holds to call the vendor: a bearer
	// token, an API key, basic credentials or an OAuth2 client. After
	// [Parse] it is set wherever Secret is; nil when the vendor needs
	// none.
	Credential *Credential `yaml:"credential"`
	// Stateless turns the sandbox's state off for the vendor: each call
	// is answered on its own, and the negative suite judges duplicates and
	// out-of-order deliveries by the calls alone.
	Stateless bool `yaml:"stateless"`
}

// Events says what the connector receives, and which schema each event
// type has: the events of an events contract (an OpenAPI document's
// `webhooks`, or an AsyncAPI 2.x/3.x document's messages), or one JSON
// Schema file per event type. Exactly one of Contract and Schemas is given.
type Events struct {
	// Contract is the OpenAPI or AsyncAPI document that declares the
	// events.
	Contract string `yaml:"contract"`
	// Schemas maps each event type to its JSON Schema file, such as
	// issues.opened: schemas/issues/opened.schema.json. The files' $refs
	// reach the connector's files, by location or by `$id`.
	Schemas map[string]string `yaml:"schemas"`
	// Vendor is the vendor that sends them, when it is also one the
	// connector calls; empty means the one whose contract is Contract, if
	// any. A sender that is not a called vendor needs no entry: its events
	// are validated and signed all the same.
	Vendor    string    `yaml:"vendor"`
	Signature Signature `yaml:"signature"`
	// Strict makes an event field its schema does not declare an error of
	// the event contract, as additionalProperties: false says. By default
	// the suites read events tolerantly: such a field, which senders add as
	// their payloads evolve, is reported as info.
	Strict bool `yaml:"strict"`
}

// Signature is how deliveries are signed: the scheme, header and prefix
// of a [replay.Signature], whose key the harness makes for a test, and the
// name of the secret in which the connector finds it.
type Signature struct {
	replay.Signature `yaml:",inline"`
	// SecretName names the secret that holds the signing key.
	SecretName string `yaml:"secret"`
}

// ConfigRef points at the JSON Schema of the connector's configuration.
type ConfigRef struct {
	Schema string `yaml:"schema"`
}

// RunSpec says how the connector is run.
type RunSpec struct {
	// Webhook is the path deliveries are POSTed to.
	Webhook string `yaml:"webhook"`
	// Command runs the connector as a process, from its directory. The
	// words {config} and {listen} are replaced by the run configuration
	// file and the address to serve on.
	Command []string `yaml:"command"`
	// Image builds the connector as a container image.
	Image *Image `yaml:"image"`
}

// Image is how the connector's container image is built: Main is the Go
// main package (relative to the connector's directory) compiled as a
// static binary, and Dockerfile the FROM scratch file that packages it.
type Image struct {
	Dockerfile string `yaml:"dockerfile"`
	Main       string `yaml:"main"`
}

// Compatibility says which earlier releases must still pass.
type Compatibility struct {
	Window int `yaml:"window"`
}

var (
	namePattern   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	semverPattern = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	secretPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Read reads and checks dir's connector.yaml alone, without the files it
// names. Every mistake is a *[contracts.Error] at the line it is on:
// unknown fields, wrong types, a missing required field, a file it names
// that is not there.
func Read(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		return nil, &contracts.Error{File: File, Msg: "read manifest: " + errText(err) + "; a connector directory holds a " + File}
	}
	return Parse(dir, data, func(rel string) bool {
		_, err := os.Stat(filepath.Join(dir, rel))
		return err == nil
	})
}

// Parse reads the manifest held in data for the connector in dir; exists
// says whether a file it names is there.
func Parse(dir string, data []byte, exists func(rel string) bool) (m *Manifest, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, &contracts.Error{File: File, Msg: fmt.Sprintf("cannot read the manifest: %v", r)}
		}
	}()
	m = &Manifest{}
	top, err := yamldoc.Decode(File, data, m, "the manifest must be a mapping with name, version, vendors, events, scopes, config and run")
	if err != nil {
		return nil, err
	}
	m.Dir, m.root, m.exists = dir, top, exists
	if err := m.check(); err != nil {
		return nil, err
	}
	for name, v := range m.Vendors {
		if v.Credential == nil && v.Secret != "" {
			v.Credential = &Credential{Kind: KindBearer, Secret: v.Secret}
			m.Vendors[name] = v
		}
	}
	return m, nil
}

// line returns the line of the value at the path of keys, or of the
// closest enclosing one that exists.
func (m *Manifest) line(keys ...string) int {
	return yamldoc.Line(m.root, keys...)
}

// Position is where the manifest holds the key at the end of the path of
// keys, or the deepest of them that it has.
func (m *Manifest) Position(keys ...string) contracts.Position {
	n := keyNode(m.root, keys...)
	if n == nil {
		return contracts.Position{File: File}
	}
	return contracts.Position{File: File, Line: n.Line, Column: n.Column}
}

// ItemPosition is where the manifest holds the i-th element of the list
// at keys, or the list's key when it has no such element.
func (m *Manifest) ItemPosition(i int, keys ...string) contracts.Position {
	n := m.root
	for _, k := range keys {
		if n = yamldoc.Field(n, k); n == nil {
			return m.Position(keys...)
		}
	}
	if n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return contracts.Position{File: File, Line: n.Content[i].Line, Column: n.Content[i].Column}
	}
	return m.Position(keys...)
}

// keyNode returns the key node at the end of the path of keys under the
// mapping n, or of the deepest one that exists; nil when n is nil.
func keyNode(n *yaml.Node, keys ...string) *yaml.Node {
	var at *yaml.Node
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			break
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				at, next = n.Content[i], n.Content[i+1]
				break
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	if at == nil {
		return n
	}
	return at
}

func (m *Manifest) fail(keys []string, format string, args ...any) error {
	return &contracts.Error{File: File, Line: m.line(keys...), Msg: fmt.Sprintf(format, args...)}
}

func (m *Manifest) check() error {
	k := func(keys ...string) []string { return keys }
	switch {
	case m.Name == "":
		return m.fail(nil, "name is missing; name the connector, such as dealnotify")
	case !namePattern.MatchString(m.Name):
		return m.fail(k("name"), "name %q: use lower-case letters, digits and hyphens, starting with a letter", m.Name)
	case m.Version == "":
		return m.fail(nil, "version is missing; give a semantic version such as 1.0.0")
	case !semverPattern.MatchString(m.Version):
		return m.fail(k("version"), "version %q is not a semantic version such as 1.4.0", m.Version)
	case m.Support != "" && !slices.Contains([]string{"stable", "beta", "deprecated"}, m.Support):
		return m.fail(k("support"), "support %q: use stable, beta or deprecated", m.Support)
	case len(m.Vendors) == 0:
		return m.fail(nil, "vendors is missing; name each API the connector calls with its contract")
	}
	secretOwner := map[string]string{} // secret name -> vendor that holds it
	for _, name := range slices.Sorted(maps.Keys(m.Vendors)) {
		v := m.Vendors[name]
		if !namePattern.MatchString(name) {
			return m.fail(k("vendors", name), "vendor name %q: use lower-case letters, digits and hyphens", name)
		}
		if err := m.file(k("vendors", name, "contract"), "vendors."+name+".contract", v.Contract); err != nil {
			return err
		}
		for i, ov := range v.Overlays {
			if err := m.file(k("vendors", name, "overlays"), fmt.Sprintf("vendors.%s.overlays[%d]", name, i), ov); err != nil {
				return err
			}
		}
		if field, problem := checkCredential(v); problem != "" {
			return m.fail(k("vendors", name, field), "vendors.%s: %s", name, problem)
		}
		var names []string
		if v.Credential != nil {
			names = v.Credential.SecretNames()
		} else if v.Secret != "" {
			names = []string{v.Secret}
		}
		for _, s := range names {
			if other, ok := secretOwner[s]; ok {
				return m.fail(k("vendors", name), "vendors.%s: secret %q is also a secret of vendors.%s; each secret holds one value", name, s, other)
			}
			secretOwner[s] = name
		}
	}
	switch {
	case m.Events.Contract != "" && len(m.Events.Schemas) > 0:
		return m.fail(k("events", "schemas"), "events has both a contract and schemas; give one: the events contract, or a JSON Schema file per event type")
	case len(m.Events.Schemas) > 0:
		for _, ev := range slices.Sorted(maps.Keys(m.Events.Schemas)) {
			if strings.TrimSpace(ev) == "" {
				return m.fail(k("events", "schemas"), "events.schemas has an empty event type")
			}
			if err := m.file(k("events", "schemas", ev), "events.schemas."+ev, m.Events.Schemas[ev]); err != nil {
				return err
			}
		}
	default:
		if err := m.file(k("events", "contract"), "events.contract", m.Events.Contract); err != nil {
			return err
		}
	}
	if m.Events.Vendor != "" {
		if _, ok := m.Vendors[m.Events.Vendor]; !ok {
			return m.fail(k("events", "vendor"), "events.vendor %q is not among the vendors (%s)", m.Events.Vendor, strings.Join(slices.Sorted(maps.Keys(m.Vendors)), ", "))
		}
	}
	sig := m.Events.Signature
	if err := sig.Check(); err != nil {
		field := "signature"
		if !slices.Contains(replay.Schemes, sig.Scheme) {
			field = "scheme"
		}
		return m.fail(k("events", "signature", field), "%v", err)
	}
	if sig.Scheme != "" && !secretPattern.MatchString(sig.SecretName) {
		return m.fail(k("events", "signature"), "signature needs secret: the name of the secret that holds the signing key")
	}
	for i, s := range m.Scopes {
		if strings.TrimSpace(s) == "" || strings.ContainsAny(s, " \t") {
			return m.fail(k("scopes"), "scope %d %q: a scope is one word, such as deals:read", i+1, s)
		}
	}
	if m.Config.Schema != "" {
		if err := m.file(k("config", "schema"), "config.schema", m.Config.Schema); err != nil {
			return err
		}
	}
	if !strings.HasPrefix(m.Run.Webhook, "/") {
		return m.fail(k("run", "webhook"), "run.webhook %q: give the path deliveries are POSTed to, such as /events", m.Run.Webhook)
	}
	for i, w := range m.Run.Command {
		if w == "" {
			return m.fail(k("run", "command"), "run.command word %d is empty", i+1)
		}
	}
	if img := m.Run.Image; img != nil {
		if err := m.file(k("run", "image", "dockerfile"), "run.image.dockerfile", img.Dockerfile); err != nil {
			return err
		}
		if img.Main == "" {
			return m.fail(k("run", "image"), "run.image.main is missing; name the Go main package to build, such as ./cmd/%s", m.Name)
		}
	}
	if m.Compatibility.Window < 0 {
		return m.fail(k("compatibility", "window"), "compatibility.window %d: give how many earlier minor releases must pass, 0 or more", m.Compatibility.Window)
	}
	return nil
}

// file checks that the field at keys names a file in the connector's
// directory.
func (m *Manifest) file(keys []string, field, rel string) error {
	if rel == "" {
		return m.fail(keys, "%s is missing", field)
	}
	if filepath.IsAbs(rel) || !filepath.IsLocal(rel) {
		return m.fail(keys, "%s %q must be a path inside the connector's directory", field, rel)
	}
	if !m.exists(rel) {
		return m.fail(keys, "%s: %s does not exist in %s", field, rel, m.Dir)
	}
	return nil
}

// EventVendor is the vendor that sends the connector's events, among
// those it calls; "" when the sender is not one of them.
func (m *Manifest) EventVendor() string {
	if m.Events.Vendor != "" {
		return m.Events.Vendor
	}
	if m.Events.Contract == "" {
		return ""
	}
	for _, name := range slices.Sorted(maps.Keys(m.Vendors)) {
		if filepath.Clean(m.Vendors[name].Contract) == filepath.Clean(m.Events.Contract) {
			return name
		}
	}
	return ""
}

// Path is rel inside the connector's directory.
func (m *Manifest) Path(rel string) string { return filepath.Join(m.Dir, rel) }
