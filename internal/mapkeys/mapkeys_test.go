package mapkeys

import (
	"slices"
	"testing"
)

func TestSortedUnion(t *testing.T) {
	tests := []struct {
		a, b   map[string]int
		want   []string
		reason string
	}{
		{nil, nil, []string{}, "two empty maps"},
		{map[string]int{"b": 1, "a": 2}, nil, []string{"a", "b"}, "one side only, sorted"},
		{map[string]int{"b": 1}, map[string]int{"a": 1, "b": 2, "c": 3}, []string{"a", "b", "c"}, "a shared key appears once"},
	}
	for _, tc := range tests {
		if got := SortedUnion(tc.a, tc.b); !slices.Equal(got, tc.want) {
			t.Errorf("%s: SortedUnion = %v, want %v", tc.reason, got, tc.want)
		}
	}
}
