package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// list answers a list operation from the bucket: filtered by the query
// parameters named like item fields, newest first, one page at a time.
func (a *answering) list() *Result {
	pg := a.op.Pagination
	if pg == nil {
		pg = &Pagination{Style: Single}
	}
	b := a.tn.peek(a.r, a.keys)
	filters := a.filters(pg)
	var items newestFirst
	if len(filters) == 0 {
		items = newestFirst{order: b.order}
	} else {
		items.order = make([]*object, 0, len(b.order))
		for _, o := range b.order {
			if matches(o.value(), filters) {
				items.order = append(items.order, o)
			}
		}
	}
	start, size := 0, a.pageSize(pg)
	backwards := false // ending_before: "more" means newer items remain
	q := a.c.Query
	cursor := ""
	if pg.CursorParam != "" {
		cursor = q.Get(pg.CursorParam)
	}
	unknown := "" // a cursor that names no item of the list, or a token not given
	switch pg.Style {
	case Cursor:
		if cursor != "" {
			start = items.indexOf(cursor) + 1
			if start == 0 {
				unknown = pg.CursorParam + "=" + cursor
			}
		} else if before := q.Get(pg.BeforeParam); pg.BeforeParam != "" && before != "" {
			end := items.indexOf(before)
			if end < 0 {
				unknown = pg.BeforeParam + "=" + before
				end = 0
			}
			start = max(end-size, 0)
			size = min(size, end)
			backwards = true
		}
	case Link, Page:
		if n, err := atoi(cursor); err == nil && n > 1 {
			start = (n - 1) * size
		}
	case Offset:
		if n, err := atoi(cursor); err == nil && n > 0 {
			start = n
		}
	case NextCursor, PageToken, NextURL:
		n, ok := fromToken(cursor)
		if p, err := atoi(cursor); err == nil && pageNumbered(pg.CursorParam) {
			// A next-page URL numbers its pages where the parameter is a
			// page's number: see pageURL.
			n, ok = max(p-1, 0)*size, p > 0
		}
		if cursor != "" && !ok {
			unknown = pg.CursorParam + "=" + cursor
		}
		start = n
	case Single:
		size = items.len()
	}
	if unknown != "" {
		// Starting again from the first page would loop a client that
		// pages until the end: the vendor refuses the cursor (Stripe
		// answers 400 for a starting_after it does not hold), and where
		// the contract declares no refusal, the page is the empty last.
		msg := fmt.Sprintf("%s names no item of this list (a deleted or evicted one, or another list's)", unknown)
		a.notes = append(a.notes, Finding{RuleCursorUnknown, msg})
		if a.c.Refuse != 0 {
			return &Result{Status: a.c.Refuse, Refused: msg, Notes: a.notes}
		}
		start, backwards = items.len(), false
	}
	start = min(max(start, 0), items.len())
	end := min(start+size, items.len())
	page := make([]*object, 0, end-start)
	for i := start; i < end; i++ {
		page = append(page, items.at(i))
	}
	more := end < items.len()
	if backwards {
		more = start > 0
	}

	// The items are written into the body by Result.encode, as the JSON
	// they were stored with, within the envelope of the template.
	res := &Result{Status: a.c.Status, items: page}
	body := a.tmpl
	if pg.ItemsField == "" {
		if _, isArray := body.([]any); isArray || body == nil {
			body = itemsMark
		}
	}
	if t, ok := body.(map[string]any); ok {
		field := pg.ItemsField
		if field == "" {
			field = arrayField(t)
		}
		if field == "" {
			return nil // no place for the items: answered as without state
		}
		var moreVal, nextVal any
		nextKey := ""
		if pg.MoreField != "" {
			if strings.Contains(strings.ToLower(pg.MoreField), "total") {
				moreVal = json.Number(strconv.Itoa(items.len()))
			} else {
				moreVal = more
			}
		}
		if pg.NextField != "" {
			switch {
			case !more:
				nextVal = a.lastValue(pg.NextField)
			case pg.Style == NextURL:
				// The URL is made only for an envelope not written yet;
				// the key holds all it is made from.
				u := a.c.URL
				nextKey = "u" + strconv.Itoa(end) + "," + strconv.Itoa(size) + "," + strconv.Itoa(start/max(size, 1)+2) + "," + u.Host + u.EscapedPath() + "?" + u.RawQuery
			default:
				nextVal = toToken(end)
			}
		}
		// The envelope is the same for every page with the same values in
		// it: written once, the pages after copy it.
		if nextKey == "" {
			nextKey = envelopeValue(nextVal)
		}
		key := field + "\x00" + envelopeValue(moreVal) + "\x00" + nextKey
		if e := a.dt.envelope(key); e != nil {
			res.env = e
			res.Notes = a.notes
			body = nil
		} else {
			// The template is shared: the envelope copies the objects it
			// changes, and its items' example is left out, not copied.
			m := maps.Clone(t)
			body = m
			m[field] = itemsMark
			if pg.MoreField != "" {
				setPath(m, pg.MoreField, moreVal)
			}
			if pg.NextField != "" {
				if more && pg.Style == NextURL {
					nextVal = a.pageURL(pg, end, size, start/max(size, 1)+2)
				}
				setPath(m, pg.NextField, nextVal)
			}
			res.envKey, res.envOf = key, a.dt
		}
	}
	if pg.Style == Link || pg.LinkHeader != "" {
		if link := a.linkHeader(pg, start, size, items.len()); link != "" {
			name := pg.LinkHeader
			if name == "" {
				name = "Link"
			}
			res.Header = http.Header{}
			res.Header.Set(name, link)
		}
	}
	if res.env == nil {
		res.value, res.Notes = body, a.notes
	}
	return res
}

// envelopeValue is a value set in a list's envelope, as a key: its type
// and its text.
func envelopeValue(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(t)
	case json.Number:
		return "n" + string(t)
	case string:
		return "s" + t
	}
	return fmt.Sprintf("%T:%v", v, v)
}

// lastValue is what a next-page field holds on the last page: null where
// the schema allows it, else the empty string.
func (a *answering) lastValue(path string) any {
	s := a.listSchema()
	for part := range strings.SplitSeq(path, ".") {
		if s == nil {
			return nil
		}
		s = property(s, part)
	}
	if s != nil && (hasType(s, "null") || s.Nullable != nil && *s.Nullable) {
		return nil
	}
	if s != nil && (hasType(s, "integer") || hasType(s, "number")) {
		return json.Number("0")
	}
	if s != nil && hasType(s, "boolean") {
		return false
	}
	return ""
}

func (a *answering) listSchema() *base.Schema { return build(responseSchema(a.c.Op)) }

// errNoNumber is atoi's error for an empty parameter.
var errNoNumber = errors.New("no number")

// atoi is strconv.Atoi without the error it allocates for a parameter
// not given, as most lists' first pages are asked.
func atoi(s string) (int, error) {
	if s == "" {
		return 0, errNoNumber
	}
	return strconv.Atoi(s)
}

// pageSize is the limit the request asks for, within the parameter's
// bounds, else its default, else 10.
func (a *answering) pageSize(pg *Pagination) int {
	size, lo, hi := 10, 1, 1000
	if p := a.param(pg.LimitParam); p != nil && p.Schema != nil {
		if s := p.Schema.Schema(); s != nil {
			if s.Default != nil {
				var d int
				if s.Default.Decode(&d) == nil && d > 0 {
					size = d
				}
			}
			if s.Maximum != nil {
				hi = int(*s.Maximum)
			}
			if s.Minimum != nil {
				lo = max(int(*s.Minimum), 1)
			}
		}
	}
	if pg.LimitParam != "" {
		if n, err := atoi(a.c.Query.Get(pg.LimitParam)); err == nil {
			size = n
		}
	}
	return min(max(size, lo), max(hi, lo))
}

func (a *answering) param(name string) *v3.Parameter {
	if name == "" {
		return nil
	}
	for _, p := range a.c.Op.Parameters() {
		if p.In == "query" && p.Name == name {
			return p
		}
	}
	return nil
}

// filter is one query parameter that selects items by a field.
type filter struct {
	field string
	value any
}

// filters are the list's query parameters named like an item field whose
// value that field can hold, with their defaults when absent ("state" is
// "open" on GitHub unless asked). A value such as "all" that the
// parameter offers beside the field's values selects nothing.
func (a *answering) filters(pg *Pagination) []filter {
	paging := map[string]bool{pg.LimitParam: true, pg.CursorParam: true, pg.BeforeParam: true}
	var out []filter
	for _, p := range a.c.Op.Parameters() {
		if p.In != "query" || paging[p.Name] || p.Schema == nil {
			continue
		}
		fs := property(a.r.item, p.Name)
		if fs == nil || !scalar(fs) {
			continue
		}
		ps := p.Schema.Schema()
		raw, given := a.c.Query[p.Name]
		var value string
		switch {
		case given && len(raw) == 1:
			value = raw[0]
		case !given && ps != nil && ps.Default != nil:
			if ps.Default.Decode(&value) != nil {
				continue
			}
		default:
			continue
		}
		if value == "all" || value == "any" || value == "*" {
			continue
		}
		v := coerce(value, fs, 0)
		if !fits(v, fs) {
			continue
		}
		out = append(out, filter{p.Name, v})
	}
	return out
}

// defaultFilters are the values a list shows by default, which a new item
// takes unless its request says otherwise: a new issue is open.
func (a *answering) defaultFilters() []filter {
	if v, ok := a.s.defaults.Load(a.r); ok {
		return v.([]filter)
	}
	fs := a.findDefaultFilters()
	a.s.defaults.Store(a.r, fs)
	return fs
}

func (a *answering) findDefaultFilters() []filter {
	lst := a.r.Op(List)
	if lst == nil {
		return nil
	}
	op := a.s.operation(lst)
	if op == nil {
		return nil
	}
	var out []filter
	for _, p := range op.Parameters() {
		if p.In != "query" || p.Schema == nil {
			continue
		}
		ps := p.Schema.Schema()
		fs := property(a.r.item, p.Name)
		if ps == nil || ps.Default == nil || fs == nil || !scalar(fs) {
			continue
		}
		var value string
		if ps.Default.Decode(&value) != nil || value == "all" || value == "any" {
			continue
		}
		if v := coerce(value, fs, 0); fits(v, fs) {
			out = append(out, filter{p.Name, v})
		}
	}
	return out
}

func scalar(s *base.Schema) bool {
	return hasType(s, "string") || hasType(s, "integer") || hasType(s, "number") || hasType(s, "boolean")
}

// fits says whether v is a value the field's schema admits, by type and enum.
func fits(v any, s *base.Schema) bool {
	switch v.(type) {
	case string:
		if !hasType(s, "string") {
			return false
		}
	case bool:
		if !hasType(s, "boolean") {
			return false
		}
	case json.Number:
		if !hasType(s, "integer") && !hasType(s, "number") {
			return false
		}
	default:
		return false
	}
	if len(s.Enum) == 0 {
		return true
	}
	for _, e := range s.Enum {
		var ev any
		if e.Decode(&ev) == nil && fmt.Sprint(ev) == fmt.Sprint(v) {
			return true
		}
	}
	return false
}

func matches(obj map[string]any, fs []filter) bool {
	for _, f := range fs {
		if fmt.Sprint(obj[f.field]) != fmt.Sprint(f.value) {
			return false
		}
	}
	return true
}

// newestFirst reads a list's items, held oldest first, newest first,
// without copying them.
type newestFirst struct{ order []*object }

func (n newestFirst) len() int         { return len(n.order) }
func (n newestFirst) at(i int) *object { return n.order[len(n.order)-1-i] }

func (n newestFirst) indexOf(id string) int {
	for i := range n.order {
		if n.at(i).id == id {
			return i
		}
	}
	return -1
}

// arrayField is the one array property of a list answer.
func arrayField(m map[string]any) string {
	found := ""
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if _, ok := m[k].([]any); ok {
			if found != "" {
				return ""
			}
			found = k
		}
	}
	return found
}

// setPath sets a dotted field of m, a copy of its top level: the objects
// on the way are copied (or made), never changed, as they may be a
// template's.
func setPath(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if ok {
			next = maps.Clone(next)
		} else {
			next = map[string]any{}
		}
		m[p] = next
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// Page tokens are the offset of the next page, readable but marked, so a
// token from another list is not taken for a number.
func toToken(offset int) string { return "p" + strconv.Itoa(offset) }

// fromToken reads a page token; ok is false for one the list did not
// give.
func fromToken(t string) (offset int, ok bool) {
	if n, err := strconv.Atoi(strings.TrimPrefix(t, "p")); err == nil && strings.HasPrefix(t, "p") && n >= 0 {
		return n, true
	}
	return 0, false
}

// pageNumbered says whether a cursor parameter holds a page's number
// ("page", "Page") rather than a token.
func pageNumbered(param string) bool {
	p := strings.ToLower(param)
	return strings.Contains(p, "page") && !strings.Contains(p, "token")
}

// pageURL is the URL of the page starting at offset: the request's own
// URL with the cursor and page parameters set.
func (a *answering) pageURL(pg *Pagination, offset, size, page int) string {
	u := *a.c.URL
	q := u.Query()
	if pg.CursorParam != "" {
		if pageNumbered(pg.CursorParam) {
			q.Set(pg.CursorParam, strconv.Itoa(page))
		} else {
			q.Set(pg.CursorParam, toToken(offset))
		}
	}
	if pg.LimitParam != "" {
		q.Set(pg.LimitParam, strconv.Itoa(size))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// linkHeader is an RFC 8288 Link header with the next, previous, first and
// last pages, as GitHub sends; the last page has no rel="next".
func (a *answering) linkHeader(pg *Pagination, start, size, total int) string {
	if pg.CursorParam == "" || size <= 0 {
		return ""
	}
	page := start/size + 1
	last := max((total+size-1)/size, 1)
	var links []string
	add := func(n int, rel string) {
		u := *a.c.URL
		q := u.Query()
		q.Set(pg.CursorParam, strconv.Itoa(n))
		if pg.LimitParam != "" && q.Get(pg.LimitParam) == "" && size != 30 {
			q.Set(pg.LimitParam, strconv.Itoa(size))
		}
		u.RawQuery = q.Encode()
		links = append(links, fmt.Sprintf("<%s>; rel=%q", u.String(), rel))
	}
	if page < last {
		add(page+1, "next")
		add(last, "last")
	}
	if page > 1 {
		add(1, "first")
		add(page-1, "prev")
	}
	return strings.Join(links, ", ")
}
