package compat

import (
	"slices"

	"github.com/tetherkit/tether/contracts"
)

// Rules lists the changes this package reports about configuration schemas
// and manifests; the changes to vendor contracts are [contracts.Rules].
// A summary starts every message of its rule.
func Rules() []contracts.Rule {
	return slices.Clone(rules)
}

var rules = []contracts.Rule{
	{ID: RuleConfigRequiredFieldAdded, Level: contracts.LevelError, Summary: "a required field was added with no default; existing configurations lack it",
		Hint: "give the field a default, or make it optional; otherwise release a major version"},
	{ID: RuleConfigRequiredFieldWithDefault, Level: contracts.LevelWarning, Summary: "a required field was added with a default; an admin should review it"},
	{ID: RuleConfigFieldRemoved, Level: contracts.LevelWarning, Summary: "a field was removed"},
	{ID: RuleConfigTypeNarrowed, Level: contracts.LevelError, Summary: "a field accepts fewer types"},
	{ID: RuleConfigEnumValueRemoved, Level: contracts.LevelError, Summary: "an allowed value was removed"},
	{ID: RuleConfigEnumAdded, Level: contracts.LevelError, Summary: "a field is now limited to a list of values"},
	{ID: RuleConfigPatternChanged, Level: contracts.LevelError, Summary: "a field's pattern changed; values it matched may no longer match"},
	{ID: RuleConfigBoundTightened, Level: contracts.LevelError, Summary: "a limit was tightened"},
	{ID: RuleConfigFieldAdded, Level: contracts.LevelInfo, Summary: "an optional field was added"},
	{ID: RuleConfigDefaultChanged, Level: contracts.LevelWarning, Summary: "a default changed; configurations that omit the field behave differently"},
	{ID: RuleConfigSampleRejected, Level: contracts.LevelError, Summary: "a configuration the old schema accepts is rejected by the new one",
		Hint: "keep accepting what the old release accepted, or release a major version with a migration note"},

	{ID: RuleManifestNameChanged, Level: contracts.LevelError, Summary: "the connector was renamed; installs of the old name do not upgrade"},
	{ID: RuleManifestSupportLowered, Level: contracts.LevelWarning, Summary: "the support level was lowered"},
	{ID: RuleManifestScopeAdded, Level: contracts.LevelWarning, Summary: "a scope was added; an admin must approve the connector again"},
	{ID: RuleManifestScopeRemoved, Level: contracts.LevelInfo, Summary: "a scope is no longer requested"},
	{ID: RuleManifestVendorAdded, Level: contracts.LevelWarning, Summary: "a vendor was added; an admin must supply its credentials"},
	{ID: RuleManifestVendorRemoved, Level: contracts.LevelError, Summary: "a vendor was removed"},
	{ID: RuleManifestVendorContract, Level: contracts.LevelInfo, Summary: "a vendor's contract moved to another file"},
	{ID: RuleManifestEventDropped, Level: contracts.LevelError, Summary: "an event is no longer received; subscriptions to it stop working"},
}

// rule returns the rule with the ID id; an ID missing from the table is a
// programming error.
func rule(id string) contracts.Rule {
	for _, r := range rules {
		if r.ID == id {
			return r
		}
	}
	panic("compat: rule " + id + " is missing from rules.go")
}

// Summary returns the summary of one of this package's rules, or "".
func Summary(id string) string {
	for _, r := range rules {
		if r.ID == id {
			return r.Summary
		}
	}
	return ""
}
