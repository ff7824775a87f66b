// Package mapkeys holds the one key-set operation several packages need
// when they compare two maps and report the differences in a stable order.
package mapkeys

import (
	"maps"
	"slices"
)

// SortedUnion returns the keys of a and b, each once, sorted.
func SortedUnion[V any](a, b map[string]V) []string {
	keys := slices.AppendSeq(make([]string, 0, len(a)+len(b)), maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
