package coverage

import (
	"maps"
	"slices"
	"testing"
)

func TestAnswers(t *testing.T) {
	declared := []string{"200", "404", "4XX", "default"}
	for _, tc := range []struct {
		reason string
		code   string
		got    []int
		want   bool
	}{
		{"the exact status", "404", []int{404}, true},
		{"another status", "404", []int{400}, false},
		{"a range takes its class", "4XX", []int{409}, true},
		{"a range not another class", "4XX", []int{503}, false},
		{"default takes what no other code covers", "default", []int{503}, true},
		{"default not what a code covers", "default", []int{200, 404, 409}, false},
		{"nothing answered", "200", nil, false},
	} {
		got := map[int]bool{}
		for _, s := range tc.got {
			got[s] = true
		}
		if answers(tc.code, got, declared) != tc.want {
			t.Errorf("%s: answers(%s, %v) = %v", tc.reason, tc.code, tc.got, !tc.want)
		}
	}
}

func TestFieldsOf(t *testing.T) {
	for _, tc := range []struct {
		reason, body string
		want         []string
	}{
		{"a JSON object's top-level keys", `{"channel":"C1","text":"hi","blocks":[{"type":"x"}]}`, []string{"blocks", "channel", "text"}},
		{"a form body's keys", "channel=C1&text=hi+there", []string{"channel", "text"}},
		{"a JSON array has no fields", `[1,2]`, nil},
		{"plain text has none", "hello world", nil},
		{"no body", "", nil},
	} {
		got := map[string]bool{}
		fieldsOf([]byte(tc.body), got)
		if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, tc.want) {
			t.Errorf("%s: fields %v, want %v", tc.reason, keys, tc.want)
		}
	}
}

func TestFaultKind(t *testing.T) {
	for fault, want := range map[string]string{
		"hang 500ms on getDeal of crm, first call": "timeout",
		"connection reset on getDeal":              "reset",
		"malformed body on getDeal":                "malformed",
		"truncated body":                           "truncated",
		"503 on postMessage of chat":               "",
		"latency 10ms":                             "",
	} {
		if got := FaultKind(fault); got != want {
			t.Errorf("FaultKind(%q) = %q, want %q", fault, got, want)
		}
	}
}
