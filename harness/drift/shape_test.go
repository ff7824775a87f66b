package drift

import (
	"strings"
	"testing"
)

func TestDriftShapes(t *testing.T) {
	for _, tc := range []struct {
		reason                 string
		recorded, live, second string
		want                   []string
	}{
		{"same shape, other values", `{"a":1,"b":"x"}`, `{"a":2,"b":"y"}`, "", nil},
		{"a retyped field", `{"a":1}`, `{"a":"1"}`, "", []string{"$.a type number in the cassette, string live"}},
		{"removed and added", `{"a":1}`, `{"b":1}`, "", []string{"$.a field removed", "$.b field added: number"}},
		{"a removed object reports once", `{"o":{"x":1,"y":2}}`, `{}`, "", []string{"$.o field removed"}},
		{"a member whose name holds a dot", `{"a.b":{"c":1}}`, `{"a.b":{"c":"1"}}`, "", []string{"$['a.b'].c type number in the cassette, string live"}},
		{"a removed member whose name holds a dot", `{"a.b":1}`, `{}`, "", []string{"$['a.b'] field removed"}},
		{"elements merge", `{"l":[{"x":1},{"x":2}]}`, `{"l":[{"x":3}]}`, "", nil},
		{"a field there every other call is noise", `{"c":"x"}`, `{}`, `{"c":"y"}`, nil},
		{"a field that turns null between calls is noise", `{"t":"2020"}`, `{"t":null}`, `{"t":"2021"}`, nil},
		{"absent from both live answers is drift", `{"c":"x"}`, `{}`, `{}`, []string{"$.c field removed"}},
		{"not JSON is not compared", `<html>`, `{"a":1}`, "", nil},
	} {
		var second []byte
		if tc.second != "" {
			second = []byte(tc.second)
		}
		var got []string
		for _, d := range compareShapes([]byte(tc.recorded), []byte(tc.live), second) {
			got = append(got, d.path+" "+d.message)
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s: got %q, want %q", tc.reason, got, tc.want)
		}
	}
}

// FuzzDriftShapes: no body, however hostile, makes the comparison panic,
// and a body compared with itself never drifts.
func FuzzDriftShapes(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[{"a":[1,"x",null]}]`, `{"a.b":{"['c']":true}}`, `"s"`, `{"a":` + strings.Repeat("[", 200), `null`, `{"a":1,"a":"x"}`} {
		f.Add(s, `{"a":2}`)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		compareShapes([]byte(a), []byte(b), []byte(a))
		compareShapes([]byte(a), []byte(b), nil)
		if d := compareShapes([]byte(a), []byte(a), []byte(a)); len(d) != 0 {
			t.Errorf("%q against itself: %v", a, d)
		}
	})
}
