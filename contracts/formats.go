package contracts

import (
	"fmt"
	"strings"

	"github.com/pb33f/libopenapi-validator/config"
)

// Whether `format` is checked, and how. JSON Schema made `format` an
// annotation in 2019-09: a validator reports it but does not fail a
// value on it, unless the dialect's meta-schema enables the
// format-assertion vocabulary. OpenAPI 3.1 adopted that dialect; OpenAPI
// 3.0 and Swagger 2.0 schemas, and JSON Schema drafts 4 to 7, are checked
// against their formats by tradition. So tether asserts `format`:
//
//   - in OpenAPI 3.0 and Swagger 2.0 contracts: always;
//   - in OpenAPI 3.1 contracts (their `webhooks` included): not in the
//     default dialect, where `format` only guides the examples tether
//     synthesises; a schema that names an older draft in `$schema` (as
//     octokit's draft-07 webhook schemas do) is checked as that draft
//     says, which is to assert;
//   - in standalone JSON Schema files ([LoadSchema]): for drafts 4 to 7 and
//     for a file without `$schema`; for 2019-09 and 2020-12, only when the
//     file's meta-schema enables the format-assertion vocabulary.
//
// Where it asserts, every format is checked against its RFC; the checks
// the validator library gets wrong are replaced by those in formatChecks.

// formatChecks are tether's own checks of formats, by name.
var formatChecks = map[string]func(any) error{
	"uri-template": validateURITemplate,
}

// formatOptions are the validator options for a contract of an OpenAPI
// version: format assertions for 3.0, the dialect's rule for 3.1, and
// tether's own checks wherever a format is asserted.
func formatOptions(version float32) []config.Option {
	var opts []config.Option
	if version < 3.1 {
		opts = append(opts, config.WithFormatAssertions())
	}
	for name, check := range formatChecks {
		opts = append(opts, config.WithCustomFormat(name, check))
	}
	return opts
}

// schemaAssertsFormat says whether a standalone JSON Schema's `format`
// keywords are assertions: for drafts 4 to 7 and without `$schema`; for
// later drafts the compiler follows the meta-schema's vocabularies.
func schemaAssertsFormat(doc any) bool {
	m, ok := doc.(map[string]any)
	if !ok {
		return true
	}
	s, _ := m["$schema"].(string)
	return s == "" || strings.Contains(s, "json-schema.org/draft-0")
}

// validateURITemplate checks the syntax of RFC 6570 (section 2): literals,
// and expressions of an optional operator and comma-separated variable
// names, each with a prefix (":1" to ":9999") or an explode ("*")
// modifier. Operators reserved for future extensions ("=,!@|") are part of
// the grammar and accepted. Level-3 expressions such as "{/number}" and
// "{?since,all}" are valid; the validator library's own check refuses them.
func validateURITemplate(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return fmt.Errorf("the expression at %d has no closing brace", i)
			}
			if err := checkExpression(s[i+1 : i+end]); err != nil {
				return fmt.Errorf("the expression at %d: %w", i, err)
			}
			i += end + 1
		case c == '}':
			return fmt.Errorf("a closing brace at %d with no expression open", i)
		case c == '%':
			if !pctEncoded(s[i:]) {
				return fmt.Errorf("%% at %d is not followed by two hex digits", i)
			}
			i += 3
		case c <= ' ' || c == 0x7f || strings.IndexByte("\"'<>\\^`|", c) >= 0:
			return fmt.Errorf("the character %q at %d may not appear in a template's literals", c, i)
		default:
			i++
		}
	}
	return nil
}

func checkExpression(expr string) error {
	if expr != "" && strings.IndexByte("+#./;?&=,!@|", expr[0]) >= 0 {
		expr = expr[1:]
	}
	if expr == "" {
		return fmt.Errorf("no variable")
	}
	for _, spec := range strings.Split(expr, ",") {
		name := spec
		if n, ok := strings.CutSuffix(spec, "*"); ok {
			name = n
		} else if i := strings.IndexByte(spec, ':'); i >= 0 {
			name = spec[:i]
			if !maxLength(spec[i+1:]) {
				return fmt.Errorf("%q: a prefix is 1 to 9999, without leading zeros", spec)
			}
		}
		if !varName(name) {
			return fmt.Errorf("%q is not a variable name", spec)
		}
	}
	return nil
}

// maxLength is "%x31-39 0*3DIGIT".
func maxLength(s string) bool {
	if len(s) < 1 || len(s) > 4 || s[0] < '1' || s[0] > '9' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// varName is "varchar *( ["."] varchar )", varchar being a letter, a
// digit, "_" or a percent-encoded octet.
func varName(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
			i++
		case c == '.':
			if s[i+1] == '.' {
				return false
			}
			i++
		case c == '%' && pctEncoded(s[i:]):
			i += 3
		default:
			return false
		}
	}
	return true
}

func pctEncoded(s string) bool {
	return len(s) >= 3 && s[0] == '%' && isHex(s[1]) && isHex(s[2])
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
