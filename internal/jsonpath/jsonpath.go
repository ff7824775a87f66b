// Package jsonpath reads and writes the JSON paths tether names places in a
// payload with: "$.items[0].id", "$.items[*].id", "$['odd key']". Every
// path tether prints or reads goes through it, so a path a finding names
// is one an ignore or redaction rule accepts.
package jsonpath

import (
	"fmt"
	"strconv"
	"strings"
)

// Step is one step of a path: a member by key, an element by index, or any
// member or element.
type Step struct {
	Key   string
	Index int // -1 for a key step, or for any
	Any   bool
}

// Path is a parsed JSON path: the steps after the root "$".
type Path []Step

// Parse reads a path: "$", then steps of .name, [n], [*], .* or ['name']
// (["name"] too). Names with characters other than letters, digits and
// underscores are written quoted.
func Parse(p string) (Path, error) {
	rest, ok := strings.CutPrefix(p, "$")
	if !ok {
		return nil, fmt.Errorf("a JSON path starts with $, as in $.meta.ts")
	}
	out := Path{}
	for rest != "" {
		switch rest[0] {
		case '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			name := rest[1 : end+1]
			if name == "" {
				return nil, fmt.Errorf("an empty name after a dot")
			}
			if name == "*" {
				out = append(out, Step{Any: true, Index: -1})
			} else {
				out = append(out, Step{Key: name, Index: -1})
			}
			rest = rest[end+1:]
		case '[':
			step, n, err := bracket(rest)
			if err != nil {
				return nil, err
			}
			out = append(out, step)
			rest = rest[n:]
		default:
			return nil, fmt.Errorf("cannot read %q; write .name, [n], [*] or ['name']", rest)
		}
	}
	return out, nil
}

// bracket reads one [...] step at the start of s and how long it is.
func bracket(s string) (Step, int, error) {
	if len(s) > 1 && (s[1] == '\'' || s[1] == '"') {
		q := s[1]
		var b strings.Builder
		for i := 2; i < len(s); i++ {
			switch c := s[i]; {
			case c == '\\' && i+1 < len(s):
				i++
				b.WriteByte(s[i])
			case c == q:
				if i+1 >= len(s) || s[i+1] != ']' {
					return Step{}, 0, fmt.Errorf("a quoted name must be followed by ]")
				}
				return Step{Key: b.String(), Index: -1}, i + 2, nil
			default:
				b.WriteByte(c)
			}
		}
		return Step{}, 0, fmt.Errorf("an unclosed quoted name")
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return Step{}, 0, fmt.Errorf("an unclosed [")
	}
	inner := s[1:end]
	if inner == "*" {
		return Step{Any: true, Index: -1}, end + 1, nil
	}
	n, err := strconv.Atoi(inner)
	if err != nil || n < 0 {
		return Step{}, 0, fmt.Errorf("[%s] is neither an index, * nor a quoted name", inner)
	}
	return Step{Index: n}, end + 1, nil
}

// String writes the path as Parse reads it.
func (p Path) String() string {
	var b strings.Builder
	b.WriteByte('$')
	for _, s := range p {
		switch {
		case s.Any:
			b.WriteString("[*]")
		case s.Index >= 0:
			fmt.Fprintf(&b, "[%d]", s.Index)
		default:
			b.WriteString(Key(s.Key))
		}
	}
	return b.String()
}

// Key is the step to a member named k: ".k", or "['k']" when k is not a
// plain name.
func Key(k string) string {
	if plain(k) {
		return "." + k
	}
	return "['" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(k) + "']"
}

// Index is the step to element i: "[i]".
func Index(i int) string { return "[" + strconv.Itoa(i) + "]" }

// Of writes the path of a list of members and elements, an element being
// a segment that is a number: Of([]string{"items", "0", "id"}) is
// "$.items[0].id".
func Of(segments []string) string {
	var b strings.Builder
	b.WriteByte('$')
	for _, seg := range segments {
		if n, err := strconv.Atoi(seg); err == nil && n >= 0 {
			b.WriteString(Index(n))
		} else {
			b.WriteString(Key(seg))
		}
	}
	return b.String()
}

func plain(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Remove drops the values at p from v, a decoded JSON value, and returns v. An array element is set to
// null rather than removed, so later elements keep their positions.
func Remove(v any, steps Path) any {
	if len(steps) == 0 {
		return v
	}
	s, last := steps[0], len(steps) == 1
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s.Index >= 0 || !(s.Any || k == s.Key) {
				continue
			}
			if last {
				delete(x, k)
			} else {
				x[k] = Remove(e, steps[1:])
			}
		}
	case []any:
		for i, e := range x {
			if !s.Any && s.Index != i {
				continue
			}
			if last {
				x[i] = nil
			} else {
				x[i] = Remove(e, steps[1:])
			}
		}
	}
	return v
}
