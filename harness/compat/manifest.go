package compat

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/manifest"
)

// IDs of the changes [CompareManifests] reports. They are stable: reports,
// waivers and [RequiredBump] refer to them.
const (
	RuleManifestNameChanged    = "manifest-name-changed"
	RuleManifestSupportLowered = "manifest-support-lowered"
	RuleManifestScopeAdded     = "manifest-scope-added"
	RuleManifestScopeRemoved   = "manifest-scope-removed"
	RuleManifestVendorAdded    = "manifest-vendor-added"
	RuleManifestVendorRemoved  = "manifest-vendor-removed"
	RuleManifestVendorContract = "manifest-vendor-contract-changed"
	RuleManifestEventDropped   = "manifest-event-dropped"
)

// supportRank orders support levels; a missing level counts as stable.
var supportRank = map[string]int{"": 0, "stable": 0, "beta": 1, "deprecated": 2}

// CompareManifests lists what changed between two releases of a
// connector's manifest that an admin or a marketplace would notice, in a
// fixed order: name, support level, scopes, vendors, then events. Each
// change points at the field in each manifest, or for a dropped event at
// the webhook in the older events contract.
//
// Lowering the support level (stable to beta) is a warning; becoming
// deprecated is an error, as installs are told to move away. A dropped
// event is a webhook of the older events contract the newer one lacks.
func CompareManifests(old, cur *manifest.Connector) []contracts.Change {
	older, newer := old.Manifest, cur.Manifest
	mc := manifestComparison{older: older, newer: newer, oldEvents: old.Events, newEvents: cur.Events}
	if older.Name != newer.Name {
		mc.add(RuleManifestNameChanged, "", []string{"name"}, []string{"name"}, "%q is now %q", older.Name, newer.Name)
	}
	if o, n := supportRank[older.Support], supportRank[newer.Support]; n > o {
		c := mc.add(RuleManifestSupportLowered, "", []string{"support"}, []string{"support"}, "%s is now %s", SupportName(older.Support), SupportName(newer.Support))
		if newer.Support == "deprecated" {
			c.Level = contracts.LevelError
		}
	}
	for i, s := range newer.Scopes {
		if !slices.Contains(older.Scopes, s) {
			c := mc.add(RuleManifestScopeAdded, s, []string{"scopes"}, nil, "%s", s)
			c.New = ptr(newer.ItemPosition(i, "scopes"))
		}
	}
	for i, s := range older.Scopes {
		if !slices.Contains(newer.Scopes, s) {
			c := mc.add(RuleManifestScopeRemoved, s, nil, []string{"scopes"}, "%s", s)
			c.Old = ptr(older.ItemPosition(i, "scopes"))
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
	older, newer         *manifest.Manifest
	oldEvents, newEvents *contracts.EventContract
	out                  []contracts.Change
}

func ptr(p contracts.Position) *contracts.Position { return &p }

// add appends the change id about the named thing, at the keys in each
// manifest (nil for none), and returns it for adjustment.
func (mc *manifestComparison) add(id, name string, oldKeys, newKeys []string, format string, args ...any) *contracts.Change {
	r := rule(id)
	c := contracts.Change{ID: id, Level: r.Level, Field: name, Message: r.Summary + ": " + fmt.Sprintf(format, args...)}
	if oldKeys != nil {
		c.Old = ptr(mc.older.Position(oldKeys...))
	}
	if newKeys != nil {
		c.New = ptr(mc.newer.Position(newKeys...))
	}
	mc.out = append(mc.out, c)
	return &mc.out[len(mc.out)-1]
}

// events reports each webhook of the older events contract that the newer
// one no longer has.
func (mc *manifestComparison) events() {
	if mc.oldEvents == nil || mc.newEvents == nil {
		return
	}
	have := mc.newEvents.Events()
	for _, name := range mc.oldEvents.Events() {
		if slices.Contains(have, name) {
			continue
		}
		c := mc.add(RuleManifestEventDropped, name, nil, []string{"events", "contract"}, "%s is not among the events of %s", name, mc.newEvents.File())
		c.Webhook = name
		if at, ok := mc.oldEvents.Position(name); ok {
			c.Old = &at
		}
	}
}

// SupportName is a support level as people read it; an unset one is stable.
func SupportName(s string) string {
	if s == "" {
		return "stable (by default)"
	}
	return s
}

func cleanRel(p string) string { return strings.TrimPrefix(strings.ReplaceAll(p, "\\", "/"), "./") }
