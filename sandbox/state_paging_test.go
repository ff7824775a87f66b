package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
)

// The tests below page through lists the way each vendor's clients do:
// they create items over HTTP, then follow exactly what each answer says
// (a cursor, a token, a URL, a Link header) until the answer says it is
// the last, and check that every item came once, newest first, and that
// every answer is one the contract allows.

// pagedList is one paging style: a contract, how to create an item, and
// how a client reads a page and finds the next.
type pagedList struct {
	name     string
	contract string
	vendor   string
	create   string                       // the collection's path, after the vendor
	body     func(i int) (string, string) // content type and body of the i-th create
	list     string                       // the first page's path and query
	items    string                       // the answer's items: a dotted field, "" for a bare array
	idField  string
	// next reads one answer and returns the next page's URL (absolute, or a
	// path and query after the vendor), or "" when the answer says it is
	// the last. It fails the test when the answer says neither clearly.
	next func(t *testing.T, cur string, resp *http.Response, body map[string]any, ids []string) string
}

func jsonBody(field string) func(int) (string, string) {
	return func(i int) (string, string) {
		return "application/json", fmt.Sprintf(`{%q: "item %d"}`, field, i)
	}
}

func formBody(field string) func(int) (string, string) {
	return func(i int) (string, string) {
		return "application/x-www-form-urlencoded", url.Values{field: {fmt.Sprintf("item %d", i)}}.Encode()
	}
}

// withQuery sets one query parameter of a path and query.
func withQuery(cur, name, value string) string {
	u, err := url.Parse(cur)
	if err != nil {
		panic(err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

var linkNext = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

var pagedLists = []pagedList{
	{
		name: "cursor", contract: "paging_cursor.yaml", vendor: "stripe",
		create: "/widgets", body: formBody("name"), list: "/widgets?limit=5", items: "data", idField: "id",
		next: func(t *testing.T, cur string, _ *http.Response, b map[string]any, ids []string) string {
			more, ok := b["has_more"].(bool)
			if !ok {
				t.Fatalf("%s: has_more is %v, want a boolean", cur, b["has_more"])
			}
			if !more {
				return ""
			}
			return withQuery(cur, "starting_after", ids[len(ids)-1])
		},
	},
	{
		name: "next-cursor", contract: "paging_next_cursor.yaml", vendor: "files",
		create: "/files", body: jsonBody("name"), list: "/files?limit=5", items: "files", idField: "id",
		next: func(t *testing.T, cur string, _ *http.Response, b map[string]any, _ []string) string {
			switch c := b["next_cursor"].(type) {
			case nil:
				return ""
			case string:
				if c == "" {
					return ""
				}
				return withQuery(cur, "cursor", c)
			}
			t.Fatalf("%s: next_cursor is %v", cur, b["next_cursor"])
			return ""
		},
	},
	{
		name: "next-cursor-in-metadata", contract: "paging_next_cursor.yaml", vendor: "slack",
		create: "/channels", body: jsonBody("name"), list: "/channels?limit=5", items: "channels", idField: "id",
		next: func(t *testing.T, cur string, _ *http.Response, b map[string]any, _ []string) string {
			meta, _ := b["response_metadata"].(map[string]any)
			c, ok := meta["next_cursor"].(string)
			if !ok {
				t.Fatalf("%s: response_metadata.next_cursor is %v, want a string", cur, b["response_metadata"])
			}
			if c == "" {
				return ""
			}
			return withQuery(cur, "cursor", c)
		},
	},
	{
		name: "page-token", contract: "paging_page_token.yaml", vendor: "notes",
		create: "/notes", body: jsonBody("text"), list: "/notes?page_size=5", items: "notes", idField: "id",
		next: func(t *testing.T, cur string, _ *http.Response, b map[string]any, _ []string) string {
			tok, _ := b["next_page_token"].(string)
			if tok == "" {
				return ""
			}
			return withQuery(cur, "page_token", tok)
		},
	},
	{
		name: "link", contract: "paging_link.yaml", vendor: "github",
		create: "/repos/octo/hello/issues", body: jsonBody("title"), list: "/repos/octo/hello/issues?per_page=5", items: "", idField: "number",
		next: func(t *testing.T, cur string, resp *http.Response, _ map[string]any, _ []string) string {
			m := linkNext.FindStringSubmatch(resp.Header.Get("Link"))
			if m == nil {
				return ""
			}
			return m[1]
		},
	},
	{
		name: "next-url", contract: "paging_next_url.yaml", vendor: "twilio",
		create: "/v1/Services", body: formBody("FriendlyName"), list: "/v1/Services?PageSize=5", items: "services", idField: "sid",
		next: func(t *testing.T, cur string, _ *http.Response, b map[string]any, _ []string) string {
			meta, ok := b["meta"].(map[string]any)
			if !ok {
				t.Fatalf("%s: no meta object", cur)
			}
			next, present := meta["next_page_url"]
			if !present {
				t.Fatalf("%s: meta.next_page_url is missing; the contract requires it", cur)
			}
			if next == nil {
				return ""
			}
			return next.(string)
		},
	},
	{
		name: "offset-more", contract: "paging_offset.yaml", vendor: "pagerduty",
		create: "/incidents", body: jsonBody("title"), list: "/incidents?limit=5&offset=0", items: "incidents", idField: "id",
		next: func(t *testing.T, cur string, _ *http.Response, b map[string]any, ids []string) string {
			if more, ok := b["more"].(bool); !ok || !more {
				return ""
			}
			u, _ := url.Parse(cur)
			off, _ := strconv.Atoi(u.Query().Get("offset"))
			return withQuery(cur, "offset", strconv.Itoa(off+len(ids)))
		},
	},
	{
		name: "offset-total", contract: "paging_offset.yaml", vendor: "desk",
		create: "/tickets", body: jsonBody("subject"), list: "/tickets?limit=5&offset=0", items: "tickets", idField: "id",
		next: func(t *testing.T, cur string, _ *http.Response, b map[string]any, ids []string) string {
			total, err := b["total"].(json.Number).Int64()
			if err != nil {
				t.Fatalf("%s: total is %v", cur, b["total"])
			}
			u, _ := url.Parse(cur)
			off, _ := strconv.Atoi(u.Query().Get("offset"))
			if int64(off+len(ids)) >= total {
				return ""
			}
			return withQuery(cur, "offset", strconv.Itoa(off+len(ids)))
		},
	},
	{
		name: "page", contract: "paging_page.yaml", vendor: "contacts",
		create: "/contacts", body: jsonBody("email"), list: "/contacts?per_page=5&page=1", items: "contacts", idField: "id",
		next: func(t *testing.T, cur string, _ *http.Response, _ map[string]any, ids []string) string {
			// Nothing marks the last page but its being short.
			if len(ids) < 5 {
				return ""
			}
			u, _ := url.Parse(cur)
			page, _ := strconv.Atoi(u.Query().Get("page"))
			return withQuery(cur, "page", strconv.Itoa(page+1))
		},
	},
	{
		name: "single", contract: "paging_single.yaml", vendor: "tags",
		create: "/tags", body: jsonBody("label"), list: "/tags", items: "", idField: "id",
		next: func(*testing.T, string, *http.Response, map[string]any, []string) string { return "" },
	},
}

// pagingSandbox serves one paging contract under its vendor name.
func pagingSandbox(t *testing.T, pl pagedList, opts ...Option) (*Sandbox, *contracts.Contract) {
	t.Helper()
	c := loadContract(t, pl.contract)
	return startVendors(t, []Vendor{{Name: pl.vendor, Contract: c}}, opts...), c
}

// fetch makes a call to the vendor, with a bearer token unless headers
// name an Authorization, checks that the answer is one the contract c
// allows (unless c is nil), and returns it decoded.
func fetch(t *testing.T, s *Sandbox, c *contracts.Contract, vendor, method, target, contentType, body string, headers ...string) (*http.Response, any) {
	t.Helper()
	full := target
	if !strings.HasPrefix(target, "http") {
		full = s.VendorURL(vendor) + target
	}
	h := headers
	if !slices.Contains(headers, "Authorization") {
		h = append([]string{"Authorization", "Bearer sandbox-token"}, headers...)
	}
	if contentType != "" {
		h = append(h, "Content-Type", contentType)
	}
	resp, text := call(t, method, full, body, h...)
	if c != nil {
		checkValid(t, s, c, vendor, method, full, resp, text)
	}
	var v any
	if text != "" && resp.Header.Get("Content-Type") != "" && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		d := json.NewDecoder(strings.NewReader(text))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%s %s: the answer is not JSON: %v\n%s", method, target, err, text)
		}
	}
	return resp, v
}

// checkValid validates an answer against the contract as a client of the
// real vendor would receive it: the path after the vendor's name.
func checkValid(t *testing.T, s *Sandbox, c *contracts.Contract, vendor, method, full string, resp *http.Response, text string) {
	t.Helper()
	u, err := url.Parse(full)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = strings.TrimPrefix(u.Path, "/"+vendor)
	u.RawPath = ""
	cr, err := http.NewRequest(method, "http://vendor.example"+u.RequestURI(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &http.Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(strings.NewReader(text))}
	for _, f := range c.ValidateResponse(cr, r) {
		if f.Level == contracts.LevelError {
			t.Errorf("%s %s answered %d, which the contract does not allow: %s at %s: %s\n%s", method, full, resp.StatusCode, f.ID, f.Path, f.Message, text)
		}
	}
}

// itemsOf reads the items of a list answer and their identifiers.
func itemsOf(t *testing.T, v any, field, idField string) []string {
	t.Helper()
	arr, ok := v.([]any)
	if field != "" {
		m, _ := v.(map[string]any)
		for part := range strings.SplitSeq(field, ".") {
			next, _ := m[part].(map[string]any)
			if next == nil {
				arr, ok = m[part].([]any)
				break
			}
			m = next
		}
	}
	if !ok {
		t.Fatalf("no items at %q in %v", field, v)
	}
	var ids []string
	for _, e := range arr {
		obj, _ := e.(map[string]any)
		id := fmt.Sprint(obj[idField])
		if obj == nil || obj[idField] == nil {
			t.Fatalf("an item without %s: %v", idField, e)
		}
		ids = append(ids, id)
	}
	return ids
}

// createItems makes n items and returns their identifiers, oldest first.
func createItems(t *testing.T, s *Sandbox, c *contracts.Contract, pl pagedList, n int, headers ...string) []string {
	t.Helper()
	var ids []string
	for i := range n {
		ct, body := pl.body(i)
		resp, v := fetch(t, s, c, pl.vendor, "POST", pl.create, ct, body, headers...)
		if resp.StatusCode >= 300 {
			t.Fatalf("create %d: %d %v", i, resp.StatusCode, v)
		}
		obj, _ := v.(map[string]any)
		if obj == nil || obj[pl.idField] == nil {
			t.Fatalf("create %d answered no %s: %v", i, pl.idField, v)
		}
		ids = append(ids, fmt.Sprint(obj[pl.idField]))
	}
	return ids
}

// pageAll follows a list from its first page to the page that says it is
// the last, and returns the identifiers in the order the pages gave them.
func pageAll(t *testing.T, s *Sandbox, c *contracts.Contract, pl pagedList, limit int) (ids []string, pages int) {
	t.Helper()
	cur := pl.list
	for cur != "" {
		pages++
		if pages > limit {
			t.Fatalf("%d pages and the list has not ended; the last asked was %s", pages-1, cur)
		}
		resp, v := fetch(t, s, c, pl.vendor, "GET", cur, "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", cur, resp.StatusCode, v)
		}
		if e := lastEntry(t, s); e.Source != SourceState {
			t.Fatalf("GET %s was answered from %q, want from the state", cur, e.Source)
		}
		got := itemsOf(t, v, pl.items, pl.idField)
		m, _ := v.(map[string]any)
		ids = append(ids, got...)
		cur = pl.next(t, cur, resp, m, got)
	}
	return ids, pages
}

func TestPagingStyles(t *testing.T) {
	const n = 23 // five pages of five: the last is short
	for _, pl := range pagedLists {
		t.Run(pl.name, func(t *testing.T) {
			s, c := pagingSandbox(t, pl)
			created := createItems(t, s, c, pl, n)
			want := slices.Clone(created)
			slices.Reverse(want)
			got, pages := pageAll(t, s, c, pl, 20)
			if !slices.Equal(got, want) {
				t.Errorf("paged through %v\nwant newest first %v", got, want)
			}
			wantPages := 5
			if pl.name == "single" {
				wantPages = 1
			}
			if pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
		})
	}
}

// An empty list is one page that says it is the last.
func TestPagingEmpty(t *testing.T) {
	for _, pl := range pagedLists {
		t.Run(pl.name, func(t *testing.T) {
			s, c := pagingSandbox(t, pl)
			got, pages := pageAll(t, s, c, pl, 2)
			if len(got) != 0 || pages != 1 {
				t.Errorf("an empty list: %d items in %d pages, want none in one", len(got), pages)
			}
		})
	}
}

// Stripe's ending_before pages backwards: each page holds the items just
// newer than the one named, newest first, and has_more says whether newer
// ones remain.
func TestPagingCursorEndingBefore(t *testing.T) {
	pl := pagedLists[0]
	s, c := pagingSandbox(t, pl)
	created := createItems(t, s, c, pl, 12) // oldest first
	var got [][]string
	cur := "/widgets?limit=5&ending_before=" + created[0]
	for cur != "" {
		if len(got) > 5 {
			t.Fatalf("paging backwards does not end; pages so far %v", got)
		}
		_, v := fetch(t, s, c, pl.vendor, "GET", cur, "", "")
		ids := itemsOf(t, v, "data", "id")
		got = append(got, ids)
		m := v.(map[string]any)
		cur = ""
		if m["has_more"] == true {
			if len(ids) == 0 {
				t.Fatalf("an empty page says has_more")
			}
			cur = "/widgets?limit=5&ending_before=" + ids[0]
		}
	}
	rev := func(ids ...string) []string { slices.Reverse(ids); return ids }
	want := [][]string{rev(created[1:6]...), rev(created[6:11]...), rev(created[11:]...)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("paging backwards from the oldest gave %v\nwant %v", got, want)
	}
}

// A limit above the parameter's maximum is answered with a page of the
// maximum, as vendors clamp it, and the page still says there is more.
func TestPagingLimitClamped(t *testing.T) {
	pl := pagedLists[1] // files: limit at most 20
	s, c := pagingSandbox(t, pl)
	createItems(t, s, c, pl, 23)
	_, v := fetch(t, s, c, pl.vendor, "GET", "/files?limit=500", "", "")
	if ids := itemsOf(t, v, "files", "id"); len(ids) != 20 {
		t.Errorf("limit=500 answered %d items, want the maximum 20", len(ids))
	}
	if next, _ := v.(map[string]any)["next_cursor"].(string); next == "" {
		t.Errorf("a clamped page of 20 of 23 says it is the last")
	}
	_, v = fetch(t, s, c, pl.vendor, "GET", "/files?limit=0", "", "")
	if ids := itemsOf(t, v, "files", "id"); len(ids) != 1 {
		t.Errorf("limit=0 answered %d items, want the minimum 1", len(ids))
	}
}

// Pages follow the state: an item deleted between pages is not answered,
// and no other item is skipped or repeated.
func TestPagingAfterDelete(t *testing.T) {
	pl := pagedLists[0]
	s, c := pagingSandbox(t, pl)
	created := createItems(t, s, c, pl, 12)
	_, v := fetch(t, s, c, pl.vendor, "GET", "/widgets?limit=5", "", "")
	first := itemsOf(t, v, "data", "id")
	gone := created[3] // on the second page
	if resp, _ := fetch(t, s, c, pl.vendor, "DELETE", "/widgets/"+gone, "", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	rest := first
	cur := "/widgets?limit=5&starting_after=" + first[len(first)-1]
	for cur != "" {
		_, v := fetch(t, s, c, pl.vendor, "GET", cur, "", "")
		ids := itemsOf(t, v, "data", "id")
		rest = append(rest, ids...)
		cur = ""
		if v.(map[string]any)["has_more"] == true {
			cur = "/widgets?limit=5&starting_after=" + ids[len(ids)-1]
		}
	}
	want := slices.Clone(created)
	want = slices.Delete(want, 3, 4)
	slices.Reverse(want)
	if !slices.Equal(rest, want) {
		t.Errorf("paged around a delete: %v\nwant %v", rest, want)
	}
}
