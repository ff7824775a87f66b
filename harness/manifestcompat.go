package harness

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tetherkit/tether/contracts"
)

// IDs of the changes [CompareManifests] reports. They are stable: reports,
// waivers and [RequiredBump] refer to them.
const (
	RuleManifestNameChanged      = "manifest-name-changed"
	RuleManifestSupportLowered   = "manifest-support-lowered"
	RuleManifestScopeAdded       = "manifest-scope-added"
	RuleManifestScopeRemoved     = "manifest-scope-removed"
	RuleManifestVendorAdded      = "manifest-vendor-added"
	RuleManifestVendorRemoved    = "manifest-vendor-removed"
	RuleManifestVendorContract   = "manifest-vendor-contract-changed"
	RuleManifestEventDropped     = "manifest-event-dropped"
	RuleManifestEventsUnreadable = "manifest-events-unreadable"
)

// manifestRules is the catalogue of manifest changes: the severity each
// reports at and the heading that starts its message.
var manifestRules = map[string]struct {
	severity contracts.Severity
	heading  string
}{
	RuleManifestNameChanged:      {contracts.SeverityError, "the connector was renamed; installs of the old name do not upgrade"},
	RuleManifestSupportLowered:   {contracts.SeverityWarning, "the support level was lowered"},
	RuleManifestScopeAdded:       {contracts.SeverityWarning, "a scope was added; an admin must approve the connector again"},
	RuleManifestScopeRemoved:     {contracts.SeverityInfo, "a scope is no longer requested"},
	RuleManifestVendorAdded:      {contracts.SeverityWarning, "a vendor was added; an admin must supply its credentials"},
	RuleManifestVendorRemoved:    {contracts.SeverityError, "a vendor was removed"},
	RuleManifestVendorContract:   {contracts.SeverityInfo, "a vendor's contract moved to another file"},
	RuleManifestEventDropped:     {contracts.SeverityError, "an event is no longer received; subscriptions to it stop working"},
	RuleManifestEventsUnreadable: {contracts.SeverityWarning, "the events contracts could not be compared"},
}

// supportRank orders support levels; a missing level counts as stable.
var supportRank = map[string]int{"": 0, "stable": 0, "beta": 1, "deprecated": 2}

// CompareManifests lists what changed between two releases of a
// connector's manifest that an admin or a marketplace would notice, in a
// fixed order: name, support level, scopes, vendors, then events. Each
// change points at the field in each manifest, or for a dropped event at
// the webhook in the older events contract.
//
// Lowering the support level (stable to beta) is a warning; becoming
// deprecated is an error, as installs are told to move away. The events
// contracts are read from disk (relative to each manifest's Dir); when one
// cannot be read, the change manifest-events-unreadable says so instead of
// an error, so the other findings still stand.
func CompareManifests(older, newer *Manifest) []contracts.Change {
	mc := manifestComparison{older: older, newer: newer}
	if older.Name != newer.Name {
		mc.add(RuleManifestNameChanged, "", []string{"name"}, []string{"name"}, "%q is now %q", older.Name, newer.Name)
	}
	if o, n := supportRank[older.Support], supportRank[newer.Support]; n > o {
		c := mc.add(RuleManifestSupportLowered, "", []string{"support"}, []string{"support"}, "%s is now %s", supportName(older.Support), supportName(newer.Support))
		if newer.Support == "deprecated" {
			c.Severity = contracts.SeverityError
		}
	}
	for i, s := range newer.Scopes {
		if !slices.Contains(older.Scopes, s) {
			c := mc.add(RuleManifestScopeAdded, s, []string{"scopes"}, nil, "%s", s)
			c.New = mc.pos(newer, item(newer.root, i, "scopes"))
		}
	}
	for i, s := range older.Scopes {
		if !slices.Contains(newer.Scopes, s) {
			c := mc.add(RuleManifestScopeRemoved, s, nil, []string{"scopes"}, "%s", s)
			c.Old = mc.pos(older, item(older.root, i, "scopes"))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(older.Vendors)) {
		nv, ok := newer.Vendors[name]
		switch {
		case !ok:
			mc.add(RuleManifestVendorRemoved, name, []string{"vendors", name}, []string{"vendors"}, "%s", name)
		case cleanRel(nv.Contract) != cleanRel(older.Vendors[name].Contract):
			k := []string{"vendors", name, "contract"}
			mc.add(RuleManifestVendorContract, name, k, k, "%s: %s is now %s", name, older.Vendors[name].Contract, nv.Contract)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(newer.Vendors)) {
		if _, ok := older.Vendors[name]; !ok {
			mc.add(RuleManifestVendorAdded, name, []string{"vendors"}, []string{"vendors", name}, "%s", name)
		}
	}
	mc.events()
	return mc.out
}

type manifestComparison struct {
	older, newer *Manifest
	out          []contracts.Change
}

// add appends the change id about the named thing, at the keys in each
// manifest (nil for none), and returns it for adjustment.
func (mc *manifestComparison) add(id, name string, oldKeys, newKeys []string, format string, args ...any) *contracts.Change {
	r := manifestRules[id]
	c := contracts.Change{ID: id, Severity: r.severity, Field: name, Message: r.heading + ": " + fmt.Sprintf(format, args...)}
	if oldKeys != nil {
		c.Old = mc.pos(mc.older, keyNode(mc.older.root, oldKeys...))
	}
	if newKeys != nil {
		c.New = mc.pos(mc.newer, keyNode(mc.newer.root, newKeys...))
	}
	mc.out = append(mc.out, c)
	return &mc.out[len(mc.out)-1]
}

func (mc *manifestComparison) pos(m *Manifest, n *yaml.Node) *contracts.Position {
	p := &contracts.Position{File: m.File}
	if n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	return p
}

// events reports each webhook of the older events contract that the newer
// one no longer has.
func (mc *manifestComparison) events() {
	if mc.older.Events.Contract == "" || mc.newer.Events.Contract == "" {
		return
	}
	oldFile, newFile := mc.older.Path(mc.older.Events.Contract), mc.newer.Path(mc.newer.Events.Contract)
	oldHooks, oerr := webhookKeys(oldFile)
	newHooks, nerr := webhookKeys(newFile)
	if err := cmp.Or(oerr, nerr); err != nil {
		k := []string{"events", "contract"}
		mc.add(RuleManifestEventsUnreadable, "", k, k, "%v", err)
		return
	}
	for _, h := range oldHooks {
		if slices.ContainsFunc(newHooks, func(n *yaml.Node) bool { return n.Value == h.Value }) {
			continue
		}
		c := mc.add(RuleManifestEventDropped, h.Value, nil, []string{"events", "contract"}, "%s is not among the webhooks of %s", h.Value, mc.newer.Events.Contract)
		c.Webhook = h.Value
		c.Old = &contracts.Position{File: oldFile, Line: h.Line, Col: h.Column}
	}
}

// webhookKeys returns the key nodes of the top-level webhooks mapping of
// the contract in file, in document order; none when it has no webhooks.
func webhookKeys(file string) ([]*yaml.Node, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read events contract: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(jsonTabs(data), &doc); err != nil {
		return nil, fmt.Errorf("parse events contract %s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	hooks := valueOf(doc.Content[0], "webhooks")
	if hooks == nil || hooks.Kind != yaml.MappingNode {
		return nil, nil
	}
	var keys []*yaml.Node
	for i := 0; i+1 < len(hooks.Content); i += 2 {
		keys = append(keys, hooks.Content[i])
	}
	return keys, nil
}

func supportName(s string) string {
	if s == "" {
		return "stable (by default)"
	}
	return s
}

func cleanRel(p string) string { return strings.TrimPrefix(strings.ReplaceAll(p, "\\", "/"), "./") }

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

// item returns the i-th element of the sequence at keys under n, or the
// key of the sequence when there is no such element.
func item(n *yaml.Node, i int, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil {
			return nil
		}
		n = valueOf(n, k)
	}
	if n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i]
	}
	return n
}

// valueOf returns the value of key in the mapping n, or nil.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
