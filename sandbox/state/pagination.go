package state

import (
	"fmt"
	"strings"

	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/tetherkit/tether/contracts"
)

// Style is how a list operation pages.
type Style string

// The pagination styles tether recognises.
const (
	// Cursor: the request names the last item seen (Stripe's
	// starting_after, ending_before) and the answer says has_more.
	Cursor Style = "cursor"
	// NextCursor: the answer carries an opaque cursor for the next page
	// (next_cursor, Slack's response_metadata.next_cursor), sent back as
	// a cursor parameter.
	NextCursor Style = "next-cursor"
	// PageToken: as NextCursor, named page_token / next_page_token.
	PageToken Style = "page-token"
	// Link: page and per_page parameters, and a Link header with rel="next"
	// (GitHub).
	Link Style = "link"
	// NextURL: the answer carries the next page's URL (Twilio's
	// next_page_uri, meta.next_page_url).
	NextURL Style = "next-url"
	// Offset: offset and limit parameters, with a more or total field.
	Offset Style = "offset"
	// Page: a page number and a page size, with nothing in the answer
	// saying where the last page is.
	Page Style = "page"
	// Single: no paging parameter; the answer is the whole list.
	Single Style = "single"
)

// Pagination is how one list operation pages, as data: the parameters it
// takes and the fields or headers its answer carries.
type Pagination struct {
	Style       Style  `json:"style,omitempty"`
	LimitParam  string `json:"limit_param,omitempty"`  // page size: "limit", "per_page", "PageSize"
	CursorParam string `json:"cursor_param,omitempty"` // where the next page starts: "starting_after", "cursor", "page", "offset", "page_token"
	BeforeParam string `json:"before_param,omitempty"` // the previous page's end, for Cursor: "ending_before"
	ItemsField  string `json:"items_field,omitempty"`  // the answer's items: "data"; "" for a bare array
	MoreField   string `json:"more_field,omitempty"`   // the answer's "there is more" flag: "has_more", "more"
	NextField   string `json:"next_field,omitempty"`   // the answer's next cursor, token or URL, dotted: "meta.next_page_url"
	LinkHeader  string `json:"link_header,omitempty"`  // the response header with the next page's link: "Link"
	Why         string `json:"why,omitempty"`          // the parameters and fields the style was recognised by
}

// paginationOf infers a list operation's paging from its query
// parameters, its answer's headers and its answer's fields.
func paginationOf(op *contracts.Operation) *Pagination {
	q := map[string]string{} // lower-case name -> as written
	for _, p := range op.Parameters() {
		if p.In == "query" {
			q[strings.ToLower(p.Name)] = p.Name
		}
	}
	param := func(names ...string) string {
		for _, n := range names {
			if v, ok := q[n]; ok {
				return v
			}
		}
		return ""
	}
	pg := &Pagination{}
	schema := build(responseSchema(op))
	_, pg.ItemsField, _ = listItems(responseSchema(op))
	field := func(paths ...string) string {
		for _, p := range paths {
			if hasPath(schema, p) {
				return p
			}
		}
		return ""
	}
	if r := successResponse(op); r != nil {
		for name := range r.Headers.FromOldest() {
			if strings.EqualFold(name, "link") {
				pg.LinkHeader = name
			}
		}
	}
	pg.LimitParam = param("limit", "per_page", "perpage", "page_size", "pagesize", "count", "max_results", "maxresults", "size", "first")
	after, before := param("starting_after", "after", "start_after"), param("ending_before", "before", "end_before")
	cursor := param("cursor", "next_cursor", "continuation", "continuation_token")
	token := param("page_token", "pagetoken", "next_page_token", "nexttoken", "next_token")
	offset := param("offset", "skip", "start")
	page := param("page", "page_number", "pagenumber")
	more := field("has_more", "hasMore", "more", "has_next", "hasNext")
	switch {
	case after != "" && more != "":
		pg.Style, pg.CursorParam, pg.BeforeParam, pg.MoreField = Cursor, after, before, more
		pg.Why = fmt.Sprintf("parameter %s and answer field %s", after, more)
	case token != "" && field("next_page_token", "nextPageToken", "next_token", "nextToken") != "":
		pg.Style, pg.CursorParam, pg.NextField = PageToken, token, field("next_page_token", "nextPageToken", "next_token", "nextToken")
		pg.Why = fmt.Sprintf("parameter %s and answer field %s", token, pg.NextField)
	case cursor != "" && field("next_cursor", "nextCursor", "response_metadata.next_cursor", "meta.next_cursor", "cursor", "next") != "":
		pg.Style, pg.CursorParam, pg.NextField = NextCursor, cursor, field("next_cursor", "nextCursor", "response_metadata.next_cursor", "meta.next_cursor", "cursor", "next")
		pg.Why = fmt.Sprintf("parameter %s and answer field %s", cursor, pg.NextField)
	case pg.LinkHeader != "" && (page != "" || cursor != "" || after != ""):
		pg.Style, pg.CursorParam = Link, firstOf(page, cursor, after)
		pg.Why = fmt.Sprintf("parameter %s and the %s response header", pg.CursorParam, pg.LinkHeader)
	case field("next_page_uri", "next_page_url", "meta.next_page_url", "meta.next_page_uri", "next_url", "nextPageUrl", "links.next", "_links.next", "next_link") != "":
		pg.Style, pg.NextField = NextURL, field("next_page_uri", "next_page_url", "meta.next_page_url", "meta.next_page_uri", "next_url", "nextPageUrl", "links.next", "_links.next", "next_link")
		pg.CursorParam = firstOf(token, page, cursor)
		pg.Why = "answer field " + pg.NextField
	case page != "" && field("next_page", "nextPage") != "":
		pg.Style, pg.CursorParam, pg.NextField, pg.MoreField = PageToken, page, field("next_page", "nextPage"), more
		pg.Why = fmt.Sprintf("parameter %s and answer field %s", page, pg.NextField)
	case offset != "" && pg.LimitParam != "":
		pg.Style, pg.CursorParam, pg.MoreField = Offset, offset, firstOf(more, field("total", "total_count", "totalCount"))
		pg.Why = fmt.Sprintf("parameters %s and %s", offset, pg.LimitParam)
	case page != "":
		pg.Style, pg.CursorParam = Page, page
		pg.Why = "parameter " + page + ", with nothing in the answer marking the last page"
	case after != "" || cursor != "" || token != "":
		pg.Style, pg.CursorParam = NextCursor, firstOf(after, cursor, token)
		pg.Why = "parameter " + pg.CursorParam + ", with no answer field naming the next cursor"
	default:
		pg.Style, pg.Why = Single, "no paging parameter"
	}
	return pg
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// hasPath reports whether an object schema has the dotted property path.
func hasPath(s *base.Schema, path string) bool {
	for part := range strings.SplitSeq(path, ".") {
		if s == nil {
			return false
		}
		s = property(s, part)
	}
	return s != nil
}
