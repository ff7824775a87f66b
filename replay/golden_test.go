package replay

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func chargeCall(body string) Call {
	return Call{
		Method: "POST",
		URL:    "https://api.vendor.test/v1/charges?expand=customer&limit=10",
		Headers: http.Header{
			"Content-Type":    {"application/json"},
			"Idempotency-Key": {"key-1"},
		},
		Body: body,
	}
}

func TestCompare(t *testing.T) {
	const base = `{"amount":100,"currency":"eur","sent_at":"2026-01-02T03:04:05Z","items":[{"id":"itm_1","sku":"A"},{"id":"itm_2","sku":"B"}]}`
	withHeader := func(c Call, name string, vals ...string) Call {
		c.Headers = c.Headers.Clone()
		if vals == nil {
			delete(c.Headers, name)
		} else {
			c.Headers[name] = vals
		}
		return c
	}
	withURL := func(c Call, u string) Call { c.URL = u; return c }
	getCall := Call{Method: "GET", URL: "https://api.vendor.test/v1/charges/ch_1"}

	tests := []struct {
		name   string
		reason string
		want   []Call
		got    []Call
		opts   []CompareOption
		diffs  []Difference
	}{{
		name:   "KeyOrderAndNumberSpelling",
		reason: "JSON is compared as data: key order and spacing do not matter, and 100, 100.0 and 1e2 are one number",
		want:   []Call{chargeCall(base)},
		got: []Call{chargeCall(`{ "items": [{"sku":"A","id":"itm_1"},{"sku":"B","id":"itm_2"}],
			"currency":"eur", "sent_at":"2026-01-02T03:04:05Z", "amount": 1e2 }`)},
	}, {
		name:   "FractionalNumberSpelling",
		reason: "numbers compare exactly by value, so 1.50 equals 1.5 and 15e-1",
		want:   []Call{chargeCall(`{"a":1.50,"b":[1,1.0]}`)},
		got:    []Call{chargeCall(`{"a":15e-1,"b":[1e0,1]}`)},
	}, {
		name:   "ChangedBodyValue",
		reason: "a changed value is one difference, named by its JSON path",
		want:   []Call{chargeCall(base)},
		got:    []Call{chargeCall(strings.Replace(base, `"amount":100`, `"amount":120`, 1))},
		diffs: []Difference{{Call: 1, Method: "POST", Path: "/v1/charges",
			Field: "body $.amount", Want: "100", Got: "120"}},
	}, {
		name:   "ChangedValueInArray",
		reason: "a value inside an array is named with its index",
		want:   []Call{chargeCall(base)},
		got:    []Call{chargeCall(strings.Replace(base, `"sku":"B"`, `"sku":"C"`, 1))},
		diffs: []Difference{{Call: 1, Method: "POST", Path: "/v1/charges",
			Field: "body $.items[1].sku", Want: `"B"`, Got: `"C"`}},
	}, {
		name:   "MissingAndExtraField",
		reason: "a field one side lacks is shown as (absent) on that side, and keys that are not identifiers are quoted",
		want:   []Call{chargeCall(`{"a":1,"x-y":true}`)},
		got:    []Call{chargeCall(`{"a":1,"b":null}`)},
		diffs: []Difference{
			{Call: 1, Method: "POST", Path: "/v1/charges", Field: "body $.b", Want: "(absent)", Got: "null"},
			{Call: 1, Method: "POST", Path: "/v1/charges", Field: "body $['x-y']", Want: "true", Got: "(absent)"},
		},
	}, {
		name:   "MissingCall",
		reason: "a golden call that was not made is a difference of its own",
		want:   []Call{chargeCall(base), getCall},
		got:    []Call{chargeCall(base)},
		diffs: []Difference{{Call: 2, Method: "GET", Path: "/v1/charges/ch_1",
			Field: "call", Want: "GET https://api.vendor.test/v1/charges/ch_1", Got: "(none)"}},
	}, {
		name:   "ExtraCall",
		reason: "a call the golden file lacks is a difference, named by the captured call",
		want:   []Call{chargeCall(base)},
		got:    []Call{chargeCall(base), getCall},
		diffs: []Difference{{Call: 2, Method: "GET", Path: "/v1/charges/ch_1",
			Field: "call", Want: "(none)", Got: "GET https://api.vendor.test/v1/charges/ch_1"}},
	}, {
		name:   "UnlistedHeaderIgnored",
		reason: "only headers the golden call lists matter; others, such as User-Agent, may vary",
		want:   []Call{chargeCall(base)},
		got:    []Call{withHeader(chargeCall(base), "User-Agent", "sdk/2.0")},
	}, {
		name:   "ListedHeaderChangedOrMissing",
		reason: "a listed header that changed or went missing is a difference",
		want:   []Call{chargeCall(base)},
		got: []Call{withHeader(withHeader(chargeCall(base), "Content-Type", "text/plain"),
			"Idempotency-Key")},
		diffs: []Difference{
			{Call: 1, Method: "POST", Path: "/v1/charges", Field: "header.Content-Type", Want: "application/json", Got: "text/plain"},
			{Call: 1, Method: "POST", Path: "/v1/charges", Field: "header.Idempotency-Key", Want: "key-1", Got: "(absent)"},
		},
	}, {
		name:   "IgnoreHeader",
		reason: "an idempotency key is generated per run, so IgnoreHeader leaves it out",
		want:   []Call{chargeCall(base)},
		got:    []Call{withHeader(chargeCall(base), "Idempotency-Key", "key-2")},
		opts:   []CompareOption{IgnoreHeader("idempotency-key")},
	}, {
		name:   "IgnoreFieldTimestampAndIDsInArray",
		reason: "IgnoreField leaves out a timestamp and generated IDs under an array, but not the values beside them",
		want:   []Call{chargeCall(base)},
		got: []Call{chargeCall(`{"amount":100,"currency":"usd","sent_at":"2026-05-06T07:08:09Z",` +
			`"items":[{"id":"itm_9","sku":"A"},{"id":"itm_8","sku":"B"}]}`)},
		opts: []CompareOption{IgnoreField("$.sent_at", "$.items[*].id")},
		diffs: []Difference{{Call: 1, Method: "POST", Path: "/v1/charges",
			Field: "body $.currency", Want: `"eur"`, Got: `"usd"`}},
	}, {
		name:   "IgnoreFieldBracketName",
		reason: "IgnoreField takes a bracketed name for a key that is not an identifier",
		want:   []Call{chargeCall(`{"x-request-id":"a","n":1}`)},
		got:    []Call{chargeCall(`{"x-request-id":"b","n":1}`)},
		opts:   []CompareOption{IgnoreField("$['x-request-id']")},
	}, {
		name:   "QueryOrderFree",
		reason: "query parameters compare by name, in any order",
		want:   []Call{chargeCall(base)},
		got:    []Call{withURL(chargeCall(base), "https://api.vendor.test/v1/charges?limit=10&expand=customer")},
	}, {
		name:   "QueryChanged",
		reason: "a changed or added query parameter is a difference named by the parameter",
		want:   []Call{chargeCall(base)},
		got:    []Call{withURL(chargeCall(base), "https://api.vendor.test/v1/charges?expand=customer&limit=20&page=2")},
		diffs: []Difference{
			{Call: 1, Method: "POST", Path: "/v1/charges", Field: "query.limit", Want: "10", Got: "20"},
			{Call: 1, Method: "POST", Path: "/v1/charges", Field: "query.page", Want: "(absent)", Got: "2"},
		},
	}, {
		name:   "IgnoreQuery",
		reason: "IgnoreQuery leaves out a cache buster that differs on every run",
		want:   []Call{withURL(chargeCall(base), "https://api.vendor.test/v1/charges?expand=customer&limit=10&_=1")},
		got:    []Call{withURL(chargeCall(base), "https://api.vendor.test/v1/charges?_=2&expand=customer&limit=10")},
		opts:   []CompareOption{IgnoreQuery("_")},
	}, {
		name:   "MethodAndPath",
		reason: "method and path differences are reported under the golden call's name",
		want:   []Call{getCall},
		got:    []Call{{Method: "DELETE", URL: "https://api.vendor.test/v1/charges/ch_2"}},
		diffs: []Difference{
			{Call: 1, Method: "GET", Path: "/v1/charges/ch_1", Field: "method", Want: "GET", Got: "DELETE"},
			{Call: 1, Method: "GET", Path: "/v1/charges/ch_1", Field: "url.path", Want: "/v1/charges/ch_1", Got: "/v1/charges/ch_2"},
		},
	}, {
		name:   "TextBody",
		reason: "a body that is not JSON is compared as text",
		want:   []Call{{Method: "POST", URL: "https://api.vendor.test/v1/notes", Body: "hello"}},
		got:    []Call{{Method: "POST", URL: "https://api.vendor.test/v1/notes", Body: "hullo"}},
		diffs: []Difference{{Call: 1, Method: "POST", Path: "/v1/notes",
			Field: "body", Want: `"hello"`, Got: `"hullo"`}},
	}, {
		name:   "WholeBodyKindChanged",
		reason: "an object where an array was is one difference at the root",
		want:   []Call{chargeCall(`{"a":1}`)},
		got:    []Call{chargeCall(`[1]`)},
		diffs: []Difference{{Call: 1, Method: "POST", Path: "/v1/charges",
			Field: "body $", Want: `{"a":1}`, Got: `[1]`}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare(tt.want, tt.got, tt.opts...)
			if diff := cmp.Diff(tt.diffs, got); diff != "" {
				t.Errorf("Compare differences mismatch (-want +got):\n%s\nreason: %s", diff, tt.reason)
			}
		})
	}
}

func TestCompareRejectsMisuse(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		opts   []CompareOption
		panic  string
	}{{
		name:   "BadPath",
		reason: "a JSON path without $ cannot be matched and must not be silently ignored",
		opts:   []CompareOption{IgnoreField("items.id")},
		panic:  `compare: IgnoreField("items.id"): a JSON path starts with $`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tt.panic) {
					t.Errorf("Compare panicked with %v, want %q\nreason: %s", r, tt.panic, tt.reason)
				}
			}()
			Compare(nil, nil, tt.opts...)
		})
	}
}

func TestCallDifferenceString(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		d      Difference
		want   string
	}{{
		name:   "BodyField",
		reason: "a person reads call number, method and path, then field, then expected against actual",
		d:      Difference{Call: 2, Method: "POST", Path: "/v1/messages", Field: "body $.amount", Want: "100", Got: "120"},
		want:   "call 2: POST /v1/messages: body $.amount: want 100, got 120",
	}, {
		name:   "MissingCall",
		reason: "a missing call reads as the call wanted and none got",
		d:      Difference{Call: 3, Method: "GET", Path: "/v1/x", Field: "call", Want: "GET https://h/v1/x", Got: "(none)"},
		want:   "call 3: GET /v1/x: call: want GET https://h/v1/x, got (none)",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.String(); got != tt.want {
				t.Errorf("String() = %q, want %q\nreason: %s", got, tt.want, tt.reason)
			}
		})
	}
}

func TestLoadGolden(t *testing.T) {
	calls, err := LoadGolden(filepath.Join("testdata", "golden", "create_charge.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Call{{
		Method: "POST",
		URL:    "https://api.vendor.test/v1/charges?expand=customer",
		Headers: http.Header{
			"Content-Type":    {"application/json"},
			"Idempotency-Key": {"key-7f3a"},
		},
		Body: `{"amount":100,"currency":"eur","sent_at":"2026-01-02T03:04:05Z","items":[{"id":"itm_1","sku":"A"},{"id":"itm_2","sku":"B"}]}`,
	}, {
		Method:  "GET",
		URL:     "https://api.vendor.test/v1/charges/ch_1",
		Headers: http.Header{"Accept": {"application/json"}},
	}, {
		Method:  "POST",
		URL:     "https://api.vendor.test/v1/notes",
		Headers: http.Header{"Content-Type": {"text/plain"}},
		Body:    "thanks for your order",
	}}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("LoadGolden mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadGoldenErrors(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		file   string // under testdata/golden, or written from data
		data   string
		want   string
		is     error
	}{{
		name:   "TrailingComma",
		reason: "a syntax error names file, line and column so a person can go straight to it",
		file:   "broken_trailing_comma.json",
		want:   filepath.Join("testdata", "golden", "broken_trailing_comma.json") + ":5:3: invalid character '}'",
	}, {
		name:   "WrongType",
		reason: "a value of the wrong type is located too",
		data:   "[\n  {\"method\": 7}\n]\n",
		want:   "wrong_type.json:2:14: method is a JSON number, want a string",
	}, {
		name:   "NotAnArray",
		reason: "a file holding one call rather than a list says what it should hold",
		data:   "{\"method\": \"GET\"}\n",
		want:   "wrong_type.json:1:1: file holds a JSON object, want an array of calls",
	}, {
		name:   "Missing",
		reason: "a missing file keeps its cause, so callers can tell it from a broken one",
		file:   "no_such_file.json",
		want:   "load golden: open",
		is:     fs.ErrNotExist,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("testdata", "golden", tt.file)
			if tt.data != "" {
				path = filepath.Join(t.TempDir(), "wrong_type.json")
				if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadGolden(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadGolden error = %v, want it to contain %q\nreason: %s", err, tt.want, tt.reason)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("LoadGolden error = %v, want errors.Is %v\nreason: %s", err, tt.is, tt.reason)
			}
		})
	}
}

// TestWriteGoldenRoundTrip shows the file format is deterministic: writing
// what was loaded gives the same bytes back.
func TestWriteGoldenRoundTrip(t *testing.T) {
	src := filepath.Join("testdata", "golden", "create_charge.json")
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := LoadGolden(src)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.json")
	if err := WriteGolden(out, calls); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(orig), string(written)); diff != "" {
		t.Errorf("WriteGolden(LoadGolden(f)) differs from f (-want +got):\n%s", diff)
	}
}

func TestUpdateGolden(t *testing.T) {
	src := filepath.Join("testdata", "golden", "create_charge.json")
	golden, err := LoadGolden(src)
	if err != nil {
		t.Fatal(err)
	}
	volatile := []CompareOption{IgnoreHeader("Idempotency-Key"), IgnoreField("$.sent_at", "$.items[*].id")}
	rerun := func() []Call {
		calls := make([]Call, len(golden))
		copy(calls, golden)
		calls[0].Headers = http.Header{
			"Content-Type":    {"application/json"},
			"Idempotency-Key": {"key-new"},
			"User-Agent":      {"sdk/2.0"},
		}
		calls[0].Body = `{"items":[{"id":"itm_8","sku":"A"},{"id":"itm_9","sku":"B"}],"amount":100.0,"currency":"eur","sent_at":"2027-01-01T00:00:00Z"}`
		return calls
	}

	tests := []struct {
		name    string
		reason  string
		got     func() []Call
		changed bool
	}{{
		name:   "OnlyIgnoredValuesDiffer",
		reason: "a new timestamp, IDs and idempotency key are ignored, so the file keeps its bytes and its mtime",
		got:    rerun,
	}, {
		name:   "RealChange",
		reason: "an amount that changed is what -update is for, so the file is rewritten",
		got: func() []Call {
			calls := rerun()
			calls[0].Body = strings.Replace(calls[0].Body, `"amount":100.0`, `"amount":120`, 1)
			return calls
		},
		changed: true,
	}, {
		name:   "CallAdded",
		reason: "a new call is a real change, and is written with all its headers",
		got: func() []Call {
			return append(rerun(), Call{Method: "DELETE", URL: "https://api.vendor.test/v1/charges/ch_1",
				Headers: http.Header{"Accept": {"application/json"}}})
		},
		changed: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "create_charge.json")
			orig, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, orig, 0o644); err != nil {
				t.Fatal(err)
			}
			old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
			got := tt.got()

			changed, err := UpdateGolden(path, got, volatile...)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.changed {
				t.Errorf("UpdateGolden changed = %v, want %v\nreason: %s", changed, tt.changed, tt.reason)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.changed {
				if !bytes.Equal(after, orig) || !info.ModTime().Equal(old) {
					t.Errorf("UpdateGolden touched the file (mtime %v)\nreason: %s", info.ModTime(), tt.reason)
				}
				return
			}
			// The rewritten file holds what was captured, keeping only the
			// headers the old file listed for calls it already had.
			reloaded, err := LoadGolden(path)
			if err != nil {
				t.Fatal(err)
			}
			if d := Compare(reloaded, got); len(d) != 0 {
				t.Errorf("rewritten file differs from what was captured: %v\nreason: %s", d, tt.reason)
			}
			if _, ok := reloaded[0].Headers["User-Agent"]; ok {
				t.Errorf("rewritten call 1 lists User-Agent, which the old file did not\nreason: %s", tt.reason)
			}
			// A second update with the same calls has nothing to do.
			if again, err := UpdateGolden(path, got, volatile...); err != nil || again {
				t.Errorf("second UpdateGolden = %v, %v; want false, nil", again, err)
			}
		})
	}
}

func TestUpdateGoldenNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.json")
	calls := []Call{{Method: "GET", URL: "https://api.vendor.test/v1/ping"}}
	changed, err := UpdateGolden(path, calls)
	if err != nil || !changed {
		t.Fatalf("UpdateGolden on a missing file = %v, %v; want true, nil", changed, err)
	}
	loaded, err := LoadGolden(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(calls, loaded); diff != "" {
		t.Errorf("written file mismatch (-want +got):\n%s", diff)
	}
}

func ExampleCompare() {
	golden := []Call{{
		Method:  "POST",
		URL:     "https://api.vendor.test/v1/messages",
		Headers: http.Header{"Idempotency-Key": {"k-1"}},
		Body:    `{"to":"ana","amount":100,"sent_at":"2026-01-01T00:00:00Z"}`,
	}}
	captured := []Call{{
		Method:  "POST",
		URL:     "https://api.vendor.test/v1/messages",
		Headers: http.Header{"Idempotency-Key": {"k-2"}},
		Body:    `{"sent_at":"2026-06-30T12:00:00Z","amount":120,"to":"ana"}`,
	}}
	for _, d := range Compare(golden, captured, IgnoreHeader("Idempotency-Key"), IgnoreField("$.sent_at")) {
		fmt.Println(d)
	}
	// Output:
	// call 1: POST /v1/messages: body $.amount: want 100, got 120
}
