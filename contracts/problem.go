package contracts

import (
	"fmt"
	"strings"
)

// Level says how much a [Problem] matters.
type Level int

const (
	LevelError   Level = iota // the traffic or document breaks the contract
	LevelWarning              // suspicious, or a limit of what could be checked
	LevelInfo                 // worth knowing, never a failure
)

func (l Level) String() string {
	switch l {
	case LevelError:
		return "error"
	case LevelWarning:
		return "warning"
	case LevelInfo:
		return "info"
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// MarshalText renders the level as "error", "warning" or "info".
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// Rule IDs of the problems this package reports. They are stable: tests,
// reports and waivers refer to them.
const (
	RuleCircularReference   = "circular-reference"
	RuleExampleInvalid      = "example-invalid"
	RuleSwaggerRepaired     = "swagger-repaired"
	RulePathsClash          = "paths-clash"
	RuleOperationIDRepeated = "operation-id-repeated"
	RuleOperationNotFound   = "operation-not-found"
	RuleOperationAmbiguous  = "operation-ambiguous"
	RuleMethodNotAllowed    = "method-not-allowed"
	RulePathParamInvalid    = "request-path-parameter-invalid"
	RuleQueryParamInvalid   = "request-query-parameter-invalid"
	RuleHeaderParamInvalid  = "request-header-parameter-invalid"
	RuleCookieParamInvalid  = "request-cookie-parameter-invalid"
	RuleRequestBodyInvalid  = "request-body-invalid"
	RuleSecurityMissing     = "request-security-missing"
	RuleResponseStatus      = "response-status-undeclared"
	RuleResponseBodyInvalid = "response-body-invalid"
	RuleResponseHeader      = "response-header-invalid"
	RuleEventUnknown        = "event-unknown"
	RuleEventInvalid        = "event-payload-invalid"
	RulePayloadInvalid      = "payload-invalid"
)

// rule is one line of the catalogue: the level a rule reports at and the
// heading that starts every message with that ID.
type rule struct {
	level   Level
	heading string
}

var catalogue = map[string]rule{
	RuleCircularReference:   {LevelWarning, "circular schema reference"},
	RuleExampleInvalid:      {LevelWarning, "the contract's own example does not validate"},
	RuleSwaggerRepaired:     {LevelWarning, "Swagger 2.0 construct outside the specification, repaired on conversion"},
	RulePathsClash:          {LevelWarning, "path templates that no request can tell apart"},
	RuleOperationIDRepeated: {LevelWarning, "operationId used by more than one operation"},
	RuleOperationNotFound:   {LevelError, "no operation matches the request"},
	RuleOperationAmbiguous:  {LevelError, "several operations match the request equally"},
	RuleMethodNotAllowed:    {LevelError, "the path exists but not for this method"},
	RulePathParamInvalid:    {LevelError, "path parameter does not match the contract"},
	RuleQueryParamInvalid:   {LevelError, "query parameter does not match the contract"},
	RuleHeaderParamInvalid:  {LevelError, "header does not match the contract"},
	RuleCookieParamInvalid:  {LevelError, "cookie does not match the contract"},
	RuleRequestBodyInvalid:  {LevelError, "request body does not match the contract"},
	RuleSecurityMissing:     {LevelError, "request lacks the credentials the operation requires"},
	RuleResponseStatus:      {LevelError, "response status is not declared for the operation"},
	RuleResponseBodyInvalid: {LevelError, "response body does not match the contract"},
	RuleResponseHeader:      {LevelError, "response header does not match the contract"},
	RuleEventUnknown:        {LevelError, "the contract declares no such event"},
	RuleEventInvalid:        {LevelError, "event payload does not match the contract"},
	RulePayloadInvalid:      {LevelError, "payload does not match the schema"},
}

// Problem is one finding about traffic, a payload or a document: what rule
// it breaks, where in the contract, where in the payload, and why.
type Problem struct {
	Rule      string `json:"rule"`
	Level     Level  `json:"level"`
	File      string `json:"file,omitempty"`      // the contract or schema file
	Line      int    `json:"line,omitempty"`      // 1-based line in File; 0 when unknown
	Column    int    `json:"column,omitempty"`    // 1-based column in File; 0 when unknown
	Operation string `json:"operation,omitempty"` // operationId, or "METHOD /template"
	Path      string `json:"path,omitempty"`      // JSON path in the payload, "$.items[0].id"; or "query.limit", "header.X-Id"
	Message   string `json:"message"`             // heading from the catalogue, then the detail
}

// Location renders File:Line:Column, leaving out what is unknown.
func (p Problem) Location() string {
	if p.File == "" {
		return ""
	}
	switch {
	case p.Line > 0 && p.Column > 0:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}

func (p Problem) String() string {
	var b strings.Builder
	if loc := p.Location(); loc != "" {
		b.WriteString(loc)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s [%s]", p.Level, p.Rule)
	if p.Operation != "" {
		fmt.Fprintf(&b, " %s", p.Operation)
	}
	if p.Path != "" {
		fmt.Fprintf(&b, " at %s", p.Path)
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	return b.String()
}

// newProblem builds a problem whose level and message heading come from the
// catalogue; detail, when given, follows the heading.
func newProblem(id, detail string) Problem {
	r, ok := catalogue[id]
	if !ok {
		panic("contracts: rule " + id + " is missing from the catalogue; add it there")
	}
	msg := r.heading
	if detail != "" {
		msg += ": " + detail
	}
	return Problem{Rule: id, Level: r.level, Message: msg}
}

// HasErrors reports whether any problem is at [LevelError].
func HasErrors(ps []Problem) bool {
	for _, p := range ps {
		if p.Level == LevelError {
			return true
		}
	}
	return false
}
