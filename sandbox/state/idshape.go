package state

import (
	"fmt"
	"math/rand/v2"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/tetherkit/tether/contracts"
)

// Alphabet is the characters an identifier draws on after its prefix.
type Alphabet string

// The alphabets an [IDShape] knows.
const (
	Digits     Alphabet = "digits"      // 0-9
	Hex        Alphabet = "hex"         // 0-9a-f
	UpperAlnum Alphabet = "upper-alnum" // A-Z0-9
	LowerAlnum Alphabet = "lower-alnum" // a-z0-9
	Alnum      Alphabet = "alnum"       // A-Za-z0-9
	Token      Alphabet = "token"       // A-Za-z0-9 - _
)

// chars returns the characters of an alphabet; "" for an unknown one.
func (a Alphabet) chars() string {
	switch a {
	case Digits:
		return "0123456789"
	case Hex:
		return "0123456789abcdef"
	case UpperAlnum:
		return "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	case LowerAlnum:
		return "abcdefghijklmnopqrstuvwxyz0123456789"
	case Alnum:
		return "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	case Token:
		return "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	}
	return ""
}

// IDShape is what a resource's identifiers look like. Where the schema
// gives a pattern or a format, generated ids follow it; else a prefix and
// Length characters of Alphabet; else (Type "integer") the next integer.
type IDShape struct {
	Type     string   `json:"type,omitempty"`     // "string" or "integer"
	Prefix   string   `json:"prefix,omitempty"`   // "cus_"; "" for none
	Alphabet Alphabet `json:"alphabet,omitempty"` // after the prefix
	Length   int      `json:"length,omitempty"`   // characters after the prefix
	Pattern  string   `json:"pattern,omitempty"`  // the schema's pattern, "^Q[A-Z0-9]{10}$"
	Format   string   `json:"format,omitempty"`   // the schema's format, "uuid"
	Source   string   `json:"source,omitempty"`   // where the shape was seen, for the printout
	// Seen is the largest integer id seen in examples and samples; a
	// generator of integer ids starts above it.
	Seen int64 `json:"seen,omitempty"`

	c         *contracts.Contract
	schema    *base.Schema // the id property, for patterns
	schemaLen int          // the exact length the schema sets, prefix included; 0 for none
}

func (s IDShape) String() string {
	switch {
	case s.Type == "integer":
		return "integer"
	case s.Pattern != "":
		return "string matching " + s.Pattern
	case s.Format != "":
		return "string, format " + s.Format
	case s.Prefix != "":
		return fmt.Sprintf("%q + %d %s", s.Prefix, s.Length, s.Alphabet)
	case s.Length > 0:
		return fmt.Sprintf("%d %s", s.Length, s.Alphabet)
	}
	return "unique string"
}

// Generator makes identifiers of one shape, each different from every
// one it made before, the same sequence for the same seed. It is safe for
// concurrent use.
type Generator struct {
	shape IDShape
	mu    sync.Mutex
	rng   *rand.Rand
	next  int64
	seen  map[string]bool // the latest identifiers made, at most maxSeen
	seed  uint64

	patOnce sync.Once
	pat     *contracts.Pattern // the id's pattern compiled once; nil when it does not compile
	// drawers are more compilations of the pattern, one per concurrent
	// draw: a Pattern draws one string at a time, and a tenant's creates
	// would queue on it.
	drawers sync.Pool
	simple  simplePattern // the pattern, where it is a prefix and one repeated class
	// simpleFits says that every string simple draws is one the compiled
	// pattern and the length bounds admit, so a draw need not be matched:
	// known when the pattern is compiled, from the draw's form and a check
	// of a few draws against the compiled pattern.
	simpleFits bool
}

// Generator returns a generator of identifiers of this shape.
func (s IDShape) Generator(seed uint64) *Generator {
	return &Generator{shape: s, rng: rand.New(rand.NewPCG(seed, seed^0x5bd1e995)), next: max(s.Seen, 0) + 1, seen: map[string]bool{}, seed: seed}
}

// Next returns a new identifier: an int64 for integer shapes, else a
// string. A pattern that admits few strings may run out of new ones; then
// the string is made unique with a counter, outside the pattern.
func (g *Generator) Next() any {
	s := g.shape
	if s.Type != "integer" && s.Pattern != "" && s.c != nil && s.schema != nil {
		return g.nextByPattern()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if s.Type == "integer" {
		n := g.next
		g.next++
		return n
	}
	for range 32 {
		v := g.candidate()
		if v != "" && !g.seen[v] {
			g.remember(v)
			return v
		}
	}
	g.next++
	v := fmt.Sprintf("%s%d", s.Prefix, g.next)
	g.remember(v)
	return v
}

// maxSeen bounds what a generator remembers of the identifiers it made,
// so that memory stays bounded however many objects a tenant creates; the
// state itself refuses an identifier one of its objects holds.
const maxSeen = 1 << 12

func (g *Generator) remember(id string) {
	if len(g.seen) >= maxSeen {
		clear(g.seen)
	}
	g.seen[id] = true
}

// nextByPattern is Next for a pattern: the same sequence, with the
// synthesis from the pattern, the costly part, done outside the lock so
// that concurrent creates do not queue for it.
// byPattern draws a string of the id's pattern and length bounds, from
// the pattern compiled once, else through the contract's synthesis.
func (g *Generator) byPattern(seed uint64) (string, bool) {
	ps := g.shape.schema
	lo, hi := 0, -1
	if ps.MinLength != nil {
		lo = int(*ps.MinLength)
	}
	if ps.MaxLength != nil {
		hi = int(*ps.MaxLength)
	}
	g.patOnce.Do(func() {
		g.pat, _ = contracts.CompilePattern(g.shape.Pattern)
		g.simple = simpleOf(g.shape.Pattern)
		g.simpleFits = g.pat != nil && g.simple.fits(g.pat, lo, hi)
	})
	if g.pat != nil && ps.Format == "" && len(ps.Enum) == 0 {
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b9))
		if str := g.shapeDraw(rng); str != "" {
			if g.simpleFits {
				return str, true
			}
			if n := utf8.RuneCountInString(str); n >= lo && (hi < 0 || n <= hi) && g.pat.Match(str) {
				return str, true
			}
			rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b9))
		}
		p, _ := g.drawers.Get().(*contracts.Pattern)
		if p == nil {
			if p, _ = contracts.CompilePattern(g.shape.Pattern); p == nil {
				p = g.pat
			}
		}
		str, err := p.String(rng, lo, hi)
		g.drawers.Put(p)
		return str, err == nil
	}
	v, err := g.shape.c.SchemaValue(ps, seed)
	str, ok := v.(string)
	return str, err == nil && ok
}

// shapeDraw is a string of the pattern's literal prefix and its one
// repeated class, drawn with rng, or "" for a pattern of another form.
// Most patterns of identifiers are just that (^MG[0-9a-fA-F]{32}$), and
// drawing them so costs a fraction of making them from the pattern.
func (g *Generator) shapeDraw(rng *rand.Rand) string {
	sp := g.simple
	if sp.n == 0 {
		return ""
	}
	b := make([]byte, len(sp.prefix)+sp.n)
	copy(b, sp.prefix)
	for i := len(sp.prefix); i < len(b); i++ {
		b[i] = sp.chars[rng.IntN(len(sp.chars))]
	}
	return string(b)
}

// simplePattern is a pattern of the form ^prefix[class]{n}$, with an
// ASCII prefix and class.
type simplePattern struct {
	prefix, chars string
	n             int
}

// fits says whether every string sp draws is one pat and the length
// bounds lo and hi (-1 for none) admit. A draw is the ASCII prefix and n
// characters of the class, so its length is fixed; what pat admits is
// checked on a few draws, since pat is the pattern compiled with the
// contract's regular expression rules, which simpleOf does not read.
func (sp simplePattern) fits(pat *contracts.Pattern, lo, hi int) bool {
	n := len(sp.prefix) + sp.n
	if sp.n == 0 || n < lo || hi >= 0 && n > hi {
		return false
	}
	g := &Generator{simple: sp}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 16 {
		if !pat.Match(g.shapeDraw(rng)) {
			return false
		}
	}
	// Every character of the class, each in the first place drawn.
	for i := range len(sp.chars) {
		if !pat.Match(sp.prefix + strings.Repeat(sp.chars[i:i+1], sp.n)) {
			return false
		}
	}
	return true
}

// matches says whether str matches the generator's pattern: where its
// draws fit the pattern (simpleFits), by their form alone.
func (g *Generator) matches(str string) bool {
	if g.pat == nil {
		return false
	}
	if !g.simpleFits {
		return g.pat.Match(str)
	}
	sp := g.simple
	if len(str) != len(sp.prefix)+sp.n || str[:len(sp.prefix)] != sp.prefix {
		return false
	}
	for i := len(sp.prefix); i < len(str); i++ {
		if strings.IndexByte(sp.chars, str[i]) < 0 {
			return false
		}
	}
	return true
}

// simpleOf reads pattern as a simplePattern; n is 0 for any other form.
func simpleOf(pattern string) simplePattern {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return simplePattern{}
	}
	if re.Op != syntax.OpConcat || len(re.Sub) < 3 || len(re.Sub) > 4 {
		return simplePattern{}
	}
	subs := re.Sub
	if subs[0].Op != syntax.OpBeginText || subs[len(subs)-1].Op != syntax.OpEndText {
		return simplePattern{}
	}
	subs = subs[1 : len(subs)-1]
	var sp simplePattern
	if len(subs) == 2 {
		if subs[0].Op != syntax.OpLiteral || subs[0].Flags&syntax.FoldCase != 0 {
			return simplePattern{}
		}
		for _, r := range subs[0].Rune {
			if r > 0x7e || r < 0x20 {
				return simplePattern{}
			}
		}
		sp.prefix = string(subs[0].Rune)
		subs = subs[1:]
	}
	rep := subs[0]
	if rep.Op != syntax.OpRepeat || rep.Min != rep.Max || rep.Min < 1 || rep.Min > 256 || len(rep.Sub) != 1 || rep.Sub[0].Op != syntax.OpCharClass {
		return simplePattern{}
	}
	var chars []byte
	cls := rep.Sub[0].Rune
	for i := 0; i+1 < len(cls); i += 2 {
		if cls[i] < 0x21 || cls[i+1] > 0x7e {
			return simplePattern{}
		}
		for r := cls[i]; r <= cls[i+1]; r++ {
			chars = append(chars, byte(r))
		}
	}
	if len(chars) == 0 {
		return simplePattern{}
	}
	sp.chars, sp.n = string(chars), rep.Min
	return sp
}

func (g *Generator) nextByPattern() any {
	for range 32 {
		g.mu.Lock()
		seed := g.rng.Uint64()
		g.mu.Unlock()
		str, ok := g.byPattern(seed)
		g.mu.Lock()
		if !ok {
			str = g.fromAlphabet()
		}
		if str != "" && !g.seen[str] {
			g.remember(str)
			g.mu.Unlock()
			return str
		}
		g.mu.Unlock()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.next++
	v := fmt.Sprintf("%s%d", g.shape.Prefix, g.next)
	g.remember(v)
	return v
}

func (g *Generator) candidate() string {
	s := g.shape
	switch {
	case s.Pattern != "" && s.c != nil && s.schema != nil:
		v, err := s.c.SchemaValue(s.schema, g.rng.Uint64())
		if str, ok := v.(string); err == nil && ok {
			return str
		}
	case s.Format == "uuid":
		b := make([]byte, 16)
		for i := range b {
			b[i] = byte(g.rng.Uint32())
		}
		b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	}
	return g.fromAlphabet()
}

// fromAlphabet is an identifier of the shape's prefix, length and alphabet.
func (g *Generator) fromAlphabet() string {
	s := g.shape
	chars := s.Alphabet.chars()
	if chars == "" {
		chars = Alnum.chars()
	}
	n := s.Length
	if n <= 0 {
		n = 16
	}
	var b strings.Builder
	b.WriteString(s.Prefix)
	for range n {
		b.WriteByte(chars[g.rng.IntN(len(chars))])
	}
	return b.String()
}

// identify decides a resource's identifier field and its shape from the
// item's schema and the contract's examples.
func (inf *inferrer) identify(r *Resource) {
	r.ID = IDShape{Type: "string", Alphabet: Alnum, Source: "none: no schema, example or sample shows one", c: inf.c}
	if len(r.Ops) == 0 {
		return
	}
	first := r.Ops[0]
	if r.item == nil {
		inf.noteOp(first, fmt.Sprintf("resource %s: no answer holds an object schema, so its identifier field is unknown; ids are plain unique strings", r.Name))
		return
	}
	r.IDField = idField(r)
	if r.IDField == "" {
		like := "id"
		if r.IDParam != "" {
			like = fmt.Sprintf("the path parameter {%s} nor id", r.IDParam)
		}
		inf.noteOp(first, fmt.Sprintf("resource %s: its schema has no property named like %s, so its identifier field is unknown; ids are plain unique strings (set id.field in the overrides file)", r.Name, like))
		return
	}
	ps := property(r.item, r.IDField)
	inf.shapeFromSchema(r, ps)
	if r.ID.Pattern == "" && r.ID.Format == "" {
		if vals := inf.examples(r); len(vals) > 0 {
			r.ID.fromValues(vals, "the contract's examples")
		}
	}
}

func (inf *inferrer) shapeFromSchema(r *Resource, ps *base.Schema) {
	if ps == nil {
		return
	}
	if hasType(ps, "integer") || (hasType(ps, "number") && !hasType(ps, "string")) {
		r.ID.Type, r.ID.Alphabet, r.ID.Source = "integer", "", "the schema of "+r.IDField
		return
	}
	switch {
	case ps.Pattern != "":
		r.ID.Pattern, r.ID.schema, r.ID.Source = ps.Pattern, ps, "the schema's pattern"
	case ps.Format == "uuid":
		r.ID.Format, r.ID.Source = "uuid", "the schema's format"
	}
	if ps.MaxLength != nil && ps.MinLength != nil && *ps.MaxLength == *ps.MinLength && *ps.MaxLength < 256 {
		r.ID.Length, r.ID.schemaLen = int(*ps.MaxLength), int(*ps.MaxLength)
	}
}

// idField finds the identifier property: named like the item's path
// parameter ({Sid} -> sid), or like it without the resource's singular
// name ({issue_number} -> number, {incidentId} -> id), else id.
func idField(r *Resource) string {
	props := objectProps(r.item)
	find := func(name string) string {
		if name == "" {
			return ""
		}
		for _, p := range props {
			if p.name == name {
				return p.name
			}
		}
		for _, p := range props {
			if strings.EqualFold(p.name, name) {
				return p.name
			}
		}
		return ""
	}
	if f := find(r.IDParam); f != "" {
		return f
	}
	if r.IDParam != "" {
		rest := strings.ToLower(r.IDParam)
		last := lastLiteral(r)
		for _, stem := range []string{strings.ToLower(last), singular(strings.ToLower(last))} {
			if stem != "" && strings.HasPrefix(rest, stem) && len(rest) > len(stem) {
				if f := find(strings.TrimLeft(rest[len(stem):], "_-.")); f != "" {
					return f
				}
			}
		}
	}
	for _, name := range []string{"id", "uuid", "uid", "sid", "key"} {
		if f := find(name); f != "" {
			return f
		}
	}
	return ""
}

func lastLiteral(r *Resource) string {
	t := r.Collection
	ps := shapeOf(t)
	if t == "" {
		ps = shapeOf(r.Item)
		if len(ps.segs) > 0 {
			ps.segs = ps.segs[:len(ps.segs)-1]
		}
	}
	if len(ps.segs) == 0 {
		return "" // an item path the overrides name, with nothing before it
	}
	return ps.segs[len(ps.segs)-1]
}

func singular(s string) string {
	switch {
	case strings.HasSuffix(s, "ies"):
		return s[:len(s)-3] + "y"
	case strings.HasSuffix(s, "sses"), strings.HasSuffix(s, "xes"):
		return s[:len(s)-2]
	case strings.HasSuffix(s, "s") && !strings.HasSuffix(s, "ss"):
		return s[:len(s)-1]
	}
	return s
}

// examples collects the identifier values the contract's examples show
// for a resource: in the item schema, its id property, its path
// parameter and its operations' answers.
func (inf *inferrer) examples(r *Resource) []any {
	var out []any
	add := func(n *yaml.Node, pick func(any) []any) {
		if n == nil || len(out) >= 64 {
			return
		}
		var v any
		if err := n.Decode(&v); err == nil {
			out = append(out, pick(v)...)
		}
	}
	self := func(v any) []any { return []any{v} }
	field := func(v any) []any { return idsIn(v, r.IDField, r.list) }
	if ps := property(r.item, r.IDField); ps != nil {
		add(ps.Example, self)
		for _, e := range ps.Examples {
			add(e, self)
		}
	}
	add(r.item.Example, field)
	for _, e := range r.item.Examples {
		add(e, field)
	}
	for _, o := range r.Ops {
		op, ok := inf.c.Operation(o.OperationID)
		if !ok {
			continue
		}
		if o.Path == r.Item {
			for _, p := range op.Parameters() {
				if p.In == "path" && p.Name == r.IDParam {
					add(p.Example, self)
					for _, e := range p.Examples.FromOldest() {
						if e != nil {
							add(e.Value, self)
						}
					}
				}
			}
		}
		if o.Kind == Action {
			continue
		}
		if m := responseMedia(op); m != nil {
			add(m.Example, field)
			for _, e := range m.Examples.FromOldest() {
				if e != nil {
					add(e.Value, field)
				}
			}
		}
	}
	return out
}

// idsIn returns the identifier values in an example answer: the object's
// own, or its list's items'.
func idsIn(v any, fieldName, listField string) []any {
	switch t := v.(type) {
	case map[string]any:
		if id, ok := t[fieldName]; ok {
			return []any{id}
		}
		var items any = t[listField]
		if listField == "" {
			items = nil
		}
		if arr, ok := items.([]any); ok {
			return idsIn(arr, fieldName, "")
		}
	case []any:
		var out []any
		for _, e := range t {
			if m, ok := e.(map[string]any); ok {
				if id, ok := m[fieldName]; ok {
					out = append(out, id)
				}
			}
		}
		return out
	}
	return nil
}

// fromValues sets the shape from observed identifiers: integers, or
// strings with their common prefix (up to its last _ or -) and the
// alphabet and length of the rest.
func (s *IDShape) fromValues(vals []any, source string) {
	var strs []string
	ints := 0
	for _, v := range vals {
		switch t := v.(type) {
		case string:
			if t != "" {
				strs = append(strs, t)
			}
		case int, int64, uint64, float64:
			ints++
			if n, err := strconv.ParseInt(fmt.Sprint(t), 10, 64); err == nil && n > s.Seen {
				s.Seen = n
			}
		}
	}
	if s.Type == "integer" || (ints > 0 && len(strs) == 0) {
		s.Type, s.Alphabet = "integer", ""
		return
	}
	if len(strs) == 0 {
		return
	}
	prefix := strs[0]
	for _, v := range strs[1:] {
		for !strings.HasPrefix(v, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	cut := strings.LastIndexAny(prefix, "_-")
	prefix = prefix[:cut+1]
	length := 0
	var rests []string
	for _, v := range strs {
		rest := v[len(prefix):]
		rests = append(rests, rest)
		length = max(length, len(rest))
	}
	s.Prefix, s.Alphabet, s.Source = prefix, alphabetOf(rests), source
	if s.schemaLen > len(prefix) {
		s.Length = s.schemaLen - len(prefix) // the schema's exact length holds the prefix
	} else {
		s.Length = length
	}
}

// alphabetOf is the smallest alphabet that holds every string.
func alphabetOf(strs []string) Alphabet {
	var digit, lowerHex, lower, upper, other bool
	for _, v := range strs {
		for _, c := range v {
			switch {
			case c >= '0' && c <= '9':
				digit = true
			case c >= 'a' && c <= 'f':
				lowerHex = true
			case c >= 'a' && c <= 'z':
				lower = true
			case c >= 'A' && c <= 'Z':
				upper = true
			case c == '-' || c == '_':
				other = true
			case unicode.IsPrint(c):
				other = true
			}
		}
	}
	switch {
	case other:
		return Token
	case upper && (lower || lowerHex):
		return Alnum
	case upper:
		return UpperAlnum
	case lower:
		return LowerAlnum
	case lowerHex:
		return Hex
	case digit:
		return Digits
	}
	return Alnum
}

// knownAlphabet reports whether a is one of the alphabets above.
func knownAlphabet(a Alphabet) bool { return a.chars() != "" }
