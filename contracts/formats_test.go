package contracts

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// Templates from RFC 6570's examples (sections 1.2 and 3.2), and GitHub's.
func TestURITemplateFormat(t *testing.T) {
	valid := []string{
		"http://example.com/~{username}/",
		"http://example.com/dictionary/{term:1}/{term}",
		"http://example.com/search{?q,lang}",
		"{var}", "{+path}/here", "{#x,hello,y}", "X{.list*}", "{/var:1,var}", "{;x,y,empty}",
		"{?x,y,undef}", "?fixed=yes{&x}", "{=reserved}", "{list:9999}", "{a.b}", "{%20x}",
		"https://api.github.com/repos/o/r/issues{/number}",
		"https://api.github.com/notifications{?since,all,participating}",
		"https://api.github.com/users/o/starred{/owner}{/repo}",
		"no-expressions-at-all", "50%25",
	}
	invalid := map[string]string{
		"{}":          "an empty expression",
		"{var":        "an unclosed expression",
		"var}":        "a closing brace alone",
		"{a b}":       "a space in a name",
		"{var:0}":     "a prefix of 0",
		"{var:10000}": "a prefix over 9999",
		"{var:05}":    "a prefix with a leading zero",
		"{var:3*}":    "both modifiers",
		"{.a}{.}":     "an operator without a variable",
		"{a..b}":      "two dots in a row",
		"{a.}":        "a trailing dot",
		"a b":         "a space in a literal",
		"50%":         "a percent sign not encoding an octet",
		"a<b":         "a character literals may not hold",
	}
	for _, s := range valid {
		if err := validateURITemplate(s); err != nil {
			t.Errorf("%q: %v; want it valid", s, err)
		}
	}
	for s, reason := range invalid {
		if validateURITemplate(s) == nil {
			t.Errorf("%q is accepted; want it refused: %s", s, reason)
		}
	}
}

// The formats tether asserts hold their RFCs' own examples and refuse what
// the RFCs' grammars do not allow.
func TestFormatsAgainstRFCs(t *testing.T) {
	cases := []struct {
		format    string
		valid     []string
		invalid   []string
		reference string
	}{
		{"date-time", []string{"1985-04-12T23:20:50.52Z", "1996-12-19T16:39:57-08:00", "1990-12-31T23:59:60Z", "1937-01-01T12:00:27.87+00:20", "1985-04-12t23:20:50.52z"},
			[]string{"1985-04-12 23:20:50Z", "1985-13-12T23:20:50Z", "1985-04-12T23:20:50"}, "RFC 3339 section 5.8"},
		{"date", []string{"1985-04-12"}, []string{"1985-4-12", "1985-02-30"}, "RFC 3339 full-date"},
		{"time", []string{"23:20:50.52Z", "16:39:57-08:00"}, []string{"23:20", "25:00:00Z"}, "RFC 3339 full-time"},
		{"duration", []string{"P1Y2M3DT4H5M6S", "P4W", "PT36H"}, []string{"PT0.5S", "P", "1D"}, "RFC 3339 appendix A (no fractions)"},
		{"email", []string{"user@example.com", `"john doe"@example.com`}, []string{"no-at-sign", "a@"}, "RFC 5321 section 4.1.2"},
		{"hostname", []string{"example.com", "xn--bcher-kva.example"}, []string{"-a.example", "a_b.example"}, "RFC 1123 section 2.1"},
		{"ipv4", []string{"192.0.2.1"}, []string{"256.1.1.1", "01.2.3.4"}, "RFC 2673 section 3.2"},
		{"ipv6", []string{"::1", "2001:db8::ff00:42:8329", "::ffff:192.0.2.1"}, []string{"2001:db8:::1", "1:2:3:4:5:6:7:8:9"}, "RFC 4291 section 2.2"},
		{"uri", []string{"urn:oasis:names:specification:docbook:dtd:xml:4.1.2", "mailto:John.Doe@example.com", "ldap://[2001:db8::7]/c=GB?objectClass?one", "tel:+1-816-555-1212"},
			[]string{"/relative", "http://exa mple.com"}, "RFC 3986 section 1.1.2"},
		{"uri-reference", []string{"../a/b", "#frag", "//example.com/x"}, []string{`a\b`}, "RFC 3986 section 4.1"},
		{"uuid", []string{"f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}, []string{"f81d4fae7dec11d0a76500a0c91e6bf6x"}, "RFC 4122 section 3"},
		{"json-pointer", []string{"", "/foo", "/a~1b", "/m~0n"}, []string{"foo", "/a~2"}, "RFC 6901 section 5"},
	}
	for _, tc := range cases {
		s, err := ParseSchema("s.json", []byte(`{"$schema": "http://json-schema.org/draft-07/schema#", "format": "`+tc.format+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range tc.valid {
			b, _ := json.Marshal(v)
			if fs := s.Validate(b); len(fs) > 0 {
				t.Errorf("%s %q: %v; valid by %s", tc.format, v, fs[0].Message, tc.reference)
			}
		}
		for _, v := range tc.invalid {
			b, _ := json.Marshal(v)
			if fs := s.Validate(b); len(fs) == 0 {
				t.Errorf("%s %q is accepted; invalid by %s", tc.format, v, tc.reference)
			}
		}
	}
}

// Whether `format` is asserted follows each dialect.
func TestFormatAssertionByDialect(t *testing.T) {
	contract := func(version, schema string) *Contract {
		t.Helper()
		doc := "openapi: " + version + `
info: {title: t, version: "1"}
paths:
  /x:
    post:
      requestBody:
        content:
          application/json:
            schema: ` + schema + `
      responses: {"200": {description: ok}}
`
		c, err := Parse("t.yaml", []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cases := []struct {
		version, schema string
		asserted        bool
		reason          string
	}{
		{"3.0.3", "{type: string, format: date}", true, "OpenAPI 3.0 asserts formats by tradition"},
		{"3.1.0", "{type: string, format: date}", false, "OpenAPI 3.1's default dialect makes format an annotation"},
		{"3.1.0", `{$schema: "http://json-schema.org/draft-07/schema#", type: string, format: date}`, true, "a draft-07 schema in a 3.1 contract is checked as draft-07 says"},
	}
	for _, tc := range cases {
		c := contract(tc.version, tc.schema)
		req := httptest.NewRequest("POST", "/x", strings.NewReader(`"not a date"`))
		req.Header.Set("Content-Type", "application/json")
		_, fs := c.ValidateRequest(req)
		got := len(fs) > 0
		if got != tc.asserted {
			t.Errorf("%s %s: asserted = %v; want %v (%s)", tc.version, tc.schema, got, tc.asserted, tc.reason)
		}
	}
	for schema, want := range map[string]bool{
		`{"format": "date"}`: true,
		`{"$schema": "http://json-schema.org/draft-04/schema#", "format": "date"}`:      true,
		`{"$schema": "https://json-schema.org/draft/2020-12/schema", "format": "date"}`: false,
	} {
		s, err := ParseSchema("s.json", []byte(schema))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(s.Validate([]byte(`"not a date"`))) > 0; got != want {
			t.Errorf("standalone %s: asserted = %v; want %v", schema, got, want)
		}
	}
}
