package contracts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// LintReport is what [Lint] found in a contract that loads.
type LintReport struct {
	Version    string    // the OpenAPI or Swagger version the document declares, "3.0.3" or "2.0"
	Converted  bool      // Swagger 2.0, converted to OpenAPI 3.0 to be checked
	Operations int       // how many operations it declares
	Warnings   []Finding // as [Contract.Warnings] lists them

	segments int // how many parts it was checked in; 1 when whole
}

const (
	// lintSegmentAbove is the size over which Lint checks a contract in
	// segments rather than whole.
	lintSegmentAbove = 16 << 20
	// lintSegmentBytes is how much of the path items a segment holds, at
	// least: a segment costs about a hundred times its size.
	lintSegmentBytes = 512 << 10
)

// Lint checks the contract in path as [Load] does, and reports what it
// found: the error that makes it unusable (an [Error] or [Errors]), or the
// warnings of a contract that loads.
//
// A contract over 16 MiB is not loaded whole, which takes a hundred times
// the file's size: Lint finds where its path items lie without building a
// tree, and loads them a run at a time (about 512 KiB each), every run with
// the rest of the document (info, servers, components...), mapping every
// location back to the file. Repeated operationIds and clashing path
// templates are checked across all the runs. Memory is then the file,
// about 100 bytes per operation, and a hundred times a segment: 696 MB
// for a 200 MB contract of 635,627 operations. A segment holds at least as
// much of the path items as of the rest, so large components cost about
// two hundred times their size. A file whose path items cannot be told apart safely
// (`paths` in flow style, YAML anchors among the path items, several
// documents in one file) is loaded whole.
func Lint(path string, opts ...Option) (*LintReport, error) {
	all := append([]Option{RefsRelativeTo(filepath.Dir(path))}, opts...)
	o := options{maxSize: DefaultMaxSize, segmentAbove: lintSegmentAbove, segmentBytes: lintSegmentBytes}
	for _, opt := range all {
		opt(&o)
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() <= o.segmentAbove || len(o.overlays) > 0 {
		c, err := Load(path, opts...)
		if err != nil {
			return nil, err
		}
		return c.lintReport(), nil
	}
	o.step("reading")
	data, err := readLimited(path, o.maxSize)
	if err != nil {
		return nil, err
	}
	o.step("finding the path items")
	l, err := scanLayout(data)
	if err != nil || len(l.items) < 2 {
		c, err := parseSafely(path, data, o)
		if err != nil {
			return nil, err
		}
		return c.lintReport(), nil
	}
	return lintSegments(path, data, l, o)
}

func (c *Contract) lintReport() *LintReport {
	return &LintReport{Version: c.version, Converted: c.converted, Operations: len(c.ops), Warnings: c.Warnings(), segments: 1}
}

// lintSegments loads the contract a run of path items at a time.
func lintSegments(name string, data []byte, l layout, o options) (*LintReport, error) {
	if err := checkRemoteRefs(name, data, o); err != nil {
		return nil, err
	}
	step := o.step
	o.progress, o.lintOnly = nil, true
	// A segment costs its path items and the common part: with at least
	// as much of the one as of the other, a large common part is not
	// loaded once per handful of items.
	budget := max(int(o.segmentBytes), l.itemsStart()+len(data)-l.itemsEnd())
	if o.segmentBytes < 0 {
		budget = int(-o.segmentBytes) // a test's exact size
	}
	tail := piece{}
	tail.fileLine, tail.fileCol = lineCol(data, l.itemsEnd())
	cur := newCursor(data)
	checks := newOpChecks(name)
	rep := &LintReport{}
	var fatal Errors
	fatalLines := map[int]bool{}
	var warnings []Finding
	var sorted []pendingOp      // the operations of Swagger 2.0, checked at the end
	common := map[string]bool{} // findings in the common part, met in every segment
	loops := map[string]int{}   // circular references, by message -> index in warnings
	loopInItems := map[string]bool{}
	shown := -1
	for from := 0; from < len(l.items); {
		to := from + 1
		for to < len(l.items) && l.items[to].end-l.items[from].start <= budget {
			to++
		}
		if pct := 10 * from / len(l.items); pct != shown {
			step(fmt.Sprintf("checking the path items in segments (%d%%)", pct*10))
			shown = pct
		}
		first := piece{}
		first.fileLine, first.fileCol = cur.at(l.items[from].start)
		doc := l.build(data, from, to, first, tail)
		rep.segments++
		c, err := parseSafely(name, doc.data, o)
		if err != nil {
			var many Errors
			if !errors.As(err, &many) {
				return nil, doc.mapError(err)
			}
			for _, e := range many {
				e := doc.mapError(e).(*Error)
				if e.Line > 0 && fatalLines[e.Line] {
					continue // one error a line, as a whole load reports them
				}
				fatalLines[e.Line] = true
				fatal = append(fatal, e)
			}
			from = to
			continue
		}
		if got := c.pathItems(); got != to-from {
			return nil, &Error{File: name, Line: first.fileLine, Column: first.fileCol,
				Msg:  fmt.Sprintf("cannot check the contract in segments: path items %d to %d hold %d, not %d", from+1, to, got, to-from),
				Hint: "please report it with the document attached"}
		}
		if from == 0 {
			rep.Version, rep.Converted = c.version, c.converted
		}
		for _, w := range c.warnings {
			if w.ID == RuleOperationIDRepeated || w.ID == RulePathsClash {
				continue // checked across the segments below
			}
			inItems := doc.inItems(w.Line, w.Column)
			w.Line, w.Column = doc.position(w.Line, w.Column)
			w.Message = doc.message(w.Message)
			if w.ID == RuleCircularReference {
				// A loop is reported once, where it is first met: at its first
				// use among the path items, or in the components when none uses it.
				if i, ok := loops[w.Message]; ok {
					if inItems && !loopInItems[w.Message] {
						warnings[i].Position = w.Position
						loopInItems[w.Message] = true
					}
					continue
				}
				loops[w.Message], loopInItems[w.Message] = len(warnings), inItems
			} else if !inItems {
				key := w.String()
				if common[key] {
					continue
				}
				common[key] = true
			}
			warnings = append(warnings, w)
		}
		for _, op := range c.ops {
			m := pendingOp{id: op.op.OperationId, method: op.Method, path: op.Path}
			m.line, m.col = doc.position(op.Line, op.Column)
			if c.converted {
				sorted = append(sorted, m)
			} else {
				checks.add(m.id, m.method, m.path, m.line, m.col)
			}
			rep.Operations++
		}
		from = to
	}
	if len(fatal) > 0 {
		fatal = dedupe(fatal)
		sort.SliceStable(fatal, func(i, j int) bool { return fatal[i].Line < fatal[j].Line })
		return nil, fatal
	}
	// Converting Swagger 2.0 orders the paths by name: the checks meet
	// them in that order when the contract is loaded whole.
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].path < sorted[j].path })
	for _, m := range sorted {
		checks.add(m.id, m.method, m.path, m.line, m.col)
	}
	rep.Warnings = append(warnings, checks.findings()...)
	return rep, nil
}

// pendingOp is an operation of a converted contract, waiting for the
// order in which the checks meet it when the contract is loaded whole.
type pendingOp struct {
	id, method, path string
	line, col        int
}

// pathItems counts the members of the document's `paths`.
func (c *Contract) pathItems() int {
	n := 0
	if c.model.Paths != nil {
		if c.model.Paths.PathItems != nil {
			n += c.model.Paths.PathItems.Len()
		}
		if c.model.Paths.Extensions != nil {
			n += c.model.Paths.Extensions.Len()
		}
	}
	return n
}

// inItems reports whether line:col of the segment document lies among its
// path items rather than in the common part.
func (d *segmentDoc) inItems(line, col int) bool {
	after := func(p piece) bool { return line > p.line || line == p.line && col >= p.col }
	return line > 0 && after(d.pieces[1]) && !after(d.pieces[2])
}

// mapError places an error of the segment document in the file.
func (d *segmentDoc) mapError(err error) error {
	var many Errors
	if errors.As(err, &many) {
		out := make(Errors, len(many))
		for i, e := range many {
			out[i] = d.mapError(e).(*Error)
		}
		return out
	}
	var one *Error
	if !errors.As(err, &one) {
		return err
	}
	e := *one
	e.Line, e.Column = d.position(e.Line, e.Column)
	e.Msg = d.message(e.Msg)
	if e.Err != nil {
		if msg := d.message(e.Err.Error()); msg != e.Err.Error() {
			e.Err = &placedError{msg: msg, err: e.Err}
		}
	}
	return &e
}

// placedError is an error whose message names lines of a segment
// document, with the file's lines in their place.
type placedError struct {
	msg string
	err error
}

func (e *placedError) Error() string { return e.msg }
func (e *placedError) Unwrap() error { return e.err }

// message rewrites the lines and columns a parser's message names, which
// are the segment document's, as the file's.
func (d *segmentDoc) message(msg string) string {
	locs := yamlErrorPos.FindAllStringSubmatchIndex(msg, -1)
	if locs == nil {
		return msg
	}
	var out []byte
	last := 0
	for _, loc := range locs {
		for _, pair := range [][2]int{{2, 4}, {6, 8}, {10, 12}} {
			ls, le, cs, ce := loc[pair[0]], loc[pair[0]+1], loc[pair[1]], loc[pair[1]+1]
			if ls < 0 {
				continue
			}
			line, _ := strconv.Atoi(msg[ls:le])
			col := 1
			if cs >= 0 {
				col, _ = strconv.Atoi(msg[cs:ce])
			}
			fl, fc := d.position(line, col)
			out = append(out, msg[last:ls]...)
			out = strconv.AppendInt(out, int64(fl), 10)
			last = le
			if cs >= 0 {
				out = append(out, msg[last:cs]...)
				out = strconv.AppendInt(out, int64(fc), 10)
				last = ce
			}
		}
	}
	return string(append(out, msg[last:]...))
}

// segmentedLint makes [Lint] check a file over above bytes in segments of
// at least size bytes of path items (exactly -size bytes when negative),
// for tests that compare both ways on small files.
func segmentedLint(above, size int64) Option {
	return func(o *options) { o.segmentAbove, o.segmentBytes = above, size }
}
