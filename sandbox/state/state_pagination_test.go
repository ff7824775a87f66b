package state

import (
	"path/filepath"
	"testing"
)

// TestPaginationInferred pins what each paging contract of the sandbox's
// tests is inferred to be: the sandbox's paging tests only mean something
// when each list pages in the style it was written for.
func TestPaginationInferred(t *testing.T) {
	for _, tc := range []struct {
		file, resource string
		want           Pagination
		reason         string
	}{
		{"paging_cursor.yaml", "widgets", Pagination{Style: Cursor, LimitParam: "limit", CursorParam: "starting_after", BeforeParam: "ending_before", ItemsField: "data", MoreField: "has_more"},
			"Stripe's starting_after and has_more"},
		{"paging_next_cursor.yaml", "files", Pagination{Style: NextCursor, LimitParam: "limit", CursorParam: "cursor", ItemsField: "files", NextField: "next_cursor"},
			"a cursor parameter and a next_cursor field"},
		{"paging_next_cursor.yaml", "channels", Pagination{Style: NextCursor, LimitParam: "limit", CursorParam: "cursor", ItemsField: "channels", NextField: "response_metadata.next_cursor"},
			"Slack's cursor in response_metadata"},
		{"paging_page_token.yaml", "notes", Pagination{Style: PageToken, LimitParam: "page_size", CursorParam: "page_token", ItemsField: "notes", NextField: "next_page_token"},
			"page_token and next_page_token"},
		{"paging_link.yaml", "issues", Pagination{Style: Link, LimitParam: "per_page", CursorParam: "page", LinkHeader: "Link"},
			"GitHub's page, per_page and Link header, with a bare array"},
		{"paging_next_url.yaml", "Services", Pagination{Style: NextURL, LimitParam: "PageSize", CursorParam: "PageToken", ItemsField: "services", NextField: "meta.next_page_url"},
			"Twilio's PageSize, PageToken and meta.next_page_url"},
		{"paging_offset.yaml", "incidents", Pagination{Style: Offset, LimitParam: "limit", CursorParam: "offset", ItemsField: "incidents", MoreField: "more"},
			"offset and limit, with more"},
		{"paging_offset.yaml", "tickets", Pagination{Style: Offset, LimitParam: "limit", CursorParam: "offset", ItemsField: "tickets", MoreField: "total"},
			"offset and limit, with total"},
		{"paging_page.yaml", "contacts", Pagination{Style: Page, LimitParam: "per_page", CursorParam: "page", ItemsField: "contacts"},
			"page and per_page with nothing marking the end"},
		{"paging_single.yaml", "tags", Pagination{Style: Single},
			"no paging parameter"},
	} {
		t.Run(tc.file+"/"+tc.resource, func(t *testing.T) {
			m := infer(t, filepath.Join("..", "testdata", tc.file))
			r := resource(t, m, tc.resource)
			if r.IDField == "" {
				t.Fatalf("resource %s has no identifier field", tc.resource)
			}
			lst := r.Op(List)
			if lst == nil || lst.Pagination == nil {
				t.Fatalf("resource %s has no list with paging (%s)", tc.resource, tc.reason)
			}
			got := *lst.Pagination
			got.Why = ""
			if got != tc.want {
				t.Errorf("%s: inferred %+v\nwant %+v", tc.reason, got, tc.want)
			}
		})
	}
}
