package contracts

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode/utf8"
)

// unbounded stands for "no upper limit" in regex length arithmetic; sums and products
// saturate at it so nested repeats cannot overflow.
const unbounded = 1 << 30

// regexLengthCap bounds the strings the generator is willing to build, so a pattern such as
// (a{1000}){1000} fails fast instead of allocating a megabyte.
const regexLengthCap = 20000

// regexAttempts is how many random strings the generator tries before it gives up.
const regexAttempts = 12

// regexGenerator produces strings that a regular expression matches. It parses the pattern
// once with Go's Perl syntax (what the validator compiles patterns with), so a pattern it
// accepts is one the validator accepts too.
type regexGenerator struct {
	pattern string
	re      *regexp.Regexp
	tree    *syntax.Regexp
	spans   map[*syntax.Regexp]span // every node's span, computed once
}

// span is the range of lengths, in runes, that a regex node can produce.
type span struct{ lo, hi int }

// newRegexGenerator parses pattern. It fails for syntax Go's regexp does not support
// (lookaround, backreferences), which the validator rejects as well.
func newRegexGenerator(pattern string) (*regexGenerator, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("compile pattern %q: %w", pattern, err)
	}
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("parse pattern %q: %w", pattern, err)
	}
	g := &regexGenerator{pattern: pattern, re: re, tree: tree, spans: map[*syntax.Regexp]span{}}
	g.spanOf(tree)
	return g, nil
}

// generate returns a string that the pattern matches (search semantics, as JSON Schema
// uses) whose length in runes lies in [minLen, maxLen]; maxLen < 0 means no upper bound.
// The result depends only on the pattern, the bounds and the state of rng. It fails when no
// such string exists or none was found within a bounded number of attempts.
func (g *regexGenerator) generate(rng *rand.Rand, minLen, maxLen int) (string, error) {
	if minLen < 0 {
		minLen = 0
	}
	hi := maxLen
	if hi < 0 || hi > unbounded {
		hi = unbounded
	}
	if minLen > hi {
		return "", fmt.Errorf("length bounds %d..%d are empty", minLen, maxLen)
	}
	// The node itself cannot reach minLen when its span is too short; an unanchored pattern
	// can still be padded, which generate tries below.
	whole := g.spans[g.tree]
	if whole.lo > whole.hi {
		return "", fmt.Errorf("pattern %q matches no string", g.pattern)
	}
	if whole.lo > hi {
		return "", fmt.Errorf("pattern %q produced no string of %s: it needs at least %d", g.pattern, lengthRange(minLen, maxLen), whole.lo)
	}
	lo := max(minLen, whole.lo)
	top := min(hi, whole.hi)
	if lo > top {
		lo, top = whole.lo, min(whole.hi, hi)
	}
	if lo > regexLengthCap {
		return "", fmt.Errorf("pattern %q needs at least %d characters", g.pattern, lo)
	}
	top = min(top, regexLengthCap)
	for range regexAttempts {
		want := lo
		if top > lo {
			// Short strings read better; stay within a few characters of the minimum.
			want = lo + rng.IntN(min(top-lo, 8)+1)
		}
		var b strings.Builder
		if err := g.emit(rng, &b, g.tree, want); err != nil {
			return "", fmt.Errorf("pattern %q matches no string: %w", g.pattern, err)
		}
		out := g.fit(b.String(), minLen, maxLen)
		if out != "" || (minLen == 0 && g.re.MatchString("")) {
			return out, nil
		}
	}
	return "", fmt.Errorf("pattern %q produced no string of %s", g.pattern, lengthRange(minLen, maxLen))
}

// fit checks a candidate against the pattern and the bounds, padding it when the pattern
// is unanchored and the candidate is too short. It returns "" when the candidate fails.
func (g *regexGenerator) fit(s string, minLen, maxLen int) string {
	n := utf8.RuneCountInString(s)
	ok := func(c string, n int) bool {
		return n >= minLen && (maxLen < 0 || n <= maxLen) && g.re.MatchString(c)
	}
	if ok(s, n) {
		return s
	}
	if n < minLen && minLen <= regexLengthCap {
		pad := strings.Repeat("a", minLen-n)
		if c := s + pad; ok(c, minLen) {
			return c
		}
		if c := pad + s; ok(c, minLen) {
			return c
		}
	}
	return ""
}

// lengthRange renders length bounds for error messages.
func lengthRange(minLen, maxLen int) string {
	switch {
	case maxLen < 0:
		return fmt.Sprintf("at least %d characters", minLen)
	case minLen == maxLen:
		return fmt.Sprintf("exactly %d characters", minLen)
	default:
		return fmt.Sprintf("%d to %d characters", minLen, maxLen)
	}
}

func addSat(a, b int) int { return min(a+b, unbounded) }

func mulSat(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a >= unbounded/b {
		return unbounded
	}
	return a * b
}

// spanOf returns the lengths a node can produce, memoised.
func (g *regexGenerator) spanOf(re *syntax.Regexp) span {
	if s, ok := g.spans[re]; ok {
		return s
	}
	s := g.computeSpan(re)
	g.spans[re] = s
	return s
}

func (g *regexGenerator) computeSpan(re *syntax.Regexp) span {
	switch re.Op {
	case syntax.OpNoMatch:
		return span{unbounded, 0} // empty: lo > hi
	case syntax.OpLiteral:
		return span{len(re.Rune), len(re.Rune)}
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return span{1, 1}
	case syntax.OpCapture:
		return g.spanOf(re.Sub[0])
	case syntax.OpConcat:
		out := span{0, 0}
		for _, sub := range re.Sub {
			s := g.spanOf(sub)
			out.lo, out.hi = addSat(out.lo, s.lo), addSat(out.hi, s.hi)
		}
		return out
	case syntax.OpAlternate:
		out := span{unbounded, 0}
		for _, sub := range re.Sub {
			s := g.spanOf(sub)
			if s.lo > s.hi {
				continue
			}
			out.lo, out.hi = min(out.lo, s.lo), max(out.hi, s.hi)
		}
		return out
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := repeatBounds(re)
		s := g.spanOf(re.Sub[0])
		if s.lo > s.hi {
			if lo == 0 {
				return span{0, 0}
			}
			return s
		}
		out := span{mulSat(lo, s.lo), 0}
		if hi < 0 {
			out.hi = unbounded
			if s.hi == 0 {
				out.hi = 0
			}
		} else {
			out.hi = mulSat(hi, s.hi)
		}
		return out
	default: // anchors, boundaries, empty match
		return span{0, 0}
	}
}

// repeatBounds returns the repetition counts of a repeat node; hi < 0 means unbounded.
func repeatBounds(re *syntax.Regexp) (lo, hi int) {
	switch re.Op {
	case syntax.OpStar:
		return 0, -1
	case syntax.OpPlus:
		return 1, -1
	case syntax.OpQuest:
		return 0, 1
	default:
		return re.Min, re.Max
	}
}

// errNoMatch says a part of a pattern can match nothing at all, such as an empty class.
var errNoMatch = errors.New("a part of the pattern matches nothing")

// emit appends to b a string produced by re, aiming for want runes. It falls short or
// overshoots only when no choice reaches want; generate checks the result.
func (g *regexGenerator) emit(rng *rand.Rand, b *strings.Builder, re *syntax.Regexp, want int) error {
	switch re.Op {
	case syntax.OpNoMatch:
		return errNoMatch
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		r, ok := pickRune(rng, re.Rune)
		if !ok {
			return errNoMatch
		}
		b.WriteRune(r)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte(alnum[rng.IntN(len(alnum))])
	case syntax.OpCapture:
		return g.emit(rng, b, re.Sub[0], want)
	case syntax.OpConcat:
		spans := make([]span, len(re.Sub))
		for i, sub := range re.Sub {
			spans[i] = g.spanOf(sub)
		}
		for i, n := range distribute(rng, want, spans) {
			if err := g.emit(rng, b, re.Sub[i], n); err != nil {
				return err
			}
		}
	case syntax.OpAlternate:
		var fits, viable []int
		for i, sub := range re.Sub {
			s := g.spanOf(sub)
			if s.lo > s.hi {
				continue
			}
			viable = append(viable, i)
			if s.lo <= want && want <= s.hi {
				fits = append(fits, i)
			}
		}
		if len(viable) == 0 {
			return errNoMatch
		}
		choices := fits
		if len(choices) == 0 {
			choices = viable
		}
		return g.emit(rng, b, re.Sub[choices[rng.IntN(len(choices))]], want)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := repeatBounds(re)
		s := g.spanOf(re.Sub[0])
		if s.lo > s.hi {
			if lo == 0 {
				return nil
			}
			return errNoMatch
		}
		count := repeatCount(rng, lo, hi, s, want)
		spans := make([]span, count)
		for i := range spans {
			spans[i] = s
		}
		for _, n := range distribute(rng, want, spans) {
			if err := g.emit(rng, b, re.Sub[0], n); err != nil {
				return err
			}
		}
	}
	return nil
}

// repeatCount picks how many times a repeat runs so that the copies can add up to want.
func repeatCount(rng *rand.Rand, lo, hi int, s span, want int) int {
	if hi < 0 {
		hi = unbounded
	}
	if s.hi == 0 {
		return lo // copies produce nothing; the minimum count is enough
	}
	// Feasible counts c satisfy c*s.lo <= want <= c*s.hi.
	cmin := lo
	if s.hi < unbounded {
		cmin = max(cmin, (want+s.hi-1)/s.hi)
	} else if want > 0 {
		cmin = max(cmin, 1)
	}
	cmax := hi
	if s.lo > 0 {
		cmax = min(cmax, want/s.lo)
	} else {
		cmax = min(cmax, cmin+3)
	}
	if cmin > cmax {
		// Nothing reaches want exactly: take the count closest to it.
		if cmin > hi {
			return hi
		}
		return cmin
	}
	return cmin + rng.IntN(min(cmax-cmin, regexLengthCap)+1)
}

// distribute splits want over parts with the given spans: every part gets at least its
// minimum, and the rest is spread at random over parts with room to grow.
func distribute(rng *rand.Rand, want int, spans []span) []int {
	out := make([]int, len(spans))
	rest := want
	for i, s := range spans {
		out[i] = s.lo
		rest -= s.lo
	}
	for rest > 0 {
		var room []int
		for i, s := range spans {
			if s.hi > out[i] {
				room = append(room, i)
			}
		}
		if len(room) == 0 {
			break
		}
		i := room[rng.IntN(len(room))]
		add := 1 + rng.IntN(min(spans[i].hi-out[i], rest))
		out[i] += add
		rest -= add
	}
	return out
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// runePreferences returns the ranges a character class is drawn from, most readable
// first: a class is intersected with each in turn and the first non-empty intersection is
// used.
func runePreferences() [][]rune {
	return [][]rune{
		{'0', '9', 'A', 'Z', 'a', 'z'},
		{'!', '~'},
		{' ', ' '},
		{0xA0, 0xD7FF, 0xE000, 0xFFFD},
		{0, 0x10FFFF},
	}
}

// pickRune draws a rune from a class given as sorted [lo, hi] pairs, preferring letters
// and digits, then printable ASCII, and never a surrogate.
func pickRune(rng *rand.Rand, class []rune) (rune, bool) {
	for _, pref := range runePreferences() {
		var parts [][2]rune
		total := 0
		for i := 0; i+1 < len(class); i += 2 {
			for j := 0; j+1 < len(pref); j += 2 {
				lo, hi := max(class[i], pref[j]), min(class[i+1], pref[j+1])
				// Surrogates cannot be encoded in UTF-8.
				if lo <= 0xDFFF && hi >= 0xD800 {
					if lo < 0xD800 {
						parts = append(parts, [2]rune{lo, 0xD7FF})
						total += int(0xD7FF-lo) + 1
					}
					lo = max(lo, 0xE000)
				}
				if lo <= hi {
					parts = append(parts, [2]rune{lo, hi})
					total += int(hi-lo) + 1
				}
			}
		}
		if total == 0 {
			continue
		}
		k := rng.IntN(total)
		for _, p := range parts {
			n := int(p[1]-p[0]) + 1
			if k < n {
				return p[0] + rune(k), true
			}
			k -= n
		}
	}
	return 0, false
}

// Pattern makes strings that a JSON Schema pattern matches, from one
// compilation of the pattern, for callers that draw many (identifiers of a
// resource). It is safe for concurrent use.
type Pattern struct {
	mu sync.Mutex
	g  *regexGenerator
}

// CompilePattern compiles pattern. It fails for syntax Go's regexp does
// not support (lookaround, backreferences).
func CompilePattern(pattern string) (*Pattern, error) {
	g, err := newRegexGenerator(pattern)
	if err != nil {
		return nil, err
	}
	return &Pattern{g: g}, nil
}

// String returns a string the pattern matches whose length in runes lies
// in [minLen, maxLen] (maxLen < 0: no bound), drawn with rng.
func (p *Pattern) String(rng *rand.Rand, minLen, maxLen int) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.g.generate(rng, minLen, maxLen)
}

// Match reports whether the pattern matches s (anywhere, as JSON Schema
// patterns do).
func (p *Pattern) Match(s string) bool { return p.g.re.MatchString(s) }
