package contracts

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/pb33f/go-yaml"
)

// Spec is a contract read for comparison: the document tree with positions,
// references resolved on demand. Reading a Spec costs one YAML parse, far
// less than loading a [Contract], which also prepares validation.
type Spec struct {
	main    *specFile
	refs    *refFiles // the files relative-file $refs reach; nil: they do not resolve
	version string

	mu    sync.Mutex
	files map[string]*specFile // referenced file (absolute path) -> its tree
}

// specFile is one document of a Spec: the main one, or one a $ref names.
type specFile struct {
	name   string
	rel    string // its path under the root of the $refs; "" for the main document
	root   *yaml.Node
	origin *origin // Swagger 2.0 original of a converted document; nil otherwise
	index  map[*yaml.Node]map[string]int
}

// ReadSpec reads the contract in path for [Compare]. Relative-file $refs
// resolve against the file's folder, and may not leave it unless
// [RefRoot] is given; other options are ignored.
func ReadSpec(path string, opts ...Option) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read the contract", Err: err}
	}
	o := options{baseDir: filepath.Dir(path)}
	for _, opt := range opts {
		opt(&o)
	}
	refs, err := collectRefs(path, data, o)
	if err != nil {
		return nil, err
	}
	s, err := ParseSpec(path, data)
	if err != nil {
		return nil, err
	}
	s.refs = refs
	return s, nil
}

// ParseSpec reads a contract held in data; name is used in positions.
// Swagger 2.0 is converted to OpenAPI 3.0 first, and positions point back
// into the original.
func ParseSpec(name string, data []byte) (*Spec, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{File: name, Line: 1, Msg: "the document is empty", Err: ErrNotOpenAPI}
	}
	kind, version, ok := sniffFast(data)
	if !ok {
		var err error
		if kind, version, err = sniff(name, data); err != nil {
			return nil, err
		}
	}
	f := &specFile{name: name}
	src := data
	if kind == "swagger" {
		converted, org, _, err := convertSwagger(name, data)
		if err != nil {
			return nil, err
		}
		src, f.origin = converted, org
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(jsonEscapesForYAML(src), &doc); err != nil {
		return nil, syntaxError(name, src, err)
	}
	f.root = documentBody(&doc)
	if f.root == nil || f.root.Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: 1, Msg: "the document is not a mapping", Err: ErrNotOpenAPI}
	}
	return &Spec{main: f, version: version, files: map[string]*specFile{}}, nil
}

var surrogateEscape = regexp.MustCompile(`\\u[dD][89abAB][0-9a-fA-F]{2}(\\u[dD][c-fC-F][0-9a-fA-F]{2})?|\\u[dD][c-fC-F][0-9a-fA-F]{2}`)

// jsonEscapesForYAML rewrites what JSON allows in strings and YAML does not:
// a character outside the Basic Multilingual Plane written as a surrogate
// pair of \u escapes (Twilio's contract has emoji written so) becomes one
// \U escape, and a lone surrogate becomes U+FFFD. Only lines holding such an
// escape change, and only after it.
func jsonEscapesForYAML(src []byte) []byte {
	if !bytes.Contains(src, []byte(`\ud`)) && !bytes.Contains(src, []byte(`\uD`)) {
		return src
	}
	return surrogateEscape.ReplaceAllFunc(src, func(m []byte) []byte {
		hi, _ := strconv.ParseUint(string(m[2:6]), 16, 32)
		if len(m) == 12 {
			lo, _ := strconv.ParseUint(string(m[8:12]), 16, 32)
			r := utf16.DecodeRune(rune(hi), rune(lo))
			return fmt.Appendf(nil, `\U%08X`, r)
		}
		return []byte(`\uFFFD`)
	})
}

// File is the name the Spec was read under.
func (s *Spec) File() string { return s.main.name }

// CompareOption changes how [Compare] judges changes.
type CompareOption func(*compareOptions)

type compareOptions struct {
	today time.Time
}

// On sets the day x-sunset dates are judged against (default: today).
func On(day time.Time) CompareOption { return func(o *compareOptions) { o.today = day } }

// CompareFiles reads both contracts, in parallel, and compares them.
func CompareFiles(oldPath, newPath string, opts ...CompareOption) ([]Change, error) {
	var old, cur *Spec
	var oldErr, curErr error
	var wg sync.WaitGroup
	wg.Go(func() { old, oldErr = ReadSpec(oldPath) })
	cur, curErr = ReadSpec(newPath)
	wg.Wait()
	if oldErr != nil {
		return nil, oldErr
	}
	if curErr != nil {
		return nil, curErr
	}
	return Compare(old, cur, opts...), nil
}

// Compare lists what changed from old to new that a client could notice,
// ordered by operation, then ID. Schemas are compared resolved, so a $ref
// that moved or was renamed, and keys in another order, are no change.
// Comparing a Spec with itself, or with a copy, gives no changes.
func Compare(old, new *Spec, opts ...CompareOption) []Change {
	o := compareOptions{today: time.Now()}
	for _, opt := range opts {
		opt(&o)
	}
	d := &differ{old: old, new: new, opts: o, memo: map[pairKey]*memoEntry{}}
	d.paths()
	d.webhooks()
	d.securitySchemes()
	out := d.out
	slices.SortStableFunc(out, func(a, b Change) int {
		for _, c := range [...][2]string{{a.Path, b.Path}, {a.Webhook, b.Webhook}, {a.Method, b.Method}, {a.ID, b.ID},
			{a.Param, b.Param}, {a.Status, b.Status}, {a.Media, b.Media}, {a.Field, b.Field}, {a.Message, b.Message}} {
			if n := strings.Compare(c[0], c[1]); n != 0 {
				return n
			}
		}
		return 0
	})
	return slices.CompactFunc(out, func(a, b Change) bool {
		return a.ID == b.ID && a.Operation() == b.Operation() && a.Param == b.Param && a.Status == b.Status &&
			a.Media == b.Media && a.Field == b.Field && a.Message == b.Message
	})
}

// yn is a YAML node and the file of the Spec it is in.
type yn struct {
	n *yaml.Node
	f *specFile
}

func (x yn) ok() bool { return x.n != nil }

// get returns the value under key in a mapping, or a zero yn (ok reports false).
func (x yn) get(key string) yn {
	if x.n == nil || x.n.Kind != yaml.MappingNode {
		return yn{}
	}
	c := x.n.Content
	if len(c) > 32 {
		if x.f.index == nil {
			x.f.index = map[*yaml.Node]map[string]int{}
		}
		idx, ok := x.f.index[x.n]
		if !ok {
			idx = make(map[string]int, len(c)/2)
			for i := 0; i+1 < len(c); i += 2 {
				if _, dup := idx[c[i].Value]; !dup {
					idx[c[i].Value] = i
				}
			}
			x.f.index[x.n] = idx
		}
		if i, ok := idx[key]; ok {
			return yn{c[i+1], x.f}
		}
		return yn{}
	}
	for i := 0; i+1 < len(c); i += 2 {
		if c[i].Value == key {
			return yn{c[i+1], x.f}
		}
	}
	return yn{}
}

// keyOf returns the key node under which key is held, for positions.
func (x yn) keyOf(key string) yn {
	if x.n == nil || x.n.Kind != yaml.MappingNode {
		return yn{}
	}
	for i := 0; i+1 < len(x.n.Content); i += 2 {
		if x.n.Content[i].Value == key {
			return yn{x.n.Content[i], x.f}
		}
	}
	return yn{}
}

// pairs calls fn for each key and value of a mapping, in document order.
func (x yn) pairs(fn func(key string, k, v yn)) {
	if x.n == nil || x.n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(x.n.Content); i += 2 {
		fn(x.n.Content[i].Value, yn{x.n.Content[i], x.f}, yn{x.n.Content[i+1], x.f})
	}
}

// items returns a sequence's elements.
func (x yn) items() []yn {
	if x.n == nil || x.n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]yn, len(x.n.Content))
	for i, c := range x.n.Content {
		out[i] = yn{c, x.f}
	}
	return out
}

func (x yn) str() string {
	if x.n == nil || x.n.Kind != yaml.ScalarNode {
		return ""
	}
	return x.n.Value
}

func (x yn) truthy() bool { return x.str() == "true" }

// scalar is a canonical text of a value, for comparing enum members:
// quoted "1" and unquoted 1 differ, as they do in JSON.
func (x yn) scalar() string {
	if x.n == nil {
		return ""
	}
	if x.n.Kind == yaml.ScalarNode {
		switch x.n.Tag {
		case "!!str":
			return fmt.Sprintf("%q", x.n.Value)
		case "!!null":
			return "null"
		}
		return x.n.Value
	}
	var v any
	if err := x.n.Decode(&v); err != nil {
		return ""
	}
	return fmt.Sprint(jsonCompatible(v))
}

// pos is where x is, in its file (the Swagger 2.0 original, if converted).
func (x yn) pos() *Position {
	if x.n == nil {
		return nil
	}
	line, col := x.n.Line, x.n.Column
	if x.f.origin != nil {
		line, col = x.f.origin.position(line, col)
	}
	return &Position{File: x.f.name, Line: line, Column: col}
}

// deref follows $ref until it reaches a node that is not a reference. A
// reference that cannot be resolved, or a loop of references, gives the
// last node reached.
func (s *Spec) deref(x yn) yn {
	for range 32 {
		ref := x.get("$ref").str()
		if ref == "" {
			return x
		}
		next := s.resolveRef(x.f, ref)
		if !next.ok() {
			return x
		}
		x = next
	}
	return x
}

func (s *Spec) resolveRef(from *specFile, ref string) yn {
	file, ptr, _ := strings.Cut(ref, "#")
	f := from
	if file != "" {
		rel, ok := s.refs.path(from.rel, file)
		if !ok {
			return yn{}
		}
		f = s.file(rel)
		if f == nil {
			return yn{}
		}
	}
	x := yn{f.root, f}
	for _, seg := range pointerSegments(ptr) {
		if x.n.Kind == yaml.SequenceNode {
			var i int
			if _, err := fmt.Sscanf(seg, "%d", &i); err != nil || i < 0 || i >= len(x.n.Content) {
				return yn{}
			}
			x = yn{x.n.Content[i], f}
			continue
		}
		if x = x.get(seg); !x.ok() {
			return yn{}
		}
	}
	return x
}

// file is the referenced file rel (a path under the root of the $refs),
// parsed on first use.
func (s *Spec) file(rel string) *specFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.files[rel]; ok {
		return f
	}
	var f *specFile
	if data, ok := s.refs.read(rel); ok {
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) == nil {
			if root := documentBody(&doc); root != nil {
				f = &specFile{name: s.refs.display(rel), rel: rel, root: root}
			}
		}
	}
	s.files[rel] = f
	return f
}

func (s *Spec) root() yn { return yn{s.main.root, s.main} }

// Spec is the contract read for [Compare], made from the document tree the
// contract was parsed into, so that comparing a loaded contract parses
// nothing again. It is made on first use and shared.
func (c *Contract) Spec() *Spec {
	c.specOnce.Do(func() {
		var root *yaml.Node
		if info := c.doc.GetSpecInfo(); info != nil {
			root = documentBody(info.RootNode)
		}
		c.spec = &Spec{main: &specFile{name: c.file, root: root, origin: c.origin}, refs: c.refs,
			version: c.version, files: map[string]*specFile{}}
	})
	return c.spec
}
