package jsonpath

import (
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		steps   Path
		reason  string
	}{
		{"$", "$", Path{}, "the whole value"},
		{"$.meta.ts", "$.meta.ts", Path{{Key: "meta", Index: -1}, {Key: "ts", Index: -1}}, "members"},
		{"$.items[0].id", "$.items[0].id", Path{{Key: "items", Index: -1}, {Index: 0}, {Key: "id", Index: -1}}, "an element"},
		{"$.items[*].id", "$.items[*].id", Path{{Key: "items", Index: -1}, {Any: true, Index: -1}, {Key: "id", Index: -1}}, "any element"},
		{"$.*", "$[*]", Path{{Any: true, Index: -1}}, "any member"},
		{`$["my-field"]`, "$['my-field']", Path{{Key: "my-field", Index: -1}}, "a name that is not plain, double-quoted"},
		{`$['it\'s'].x`, `$['it\'s'].x`, Path{{Key: "it's", Index: -1}, {Key: "x", Index: -1}}, "an escaped quote"},
		{"$['a.b']", "$['a.b']", Path{{Key: "a.b", Index: -1}}, "a dot inside a quoted name"},
	} {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v (%s)", tc.in, err, tc.reason)
			continue
		}
		if !slices.Equal(got, tc.steps) || got.String() != tc.out {
			t.Errorf("Parse(%q) = %+v, %q; want %+v, %q (%s)", tc.in, got, got, tc.steps, tc.out, tc.reason)
		}
	}
	for _, bad := range []string{"", "meta.ts", "$.", "$[", "$['x", "$['x'", "$[-1]", "$[x]", "$..a", "$ a"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded; want an error", bad)
		}
	}
}

func TestOf(t *testing.T) {
	if got := Of([]string{"items", "0", "my-field", "_ok1"}); got != "$.items[0]['my-field']._ok1" {
		t.Errorf("Of = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"$", "$.a[0]", "$['b\\'c'][*]", "$[", "$.items[*].id"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(p.String())
		if err != nil || !slices.Equal(again, p) {
			t.Fatalf("%q read as %+v writes %q, which reads as %+v, %v", s, p, p.String(), again, err)
		}
	})
}
