package contracts

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRegexGenMatches(t *testing.T) {
	tests := []struct {
		pattern        string
		minLen, maxLen int
		reason         string
	}{
		{`^[a-zA-Z0-9_-]+$`, 0, -1, "GitHub and Stripe slugs"},
		{`^\+[1-9]\d{1,14}$`, 0, -1, "E.164 phone numbers (Twilio)"},
		{`^AC[0-9a-fA-F]{32}$`, 34, 34, "Twilio account SIDs, length fixed by the schema too"},
		{`^(0|[1-9][0-9]*)$`, 0, -1, "Discord snowflakes"},
		{`^\d{4}-\d{2}-\d{2}$`, 0, -1, "dates spelled as a pattern"},
		{`^[A-Z]{3}$`, 0, -1, "currency codes"},
		{`^(?:[a-z0-9-]+\.)+[a-z]{2,}$`, 0, 40, "domain names, nested repeat in a group"},
		{`^https?://`, 0, -1, "an anchored prefix only; the rest is free"},
		{`[0-9]`, 5, 8, "unanchored: padding reaches minLength"},
		{`^[^/]+/[^/]+$`, 0, -1, "negated classes (owner/repo)"},
		{`^\w+@\w+\.com$`, 0, -1, "word classes"},
		{`^\s*\S+\s*$`, 0, -1, "space classes"},
		{`^(?i)abc$`, 0, -1, "case-insensitive literal"},
		{`^(red|green|blue)$`, 4, 4, "alternation chosen by length"},
		{`^a{2,5}b?$`, 4, 6, "bounded repeats honour min and max length"},
		{`^[a-z]{1,}$`, 30, 30, "a long exact length from an open repeat"},
		{`^.{0,3}$`, 0, -1, "dot"},
		{`^$`, 0, 0, "the empty string"},
		{`\bword\b`, 0, -1, "word boundaries"},
		{`^[\p{L}]+$`, 0, -1, "Unicode classes"},
		{`^[^\x00-\x7F]+$`, 0, -1, "non-ASCII only"},
		{`^(ab|cd){3}$`, 0, -1, "repeated group"},
		{`^(?:\d{3}-)?\d{4}$`, 0, -1, "optional group"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			g, err := newRegexGenerator(tt.pattern)
			if err != nil {
				t.Fatalf("%v (%s)", err, tt.reason)
			}
			re := regexp.MustCompile(tt.pattern)
			for seed := uint64(0); seed < 30; seed++ {
				rng := rand.New(rand.NewPCG(seed, 1))
				s, err := g.generate(rng, tt.minLen, tt.maxLen)
				if err != nil {
					t.Fatalf("seed %d: %v (%s)", seed, err, tt.reason)
				}
				if !re.MatchString(s) {
					t.Errorf("seed %d: %q does not match (%s)", seed, s, tt.reason)
				}
				n := utf8.RuneCountInString(s)
				if n < tt.minLen || (tt.maxLen >= 0 && n > tt.maxLen) {
					t.Errorf("seed %d: %q has %d characters, want %d..%d (%s)", seed, s, n, tt.minLen, tt.maxLen, tt.reason)
				}
			}
		})
	}
}

func TestRegexGenImpossible(t *testing.T) {
	tests := []struct {
		pattern        string
		minLen, maxLen int
		want           string
		reason         string
	}{
		{`^[0-9]{6}$`, 0, 4, "produced no string of 0 to 4 characters", "the pattern is longer than maxLength"},
		{`^a$`, 3, -1, "produced no string of at least 3 characters", "anchored both ends, so no padding"},
		{`^a{10}$`, 0, 5, "produced no string", "a repeat longer than the bound"},
		{`a^b`, 0, -1, "produced no string", "an anchor in the middle matches nothing"},
		{`^[^\x00-\x{10FFFF}]$`, 0, -1, "matches no string", "a class that admits no character"},
		{`^x$`, 5, 2, "length bounds 5..2 are empty", "crossed bounds"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			g, err := newRegexGenerator(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			s, err := g.generate(rand.New(rand.NewPCG(1, 1)), tt.minLen, tt.maxLen)
			if err == nil {
				t.Fatalf("got %q, want an error (%s)", s, tt.reason)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q (%s)", err, tt.want, tt.reason)
			}
		})
	}
}

func TestRegexGenUnsupported(t *testing.T) {
	tests := []struct {
		pattern string
		reason  string
	}{
		{`^(?=a)a$`, "lookahead: Go's regexp (which the validator uses) rejects it too"},
		{`^(a)\1$`, "backreference"},
		{`^[a-z`, "unterminated class"},
	}
	for _, tt := range tests {
		if _, err := newRegexGenerator(tt.pattern); err == nil {
			t.Errorf("%q: no error (%s)", tt.pattern, tt.reason)
		}
	}
}

func TestRegexGenDeterministic(t *testing.T) {
	g, err := newRegexGenerator(`^[a-z]{5,10}-\d+$`)
	if err != nil {
		t.Fatal(err)
	}
	gen := func(seed uint64) string {
		s, err := g.generate(rand.New(rand.NewPCG(seed, 1)), 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if a, b := gen(7), gen(7); a != b {
		t.Errorf("seed 7 gave %q and %q", a, b)
	}
	if a, b := gen(7), gen(8); a == b {
		t.Errorf("seeds 7 and 8 both gave %q", a)
	}
}

// FuzzRegexGen checks that the generator never panics and that whatever it returns
// matches the pattern within the length bounds.
func FuzzRegexGen(f *testing.F) {
	for _, p := range []string{
		`^[a-zA-Z0-9_-]+$`, `^\+[1-9]\d{1,14}$`, `^AC[0-9a-fA-F]{32}$`, `^(0|[1-9][0-9]*)$`,
		`^\d{4}-\d{2}-\d{2}$`, `(a|bc)*d{2,}`, `[^a-z]?\b\w+$`, `(?i)x[[:alpha:]]{3}`, `.*`, ``,
		`^(?:(a+)|b{0,2})$`, `[\p{Greek}\d]+`, `(?m)^a$\n^b$`, `x{1000}`, `(\b)*`,
	} {
		f.Add(p, uint64(1), uint8(0), uint8(255))
		f.Add(p, uint64(2), uint8(3), uint8(10))
	}
	f.Fuzz(func(t *testing.T, pattern string, seed uint64, minLen, maxLen uint8) {
		g, err := newRegexGenerator(pattern)
		if err != nil {
			return
		}
		hi := int(maxLen)
		if maxLen == 255 {
			hi = -1
		}
		s, err := g.generate(rand.New(rand.NewPCG(seed, 1)), int(minLen), hi)
		if err != nil {
			return
		}
		if !regexp.MustCompile(pattern).MatchString(s) {
			t.Fatalf("%q does not match %q", s, pattern)
		}
		n := utf8.RuneCountInString(s)
		if n < int(minLen) || (hi >= 0 && n > hi) {
			t.Fatalf("%q has %d characters, want %d..%d", s, n, minLen, hi)
		}
	})
}
