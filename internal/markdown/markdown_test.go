package markdown

import "testing"

func TestCode(t *testing.T) {
	for _, tc := range []struct{ in, want, reason string }{
		{"a.yaml:1:2", "`a.yaml:1:2`", "plain text needs one backtick"},
		{"a`b", "``a`b``", "a backtick inside needs a longer run"},
		{"`a`", "`` `a` ``", "a backtick at an end needs padding"},
		{"a|b\nc", "`a\\|b c`", "pipes are escaped and newlines flattened"},
	} {
		if got := Code(tc.in); got != tc.want {
			t.Errorf("Code(%q) = %q, want %q: %s", tc.in, got, tc.want, tc.reason)
		}
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want, reason string }{
		{"plain words", "plain words", "nothing to escape"},
		{"<b>a & b</b>", `\<b\>a \& b\</b\>`, "HTML is shown, not rendered"},
		{"a|b", `a\|b`, "a pipe would end a table cell"},
		{"one\r\ntwo\nthree", "one<br>two<br>three", "a newline would end a row or a list item"},
		{"*x* _y_ [z](u) `c` ~s~", `\*x\* \_y\_ \[z\](u) \` + "`c\\`" + ` \~s\~`, "emphasis, links, code and strikes stay text"},
	} {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q: %s", tc.in, got, tc.want, tc.reason)
		}
	}
	if Cell("") != "–" {
		t.Error("an empty cell must read as a dash")
	}
}

func TestFence(t *testing.T) {
	for _, tc := range []struct {
		body, want, reason string
	}{
		{"no ticks", "```", "three backticks at least"},
		{"a ```` b", "`````", "longer than any run in the body"},
	} {
		if got := Fence(tc.body); got != tc.want {
			t.Errorf("Fence(%q) = %q, want %q: %s", tc.body, got, tc.want, tc.reason)
		}
	}
}
