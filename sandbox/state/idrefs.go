package state

import (
	"bytes"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi/datamodel/high/base"
)

// The template's item refers to its own identifier beyond its id field:
// Twilio's service has url and links (".../Services/MGaaa.../Messages"),
// GitHub's issue its url, comments_url and html_url (".../issues/1347"). A
// new item made from the template refers to its own identifier there
// instead. (The other path parameters in those URLs, GitHub's owner and
// repository, stay the template's.)

// idRefs are the fields of a template's item that hold its identifier.
type idRefs struct {
	once   sync.Once
	id     string   // the template's identifier as text; "" when none can be followed
	fields []string // the item's fields whose values hold id

	partsOnce sync.Once
	parts     map[string][][]byte // each field's encoding, split where it holds id
}

// written is each field's `"name":value` encoding split where a new
// identifier goes, for [encodeSet]; a field is left out where the split
// would not write what [idRefs.rewrite] makes of it (an identifier next to
// an escape), so that it is written the slow way. r must be refsOf'd.
func (r *idRefs) written(like *itemEncoding) map[string][][]byte {
	r.partsOnce.Do(func() {
		if r.id == "" || !plainString(r.id) {
			return
		}
		// A marker no template holds, to find where the identifier went.
		const marker = "zq9Xtether0idXq9z"
		r.parts = map[string][][]byte{}
		for _, k := range r.fields {
			probe, err := encodeField(nil, k, replaceID(like.src[k], r.id, marker, 0))
			if err != nil || bytes.Count(probe, []byte(r.id)) > 0 {
				continue
			}
			parts := bytes.Split(probe, []byte(marker))
			if len(parts) < 2 {
				continue
			}
			r.parts[k] = parts
		}
	})
	return r.parts
}

// minRefID is the shortest identifier followed into other fields: a
// shorter one ("1", "42") would be found in values that do not mean it.
const minRefID = 4

// refsOf finds, once, the fields of src that hold its identifier.
func (r *idRefs) refsOf(src map[string]any, idField string) *idRefs {
	r.once.Do(func() {
		id, ok := idText(src[idField])
		if !ok || len(id) < minRefID {
			return
		}
		for k, v := range src {
			if k != idField && holdsID(v, id, 0) {
				r.fields = append(r.fields, k)
			}
		}
		if len(r.fields) > 0 {
			r.id = id
		}
	})
	return r
}

// rewrite is each field of src that holds the template's identifier, with
// id in its place; nil where id is not one a URL may hold as it is.
func (r *idRefs) rewrite(src map[string]any, id any) map[string]any {
	text, ok := idText(id)
	if r.id == "" || !ok || text == r.id || !urlSafe(text) {
		return nil
	}
	out := make(map[string]any, len(r.fields))
	for _, k := range r.fields {
		out[k] = replaceID(src[k], r.id, text, 0)
	}
	return out
}

// urlSafe says whether s is made of the characters a URL path holds
// unescaped (letters, digits, - . _ ~).
func urlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return s != ""
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// idAt finds id in s where it stands alone: not inside a longer word.
func idAt(s, id string) int {
	for from := 0; from <= len(s)-len(id); {
		i := strings.Index(s[from:], id)
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(id)
		if (i == 0 || !isAlnum(s[i-1])) && (end == len(s) || !isAlnum(s[end])) {
			return i
		}
		from = i + 1
	}
	return -1
}

const maxRefDepth = 8

func holdsID(v any, id string, depth int) bool {
	if depth > maxRefDepth {
		return false
	}
	switch t := v.(type) {
	case string:
		return idAt(t, id) >= 0
	case map[string]any:
		for _, e := range t {
			if holdsID(e, id, depth+1) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if holdsID(e, id, depth+1) {
				return true
			}
		}
	}
	return false
}

// replaceID is v with every standalone old in its strings made new; what
// holds none is shared, not copied.
func replaceID(v any, old, new string, depth int) any {
	if depth > maxRefDepth || !holdsID(v, old, depth) {
		return v
	}
	switch t := v.(type) {
	case string:
		var b strings.Builder
		for {
			i := idAt(t, old)
			if i < 0 {
				b.WriteString(t)
				return b.String()
			}
			b.WriteString(t[:i])
			b.WriteString(new)
			t = t[i+len(old):]
		}
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = replaceID(e, old, new, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = replaceID(e, old, new, depth+1)
		}
		return out
	}
	return v
}

// checkedFormats are the formats a validator checks whose strings an
// identifier put in their place could break; a URI's takes any URL-safe
// identifier, and a format no validator knows (Twilio's uri-map) is not
// checked.
var checkedFormats = map[string]bool{
	"date": true, "date-time": true, "time": true, "duration": true, "email": true, "idn-email": true,
	"hostname": true, "idn-hostname": true, "ipv4": true, "ipv6": true, "uuid": true, "regex": true,
	"json-pointer": true, "relative-json-pointer": true, "uri-template": true, "byte": true,
	"int32": true, "int64": true, "float": true, "double": true,
}

// freeForID says whether any string of an identifier's shape may stand in
// s's strings without breaking it: no pattern, length, enum or const on a
// string, nor a format a validator checks (see checkedFormats); the same
// through an object's properties and an array's items.
func freeForID(s *base.Schema, depth int) bool {
	if s == nil || depth > maxRefDepth || len(s.AllOf)+len(s.AnyOf)+len(s.OneOf) > 0 || s.Not != nil || len(s.Enum) > 0 || s.Const != nil {
		return false
	}
	if checkedFormats[s.Format] {
		return false
	}
	if s.Pattern != "" || s.MaxLength != nil || s.MinLength != nil {
		return false
	}
	for _, p := range objectProps(s) {
		if !freeForID(build(p.proxy), depth+1) {
			return false
		}
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.IsA() && !freeForID(build(s.AdditionalProperties.A), depth+1) {
		return false
	}
	if s.Items != nil && s.Items.IsA() && !freeForID(build(s.Items.A), depth+1) {
		return false
	}
	return true
}
