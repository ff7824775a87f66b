package contracts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/cache"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/index"
)

// Option configures how a contract is loaded and checked.
type Option func(*options)

type options struct {
	remoteRefs     bool
	baseDir        string
	refRoot        string
	refFS          fs.FS
	refFSDir       string
	ignoreSecurity bool
	strictEvents   bool
	maxSize        int64
	progress       func(step string)
	overlays       []overlaySource
	lintOnly       bool  // stop after indexing: the contract is only linted
	segmentAbove   int64 // Lint checks a larger file in segments; 0 for the default
	segmentBytes   int64 // of path items per segment, at least; 0 for the default
}

// DefaultMaxSize is the largest contract file, in bytes, that [Load] and
// [Lint] read unless [MaxSize] says otherwise: 1 GiB. It bounds what
// tether supports, not memory: [Load] holds the whole document tree, which
// takes a hundred times the file's size or more (about 2.8 GB for a 20 MB
// contract of 64,000 operations); [Lint] checks a large contract in
// segments instead.
const DefaultMaxSize = 1 << 30

// MaxSize sets the largest contract file [Load] reads, in bytes; a larger
// one is an [Error] and is not read.
func MaxSize(n int64) Option { return func(o *options) { o.maxSize = n } }

// Progress has step called as loading starts each of its steps (reading,
// parsing the YAML, building the model, indexing the operations, preparing
// validation), for commands that show progress on large contracts. It is
// called on the loading goroutine.
func Progress(step func(string)) Option { return func(o *options) { o.progress = step } }

func (o options) step(s string) {
	if o.progress != nil {
		o.progress(s)
	}
}

// AllowRemoteRefs lets the loader fetch $refs that name http(s) URLs. They are
// refused by default, so that loading a contract never touches the network.
func AllowRemoteRefs() Option { return func(o *options) { o.remoteRefs = true } }

// RefsRelativeTo resolves relative-file $refs against dir, and confines
// them to it unless [RefRoot] gives a wider root. [Load] resolves them
// against the contract's own folder; use this with [Parse].
func RefsRelativeTo(dir string) Option { return func(o *options) { o.baseDir = dir } }

// IgnoreSecurity stops request validation from requiring the credentials an
// operation's security requirements name. The sandbox checks credentials
// itself, per tenant, and uses this.
func IgnoreSecurity() Option { return func(o *options) { o.ignoreSecurity = true } }

// Contract is one loaded, indexed vendor contract. It is immutable once
// loaded and safe for concurrent use; schemas are compiled on first use.
type Contract struct {
	file      string
	version   string // the document's own version string, e.g. "3.0.3" or "2.0"
	converted bool   // Swagger 2.0, converted to OpenAPI 3.0 on load
	title     string
	doc       libopenapi.Document
	model     *v3.Document
	warnings  []Finding
	ops       []*Operation
	byID      map[string]*Operation
	router    *router
	servers   []Server
	validator validator.Validator
	schemas   *lazySchemaCache
	regexes   sync.Map // path-template regexps the validator compiles, kept per contract
	origin    *origin  // maps locations back to the Swagger 2.0 original; nil otherwise
	opts      options
	refs      *refFiles // the files its $refs reach, read on load; nil when they do not resolve
	base      *Contract // the vendor's original, when overlays apply; nil otherwise

	svOnce sync.Once
	sv     schema_validation.SchemaValidator

	specOnce sync.Once
	spec     *Spec

	compileMu   sync.Mutex                // held while schemas compile; see compile.go
	compileOpts *config.ValidationOptions // the validator's options, for compiling ahead of it
	onces       sync.Map                  // first-use key -> *sync.Once
	files       sync.Map                  // referenced file path -> *yaml.Node
}

// Load reads, parses and indexes the contract in path (YAML or JSON).
// Relative-file $refs resolve against the file's folder and may not leave
// it (see [RefRoot]).
//
// A file over [DefaultMaxSize] (or the limit [MaxSize] sets) is an [Error]
// and is not read.
func Load(path string, opts ...Option) (*Contract, error) {
	o := options{maxSize: DefaultMaxSize}
	for _, opt := range opts {
		opt(&o)
	}
	o.step("reading")
	data, err := readLimited(path, o.maxSize)
	if err != nil {
		return nil, err
	}
	all := append([]Option{RefsRelativeTo(filepath.Dir(path))}, opts...)
	return Parse(path, data, all...)
}

// readLimited reads the file at path, refusing one over max bytes before
// reading it, and stopping at max+1 bytes if it grows meanwhile.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read the contract", Err: err}
	}
	defer f.Close()
	tooLarge := func(n int64) error {
		return &Error{File: path, Msg: fmt.Sprintf("the contract is %d MiB, over the %d MiB tether reads", n>>20, max>>20),
			Hint: "give a larger limit with --max-size (MaxSize in Go) if the machine has the memory: loading takes a hundred times the file's size or more, linting in segments a few times"}
	}
	size := int64(0)
	if st, err := f.Stat(); err == nil {
		if size = st.Size(); size > max {
			return nil, tooLarge(size)
		}
	}
	data := make([]byte, 0, size+512)
	buf := bytes.NewBuffer(data)
	if _, err := buf.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return nil, &Error{File: path, Msg: "cannot read the contract", Err: err}
	}
	if int64(buf.Len()) > max {
		return nil, tooLarge(int64(buf.Len()))
	}
	return buf.Bytes(), nil
}

// Parse parses and indexes a contract held in data; name is used in every
// error and problem location. Relative-file $refs resolve only when
// [RefsRelativeTo] is given.
func Parse(name string, data []byte, opts ...Option) (*Contract, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return parseSafely(name, data, o)
}

// parseSafely is parse, with a panic of libopenapi turned into an error.
func parseSafely(name string, data []byte, o options) (c *Contract, err error) {
	// libopenapi is large and takes untrusted input; a panic in it must become
	// an error naming the file, never a crash of the caller.
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, &Error{File: name, Msg: fmt.Sprintf("the OpenAPI library failed on this document: %v", r),
				Hint: "please report it with the document attached"}
		}
	}()
	return parse(name, data, o)
}

func parse(name string, data []byte, o options) (*Contract, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{File: name, Line: 1, Msg: "the document is empty", Err: ErrNotOpenAPI}
	}
	if err := checkRemoteRefs(name, data, o); err != nil {
		return nil, err
	}
	kind, version, ok := sniffFast(data)
	if !ok {
		var err error
		if kind, version, err = sniff(name, data); err != nil {
			return nil, err
		}
	}
	o.step("reading the files its $refs name")
	refs, err := collectRefs(name, data, o)
	if err != nil {
		return nil, err
	}
	c := &Contract{file: name, version: version, opts: o, refs: refs}
	if refs != nil && refs.main != nil {
		data = refs.main // its $refs by $id, rewritten to name files
	}
	src := data
	var original *yaml.Node // the document as published, when overlays apply
	if len(o.overlays) > 0 {
		o.step("applying the overlays")
		overlaid, orig, warnings, err := applyOverlays(name, data, o)
		if err != nil {
			return nil, err
		}
		src, original = overlaid, orig
		c.warnings = append(c.warnings, warnings...)
		c.origin = &origin{original: original, converted: overlaid}
	}
	if kind == "swagger" {
		o.step("converting Swagger 2.0")
		converted, org, repairs, err := convertSwagger(name, src)
		if err != nil {
			return nil, err
		}
		if original != nil {
			// The repairs were made on the overlaid document; place them
			// in the original.
			for i := range repairs {
				repairs[i].Line, repairs[i].Column = c.origin.position(repairs[i].Line, repairs[i].Column)
			}
			org.original = original
		}
		src, c.converted, c.origin = converted, true, org
		c.warnings = append(c.warnings, repairs...)
	}
	cfg, err := documentConfig(o, refs, name)
	if err != nil {
		return nil, &Error{File: name, Msg: "cannot hold the files its $refs name", Err: err}
	}
	o.step("parsing the document")
	doc, err := libopenapi.NewDocumentWithConfiguration(src, cfg)
	if err != nil {
		if _, _, serr := sniff(name, data); serr != nil {
			return nil, serr
		}
		return nil, documentError(name, err)
	}
	o.step("building the model")
	m, buildErr := doc.BuildV3Model()
	if m == nil {
		return nil, c.buildError(buildErr)
	}
	if buildErr != nil {
		if err := c.classifyBuildErrors(buildErr, src); err != nil {
			return nil, err
		}
	}
	c.doc, c.model = doc, &m.Model
	if m.Model.Info != nil {
		c.title = m.Model.Info.Title
	}
	o.step("indexing the operations")
	if err := c.index(); err != nil {
		return nil, err
	}
	if o.lintOnly {
		return c, nil // validation is never asked of it
	}
	o.step("preparing validation")
	c.schemas = &lazySchemaCache{}
	vopts := []config.Option{
		config.WithSchemaCache(c.schemas),
		config.WithURLEncodedBodyValidation(),
		// Without a cache the validator compiles a path regexp for every
		// request it sees.
		config.WithRegexCache(&c.regexes),
	}
	vopts = append(vopts, formatOptions(c.versionNumber())...)
	if o.ignoreSecurity {
		vopts = append(vopts, config.WithoutSecurityValidation())
	}
	// The validator's constructor compiles every schema of the document
	// up front (49 s for Stripe). While it runs, the cache claims to hold
	// everything, so nothing is compiled; afterwards it fills on first use.
	c.schemas.constructing.Store(true)
	c.validator = validator.NewValidatorFromV3Model(c.model, vopts...)
	c.schemas.constructing.Store(false)
	c.compileOpts = config.NewValidationOptions(vopts...)
	if len(o.overlays) > 0 {
		// The vendor's original judges each call again, to tell what the
		// overlays let through.
		bo := o
		bo.overlays, bo.progress = nil, nil
		if c.base, err = parse(name, data, bo); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// documentConfig configures libopenapi. The files the contract's $refs
// reach were read already, confined to its root ([collectRefs]): the
// library reads those from memory and nothing from disk.
func documentConfig(o options, refs *refFiles, name string) (*datamodel.DocumentConfiguration, error) {
	cfg := datamodel.NewDocumentConfiguration()
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.AllowRemoteReferences = o.remoteRefs
	fsys, err := refs.fsys()
	if err != nil || fsys == nil {
		return cfg, err
	}
	cfg.BasePath = refs.base
	cfg.SpecFilePath = filepath.FromSlash(path.Join(refs.dir, path.Base(filepath.ToSlash(name))))
	cfg.LocalFS = fsys
	cfg.AllowFileReferences = true
	return cfg, nil
}

// File is the name the contract was loaded under.
func (c *Contract) File() string { return c.file }

// OpenAPIVersion is the OpenAPI or Swagger version the document declares,
// such as "3.0.3" or "2.0".
func (c *Contract) OpenAPIVersion() string { return c.version }

// APIVersion is the version of the API the document describes: its
// info.version, such as "2023-08-16" or "1.4.0".
func (c *Contract) APIVersion() string {
	if c.model.Info == nil {
		return ""
	}
	return c.model.Info.Version
}

// Converted reports whether the document was Swagger 2.0, converted to
// OpenAPI 3.0 on load. Locations still point into the original document.
func (c *Contract) Converted() bool { return c.converted }

// Title is the document's info.title.
func (c *Contract) Title() string { return c.title }

// Warnings lists what was noticed on load but does not stop the contract
// from being used, such as circular schema references.
func (c *Contract) Warnings() []Finding { return append([]Finding(nil), c.warnings...) }

// Operations lists every operation in document order.
func (c *Contract) Operations() []*Operation { return append([]*Operation(nil), c.ops...) }

// Operation returns the operation with the given ID ([Operation.ID]).
func (c *Contract) Operation(id string) (*Operation, bool) {
	op, ok := c.byID[id]
	return op, ok
}

var fastVersion = regexp.MustCompile(`(?m)^\s{0,2}["']?(openapi|swagger|asyncapi)["']?\s*:\s*["']?([0-9][^"'\s,]*)`)

// sniffFast finds the version field without parsing the document, which for
// a 4 MB contract saves a whole parse. It reports !ok when it cannot tell, or
// when the document is not OpenAPI, and [sniff] then gives the full answer.
func sniffFast(data []byte) (kind, version string, ok bool) {
	m := fastVersion.FindSubmatch(data)
	if m == nil {
		return "", "", false
	}
	kind, version = string(m[1]), string(m[2])
	switch {
	case kind == "openapi" && strings.HasPrefix(version, "3."):
		return kind, version, true
	case kind == "swagger" && version == "2.0":
		return kind, version, true
	}
	return "", "", false
}

// sniff reads just enough of the document to say what it is: "openapi" or
// "swagger" and its version, or an error naming what it is instead.
func sniff(name string, data []byte) (kind, version string, err error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return "", "", syntaxError(name, data, err)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return "", "", &Error{File: name, Line: doc.Line, Column: doc.Column, Err: ErrNotOpenAPI,
			Msg: "the document is not a mapping, so it is not OpenAPI; tether reads OpenAPI 2.0/3.x"}
	}
	fields := map[string]*yaml.Node{}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		fields[doc.Content[i].Value] = doc.Content[i+1]
	}
	switch {
	case fields["openapi"] != nil:
		v := fields["openapi"]
		if !strings.HasPrefix(v.Value, "3.") {
			return "", "", &Error{File: name, Line: v.Line, Column: v.Column, Err: ErrNotOpenAPI,
				Msg: fmt.Sprintf("this is OpenAPI %q; tether reads OpenAPI 2.0/3.x", v.Value)}
		}
		return "openapi", v.Value, nil
	case fields["swagger"] != nil:
		v := fields["swagger"]
		if v.Value != "2.0" {
			return "", "", &Error{File: name, Line: v.Line, Column: v.Column, Err: ErrNotOpenAPI,
				Msg: fmt.Sprintf("this is Swagger %q; tether reads OpenAPI 2.0/3.x", v.Value)}
		}
		return "swagger", v.Value, nil
	case fields["asyncapi"] != nil:
		v := fields["asyncapi"]
		return "", "", &Error{File: name, Line: v.Line, Column: v.Column, Err: ErrNotOpenAPI,
			Msg:  fmt.Sprintf("this is AsyncAPI %s; tether reads OpenAPI 2.0/3.x", v.Value),
			Hint: "describe the events as `webhooks` in an OpenAPI 3.1 contract, or validate them against a JSON Schema file"}
	case fields["$schema"] != nil || (fields["type"] != nil && fields["properties"] != nil):
		return "", "", &Error{File: name, Line: doc.Line, Column: doc.Column, Err: ErrNotOpenAPI,
			Msg:  "this is a JSON Schema, not an API contract; tether reads OpenAPI 2.0/3.x",
			Hint: "load it with LoadSchema to validate payloads against it"}
	}
	return "", "", &Error{File: name, Line: doc.Line, Column: doc.Column, Err: ErrNotOpenAPI,
		Msg:  "missing the `openapi` or `swagger` field, so this is not an OpenAPI document",
		Hint: "an OpenAPI 3 document starts with `openapi: 3.x.y`, a Swagger one with `swagger: \"2.0\"`"}
}

var yamlErrorPos = regexp.MustCompile(`(?:line (\d+)(?::| column (\d+)))|(?:L(\d+)\.C(\d+))|(?:\[(\d+):(\d+)\])`)

// syntaxError turns a parser error into an [Error] with the line and column
// it names. JSON is parsed again by encoding/json, whose messages say more
// about JSON than a YAML parser's do.
func syntaxError(name string, data []byte, err error) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		if jerr := jsonSyntax(name, data); jerr != nil {
			return jerr
		}
	}
	e := &Error{File: name, Msg: "invalid YAML: " + cleanYAMLMessage(err.Error()), Err: err}
	e.Line, e.Column = findPos(err.Error())
	return e
}

// jsonSyntax reports where encoding/json finds data invalid, or nil.
func jsonSyntax(name string, data []byte) error {
	var v any
	err := json.Unmarshal(data, &v)
	if err == nil {
		return nil
	}
	e := &Error{File: name, Msg: "invalid JSON: " + err.Error(), Err: err}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	offset := int64(-1)
	switch {
	case errors.As(err, &se):
		offset = se.Offset
	case errors.As(err, &te):
		offset = te.Offset
	}
	if offset >= 0 {
		e.Line, e.Column = lineCol(data, int(offset))
	}
	return e
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(data []byte, offset int) (line, col int) {
	offset = min(max(offset, 0), len(data))
	line = 1 + bytes.Count(data[:offset], []byte("\n"))
	col = offset - bytes.LastIndexByte(data[:offset], '\n')
	return line, col
}

func findPos(msg string) (line, col int) {
	m := yamlErrorPos.FindStringSubmatch(msg)
	if m == nil {
		return 0, 0
	}
	for _, pair := range [][2]int{{1, 2}, {3, 4}, {5, 6}} {
		if m[pair[0]] != "" {
			line, _ = strconv.Atoi(m[pair[0]])
			col, _ = strconv.Atoi(m[pair[1]])
			return line, col
		}
	}
	return 0, 0
}

func cleanYAMLMessage(msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if i := strings.Index(msg, "go-yaml load error"); i >= 0 {
		msg = msg[i+len("go-yaml load error"):]
	}
	return strings.TrimSpace(msg)
}

// documentError explains a failure of libopenapi to read a document that
// already passed the syntax check.
func documentError(name string, err error) error {
	msg := err.Error()
	e := &Error{File: name, Msg: "cannot read the document: " + cleanYAMLMessage(msg), Err: err}
	e.Line, e.Column = findPos(msg)
	return e
}

// buildError is for a model that could not be built at all.
func (c *Contract) buildError(err error) error {
	if err == nil {
		err = errors.New("unknown failure")
	}
	return &Error{File: c.file, Msg: "cannot build the OpenAPI model: " + err.Error(), Err: err}
}

// classifyBuildErrors sorts libopenapi's build errors: circular references
// become warnings, anything else (broken $refs above all) fails the load,
// each error naming its line and the reference as written.
func (c *Contract) classifyBuildErrors(err error, src []byte) error {
	var fatal Errors
	seenLine := map[int]bool{}
	for _, e := range flatten(err) {
		var resolving *index.ResolvingError
		var indexing *index.IndexingError
		var line, col int
		msg := e.Error()
		switch {
		case errors.As(e, &resolving) && resolving.CircularReference != nil:
			p := newFinding(RuleCircularReference, circularDetail(resolving.CircularReference))
			p.File = c.file
			if n := resolving.Node; n != nil {
				p.Line, p.Column = c.position(n.Line, n.Column)
			}
			c.warnings = append(c.warnings, p)
			continue
		case isCircular(e):
			p := newFinding(RuleCircularReference, e.Error())
			p.File = c.file
			c.warnings = append(c.warnings, p)
			continue
		case errors.As(e, &resolving):
			msg = firstLine(resolving.ErrorRef)
			if n := resolving.Node; n != nil {
				line, col = n.Line, n.Column
			}
		case errors.As(e, &indexing):
			msg = indexing.Err.Error()
			if n := indexing.Node; n != nil {
				line, col = n.Line, n.Column
			}
		default:
			line, col = findPos(msg)
		}
		if line > 0 && seenLine[line] {
			continue // one error a line: libopenapi reports a broken ref several times
		}
		seenLine[line] = true
		fe := &Error{File: c.file, Msg: msg, Err: e}
		if ref := refOnLine(src, line); ref != "" {
			fe.Msg, fe.Hint = c.explainRef(ref)
		}
		fe.Line, fe.Column = c.position(line, col)
		fatal = append(fatal, fe)
	}
	if len(fatal) == 0 {
		return nil
	}
	fatal = dedupe(fatal)
	sort.SliceStable(fatal, func(i, j int) bool { return fatal[i].Line < fatal[j].Line })
	return fatal
}

var refValue = regexp.MustCompile(`\$ref["']?\s*:\s*["']?([^"'\s,}]+)`)

// refOnLine returns the $ref written on a line of src, if any.
func refOnLine(src []byte, line int) string {
	if line <= 0 {
		return ""
	}
	for i := 1; i < line; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return ""
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	if m := refValue.FindSubmatch(src); m != nil {
		return string(m[1])
	}
	return ""
}

// explainRef says why a reference could not be resolved.
func (c *Contract) explainRef(ref string) (msg, hint string) {
	file, pointer, _ := strings.Cut(ref, "#")
	switch {
	case file == "":
		return fmt.Sprintf("broken $ref %q: #%s does not exist in the document", ref, pointer), ""
	case strings.HasPrefix(file, "http://") || strings.HasPrefix(file, "https://"):
		return fmt.Sprintf("broken $ref %q: the remote document could not be read", ref), ""
	case c.refs == nil:
		return fmt.Sprintf("broken $ref %q: relative-file references need the contract's folder", ref),
			"use Load, or Parse with RefsRelativeTo"
	}
	rel, _ := c.refs.path("", file)
	if _, ok := c.refs.read(rel); !ok {
		return fmt.Sprintf("broken $ref %q: cannot read %s", ref, c.refs.display(rel)), ""
	}
	return fmt.Sprintf("broken $ref %q: #%s does not exist in %s", ref, pointer, c.refs.display(rel)), ""
}

func circularDetail(r *index.CircularReferenceResult) string {
	var names []string
	for _, ref := range r.Journey {
		if ref != nil {
			names = append(names, ref.Name)
		}
	}
	if r.LoopPoint != nil {
		names = append(names, r.LoopPoint.Name)
	}
	kind := "loop"
	if r.IsInfiniteLoop {
		kind = "loop through required properties (no finite instance exists)"
	}
	return kind + ": " + strings.Join(names, " -> ")
}

func isCircular(err error) bool {
	return strings.Contains(err.Error(), "circular reference")
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range u.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func dedupe(es Errors) Errors {
	seen := map[string]bool{}
	var out Errors
	for _, e := range es {
		if k := e.Error(); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

var remoteRef = regexp.MustCompile(`["']?\$ref["']?\s*:\s*["']?(https?://[^"'\s,}]+)`)

// checkRemoteRefs refuses a document that names a remote $ref while remote
// references are off, pointing at the first one. libopenapi would silently
// leave such a reference unresolved.
//
// A "$ref" member inside an example's value is data, not a reference:
// GitHub's SCIM examples carry "$ref": "https://api.github.com/scim/v2/..."
// as the vendor answers it. The quick scan finds candidates; only when it
// does is the document walked to tell references from data.
func checkRemoteRefs(name string, data []byte, o options) error {
	if o.remoteRefs {
		return nil
	}
	loc := remoteRef.FindSubmatchIndex(data)
	if loc == nil {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// Not readable as YAML or JSON: the parser says why, later; the
		// scan's first candidate is the best place to point at.
		line, col := lineCol(data, loc[0])
		return remoteRefError(name, line, col, string(data[loc[2]:loc[3]]))
	}
	if n := findRemoteRef(&doc, "", 0); n != nil {
		return remoteRefError(name, n.Line, n.Column, n.Value)
	}
	return nil
}

func remoteRefError(name string, line, col int, ref string) error {
	return &Error{File: name, Line: line, Column: col, Err: ErrRemoteRef,
		Msg:  fmt.Sprintf("remote $ref %s is not allowed", ref),
		Hint: "remote references are off so that loading never touches the network; allow them with AllowRemoteRefs or --remote-refs"}
}

// literalKeys hold values that are data whatever they contain, and that
// the parser leaves alone too (it does follow a "$ref" inside a default
// or an extension, so those are references here as well).
var literalKeys = map[string]bool{"example": true}

// nameMaps are the keys whose mappings are keyed by names the author
// chose, where a member called "example" is a schema, a parameter or a
// media type, not a value.
var nameMaps = map[string]bool{
	"properties": true, "patternProperties": true, "definitions": true, "$defs": true,
	"schemas": true, "parameters": true, "responses": true, "requestBodies": true,
	"headers": true, "securitySchemes": true, "links": true, "callbacks": true,
	"pathItems": true, "paths": true, "webhooks": true, "content": true,
	"encoding": true, "variables": true, "mapping": true,
}

// findRemoteRef is the value node of the first $ref to a remote document
// outside literal values, or nil. parent is the key n is the value of.
func findRemoteRef(n *yaml.Node, parent string, depth int) *yaml.Node {
	if n == nil || depth > maxRefDepth {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if r := findRemoteRef(c, "", depth+1); r != nil {
				return r
			}
		}
	case yaml.MappingNode:
		named := nameMaps[parent]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch {
			case named:
			case k.Value == "$ref":
				if v.Kind == yaml.ScalarNode && (strings.HasPrefix(v.Value, "http://") || strings.HasPrefix(v.Value, "https://")) {
					return v
				}
				continue
			case literalKeys[k.Value]:
				continue
			case k.Value == "examples" && v.Kind == yaml.MappingNode:
				// Example objects by name: each may be a reference, and
				// its value is data.
				for j := 1; j < len(v.Content); j += 2 {
					if r := exampleRef(v.Content[j]); r != nil {
						return r
					}
				}
				continue
			case k.Value == "examples" || k.Value == "value":
				continue
			}
			if r := findRemoteRef(v, k.Value, depth+1); r != nil {
				return r
			}
		}
	}
	return nil
}

// exampleRef is the remote $ref of an Example object, or nil.
func exampleRef(ex *yaml.Node) *yaml.Node {
	if ex.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(ex.Content); i += 2 {
		if k, v := ex.Content[i], ex.Content[i+1]; k.Value == "$ref" && v.Kind == yaml.ScalarNode &&
			(strings.HasPrefix(v.Value, "http://") || strings.HasPrefix(v.Value, "https://")) {
			return v
		}
	}
	return nil
}

// maxRefDepth bounds the walk of a hostile, deeply nested document.
const maxRefDepth = 512

// Registry parses each contract file once and hands the same [Contract] to
// every caller, however many goroutines ask at once. The zero value is not
// usable; call [NewRegistry].
type Registry struct {
	opts []Option
	mu   sync.Mutex
	m    map[string]*registryEntry
}

type registryEntry struct {
	once sync.Once
	c    *Contract
	err  error
}

// NewRegistry returns an empty registry that loads contracts with opts.
func NewRegistry(opts ...Option) *Registry {
	return &Registry{opts: opts, m: map[string]*registryEntry{}}
}

// Load returns the contract in path, parsing it on the first call only.
// Paths are compared after filepath.Abs and filepath.Clean.
func (r *Registry) Load(path string) (*Contract, error) {
	key, err := filepath.Abs(path)
	if err != nil {
		key = filepath.Clean(path)
	}
	r.mu.Lock()
	e, ok := r.m[key]
	if !ok {
		e = &registryEntry{}
		r.m[key] = e
	}
	r.mu.Unlock()
	e.once.Do(func() { e.c, e.err = Load(path, r.opts...) })
	return e.c, e.err
}

// lazySchemaCache is the validator's schema cache. It stores compiled
// schemas on first use; while constructing is set it reports every schema
// as present, which stops the validator's constructor from compiling the
// whole document.
type lazySchemaCache struct {
	constructing atomic.Bool
	m            sync.Map
}

func (c *lazySchemaCache) Load(key uint64) (*cache.SchemaCacheEntry, bool) {
	if c.constructing.Load() {
		return nil, true
	}
	v, ok := c.m.Load(key)
	if !ok {
		return nil, false
	}
	return v.(*cache.SchemaCacheEntry), true
}

func (c *lazySchemaCache) Store(key uint64, value *cache.SchemaCacheEntry) {
	c.m.Store(key, value)
}

func (c *lazySchemaCache) Range(f func(key uint64, value *cache.SchemaCacheEntry) bool) {
	c.m.Range(func(k, v any) bool { return f(k.(uint64), v.(*cache.SchemaCacheEntry)) })
}
