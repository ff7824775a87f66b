package contracts

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pb33f/go-yaml"
	"github.com/pb33f/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/tetherkit/tether/internal/jsonpath"
)

// Schema is a standalone JSON Schema file (draft 4 to 2020-12), for events
// whose vendor publishes payload schemas instead of an OpenAPI `webhooks`
// section. It is safe for concurrent use.
type Schema struct {
	file     string
	abs      string // file's absolute path
	dir      string // the absolute folder of file, against which $refs resolve
	compiled *jsonschema.Schema

	mu     sync.Mutex
	nodes  map[string]*yaml.Node // file -> parsed, for locating keywords
	loader *baseNameLoader
}

// LoadSchema compiles the JSON Schema in path, with format assertions on.
// A $ref to a file that does not exist where the reference says is looked up
// by base name under the schema's grandparent folder, which is how
// published payload-schema collections (GitHub's, for one) are laid out.
func LoadSchema(path string) (*Schema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read the schema", Err: err}
	}
	return ParseSchema(path, data)
}

// ParseSchema compiles the JSON Schema held in data, as [LoadSchema] does
// a file; name is used in errors and findings. Its $refs to other files
// resolve against the folder of name, or against the folder
// [RefsRelativeTo] gives.
func ParseSchema(name string, data []byte, opts ...Option) (*Schema, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	dir := o.baseDir
	if dir == "" {
		dir = filepath.Dir(name)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, &Error{File: name, Msg: "cannot resolve the path", Err: err}
	}
	abs := filepath.Join(absDir, filepath.Base(name))
	path := name
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		if jerr := jsonSyntax(path, data); jerr != nil {
			return nil, jerr
		}
		return nil, &Error{File: path, Msg: "invalid JSON: " + err.Error(), Err: err}
	}
	loader := &baseNameLoader{root: filepath.Dir(filepath.Dir(abs))}
	comp := jsonschema.NewCompiler()
	if schemaAssertsFormat(doc) {
		comp.AssertFormat()
	}
	for name, check := range formatChecks {
		comp.RegisterFormat(&jsonschema.Format{Name: name, Validate: check})
	}
	comp.UseLoader(loader)
	u := fileURL(abs)
	if err := comp.AddResource(u, doc); err != nil {
		return nil, &Error{File: path, Msg: "invalid JSON Schema: " + err.Error(), Err: err}
	}
	compiled, err := comp.Compile(u)
	if err != nil {
		return nil, &Error{File: path, Msg: "invalid JSON Schema: " + err.Error(), Err: err}
	}
	sch := &Schema{file: path, abs: abs, dir: absDir, compiled: compiled, nodes: map[string]*yaml.Node{}, loader: loader}
	// Keywords of the file itself are located in the bytes already read.
	root := &yaml.Node{}
	if yaml.Unmarshal(jsonTabs(data), root) != nil {
		root = &yaml.Node{}
	}
	sch.nodes[abs] = root
	return sch, nil
}

// File is the path the schema was loaded from.
func (s *Schema) File() string { return s.file }

// Validate checks a JSON payload. Each problem names the schema file and
// line of the keyword that failed and the JSON path in the payload.
func (s *Schema) Validate(payload []byte) []Finding {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		p := newFinding(RulePayloadInvalid, "the payload is not JSON: "+err.Error())
		p.File, p.Path = s.file, "$"
		return []Finding{p}
	}
	err = s.compiled.Validate(v)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		if err != nil {
			p := newFinding(RulePayloadInvalid, err.Error())
			p.File, p.Path = s.file, "$"
			return []Finding{p}
		}
		return nil
	}
	printer := message.NewPrinter(language.English)
	var out []Finding
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		p := newFinding(RulePayloadInvalid, e.ErrorKind.LocalizedString(printer))
		p.Path = jsonpath.Of(e.InstanceLocation)
		p.File, p.Line, p.Column = s.locate(e.SchemaURL, e.ErrorKind.KeywordPath())
		out = append(out, p)
	}
	walk(ve)
	sortFindings(out)
	return out
}

// locate finds the file and line of a keyword from the schema URL the
// validator reports ("file:///a/b.json#/properties/x") and its keyword path.
func (s *Schema) locate(schemaURL string, keyword []string) (string, int, int) {
	file, frag, _ := strings.Cut(schemaURL, "#")
	path := s.loader.actual(fileFromURL(file))
	if path == "" {
		return s.file, 0, 0
	}
	ptr := append(pointerSegments(frag), keyword...)
	s.mu.Lock()
	root, ok := s.nodes[path]
	if !ok {
		root = &yaml.Node{}
		if data, err := os.ReadFile(path); err == nil {
			if yaml.Unmarshal(data, root) != nil {
				root = &yaml.Node{}
			}
		}
		s.nodes[path] = root
	}
	s.mu.Unlock()
	display := path
	if rel, err := filepath.Rel(s.dir, path); err == nil {
		display = filepath.ToSlash(filepath.Join(filepath.Dir(s.file), rel))
	}
	if root.Kind == 0 {
		return display, 0, 0
	}
	n := deepest(root, ptr)
	return display, n.Line, n.Column
}

func fileURL(abs string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

func fileFromURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "file" {
		return ""
	}
	return filepath.FromSlash(pu.Path)
}

// baseNameLoader loads file URLs, falling back to a file of the same base
// name under root when the referenced path does not exist.
type baseNameLoader struct {
	root  string
	once  sync.Once
	index map[string]string // base name -> path; "" when ambiguous

	mu      sync.Mutex
	aliases map[string]string // path referenced -> path read
}

// actual returns the file read for a referenced path.
func (l *baseNameLoader) actual(path string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.aliases[path]; ok {
		return a
	}
	return path
}

func (l *baseNameLoader) Load(u string) (any, error) {
	path := fileFromURL(u)
	if path == "" {
		return nil, fmt.Errorf("cannot load %s: only local files are read", u)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		l.once.Do(l.build)
		alt, ok := l.index[filepath.Base(path)]
		if !ok || alt == "" {
			return nil, fmt.Errorf("cannot load %s: no such file, and no single file named %s under %s", path, filepath.Base(path), l.root)
		}
		f, err = os.Open(alt)
		l.mu.Lock()
		if l.aliases == nil {
			l.aliases = map[string]string{}
		}
		l.aliases[path] = alt
		l.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return jsonschema.UnmarshalJSON(f)
}

func (l *baseNameLoader) build() {
	l.index = map[string]string{}
	seen := 0
	_ = filepath.WalkDir(l.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if seen++; seen > 50000 {
			return filepath.SkipAll
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		if _, dup := l.index[d.Name()]; dup {
			l.index[d.Name()] = ""
		} else {
			l.index[d.Name()] = p
		}
		return nil
	})
}

// jsonTabs turns tabs into spaces, keeping columns. YAML reads JSON except
// for tab indentation, and in valid JSON every raw tab is whitespace
// between tokens, as strings must escape theirs.
func jsonTabs(data []byte) []byte {
	if bytes.IndexByte(data, '\t') < 0 {
		return data
	}
	return bytes.ReplaceAll(data, []byte{'\t'}, []byte{' '})
}

// Root is the schema file's document tree, with the positions of every
// keyword; nil when the file holds none.
func (s *Schema) Root() *yaml.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	root := s.nodes[s.abs]
	if root == nil || root.Kind == 0 {
		return nil
	}
	return documentBody(root)
}

// Resolve follows the $ref of n, and those of what it names, to the schema
// they name in the schema's own file ("#/$defs/x"); n itself when it has
// no $ref that can be followed.
func (s *Schema) Resolve(n *yaml.Node) *yaml.Node {
	root := s.Root()
	for range 32 {
		ref := mapValue(n, "$ref")
		if root == nil || !strings.HasPrefix(ref, "#") {
			return n
		}
		t := root
		for _, seg := range pointerSegments(ref[1:]) {
			if _, t = child(t, seg); t == nil {
				return n
			}
		}
		if t == n {
			return n
		}
		n = t
	}
	return n
}
