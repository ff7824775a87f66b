package contracts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// layout is where a contract file's path items lie, found without
// building a tree of the file. Everything before the first item (the
// header keys, and the `paths` key itself) and after the last (the
// components, the rest of the document) is the common part every segment
// carries; items[i] is the i-th path item, bytes [start, end) of the file.
type layout struct {
	items []itemSpan
	json  bool
}

type itemSpan struct{ start, end int }

// itemsStart and itemsEnd bound the path items: data[:itemsStart] and
// data[itemsEnd:] are the common part.
func (l layout) itemsStart() int { return l.items[0].start }
func (l layout) itemsEnd() int   { return l.items[len(l.items)-1].end }

// errNoLayout says a file cannot be divided safely; it is then loaded whole.
var errNoLayout = errors.New("the file cannot be divided into path items")

// scanLayout finds the path items of a YAML or JSON contract. It refuses
// (errNoLayout) any shape it cannot divide with certainty: flow-style
// `paths`, several documents, anchors among the path items, tabs in
// indentation, complex keys.
func scanLayout(data []byte) (layout, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return scanJSON(data)
	}
	return scanYAML(data)
}

func noLayout(line int, why string) error {
	return fmt.Errorf("%w: line %d: %s", errNoLayout, line, why)
}

// flowAnchor finds what could define a YAML anchor in a flow collection.
// Among the path items an anchor would tie items to each other, which
// segments cannot keep; text that merely looks like one costs only the
// segmenting.
var flowAnchor = regexp.MustCompile(`(^|[\[{,]|:\s)\s*&[^\s\[\]{},]`)

// scanYAML reads the file line by line. Top-level keys are the lines that
// start in column 0; under `paths`, the lines at the indentation of its
// first child start path items. Blank and comment lines belong to the item
// before them, and so do the lines that continue a flow collection or a
// quoted scalar, whatever their indentation.
func scanYAML(data []byte) (layout, error) {
	const (
		before = iota // top-level keys before `paths`
		inside        // the path items
		after         // top-level keys after them
	)
	var l layout
	var flow flowState
	state, indent, lineNo, keys := before, -1, 0, 0
	closeItems := func(at int) {
		if n := len(l.items); n > 0 {
			l.items[n-1].end = at
		}
	}
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end < 0 {
			end = len(data)
		} else {
			end += pos
			next = end + 1
		}
		lineNo++
		line := bytes.TrimSuffix(data[pos:end], []byte("\r"))
		if lineNo == 1 {
			line = bytes.TrimPrefix(line, []byte("\ufeff"))
		}
		start := pos
		pos = next
		anchor := state == inside && bytes.IndexByte(line, '&') >= 0
		if flow.open() {
			if anchor && flowAnchor.Match(line) {
				return layout{}, noLayout(lineNo, "an anchor among the path items")
			}
			flow.scan(line)
			continue
		}
		lead := len(line) - len(bytes.TrimLeft(line, " "))
		body := bytes.TrimLeft(line, " \t")
		if len(body) == 0 || body[0] == '#' {
			continue
		}
		if line[lead] == '\t' && (lead == 0 || state == inside && lead <= indent) {
			return layout{}, noLayout(lineNo, "a tab in the indentation")
		}
		if anchor {
			if v := valueStart(body); len(v) > 0 && (v[0] == '&' || (v[0] == '{' || v[0] == '[') && flowAnchor.Match(v)) {
				return layout{}, noLayout(lineNo, "an anchor among the path items")
			}
		}
		flow.scan(flowValue(body))
		if lead == 0 && (bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("...")) || line[0] == '%') {
			if keys > 0 {
				return layout{}, noLayout(lineNo, "a document marker after the first key")
			}
			continue
		}
		if lead == 0 && line[0] == '-' && (len(line) == 1 || line[1] == ' ') && state != inside {
			continue // an entry of a top-level sequence, such as servers
		}
		if lead == 0 {
			key, value, ok := blockKey(line)
			if !ok {
				return layout{}, noLayout(lineNo, "a top-level line that is not a plain key")
			}
			keys++
			switch {
			case key == "paths" && state != before:
				return layout{}, noLayout(lineNo, "a second `paths`")
			case key == "paths":
				if v := bytes.TrimSpace(value); len(v) > 0 && v[0] != '#' {
					return layout{}, noLayout(lineNo, "`paths` written in flow style")
				}
				state = inside
			case state == inside:
				closeItems(start)
				state = after
			}
			continue
		}
		if state != inside {
			continue
		}
		if indent < 0 {
			indent = lead
		}
		switch {
		case lead < indent:
			return layout{}, noLayout(lineNo, "a path item less indented than the first")
		case lead == indent:
			if _, _, ok := blockKey(line[lead:]); !ok {
				return layout{}, noLayout(lineNo, "a line under `paths` that is not a key")
			}
			closeItems(start)
			l.items = append(l.items, itemSpan{start: start})
		}
	}
	if flow.open() {
		return layout{}, noLayout(lineNo, "a flow collection or quoted scalar left open")
	}
	if state == inside {
		closeItems(len(data))
	}
	if len(l.items) == 0 {
		return layout{}, fmt.Errorf("%w: no path items in block style", errNoLayout)
	}
	return l, nil
}

// valueStart returns what follows the "- " entries and the key of a block
// line: where a node's anchor would be written.
func valueStart(body []byte) []byte {
	for {
		for len(body) > 0 && body[0] == '-' && (len(body) == 1 || body[1] == ' ') {
			body = bytes.TrimLeft(body[1:], " ")
		}
		_, value, ok := blockKey(body)
		if !ok {
			return body
		}
		body = bytes.TrimLeft(value, " \t")
	}
}

// flowValue returns the part of a block line that could open a flow
// collection or a quoted scalar running onto the next lines: the value
// after "- " entries and a key, when it starts with a bracket or a quote.
func flowValue(body []byte) []byte {
	for {
		for len(body) > 0 && body[0] == '-' && (len(body) == 1 || body[1] == ' ') {
			body = bytes.TrimLeft(body[1:], " ")
		}
		if len(body) == 0 {
			return nil
		}
		switch body[0] {
		case '{', '[', '"', '\'':
			if _, value, ok := blockKey(body); ok {
				body = bytes.TrimLeft(value, " \t")
				continue
			}
			return body
		}
		if _, value, ok := blockKey(body); ok {
			body = bytes.TrimLeft(value, " \t")
			continue
		}
		return nil
	}
}

// flowState follows flow collections and quoted scalars across lines.
type flowState struct {
	depth int
	quote byte
}

func (f *flowState) open() bool { return f.depth > 0 || f.quote != 0 }

// scan reads s, which starts inside a flow collection or quoted scalar, or
// at the start of a value.
func (f *flowState) scan(s []byte) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case f.quote == '"':
			if c == '\\' {
				i++
			} else if c == '"' {
				f.quote = 0
			}
		case f.quote == '\'':
			if c == '\'' && i+1 < len(s) && s[i+1] == '\'' {
				i++
			} else if c == '\'' {
				f.quote = 0
			}
		case f.depth == 0 && i > 0:
			return // the value ended on this line
		case (c == '"' || c == '\'') && (i == 0 || bytes.IndexByte([]byte(" \t{[,:"), s[i-1]) >= 0):
			f.quote = c
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return
		case c == '{' || c == '[':
			f.depth++
		case c == '}' || c == ']':
			f.depth--
		}
	}
}

// blockKey splits a block mapping line "key: value" into its key, unquoted
// where quoted, and what follows the colon. It refuses anything but a
// plain or quoted scalar key: complex keys, sequences, flow collections,
// anchors, aliases and tags.
func blockKey(line []byte) (key string, value []byte, ok bool) {
	if len(line) == 0 {
		return "", nil, false
	}
	var rest []byte
	switch c := line[0]; c {
	case '"', '\'':
		end := closingQuote(line, c)
		if end < 0 {
			return "", nil, false
		}
		raw := line[:end+1]
		if c == '"' {
			s, err := strconv.Unquote(string(raw))
			if err != nil {
				s = string(raw[1:end])
			}
			key = s
		} else {
			key = string(bytes.ReplaceAll(raw[1:end], []byte("''"), []byte("'")))
		}
		rest = bytes.TrimLeft(line[end+1:], " ")
		if len(rest) == 0 || rest[0] != ':' {
			return "", nil, false
		}
		rest = rest[1:]
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '%', '@', '`':
		return "", nil, false
	default:
		i := colonSpace(line)
		if i < 0 {
			return "", nil, false
		}
		key, rest = string(bytes.TrimRight(line[:i], " ")), line[i+1:]
	}
	if len(rest) > 0 && rest[0] != ' ' && rest[0] != '\t' {
		return "", nil, false
	}
	return key, rest, true
}

// closingQuote returns the index of the quote closing the scalar that
// line opens with q, or -1 when the line does not close it.
func closingQuote(line []byte, q byte) int {
	for i := 1; i < len(line); i++ {
		switch {
		case q == '"' && line[i] == '\\':
			i++
		case line[i] == q && q == '\'' && i+1 < len(line) && line[i+1] == '\'':
			i++
		case line[i] == q:
			return i
		}
	}
	return -1
}

// colonSpace returns the index of the first ':' followed by a space or the
// end of the line, before any " #" comment, or -1.
func colonSpace(line []byte) int {
	for i, c := range line {
		switch {
		case c == '#' && i > 0 && (line[i-1] == ' ' || line[i-1] == '\t'):
			return -1
		case c == ':' && (i+1 == len(line) || line[i+1] == ' ' || line[i+1] == '\t'):
			return i
		}
	}
	return -1
}

// scanJSON reads the document's tokens with encoding/json, decoding one
// value at a time: the top-level members are skipped, and each member of
// `paths` is a path item, from its key to the end of its value.
func scanJSON(data []byte) (layout, error) {
	l := layout{json: true}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	bad := func(why string) (layout, error) {
		line, _ := lineCol(data, int(dec.InputOffset()))
		return layout{}, noLayout(line, why)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return bad("not a JSON object")
	}
	seen := false
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok {
			return bad("not a JSON object")
		}
		if key != "paths" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return bad("invalid JSON")
			}
			continue
		}
		if seen {
			return bad("a second `paths`")
		}
		seen = true
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return bad("`paths` is not an object")
		}
		for dec.More() {
			start := memberStart(data, int(dec.InputOffset()))
			if t, err := dec.Token(); err != nil {
				return bad("invalid JSON")
			} else if _, ok := t.(string); !ok {
				return bad("invalid JSON")
			}
			var item json.RawMessage
			if err := dec.Decode(&item); err != nil {
				return bad("invalid JSON")
			}
			l.items = append(l.items, itemSpan{start: start, end: int(dec.InputOffset())})
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('}') {
			return bad("invalid JSON")
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return bad("invalid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("data after the document")
	}
	if len(l.items) == 0 {
		return layout{}, fmt.Errorf("%w: no path items", errNoLayout)
	}
	return l, nil
}

// memberStart skips the white space and the comma that come before an
// object member whose previous token ended at offset.
func memberStart(data []byte, offset int) int {
	for offset < len(data) {
		switch data[offset] {
		case ' ', '\t', '\r', '\n', ',':
			offset++
		default:
			return offset
		}
	}
	return offset
}

// piece is a stretch of a segment document copied from the file: it
// starts at line:col of the segment and at line:col of the file.
type piece struct {
	line, col         int // in the segment
	fileLine, fileCol int // in the file
}

// segmentDoc is a document made of the common part of a contract and a
// run of its path items, with what maps its lines back to the file's.
type segmentDoc struct {
	data   []byte
	pieces [3]piece
}

// cursor walks a file forwards, counting lines, so that each segment's
// first line is found without counting from the start again.
type cursor struct {
	data       []byte
	offset     int
	line, last int // last: the offset just after the latest newline
}

func newCursor(data []byte) *cursor { return &cursor{data: data, line: 1} }

// at returns the line and column of offset, which must not be before the
// previous call's.
func (c *cursor) at(offset int) (line, col int) {
	offset = min(max(offset, c.offset), len(c.data))
	for {
		i := bytes.IndexByte(c.data[c.offset:offset], '\n')
		if i < 0 {
			break
		}
		c.offset += i + 1
		c.line++
		c.last = c.offset
	}
	c.offset = offset
	return c.line, offset - c.last + 1
}

// build makes the segment document of items [from, to): the common part
// before the items, those items, and the common part after them. tail is
// where data[itemsEnd:] starts in the file (line and column), counted once.
func (l layout) build(data []byte, from, to int, items, tail piece) segmentDoc {
	head := data[:l.itemsStart()]
	body := data[l.items[from].start:l.items[to-1].end]
	rest := data[l.itemsEnd():]
	d := segmentDoc{data: make([]byte, 0, len(head)+len(body)+len(rest))}
	d.data = append(d.data, head...)
	d.pieces[0] = piece{line: 1, col: 1, fileLine: 1, fileCol: 1}
	d.pieces[1] = items
	d.pieces[1].line, d.pieces[1].col = lineCol(d.data, len(d.data))
	d.data = append(d.data, body...)
	d.pieces[2] = tail
	d.pieces[2].line, d.pieces[2].col = lineCol(d.data, len(d.data))
	d.data = append(d.data, rest...)
	return d
}

// position maps a line and column of the segment document to the file's.
func (d *segmentDoc) position(line, col int) (int, int) {
	if line <= 0 {
		return line, col
	}
	p := d.pieces[0]
	for _, q := range d.pieces[1:] {
		if line > q.line || line == q.line && col >= q.col {
			p = q
		}
	}
	if line == p.line {
		return p.fileLine, p.fileCol + col - p.col
	}
	return p.fileLine + line - p.line, col
}
