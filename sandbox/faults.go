package sandbox

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The kinds of [Fault].
const (
	kindStatus    = "status"
	kindRateLimit = "rate-limit"
	kindLatency   = "latency"
	kindHang      = "hang"
	kindReset     = "reset"
	kindTruncate  = "truncate"
	kindMalformed = "malformed"

	// Credential faults: something happens to the calling tenant's
	// credential as the call arrives, and the call is checked again.
	kindTokenExpired = "token-expired"
	kindGrantRevoked = "grant-revoked"
	kindScopeRemoved = "scope-removed"
	kindKeyRotated   = "key-rotated"
)

var faultKinds = []string{kindStatus, kindRateLimit, kindLatency, kindHang, kindReset, kindTruncate, kindMalformed,
	kindTokenExpired, kindGrantRevoked, kindScopeRemoved, kindKeyRotated}

// defaultHang is how long a hang fault holds a call when For is zero.
const defaultHang = time.Minute

// Fault is one misbehaviour of the sandbox. It is plain data: build one with
// [Status], [RateLimit], [Latency], [LatencyBetween], [Hang], [Reset],
// [Truncate] or [Malformed], narrow it with [Fault.On], [Fault.ForVendor],
// [Fault.FirstN] and [Fault.WithProbability], or read it from a file with
// [LoadFaults]. In JSON and YAML its fields are named in kebab case, as the
// tags below say; durations are written as text such as "250ms" or "1s"
// (see [Duration]).
//
// A fault applies to a call when its Vendor and Operation match the call,
// the call is among its First matching calls (when First is set) and the
// draw for the call falls under its Probability (when it is strictly between
// 0 and 1). Draws are a function of the plan's seed, the fault's position in
// the plan and the call's position among the calls the fault matched, so the
// same seed and the same calls give the same faults.
//
// Each fault sees every call it matches, whatever the others do: latencies
// of all faults that apply add up, and the first other fault that applies,
// in plan order, decides the answer.
type Fault struct {
	// Kind is one of "status", "rate-limit", "latency", "hang", "reset",
	// "truncate" and "malformed".
	//   - status answers Status, with the contract's declared body for it.
	//   - rate-limit answers 429 with Retry-After to calls beyond Limit in
	//     each window of Per, counted from the first call.
	//   - latency delays the answer by Latency, or by a duration drawn
	//     uniformly between Min and Max.
	//   - hang holds the call for For (a minute when zero), or until the
	//     client gives up, then closes the connection without an answer.
	//   - reset closes the connection at once with a TCP reset.
	//   - truncate sends the answer's headers with its full Content-Length
	//     and then only about half of its body before closing.
	//   - malformed sends a body that no longer parses as its content type.
	//
	// Credential faults change the calling tenant's credential as the call
	// arrives, then check the call again; what they change stays changed:
	//   - token-expired ends the access tokens the vendor's authorization
	//     server issued the tenant (401 invalid_token; a refresh mends it).
	//   - grant-revoked does that and revokes the tenant's refresh tokens
	//     at the vendor (a refresh is then invalid_grant); where the
	//     tenant held none (client credentials), it rotates away the
	//     secret of each client the vendor issued it tokens to instead (a
	//     grant is then invalid_client).
	//   - scope-removed takes Scope's scopes from the tenant (403
	//     insufficient_scope for calls that need one).
	//   - key-rotated replaces the API key or bearer token the call
	//     carries with one the tenant is not given (401 from then on).
	Kind string `json:"kind" yaml:"kind"`
	// Vendor is the name of the vendor the fault applies to; empty means
	// every vendor.
	Vendor string `json:"vendor,omitempty" yaml:"vendor,omitempty"`
	// Operation is an operationId, or "METHOD /path/template" as the
	// contract writes the path; empty means every operation.
	Operation string `json:"operation,omitempty" yaml:"operation,omitempty"`

	Status     int      `json:"status,omitempty" yaml:"status,omitempty"`           // status: the HTTP status, 400 to 599
	Limit      int      `json:"limit,omitempty" yaml:"limit,omitempty"`             // rate-limit: calls allowed per window; 0 limits every call
	Per        Duration `json:"per,omitempty" yaml:"per,omitempty"`                 // rate-limit: the window
	RetryAfter string   `json:"retry-after,omitempty" yaml:"retry-after,omitempty"` // rate-limit: "seconds" (the default) or "date"
	Latency    Duration `json:"latency,omitempty" yaml:"latency,omitempty"`         // latency: a fixed delay, or
	Min        Duration `json:"min,omitempty" yaml:"min,omitempty"`                 // latency: the shortest delay drawn
	Max        Duration `json:"max,omitempty" yaml:"max,omitempty"`                 // latency: the longest delay drawn
	For        Duration `json:"for,omitempty" yaml:"for,omitempty"`                 // hang: how long to hold the call
	Scope      string   `json:"scope,omitempty" yaml:"scope,omitempty"`             // scope-removed: the scopes taken, separated by spaces

	// First limits the fault to the first First calls it matches; later
	// calls are left alone. Zero means no limit.
	First int `json:"first,omitempty" yaml:"first,omitempty"`
	// Probability is the chance that the fault applies to a call it
	// matches. 0 and 1 both mean always.
	Probability float64 `json:"probability,omitempty" yaml:"probability,omitempty"`
}

// Status is a fault that answers every matching call with code, such as 503.
func Status(code int) Fault { return Fault{Kind: kindStatus, Status: code} }

// TokenExpired is a fault that ends the calling tenant's access tokens at
// the vendor as a matching call arrives.
func TokenExpired() Fault { return Fault{Kind: kindTokenExpired} }

// GrantRevoked is a fault that, as a matching call arrives, ends the
// calling tenant's access tokens at the vendor and revokes its refresh
// tokens there, or, where it held none, rotates away the secrets of its
// clients the vendor issued tokens to.
func GrantRevoked() Fault { return Fault{Kind: kindGrantRevoked} }

// ScopeRemoved is a fault that takes scopes from the calling tenant as a
// matching call arrives.
func ScopeRemoved(scopes ...string) Fault {
	return Fault{Kind: kindScopeRemoved, Scope: strings.Join(scopes, " ")}
}

// KeyRotated is a fault that replaces the API key or bearer token a
// matching call carries, so that it and every later call with it get 401.
func KeyRotated() Fault { return Fault{Kind: kindKeyRotated} }

// RateLimit is a fault that allows limit calls in each window of per and
// answers the calls beyond it 429 with a Retry-After of the seconds left in
// the window. Windows are counted from the first matching call.
func RateLimit(limit int, per time.Duration) Fault {
	return Fault{Kind: kindRateLimit, Limit: limit, Per: Duration(per)}
}

// Latency is a fault that delays every matching call by d.
func Latency(d time.Duration) Fault { return Fault{Kind: kindLatency, Latency: Duration(d)} }

// LatencyBetween is a fault that delays every matching call by a duration
// drawn uniformly between min and max, the same for the same seed.
func LatencyBetween(min, max time.Duration) Fault {
	return Fault{Kind: kindLatency, Min: Duration(min), Max: Duration(max)}
}

// Hang is a fault that holds a matching call for d, or until the client
// gives up, and then closes the connection without answering.
func Hang(d time.Duration) Fault { return Fault{Kind: kindHang, For: Duration(d)} }

// Reset is a fault that closes the connection of a matching call at once, so
// the client sees "connection reset by peer".
func Reset() Fault { return Fault{Kind: kindReset} }

// Truncate is a fault that promises the whole answer in Content-Length and
// sends only about half of the body, so the client's read of the body ends
// with io.ErrUnexpectedEOF.
func Truncate() Fault { return Fault{Kind: kindTruncate} }

// Malformed is a fault that answers with a body that does not parse as its
// content type: for JSON, a cut-off document with a stray character.
func Malformed() Fault { return Fault{Kind: kindMalformed} }

// On returns f limited to one operation: an operationId such as
// "CreateMessage", or "METHOD /path/template" such as "POST /messages".
func (f Fault) On(operation string) Fault { f.Operation = operation; return f }

// ForVendor returns f limited to the vendor called name.
func (f Fault) ForVendor(name string) Fault { f.Vendor = name; return f }

// FirstN returns f limited to the first n calls it matches; later ones
// succeed.
func (f Fault) FirstN(n int) Fault { f.First = n; return f }

// WithProbability returns f applied to each matching call with chance p,
// drawn from the plan's seed. 0 and 1 both mean every call, as a fault
// with no probability set does; to turn a fault off, remove it.
func (f Fault) WithProbability(p float64) Fault { f.Probability = p; return f }

// RetryAfterDate returns the rate-limit fault f sending Retry-After as an
// HTTP date (the end of the window) instead of seconds.
func (f Fault) RetryAfterDate() Fault { f.RetryAfter = "date"; return f }

// String is a short description, such as "503 on CreateMessage, first 2
// calls".
func (f Fault) String() string {
	var b strings.Builder
	switch f.Kind {
	case kindStatus:
		b.WriteString(strconv.Itoa(f.Status))
	case kindRateLimit:
		fmt.Fprintf(&b, "rate limit %d per %s", f.Limit, f.Per)
		if f.RetryAfter == "date" {
			b.WriteString(" (Retry-After as a date)")
		}
	case kindLatency:
		if f.Min != 0 || f.Max != 0 {
			fmt.Fprintf(&b, "latency %s to %s", f.Min, f.Max)
		} else {
			fmt.Fprintf(&b, "latency %s", f.Latency)
		}
	case kindHang:
		d := f.For
		if d == 0 {
			d = Duration(defaultHang)
		}
		fmt.Fprintf(&b, "hang %s", d)
	case kindReset:
		b.WriteString("connection reset")
	case kindTruncate:
		b.WriteString("truncated body")
	case kindMalformed:
		b.WriteString("malformed body")
	case kindTokenExpired:
		b.WriteString("access tokens expired")
	case kindGrantRevoked:
		b.WriteString("grant revoked")
	case kindScopeRemoved:
		fmt.Fprintf(&b, "scope %s removed", strings.Join(strings.Fields(f.Scope), ", "))
	case kindKeyRotated:
		b.WriteString("key rotated")
	default:
		fmt.Fprintf(&b, "fault of kind %q", f.Kind)
	}
	switch {
	case f.Operation != "" && f.Vendor != "":
		fmt.Fprintf(&b, " on %s of %s", f.Operation, f.Vendor)
	case f.Operation != "":
		fmt.Fprintf(&b, " on %s", f.Operation)
	case f.Vendor != "":
		fmt.Fprintf(&b, " on every %s operation", f.Vendor)
	}
	switch {
	case f.First == 1:
		b.WriteString(", first call")
	case f.First > 1:
		fmt.Fprintf(&b, ", first %d calls", f.First)
	}
	if f.Probability > 0 && f.Probability < 1 {
		fmt.Fprintf(&b, ", %s%% of calls", strconv.FormatFloat(f.Probability*100, 'g', 4, 64))
	}
	return b.String()
}

// fieldsOfKind lists the fields, beyond the common ones, that each kind uses.
var fieldsOfKind = map[string]string{
	kindStatus:    "status",
	kindRateLimit: "limit, per and retry-after",
	kindLatency:   "latency, or min and max",
	kindHang:      "for",
	kindReset:     "no other field",
	kindTruncate:  "no other field",
	kindMalformed: "no other field",

	kindTokenExpired: "no other field",
	kindGrantRevoked: "no other field",
	kindScopeRemoved: "scope",
	kindKeyRotated:   "no other field",
}

// Validate reports what is wrong with f, every problem at once and each
// with how to put it right, or nil if f can be used.
func (f Fault) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	uses, known := fieldsOfKind[f.Kind]
	switch {
	case f.Kind == "":
		add("kind is missing; set it to one of %s", strings.Join(faultKinds, ", "))
	case !known:
		msg := fmt.Sprintf("unknown kind %q", f.Kind)
		if near := closest(f.Kind, faultKinds); near != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", near)
		}
		add("%s; the kinds are %s", msg, strings.Join(faultKinds, ", "))
	}

	if known {
		// Fields set on a kind that ignores them are a mistake: say so
		// rather than quietly do something else than asked.
		foreign := func(field, kind string, set bool) {
			if set && f.Kind != kind {
				add("%s does not apply to a %s fault, which uses %s; remove it", field, f.Kind, uses)
			}
		}
		foreign("status", kindStatus, f.Status != 0)
		foreign("limit", kindRateLimit, f.Limit != 0)
		foreign("per", kindRateLimit, f.Per != 0)
		foreign("retry-after", kindRateLimit, f.RetryAfter != "")
		foreign("latency", kindLatency, f.Latency != 0)
		foreign("min", kindLatency, f.Min != 0)
		foreign("max", kindLatency, f.Max != 0)
		foreign("for", kindHang, f.For != 0)
		foreign("scope", kindScopeRemoved, f.Scope != "")
	}

	switch f.Kind {
	case kindStatus:
		if f.Status < 400 || f.Status > 599 {
			if f.Status == 0 {
				add("a status fault needs a status; set status to an error code from 400 to 599, such as 503")
			} else {
				add("status %d is not an error; use a code from 400 to 599, such as 503", f.Status)
			}
		}
	case kindRateLimit:
		if f.Limit < 0 {
			add("limit %d is negative; set the calls allowed per window, or 0 to limit every call", f.Limit)
		}
		if f.Per < 0 {
			add("per %s is negative; set the window, such as 1s", f.Per)
		} else if f.Per == 0 && f.Limit > 0 {
			add("a rate limit of %d calls needs a window; set per, such as 1s", f.Limit)
		}
		if f.RetryAfter != "" && f.RetryAfter != "seconds" && f.RetryAfter != "date" {
			add("retry-after %q is not a form of Retry-After; use \"seconds\" (the default) or \"date\"", f.RetryAfter)
		}
	case kindLatency:
		for _, d := range []struct {
			name string
			v    Duration
		}{{"latency", f.Latency}, {"min", f.Min}, {"max", f.Max}} {
			if d.v < 0 {
				add("%s %s is negative; a delay is 0 or more, such as 250ms", d.name, d.v)
			}
		}
		switch {
		case f.Latency != 0 && (f.Min != 0 || f.Max != 0):
			add("set either latency (a fixed delay) or min and max (a range), not both")
		case f.Latency == 0 && f.Min == 0 && f.Max == 0:
			add("a latency fault needs a delay; set latency, such as 250ms, or min and max")
		case f.Min > f.Max:
			add("min %s is more than max %s; swap them", f.Min, f.Max)
		}
	case kindScopeRemoved:
		if strings.TrimSpace(f.Scope) == "" {
			add("a scope-removed fault needs a scope; set scope to those to take, separated by spaces, such as \"chat:write\"")
		} else if !printable(f.Scope) {
			add("scope %q holds characters a scope cannot have", f.Scope)
		}
	case kindHang:
		if f.For < 0 {
			add("for %s is negative; set how long to hold the call, such as 30s, or leave it out for %s", f.For, Duration(defaultHang))
		}
	}

	if f.First < 0 {
		add("first %d is negative; set how many matching calls get the fault, or 0 for all", f.First)
	}
	if !(f.Probability >= 0 && f.Probability <= 1) {
		add("probability %v is not between 0 and 1; use 0.25 for a quarter of the calls, or 0 or 1 for all", f.Probability)
	}
	if !printable(f.Vendor) {
		add("vendor %q holds characters a vendor name cannot have", f.Vendor)
	}
	if !printable(f.Operation) {
		add("operation %q holds characters an operation cannot have", f.Operation)
	} else if method, path, spaced := strings.Cut(f.Operation, " "); spaced && (!isToken(method) || !strings.HasPrefix(path, "/") || strings.Contains(path, " ")) {
		add("operation %q is neither an operationId nor \"METHOD /path/template\", such as \"POST /messages\"", f.Operation)
	}

	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// closest is the candidate within two edits of s, if any, for "did you
// mean" hints.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	if len(s) > 64 {
		return ""
	}
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Duration is a time.Duration written as text, such as "250ms", "1s" or
// "1m30s", in JSON and YAML. Reading accepts what time.ParseDuration
// accepts; a bare number is refused, because whether "5" means seconds or
// milliseconds is not clear to the reader of a file.
type Duration time.Duration

// String writes d as time.Duration does, without zero trailing units:
// "1m" rather than "1m0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalText writes d as [Duration.String] does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a duration such as "250ms" or "1s".
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := parseDuration(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// durationFormat is said in every error about a duration.
const durationFormat = "a number with a unit (ns, us, ms, s, m, h), such as 250ms, 1s or 1m30s"

func parseDuration(s string) (Duration, error) {
	if _, err := strconv.ParseFloat(s, 64); err == nil && s != "0" {
		return 0, fmt.Errorf("duration %q has no unit; write %ss for seconds or %sms for milliseconds", s, s, s)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; write %s", s, durationFormat)
	}
	return Duration(v), nil
}

// addDelay adds without overflowing.
func addDelay(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
