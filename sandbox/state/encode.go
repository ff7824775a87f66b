package state

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"sync"
)

// itemEncoding is an operation's template item written once, field by
// field: a new item is mostly the template's fields, and those are copied
// in as written instead of being encoded again for every create.
type itemEncoding struct {
	once   sync.Once
	src    map[string]any
	enc    map[string][]byte // `"name":value`, as encoding/json writes it
	sorted []fieldEncoding   // src's fields in key order
	size   int               // the bytes of sorted's encodings
	// idField names src's identifier; refs are the fields of src that
	// hold it elsewhere.
	idField string
	refs    idRefs
}

type fieldEncoding struct {
	name string
	val  any
	enc  []byte // nil where encoding/json cannot write val
}

// fields writes src's fields, once.
func (e *itemEncoding) fields() map[string][]byte {
	e.once.Do(func() {
		e.enc = make(map[string][]byte, len(e.src))
		for _, k := range slices.Sorted(maps.Keys(e.src)) {
			b, err := encodeField(nil, k, e.src[k])
			if err == nil {
				e.enc[k] = b
			}
			e.sorted = append(e.sorted, fieldEncoding{k, e.src[k], b})
			e.size += len(b) + 1
		}
	})
	return e.enc
}

// encodeField appends `"name":value` to dst, as encoding/json writes it.
func encodeField(dst []byte, name string, v any) ([]byte, error) {
	if plainString(name) {
		dst = append(append(append(dst, '"'), name...), '"', ':')
	} else {
		k, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		dst = append(append(dst, k...), ':')
	}
	switch t := v.(type) {
	case string:
		if plainString(t) {
			return append(append(append(dst, '"'), t...), '"'), nil
		}
	case bool:
		return strconv.AppendBool(dst, t), nil
	case nil:
		return append(dst, "null"...), nil
	case map[string]any:
		if out, ok := appendPlainMap(dst, t); ok {
			return out, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// appendPlainMap appends m as encoding/json writes it, where its keys and
// values are all plain strings (Twilio's links); ok is false otherwise.
func appendPlainMap(dst []byte, m map[string]any) ([]byte, bool) {
	if len(m) > 64 {
		return dst, false
	}
	keys := make([]string, 0, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok || !plainString(k) || !plainString(s) {
			return dst, false
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(append(append(dst, '"'), k...), '"', ':', '"')
		dst = append(append(dst, m[k].(string)...), '"')
	}
	return append(dst, '}'), true
}

// plainString says whether encoding/json writes s as it is between
// quotes: printable ASCII without a quote, a backslash, or the <, > and &
// it escapes for HTML.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// encodeObject writes obj as encoding/json does (keys sorted, the same
// escaping), copying in the template's encoding of each field that still
// holds the template's own value. like may be nil.
func encodeObject(obj map[string]any, like *itemEncoding) ([]byte, error) {
	if like == nil {
		return json.Marshal(obj)
	}
	done := like.fields()
	if len(obj) == len(like.sorted) {
		// Most items have the template's fields, whose order is known.
		if out, ok := encodeLike(obj, like); ok {
			return out, nil
		}
	}
	keys := slices.Sorted(maps.Keys(obj))
	n := 2
	for _, k := range keys {
		n += len(done[k]) + 1
	}
	out := make([]byte, 1, n+64)
	out[0] = '{'
	for i, k := range keys {
		if i > 0 {
			out = append(out, ',')
		}
		if b, ok := done[k]; ok && sameValue(obj[k], like.src[k]) {
			out = append(out, b...)
			continue
		}
		var err error
		if out, err = encodeField(out, k, obj[k]); err != nil {
			return nil, err
		}
	}
	return append(out, '}'), nil
}

// encodeSet writes the template's item with the fields of set in place
// of its own, as [encodeObject] writes that item; ok is false where set
// holds a field the template lacks, or a value is not written so.
func encodeSet(set map[string]any, like *itemEncoding, id string) (out []byte, ok bool) {
	if like == nil {
		return nil, false
	}
	like.fields()
	var refs map[string][][]byte
	follow := false
	if id != "" {
		r := like.refs.refsOf(like.src, like.idField)
		refs = r.written(like)
		follow = r.id != "" && id != r.id && urlSafe(id)
	}
	for k := range set {
		if _, has := like.src[k]; !has {
			return nil, false
		}
	}
	out = make([]byte, 1, like.size+256)
	out[0] = '{'
	for i, f := range like.sorted {
		if i > 0 {
			out = append(out, ',')
		}
		v, has := set[f.name]
		if !has && follow {
			// A field that names the template's identifier names id.
			if parts, split := refs[f.name]; split {
				for j, p := range parts {
					if j > 0 {
						out = append(out, id...)
					}
					out = append(out, p...)
				}
				continue
			}
			if slices.Contains(like.refs.fields, f.name) {
				return nil, false
			}
		}
		if !has || f.enc != nil && sameValue(v, f.val) {
			if f.enc == nil {
				return nil, false
			}
			out = append(out, f.enc...)
			continue
		}
		var err error
		if out, err = encodeField(out, f.name, v); err != nil {
			return nil, false
		}
	}
	return append(out, '}'), true
}

// sameValue says whether a and b are the same decoded JSON value: equal
// scalars, or the very same object or array (not an equal copy).
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && x != nil && y != nil && reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (x == nil) == (y == nil) && (len(x) == 0 || &x[0] == &y[0])
	case nil, string, bool, json.Number, float64, int64, int:
		return a == b
	}
	return false
}

// encodeLike writes obj in the order of its template's fields, obj having
// as many fields as the template; ok is false where they are not the
// same fields.
func encodeLike(obj map[string]any, like *itemEncoding) (out []byte, ok bool) {
	return encodeSet(obj, like, "")
}
