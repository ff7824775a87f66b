package yamldoc

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestSyntaxLines(t *testing.T) {
	cases := []struct {
		doc    string
		line   int
		hint   bool
		reason string
	}{
		{"a: 1\nb: {c: 2\n", 2, true, "an unclosed flow mapping is named at the line it opens, counted from 1"},
		{"a: 1\nb: [1,\nc: d: e\n", 2, true, "an unclosed flow sequence likewise"},
		{"a: 1\nb: 2\n  c: 3\n", 3, false, "other errors already count from 1"},
	}
	for _, tc := range cases {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(tc.doc), &n)
		if err == nil {
			t.Fatalf("%q parsed; want an error", tc.doc)
		}
		line, msg, hint := Syntax(err)
		if line != tc.line || (hint != "") != tc.hint || msg == "" {
			t.Errorf("Syntax(%q) = line %d, %q, hint %q; want line %d (%s)", err, line, msg, hint, tc.line, tc.reason)
		}
	}
}

func TestSplitWithoutPosition(t *testing.T) {
	if line, msg := Split("yaml: something odd"); line != 0 || msg != "something odd" {
		t.Errorf("Split = %d, %q; want 0 and the text without its prefix", line, msg)
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct{ doc, want, reason string }{
		{"{a: 1}", "a mapping", "a flow mapping"},
		{"- 1\n", "a list", "a block list"},
		{"~", "null", "null written as ~"},
		{"", "nothing", "an empty document has no node"},
		{"fast", `"fast"`, "a scalar is quoted"},
		{"12", `"12"`, "numbers are scalars too"},
	}
	for _, tc := range tests {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(tc.doc), &doc); err != nil {
			t.Fatal(err)
		}
		n := &doc
		if len(doc.Content) > 0 {
			n = doc.Content[0]
		}
		if got := Describe(n); got != tc.want {
			t.Errorf("%s: Describe(%q) = %q, want %q", tc.reason, tc.doc, got, tc.want)
		}
	}
}
