// Package yamlerror reads the positions out of yaml.v3's error texts, so
// every file tether parses reports its YAML errors at the same, corrected
// lines, and names nodes the same way in its messages.
package yamlerror

import (
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var position = regexp.MustCompile(`line (\d+):\s*`)

// Split takes the text of a yaml.v3 error, or one line of a TypeError, and
// returns the 1-based line it names (0 when it names none) and the text
// without the "yaml: " prefix and the position.
func Split(text string) (line int, msg string) {
	msg = strings.TrimPrefix(text, "yaml: ")
	if m := position.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.Replace(msg, m[0], "", 1)
	}
	return line, msg
}

// Syntax is Split for a parser error, corrected where the parser is off:
// for an unclosed flow collection it names the line where the collection
// opened, counted from 0. hint says what to look for; it may be empty.
func Syntax(err error) (line int, msg, hint string) {
	line, msg = Split(err.Error())
	if line > 0 && strings.HasPrefix(msg, "did not find expected") {
		line++
		hint = "a [ or { opened on this line is not closed"
	}
	return line, msg, hint
}

// Describe names what a node is, for messages such as "faults is a
// mapping; it must be a list": "a mapping", "a list", "an alias", "null",
// or a scalar's value quoted.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "null"
		}
		return strconv.Quote(n.Value)
	}
	return "nothing"
}
