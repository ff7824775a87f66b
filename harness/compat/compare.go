// Package compat compares two releases of a connector: each vendor
// contract, marked by what the connector uses; the configuration schema,
// with the configurations the older release's scenarios use; the manifest;
// and the semantic-version rule that says which bump the changes need.
package compat

import (
	"maps"
	"slices"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/manifest"
)

// ReleaseComparison is the verdict of comparing a connector with an
// earlier release of itself, as the report carries it.
type ReleaseComparison struct {
	Baseline        string `json:"baseline"`
	BaselineVersion string `json:"baseline_version"`
	Version         string `json:"version"`
	RequiredBump    string `json:"required_bump"` // none, patch, minor or major
	Satisfied       bool   `json:"satisfied"`
	Why             string `json:"why,omitempty"`
	// Changes holds every change found, contract changes marked with
	// whether they affect the connector.
	Changes []contracts.Change `json:"changes"`
}

// Compare compares the connector cur with old, an earlier release of it,
// both loaded: each vendor contract (changes marked by what the connector
// uses, read from the older release, whose recordings were made against
// the old contract), the events contract's payloads, the configuration
// schema (with the older release's scenario configurations and generated
// ones), the manifest, and the version rule. File names in positions are
// those of each release's own files.
func Compare(old, cur *manifest.Connector) (*ReleaseComparison, error) {
	res := &ReleaseComparison{BaselineVersion: old.Manifest.Version, Version: cur.Manifest.Version, Changes: []contracts.Change{}}
	compared := map[[2]*contracts.Contract]bool{}
	for _, vendor := range slices.Sorted(maps.Keys(cur.Manifest.Vendors)) {
		ov, ok := old.Manifest.Vendors[vendor]
		if !ok {
			continue // a new vendor is the manifest comparison's
		}
		pair := [2]*contracts.Contract{old.Contracts[vendor], cur.Contracts[vendor]}
		if compared[pair] {
			continue
		}
		compared[pair] = true
		changes, err := compareContracts(old, cur, ov.Contract, cur.Manifest.Vendors[vendor].Contract)
		if err != nil {
			return nil, err
		}
		usage := UsageOf(old, ov.Contract)
		usage.Mark(changes)
		res.Changes = append(res.Changes, changes...)
	}
	// Events given as schema files have no document to compare; the
	// manifest comparison still sees an event type dropped.
	if pair := [2]*contracts.Contract{old.Events.Contract(), cur.Events.Contract()}; !compared[pair] && old.Manifest.Events.Contract != "" && cur.Manifest.Events.Contract != "" {
		changes, err := compareContracts(old, cur, old.Manifest.Events.Contract, cur.Manifest.Events.Contract)
		if err != nil {
			return nil, err
		}
		usage := UsageOf(old, old.Manifest.Events.Contract)
		usage.Mark(changes)
		// A webhook gone is the manifest comparison's (an event dropped);
		// here are the changes to the payloads that remain.
		for _, c := range changes {
			if c.Webhook != "" && c.ID != "webhook-removed" && c.ID != "webhook-added" {
				res.Changes = append(res.Changes, c)
			}
		}
	}
	if old.ConfigSchema != nil && cur.ConfigSchema != nil {
		changes, err := CompareConfigSchemas(old.ConfigSchema, cur.ConfigSchema, ScenarioConfigs(old.Scenarios))
		if err != nil {
			return nil, err
		}
		res.Changes = append(res.Changes, changes...)
	}
	res.Changes = append(res.Changes, CompareManifests(old, cur)...)
	bump := RequiredBump(res.Changes)
	res.RequiredBump = bump.String()
	res.Satisfied, res.Why = CheckBump(res.BaselineVersion, res.Version, bump)
	return res, nil
}

// compareContracts compares one contract of each release, from the bytes
// each release read.
func compareContracts(old, cur *manifest.Connector, oldRel, newRel string) ([]contracts.Change, error) {
	oldData, _ := old.File(oldRel)
	newData, _ := cur.File(newRel)
	o, err := contracts.ParseSpec(oldRel, oldData)
	if err != nil {
		return nil, err
	}
	n, err := contracts.ParseSpec(newRel, newData)
	if err != nil {
		return nil, err
	}
	return contracts.Compare(o, n), nil
}
