// Package yamldoc reads the YAML files a person writes (manifests,
// scenarios, policies, fault plans, events) with positions: it decodes them
// strictly, turns the YAML library's errors into *[contracts.Error]s at
// their corrected lines, in words a person writing the file uses, and finds
// the line of any key.
package yamldoc

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tetherkit/tether/contracts"
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

// Decode reads data, the file at path, into v with no unknown field
// allowed, and returns its top node, which must be a mapping (else the
// error says notMapping). Errors are *[contracts.Error]s at their lines.
func Decode(path string, data []byte, v any, notMapping string) (*yaml.Node, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line, msg, hint := Syntax(err)
		if hint != "" {
			msg += "; " + hint
		}
		return nil, &contracts.Error{File: path, Line: line, Msg: "invalid YAML: " + msg}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, &contracts.Error{File: path, Line: 1, Msg: notMapping}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return nil, TypeError(path, err)
	}
	return root.Content[0], nil
}

// TypeError turns a decoding error into a *[contracts.Error] at its first
// line, in words a person writing the file uses.
func TypeError(path string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		line, msg := Split(err.Error())
		return &contracts.Error{File: path, Line: line, Msg: msg}
	}
	line, msg := Split(te.Errors[0])
	if f, _, ok := strings.Cut(strings.TrimPrefix(msg, "field "), " not found in type"); ok && strings.HasPrefix(msg, "field ") {
		msg = "unknown field " + f
	}
	msg = strings.ReplaceAll(msg, "!!", "")
	return &contracts.Error{File: path, Line: line, Msg: msg}
}

// Line returns the line of the value at the path of keys under the mapping
// n, or of the closest enclosing one that exists.
func Line(n *yaml.Node, keys ...string) int {
	if n == nil {
		return 0
	}
	line := n.Line
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			break
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				line = n.Content[i].Line
				break
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

// Field returns the value of key in the mapping m, or nil.
func Field(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
