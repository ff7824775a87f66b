package contracts

import (
	"fmt"
	"regexp"
)

// The changeRules of changes [Compare] reports: every ID with its severity and
// message. Where oasdiff has a rule for the same concept, the ID is oasdiff's
// and so, unless a comment says otherwise, is the severity, so that the two
// tools' reports can be compared line by line.

// changeRule is a rule of the comparison, with the text its messages are
// made from: fmt verbs, the first for the subject.
type changeRule struct {
	Rule
	text string
}

// changeRules is filled once, by init, and only read afterwards.
var changeRules = map[string]changeRule{}

func addRule(id string, level Level, text string) {
	if _, dup := changeRules[id]; dup {
		panic("contracts: rule " + id + " is in the changeRules twice")
	}
	if _, dup := rules[id]; dup {
		panic("contracts: rule " + id + " is both a finding and a change")
	}
	changeRules[id] = changeRule{Rule: Rule{ID: id, Level: level, Summary: summaryOf(text)}, text: text}
}

// verb matches the fmt verbs of a rule's text.
var verb = regexp.MustCompile(`%(\[\d+\])?[a-z]`)

// summaryOf turns a message text into a summary, its verbs shown as "…".
func summaryOf(text string) string { return verb.ReplaceAllString(text, "…") }

// message renders id's text; a missing ID is a programming error, caught by
// the changeRules test, and still gives a readable message.
func changeMessage(id string, args ...any) string {
	r, ok := changeRules[id]
	if !ok {
		return fmt.Sprint(append([]any{id + ":"}, args...)...)
	}
	return fmt.Sprintf(r.text, args...)
}

const (
	sevI = LevelInfo
	sevW = LevelWarning
	sevE = LevelError
)

// A flow is where a schema sits, which decides what breaks a client: a
// client writes request bodies and parameters, so narrowing them breaks it;
// it reads responses and webhook payloads, so widening them breaks it.
type flow struct {
	kind   int
	reader bool
	root   string // ID prefix for a change to the whole value
	nested string // ID prefix for a change below it
	noun   string // for messages: "request body", "parameter", ...
}

const (
	flowRequest = iota
	flowParameter
	flowResponse
	flowWebhook
)

var flows = [...]flow{
	flowRequest:   {kind: flowRequest, root: "request-body", nested: "request-property", noun: "request body"},
	flowParameter: {kind: flowParameter, root: "request-parameter", nested: "request-parameter-property", noun: "parameter"},
	flowResponse:  {kind: flowResponse, reader: true, root: "response-body", nested: "response-property", noun: "response body"},
	flowWebhook:   {kind: flowWebhook, reader: true, root: "webhook-body", nested: "webhook-property", noun: "webhook payload"},
}

// schemaRules are the schema changes, with their severity where the client
// writes the value and where it reads it; -1 means the change is not
// reported in that flow.
var schemaRules = []struct {
	suffix         string
	writer, reader Level
	text           string
}{
	{"type-changed", sevE, sevE, "%s changed type from %s to %s"},
	{"type-generalized", sevI, sevE, "%s widened its type from %s to %s"},
	{"type-specialized", sevE, sevI, "%s narrowed its type from %s to %s"},
	{"list-of-types-widened", sevI, sevE, "%s now allows the types %[3]s instead of %[2]s"},
	{"list-of-types-narrowed", sevE, sevI, "%s now allows only the types %[3]s instead of %[2]s"},
	{"became-nullable", sevI, sevE, "%s can now be null"},
	{"became-not-nullable", sevE, sevI, "%s can no longer be null"},
	{"became-enum", sevE, -1, "%s now accepts only the values %s"},
	{"became-not-enum", sevI, sevE, "%s no longer restricts its values to %s"},
	{"enum-value-removed", sevE, sevI, "%s no longer allows the value %s"},
	{"enum-value-added", sevI, sevW, "%s gained the value %s"},
	{"x-extensible-enum-value-removed", sevE, -1, "%s no longer lists the extensible value %s"},
	{"const-added", sevE, sevI, "%s is now fixed to %s"},
	{"const-removed", sevI, sevE, "%s is no longer fixed to %s"},
	{"const-changed", sevE, sevE, "%s is now fixed to %[3]s instead of %[2]s"},
	{"max-decreased", sevE, -1, "%s lowered its maximum from %s to %s"},
	{"max-increased", sevI, sevE, "%s raised its maximum from %s to %s"},
	{"max-set", sevW, -1, "%s now has a maximum of %[3]s"},
	{"max-unset", -1, sevE, "%s no longer has a maximum (was %s)"},
	{"min-increased", sevE, -1, "%s raised its minimum from %s to %s"},
	{"min-decreased", sevI, sevE, "%s lowered its minimum from %s to %s"},
	{"min-set", sevW, -1, "%s now has a minimum of %[3]s"},
	{"min-unset", -1, sevE, "%s no longer has a minimum (was %s)"},
	{"max-length-decreased", sevE, -1, "%s lowered its maximum length from %s to %s"},
	{"max-length-increased", sevI, sevE, "%s raised its maximum length from %s to %s"},
	{"max-length-set", sevW, -1, "%s now has a maximum length of %[3]s"},
	{"max-length-unset", -1, sevE, "%s no longer has a maximum length (was %s)"},
	{"min-length-increased", sevE, -1, "%s raised its minimum length from %s to %s"},
	{"min-length-decreased", sevI, sevE, "%s lowered its minimum length from %s to %s"},
	{"max-items-decreased", sevE, -1, "%s lowered its maximum number of items from %s to %s"},
	{"max-items-increased", sevI, sevE, "%s raised its maximum number of items from %s to %s"},
	{"max-items-set", sevW, -1, "%s now has at most %[3]s items"},
	{"min-items-increased", sevE, -1, "%s raised its minimum number of items from %s to %s"},
	{"min-items-decreased", sevI, sevE, "%s lowered its minimum number of items from %s to %s"},
	{"min-items-set", sevW, -1, "%s now needs at least %[3]s items"},
	{"min-items-unset", -1, sevE, "%s no longer needs a minimum number of items (was %s)"},
	{"pattern-added", sevE, sevI, "%s must now match the pattern %[3]s"},
	{"pattern-changed", sevW, sevI, "%s changed its pattern from %s to %s"},
	{"pattern-removed", sevI, sevI, "%s no longer has the pattern %s"},
	{"one-of-added", sevI, sevE, "%s gained the alternative %s (oneOf)"},
	{"one-of-removed", sevE, sevI, "%s lost the alternative %s (oneOf)"},
	{"any-of-added", sevI, sevI, "%s gained the alternative %s (anyOf)"},
	{"any-of-removed", sevE, sevI, "%s lost the alternative %s (anyOf)"},
	{"discriminator-added", sevI, sevI, "%s gained a discriminator on %s"},
	{"discriminator-removed", sevI, sevI, "%s lost its discriminator on %s"},
	{"discriminator-property-name-changed", sevI, sevI, "%s's discriminator moved from %s to %s"},
	{"discriminator-mapping-added", sevI, sevI, "%s's discriminator maps the new value %s"},
	{"discriminator-mapping-deleted", sevI, sevI, "%s's discriminator no longer maps %s"},
	{"discriminator-mapping-changed", sevI, sevI, "%s's discriminator maps %s to %s instead of %s"},
}

// Property rules name the change with the property: a client that writes
// the object must now send a new required property; one that reads it loses
// a property it may use.
var propertyRules = map[int]map[string]changeRule{}

const (
	propRemovedRequired = "removed-required"
	propRemovedOptional = "removed-optional"
	propAddedRequired   = "added-required"
	propAddedDefault    = "added-required-default"
	propAddedOptional   = "added-optional"
	propBecameRequired  = "became-required"
	propBecameOptional  = "became-optional"
)

func propertyRule(fl flow, kind, id string, sev Level, text string) {
	if propertyRules[fl.kind] == nil {
		propertyRules[fl.kind] = map[string]changeRule{}
	}
	addRule(id, sev, text)
	propertyRules[fl.kind][kind] = changeRules[id]
}

func init() {
	for _, fl := range flows {
		for _, r := range schemaRules {
			sev := r.writer
			if fl.reader {
				sev = r.reader
			}
			if sev < 0 {
				continue
			}
			addRule(fl.root+"-"+r.suffix, sev, r.text)
			addRule(fl.nested+"-"+r.suffix, sev, r.text)
		}
	}
	// oasdiff rates a changed type inside an object-valued parameter a
	// warning: such parameters are serialised in more than one way.
	r := changeRules["request-parameter-property-type-changed"]
	r.Level = sevW
	changeRules[r.ID] = r
	req, par, resp, hook := flows[flowRequest], flows[flowParameter], flows[flowResponse], flows[flowWebhook]
	propertyRule(req, propRemovedRequired, "request-property-removed", sevW, "%s was removed; a client that still sends it may be refused")
	propertyRules[req.kind][propRemovedOptional] = changeRules["request-property-removed"]
	propertyRule(req, propAddedRequired, "new-required-request-property", sevE, "%s is new and required; clients must now send it")
	propertyRule(req, propAddedDefault, "new-required-request-property-with-default", sevE, "%s is new and required, with a default")
	propertyRule(req, propAddedOptional, "new-optional-request-property", sevI, "%s is new and optional")
	propertyRule(req, propBecameRequired, "request-property-became-required", sevE, "%s became required")
	propertyRule(req, propBecameOptional, "request-property-became-optional", sevI, "%s became optional")
	propertyRule(par, propRemovedRequired, "request-parameter-property-removed", sevW, "%s was removed")
	propertyRules[par.kind][propRemovedOptional] = changeRules["request-parameter-property-removed"]
	propertyRule(par, propAddedRequired, "new-required-request-parameter-property", sevE, "%s is new and required")
	propertyRules[par.kind][propAddedDefault] = changeRules["new-required-request-parameter-property"]
	propertyRule(par, propAddedOptional, "new-optional-request-parameter-property", sevI, "%s is new and optional")
	propertyRule(par, propBecameRequired, "request-parameter-property-became-required", sevE, "%s became required")
	propertyRule(par, propBecameOptional, "request-parameter-property-became-optional", sevI, "%s became optional")
	for _, fl := range []flow{resp, hook} {
		p := fl.root[:len(fl.root)-len("-body")]
		propertyRule(fl, propRemovedRequired, p+"-required-property-removed", sevE, "%s was removed although it was required; clients that read it break")
		propertyRule(fl, propRemovedOptional, p+"-optional-property-removed", sevW, "%s was removed")
		propertyRule(fl, propAddedRequired, p+"-required-property-added", sevI, "%s is new and always present")
		propertyRules[fl.kind][propAddedDefault] = changeRules[p+"-required-property-added"]
		propertyRule(fl, propAddedOptional, p+"-optional-property-added", sevI, "%s is new and optional")
		propertyRule(fl, propBecameRequired, p+"-property-became-required", sevI, "%s is now always present")
		propertyRule(fl, propBecameOptional, p+"-property-became-optional", sevE, "%s may now be missing; clients that rely on it break")
	}

	// Operations and paths.
	addRule("api-path-removed-without-deprecation", sevE, "%s was removed with its path, without being deprecated first")
	addRule("api-path-removed-with-deprecation", sevI, "%s was removed with its path, after deprecation")
	addRule("api-path-removed-before-sunset", sevE, "%s was removed with its path before its sunset date %s")
	addRule("api-removed-without-deprecation", sevE, "%s was removed without being deprecated first")
	addRule("api-removed-with-deprecation", sevI, "%s was removed after deprecation")
	addRule("api-removed-before-sunset", sevE, "%s was removed before its sunset date %s")
	addRule("endpoint-added", sevI, "%s was added")
	addRule("endpoint-deprecated", sevI, "%s is now deprecated")
	addRule("endpoint-reactivated", sevI, "%s is no longer deprecated")

	// Parameters.
	addRule("request-parameter-removed", sevW, "%s was removed; a client that still sends it may be refused")
	addRule("request-parameter-removed-with-deprecation", sevI, "%s was removed after deprecation")
	addRule("new-required-request-parameter", sevE, "%s is new and required; clients must now send it")
	addRule("new-optional-request-parameter", sevI, "%s is new and optional")
	addRule("new-request-path-parameter", sevE, "%s is a new path parameter")
	addRule("request-parameter-became-required", sevE, "%s became required")
	addRule("request-parameter-became-optional", sevI, "%s became optional")

	// Request bodies.
	addRule("request-body-added-required", sevE, "%s now requires a request body")
	addRule("request-body-added-optional", sevI, "%s now accepts an optional request body")
	addRule("request-body-removed", sevE, "%s no longer takes a request body")
	addRule("request-body-became-required", sevE, "%s now requires its request body")
	addRule("request-body-became-optional", sevI, "%s's request body became optional")
	addRule("request-body-media-type-removed", sevE, "%s no longer accepts a request body of type %s")
	addRule("request-body-media-type-added", sevI, "%s also accepts a request body of type %s")

	// Responses.
	addRule("response-success-status-removed", sevE, "%s no longer answers with the success status %s")
	addRule("response-non-success-status-removed", sevI, "%s no longer answers with the status %s")
	addRule("response-success-status-added", sevI, "%s may now answer with the success status %s")
	addRule("response-non-success-status-added", sevI, "%s may now answer with the status %s")
	addRule("response-media-type-removed", sevE, "%s's %s response no longer comes as %s")
	addRule("response-media-type-added", sevI, "%s's %s response may now come as %s")
	addRule("required-response-header-removed", sevE, "%s's %s response no longer has the required header %s")
	addRule("optional-response-header-removed", sevW, "%s's %s response no longer has the header %s")

	// Security. oasdiff reports every security change as info; an added
	// requirement or scope is a warning here, since a client holding the
	// old credentials is refused until an admin grants more.
	addRule("api-security-removed", sevI, "%s no longer requires the security %s")
	addRule("api-security-added", sevW, "%s now requires the security %s")
	addRule("api-security-scope-added", sevW, "%s now requires the scope %s of %s")
	addRule("api-security-scope-removed", sevI, "%s no longer requires the scope %s of %s")
	addRule("api-security-component-removed", sevI, "the security scheme %s was removed")
	addRule("api-security-component-added", sevI, "the security scheme %s was added")
	addRule("api-security-component-type-changed", sevI, "the security scheme %s changed type from %s to %s")

	// Webhooks.
	addRule("webhook-removed", sevE, "%s was removed; subscribers no longer get it")
	addRule("webhook-added", sevI, "%s was added")
}
