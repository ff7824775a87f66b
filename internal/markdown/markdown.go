// Package markdown escapes text for GitHub-flavoured Markdown, so that a
// message, a name or a diff line taken from a report can neither break the
// table or list it is put in nor turn into markup. Every Markdown tether
// writes goes through it.
package markdown

import "strings"

// Text escapes s for Markdown text: each character that could start markup
// is backslash-escaped, and a newline becomes <br>, so the text stays on its
// line (a table row or a list item).
func Text(s string) string {
	var b strings.Builder
	for _, c := range strings.ReplaceAll(s, "\r\n", "\n") {
		switch c {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '&', '|', '~':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '\n', '\r':
			b.WriteString("<br>")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Cell is [Text] for a table cell, where an empty cell reads as a dash.
func Cell(s string) string {
	if s == "" {
		return "–"
	}
	return Text(s)
}

// Code puts s in a code span whose backtick run is longer than any in s. A
// newline becomes a space and a pipe is escaped, which GitHub honours inside
// code spans in tables too.
func Code(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "|", `\|`).Replace(s)
	ticks := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return ticks + s + ticks
}

// Fence is a code fence longer than any run of backticks in body, so that
// body cannot close it.
func Fence(body string) string {
	return strings.Repeat("`", max(3, longestRun(body, '`')+1))
}

// Block is body in a fenced code block, on lines of its own.
func Block(body string) string {
	f := Fence(body)
	return f + "\n" + body + "\n" + f + "\n"
}

func longestRun(s string, c rune) int {
	longest, n := 0, 0
	for _, r := range s {
		if r == c {
			n++
			longest = max(longest, n)
		} else {
			n = 0
		}
	}
	return longest
}
