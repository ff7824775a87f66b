// Package jsonvalue works on JSON values as encoding/json decodes them into
// any: maps of string to any, slices of any, and scalars.
package jsonvalue

// Clone copies v deeply, so that the copy can be changed without changing
// v. Scalars are shared, as they cannot be changed.
func Clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = Clone(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = Clone(e)
		}
		return l
	}
	return v
}
