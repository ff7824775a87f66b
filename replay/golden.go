package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/tetherkit/tether/internal/atomicfile"
	"github.com/tetherkit/tether/internal/jsonpath"
	"github.com/tetherkit/tether/internal/mapkeys"
)

// goldenAbsent stands for a value one side of a [Difference] does not
// have: a header, a query parameter, a JSON field or a body.
const goldenAbsent = "(absent)"

// goldenNone stands for a call one side of a [Difference] does not have.
const goldenNone = "(none)"

// Difference is one way a captured call differs from its golden call, as
// [Compare] reports it. It is plain data, so that tools can render it as
// they like; [Difference.String] is the rendering a person sees in a
// test failure.
type Difference struct {
	// Call is the 1-based position of the call in the golden file (or, for
	// an extra call, among the captured calls).
	Call int
	// Method and Path name the call: the golden call's, or the captured
	// call's when the golden file has no call at that position.
	Method, Path string
	// Field says what differs: "call" (a call missing or extra), "method",
	// "url.scheme", "url.host", "url.path", "query.<name>",
	// "header.<Name>" or "body" followed by a JSON path such as
	// "body $.items[0].amount". A body that is not JSON is compared as
	// text under "body".
	Field string
	// Want and Got are the golden and captured values, rendered as text:
	// JSON values as compact JSON, a body that is not JSON quoted, header
	// and query values as sent (several joined), "(absent)" for a value
	// one side lacks and "(none)" for a call one side lacks.
	Want, Got string
}

// String renders d on one line, as
// "call 2: POST /v1/messages: body $.amount: want 100, got 120".
func (d Difference) String() string {
	return fmt.Sprintf("call %d: %s %s: %s: want %s, got %s", d.Call, d.Method, d.Path, d.Field, d.Want, d.Got)
}

// Compare compares captured calls (got) with golden calls (want) as data and
// returns every difference, in call order; none means they are equal.
//
// Calls are paired by position. Within a call, bodies that are JSON are
// compared as JSON: key order and spacing do not matter, and numbers are
// compared by value, so 1, 1.0 and 1e0 are equal. Query parameters are
// compared by name, in any order. Only the headers the golden call lists are
// compared: a golden file names the headers that matter.
//
// Compare panics if [IgnoreField] was given a JSON path it cannot parse, as
// that is a mistake in the calling code rather than in the calls.
func Compare(want, got []Call, opts ...CompareOption) []Difference {
	c, err := newGoldenComparer(opts)
	if err != nil {
		panic(err)
	}
	return c.calls(want, got)
}

// goldenComparer holds the parsed options of one comparison.
type goldenComparer struct {
	ignoreHeaders []string
	ignoreQuery   []string
	ignoreFields  []goldenPattern
}

func newGoldenComparer(opts []CompareOption) (*goldenComparer, error) {
	cfg, err := configure("compare", opts, CompareOption.applyCompare)
	if err != nil {
		return nil, err
	}
	c := &goldenComparer{ignoreHeaders: cfg.ignoreHeaders, ignoreQuery: cfg.ignoreQuery}
	for _, p := range cfg.ignoreFields {
		jp, err := parseGoldenPattern(p)
		if err != nil {
			return nil, fmt.Errorf("compare: IgnoreField(%q): %w", p, err)
		}
		c.ignoreFields = append(c.ignoreFields, jp)
	}
	return c, nil
}

func (c *goldenComparer) calls(want, got []Call) []Difference {
	var diffs []Difference
	for i := range max(len(want), len(got)) {
		switch {
		case i >= len(got):
			w := want[i]
			diffs = append(diffs, Difference{Call: i + 1, Method: w.Method, Path: goldenURLPath(w.URL),
				Field: "call", Want: w.Method + " " + w.URL, Got: goldenNone})
		case i >= len(want):
			g := got[i]
			diffs = append(diffs, Difference{Call: i + 1, Method: g.Method, Path: goldenURLPath(g.URL),
				Field: "call", Want: goldenNone, Got: g.Method + " " + g.URL})
		default:
			diffs = append(diffs, c.call(i+1, want[i], got[i])...)
		}
	}
	return diffs
}

// call compares one pair of calls; n is their 1-based position.
func (c *goldenComparer) call(n int, want, got Call) []Difference {
	var diffs []Difference
	add := func(field, w, g string) {
		diffs = append(diffs, Difference{Call: n, Method: want.Method, Path: goldenURLPath(want.URL), Field: field, Want: w, Got: g})
	}
	if want.Method != got.Method {
		add("method", want.Method, got.Method)
	}
	c.url(want.URL, got.URL, add)
	c.headers(want.Headers, got.Headers, add)
	c.body(want.Body, got.Body, add)
	return diffs
}

func (c *goldenComparer) url(want, got string, add func(field, w, g string)) {
	wu, werr := url.Parse(want)
	gu, gerr := url.Parse(got)
	if werr != nil || gerr != nil {
		if want != got {
			add("url", want, got)
		}
		return
	}
	if wu.Scheme != gu.Scheme {
		add("url.scheme", wu.Scheme, gu.Scheme)
	}
	if !strings.EqualFold(wu.Host, gu.Host) {
		add("url.host", wu.Host, gu.Host)
	}
	if wu.EscapedPath() != gu.EscapedPath() {
		add("url.path", wu.EscapedPath(), gu.EscapedPath())
	}
	wq, werr := url.ParseQuery(wu.RawQuery)
	gq, gerr := url.ParseQuery(gu.RawQuery)
	if werr != nil || gerr != nil {
		if wu.RawQuery != gu.RawQuery {
			add("query", wu.RawQuery, gu.RawQuery)
		}
		return
	}
	for _, name := range mapkeys.SortedUnion(wq, gq) {
		if slices.Contains(c.ignoreQuery, name) {
			continue
		}
		w, wok := wq[name]
		g, gok := gq[name]
		if wok == gok && slices.Equal(w, g) {
			continue
		}
		add("query."+name, goldenList(w, wok, ","), goldenList(g, gok, ","))
	}
}

func (c *goldenComparer) headers(want, got http.Header, add func(field, w, g string)) {
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, http.CanonicalHeaderKey(name))
	}
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		if slices.Contains(c.ignoreHeaders, name) {
			continue
		}
		w, wok := goldenHeader(want, name)
		g, gok := goldenHeader(got, name)
		if wok == gok && slices.Equal(w, g) {
			continue
		}
		add("header."+name, goldenList(w, wok, ", "), goldenList(g, gok, ", "))
	}
}

// goldenHeader looks name up in h whether or not h's keys are canonical, as
// golden files are written by people too.
func goldenHeader(h http.Header, name string) ([]string, bool) {
	var vals []string
	found := false
	for k, v := range h {
		if http.CanonicalHeaderKey(k) == name {
			vals = append(vals, v...)
			found = true
		}
	}
	return vals, found
}

func goldenList(vals []string, ok bool, sep string) string {
	if !ok {
		return goldenAbsent
	}
	s := strings.Join(vals, sep)
	if s == "" {
		return `""`
	}
	return s
}

func (c *goldenComparer) body(want, got string, add func(field, w, g string)) {
	wv, werr := goldenDecode(want)
	gv, gerr := goldenDecode(got)
	if werr != nil || gerr != nil {
		// One side at least is not JSON (or is empty), so there is no
		// structure to walk: compare the text.
		if want != got {
			add("body", goldenText(want), goldenText(got))
		}
		return
	}
	r := &goldenReporter{}
	cmp.Equal(wv, gv,
		cmp.Comparer(goldenNumbersEqual),
		cmp.FilterPath(c.ignoredField, cmp.Ignore()),
		cmp.Reporter(r))
	for _, d := range r.diffs {
		add("body "+d.path, d.want, d.got)
	}
}

func goldenText(s string) string {
	if s == "" {
		return goldenAbsent
	}
	return strconv.Quote(s)
}

// goldenDecode decodes s, which must hold exactly one JSON value, keeping
// numbers as written so that none is rounded before comparing.
func goldenDecode(s string) (any, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty")
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// goldenNumbersEqual compares JSON numbers by value, exactly: 1, 1.0 and 1e0 are
// equal, and large integers are not rounded as float64 would round them.
func goldenNumbersEqual(a, b json.Number) bool {
	x, xok := new(big.Rat).SetString(string(a))
	y, yok := new(big.Rat).SetString(string(b))
	if !xok || !yok {
		return a == b
	}
	return x.Cmp(y) == 0
}

func (c *goldenComparer) ignoredField(p cmp.Path) bool {
	if len(c.ignoreFields) == 0 {
		return false
	}
	segs := goldenSteps(p)
	for _, ig := range c.ignoreFields {
		if ig.matches(segs) {
			return true
		}
	}
	return false
}

// goldenStep is one step into a decoded JSON value: a key of an object, or an
// index of an array when isIndex is set.
type goldenStep struct {
	key     string
	index   int
	isIndex bool
}

// goldenSteps turns a go-cmp path into JSON steps. Where go-cmp aligned two
// arrays of different lengths, an element only the captured call has is
// named by its index there.
func goldenSteps(p cmp.Path) []goldenStep {
	var segs []goldenStep
	for _, step := range p {
		switch s := step.(type) {
		case cmp.MapIndex:
			segs = append(segs, goldenStep{key: s.Key().String()})
		case cmp.SliceIndex:
			ix, iy := s.SplitKeys()
			if ix < 0 {
				ix = iy
			}
			segs = append(segs, goldenStep{index: ix, isIndex: true})
		}
	}
	return segs
}

func goldenPathString(segs []goldenStep) string {
	var b strings.Builder
	b.WriteString("$")
	for _, s := range segs {
		if s.isIndex {
			b.WriteString(jsonpath.Index(s.index))
		} else {
			b.WriteString(jsonpath.Key(s.key))
		}
	}
	return b.String()
}

// goldenBodyDiff is one difference go-cmp found between two JSON bodies.
type goldenBodyDiff struct{ path, want, got string }

// goldenReporter collects go-cmp's findings as paths and rendered values, so
// that what a person sees is our rendering and not go-cmp's, whose text is
// deliberately unstable.
type goldenReporter struct {
	path  cmp.Path
	diffs []goldenBodyDiff
}

func (r *goldenReporter) PushStep(ps cmp.PathStep) { r.path = append(r.path, ps) }
func (r *goldenReporter) PopStep()                 { r.path = r.path[:len(r.path)-1] }

func (r *goldenReporter) Report(res cmp.Result) {
	if res.Equal() {
		return
	}
	vx, vy := r.path.Last().Values()
	d := goldenBodyDiff{path: goldenPathString(goldenSteps(r.path)), want: goldenValue(vx), got: goldenValue(vy)}
	// go-cmp may align arrays as one element removed and another inserted
	// at the same place; a person reads that as one changed value.
	if n := len(r.diffs); n > 0 {
		prev := &r.diffs[n-1]
		if prev.path == d.path && prev.got == goldenAbsent && d.want == goldenAbsent {
			prev.got = d.got
			return
		}
		if prev.path == d.path && prev.want == goldenAbsent && d.got == goldenAbsent {
			prev.want = d.want
			return
		}
	}
	r.diffs = append(r.diffs, d)
}

func goldenValue(v reflect.Value) string {
	if !v.IsValid() {
		return goldenAbsent
	}
	b, err := goldenJSON(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return string(b)
}

func goldenJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// goldenPattern is a parsed [IgnoreField] path. A wildcard segment matches any
// key or any index, as its form says.
type goldenPattern []goldenPatternStep

type goldenPatternStep struct {
	goldenStep
	wildcard bool
}

func (jp goldenPattern) matches(segs []goldenStep) bool {
	if len(jp) != len(segs) {
		return false
	}
	for i, p := range jp {
		s := segs[i]
		switch {
		case p.wildcard:
			// Any key or any index, as in the transport.
		case p.isIndex != s.isIndex:
			return false
		case p.isIndex && p.index != s.index, !p.isIndex && p.key != s.key:
			return false
		}
	}
	return true
}

// parseGoldenPattern reads an [IgnoreField] path with the parser the
// transport uses, so that one rule means the same in matching and in
// comparison.
func parseGoldenPattern(s string) (goldenPattern, error) {
	steps, err := parseFieldPath(s)
	if err != nil {
		return nil, err
	}
	jp := make(goldenPattern, len(steps))
	for i, st := range steps {
		switch {
		case st.Any:
			jp[i] = goldenPatternStep{wildcard: true}
		case st.Index >= 0:
			jp[i] = goldenPatternStep{goldenStep: goldenStep{index: st.Index, isIndex: true}}
		default:
			jp[i] = goldenPatternStep{goldenStep: goldenStep{key: st.Key}}
		}
	}
	return jp, nil
}

func goldenURLPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.EscapedPath() == "" {
		return raw
	}
	return u.EscapedPath()
}

// goldenCall is a [Call] as a golden file holds it: a body that is a JSON
// object or array is embedded as JSON, so that a person diffing golden files
// reads it as JSON; any other body is a JSON string.
type goldenCall struct {
	Method  string          `json:"method"`
	URL     string          `json:"url"`
	Headers http.Header     `json:"headers,omitempty"`
	Body    json.RawMessage `json:"body,omitempty"`
}

// LoadGolden reads the golden calls in the file at path, as [WriteGolden]
// writes them. An error in the file names it with line and column, as
// "load golden testdata/golden/x.json:4:7: ...".
func LoadGolden(path string) ([]Call, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load golden: %w", err)
	}
	return ParseGolden(path, data)
}

// ParseGolden reads the golden calls held in data, as [LoadGolden] reads a
// file; name is used in errors.
func ParseGolden(name string, data []byte) ([]Call, error) {
	calls, err := parseGolden(data)
	if err != nil {
		return nil, fmt.Errorf("load golden %s%w", name, err)
	}
	return calls, nil
}

// parseGolden parses a golden file; its errors start with ":line:col: " where
// the position is known and with ": " otherwise.
func parseGolden(data []byte) ([]Call, error) {
	var gcs []goldenCall
	if err := json.Unmarshal(data, &gcs); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, goldenLocate(data, syn.Offset, err)
		case errors.As(err, &typ):
			// The decoder's own message names our unexported type.
			msg := fmt.Errorf("%s is a JSON %s, want a %s", typ.Field, typ.Value, typ.Type)
			if typ.Field == "" {
				msg = fmt.Errorf("file holds a JSON %s, want an array of calls", typ.Value)
			}
			return nil, goldenLocate(data, typ.Offset, msg)
		}
		return nil, fmt.Errorf(": %w", err)
	}
	calls := make([]Call, len(gcs))
	for i, gc := range gcs {
		calls[i] = Call{Method: gc.Method, URL: gc.URL, Headers: gc.Headers}
		body := bytes.TrimSpace(gc.Body)
		switch {
		case len(body) == 0:
		case body[0] == '"':
			if err := json.Unmarshal(body, &calls[i].Body); err != nil {
				return nil, fmt.Errorf(": call %d: body: %w", i+1, err)
			}
		default:
			var buf bytes.Buffer
			if err := json.Compact(&buf, body); err != nil {
				return nil, fmt.Errorf(": call %d: body: %w", i+1, err)
			}
			calls[i].Body = buf.String()
		}
	}
	return calls, nil
}

// goldenLocate renders the byte offset at which the decoder stopped as
// ":line:column: " before err.
func goldenLocate(data []byte, offset int64, err error) error {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	return fmt.Errorf(":%d:%d: %w", line, max(col, 1), err)
}

// WriteGolden writes calls to the file at path, replacing it atomically: a
// reader sees the old file or the new one, never a part.
//
// The output is deterministic, indented JSON, so that golden files diff
// well: an array of calls, each with method, url, headers (names sorted) and
// body. A body that is a JSON object or array is embedded as JSON with its
// keys in the order given and its numbers as spelled; any other body is a
// JSON string. [LoadGolden] reads the file back.
func WriteGolden(path string, calls []Call) error {
	data, err := formatGolden(calls)
	if err != nil {
		return fmt.Errorf("write golden %s: %w", path, err)
	}
	if err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return fmt.Errorf("write golden: %w", err)
	}
	return nil
}

func formatGolden(calls []Call) ([]byte, error) {
	gcs := make([]goldenCall, len(calls))
	for i, c := range calls {
		gcs[i] = goldenCall{Method: c.Method, URL: c.URL, Headers: c.Headers}
		if trimmed := strings.TrimSpace(c.Body); trimmed != "" && (trimmed[0] == '{' || trimmed[0] == '[') && json.Valid([]byte(trimmed)) {
			gcs[i].Body = json.RawMessage(trimmed)
		} else if c.Body != "" {
			b, err := goldenJSON(c.Body)
			if err != nil {
				return nil, err
			}
			gcs[i].Body = b
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(gcs); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UpdateGolden makes the golden file at path hold got, as a test run with
// -update or a CLI run with --update does, and reports whether it changed
// the file.
//
// It rewrites the file only if [Compare] with opts finds a difference
// between the file and got; otherwise it leaves the file untouched, so a new
// timestamp or generated ID that opts ignore does not churn golden files.
// When it rewrites a call the file already held, it keeps only the headers
// the file listed for that call, since those are the ones that matter; a
// new call keeps all its headers. A missing file, or one that cannot be
// read as a golden file, is written afresh.
//
// A JSON path that does not parse is an error.
func UpdateGolden(path string, got []Call, opts ...CompareOption) (changed bool, err error) {
	c, err := newGoldenComparer(opts)
	if err != nil {
		return false, err
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("update golden: %w", err)
	}
	var want []Call
	if err == nil {
		var perr error
		want, perr = parseGolden(data)
		if perr == nil && len(c.calls(want, got)) == 0 {
			return false, nil
		}
	}
	next := make([]Call, len(got))
	for i, g := range got {
		next[i] = g
		if i < len(want) {
			next[i].Headers = goldenListedHeaders(want[i].Headers, g.Headers)
		}
	}
	if err := WriteGolden(path, next); err != nil {
		return false, fmt.Errorf("update golden: %w", err)
	}
	return true, nil
}

// goldenListedHeaders returns the headers of got that listed names.
func goldenListedHeaders(listed, got http.Header) http.Header {
	var h http.Header
	for name := range listed {
		name = http.CanonicalHeaderKey(name)
		if vals, ok := goldenHeader(got, name); ok {
			if h == nil {
				h = http.Header{}
			}
			h[name] = vals
		}
	}
	return h
}
