package state

import (
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"testing"
)

// A request's field is merged under the item's property of the same name,
// else of the same loose name (FriendlyName for friendly_name) where one
// property alone reads so; a field sent under both spellings takes the
// property's own, two loose spellings of one property take neither, and
// the identifier is never taken.
func TestMergeLooseNames(t *testing.T) {
	spec := `openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    item:
      type: object
      properties:
        sid: {type: string}
        friendly_name: {type: string}
        status: {type: string}
        sticky_sender: {type: boolean}
        area_code: {type: string}
        areaCode: {type: string}
`
	schema := componentSchemas(t, spec)
	item := schema("item")
	for _, tc := range []struct {
		reason string
		form   string
		want   map[string]any
	}{
		{"Twilio's spelling", "FriendlyName=a&StickySender=true", map[string]any{"friendly_name": "a", "sticky_sender": true}},
		{"the property's own name wins", "friendly_name=own&FriendlyName=other", map[string]any{"friendly_name": "own"}},
		{"two loose spellings take neither", "FriendlyName=a&friendly-name=b&Status=ok", map[string]any{"status": "ok"}},
		{"a loose name two properties share is not taken", "AreaCode=1", map[string]any{}},
		{"an exact name of one of them is", "areaCode=1", map[string]any{"areaCode": "1"}},
		{"the identifier is never taken", "Sid=x&sid=y", map[string]any{}},
	} {
		a := &answering{r: &Resource{IDField: "sid", item: item}, c: Call{Body: []byte(tc.form), Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}}
		obj := map[string]any{}
		merged := a.merge(obj)
		if len(obj) != len(tc.want) || len(merged) != len(obj) {
			t.Errorf("%s: %s merged %v (%v), want %v", tc.reason, tc.form, obj, merged, tc.want)
			continue
		}
		for k, v := range tc.want {
			if obj[k] != v || !slices.Contains(merged, k) {
				t.Errorf("%s: %s merged %v, want %v", tc.reason, tc.form, obj, tc.want)
			}
		}
	}
}

// A form of plain names is read as the general reading reads it, or left
// to it.
func FuzzPlainForm(f *testing.F) {
	for _, s := range []string{"FriendlyName=Bench+service&StickySender=true", "a=1&a=2", "a", "=x", "a=%zz", "a%5B0%5D=x", "a[b]=c", "a=1;b=2", "&&a=&", "a=%E2%82%AC", "k=v=w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, ok := plainForm([]byte(body))
		if !ok {
			return
		}
		vals, err := url.ParseQuery(body)
		if err != nil {
			t.Fatalf("%q: read as %v, but url.ParseQuery refuses it: %v", body, got, err)
		}
		if want := formFields(vals); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: read as %v, want %v", body, got, want)
		}
	})
}
