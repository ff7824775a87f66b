package jsonvalue

import "testing"

func TestCloneIsDeep(t *testing.T) {
	v := map[string]any{"a": []any{map[string]any{"b": "c"}}, "n": 1.0}
	c := Clone(v).(map[string]any)
	c["a"].([]any)[0].(map[string]any)["b"] = "changed"
	c["n"] = 2.0
	if got := v["a"].([]any)[0].(map[string]any)["b"]; got != "c" || v["n"] != 1.0 {
		t.Errorf("changing the clone changed the original: %v", v)
	}
}
