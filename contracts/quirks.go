package contracts

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/pb33f/go-yaml"
	lerrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
)

// This file holds the places where tether reads a contract the way its
// authors and vendors mean it, where the validator reads it otherwise.

var reservedName = regexp.MustCompile(`^Form value '(.*)' contains reserved characters$`)
var reservedChar = regexp.MustCompile(`[:/?#\[\]@!$'()*+,;]`)

// dropEncodedReserved removes the validator's "contains reserved characters"
// errors for form values that the raw body percent-encodes. allowReserved is
// about how a value is written on the wire, but the validator checks the
// decoded value, so it rejects every URL sent in a form, correctly encoded
// or not (Twilio's StatusCallback, for one). An error stays when the raw
// body really carries a reserved character unencoded.
func dropEncodedReserved(errs []*lerrors.ValidationError, req *http.Request) []*lerrors.ValidationError {
	var raw map[string][]string
	out := errs[:0]
	for _, e := range errs {
		m := reservedName.FindStringSubmatch(e.Message)
		if e.ValidationSubType != helpers.ReservedValues || m == nil {
			out = append(out, e)
			continue
		}
		if raw == nil {
			raw = rawForm(readBody(&req.Body))
		}
		values, ok := raw[m[1]]
		if !ok {
			if i := strings.IndexByte(m[1], '['); i > 0 {
				values, ok = raw[m[1][:i]]
			}
		}
		literal := !ok
		for _, v := range values {
			if reservedChar.MatchString(v) {
				literal = true
			}
		}
		if literal {
			out = append(out, e)
		}
	}
	return out
}

// rawForm splits a form body into keys (decoded) and values as written.
func rawForm(body []byte) map[string][]string {
	out := map[string][]string{}
	for _, pair := range strings.Split(string(body), "&") {
		k, v, _ := strings.Cut(pair, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		out[k] = append(out[k], v)
	}
	return out
}

// allowNullable drops "got null" failures where the schema that failed is
// `nullable: true` without a `type`, next to anyOf, oneOf or a $ref, and
// then settles the anyOf and oneOf around them (see [settleBranches]).
// Stripe writes most of its optional objects so: `{anyOf: [{$ref: ...}],
// nullable: true}`. The validator turns `nullable` into a null type only
// beside `type` or `allOf`, so every null Stripe really sends would fail;
// what the contract's authors meant, and what their own tools accept, is
// that null is allowed. Only body failures are looked at, and only in 3.0.
func (c *Contract) allowNullable(errs []*lerrors.ValidationError, root anchor) []*lerrors.ValidationError {
	if root.node == nil || c.versionNumber() >= 3.1 {
		return errs
	}
	out := errs[:0]
	for _, e := range errs {
		body := e.ValidationType == helpers.RequestBodyValidation || e.ValidationType == helpers.ResponseBodyValidation || e.ValidationType == ""
		if len(e.SchemaValidationErrors) == 0 || !body {
			out = append(out, e)
			continue
		}
		drop := make([]bool, len(e.SchemaValidationErrors))
		for i, f := range e.SchemaValidationErrors {
			drop[i] = strings.HasPrefix(f.Reason, "got null, want ") && c.nullableKeyword(root, f.KeywordLocation)
		}
		settleBranches(e.SchemaValidationErrors, drop)
		kept := e.SchemaValidationErrors[:0]
		for i, f := range e.SchemaValidationErrors {
			if !drop[i] {
				kept = append(kept, f)
			}
		}
		if len(kept) > 0 {
			e.SchemaValidationErrors = kept
			out = append(out, e)
		}
	}
	return out
}

// nullableKeyword reports whether the `type` keyword at kl failed inside a
// schema that says `nullable: true`: the schema holding the keyword, or one
// that reaches it only through $ref, anyOf, oneOf or allOf.
func (c *Contract) nullableKeyword(root anchor, kl string) bool {
	path, ok := strings.CutSuffix(kl, "/type")
	if !ok {
		return false
	}
	for {
		if _, n, _ := c.follow(root.node, root.file, path); n != nil && mapValue(n, "nullable") == "true" {
			return true
		}
		next := trimComposition(path)
		if next == path {
			return false
		}
		path = next
	}
}

// trimComposition removes a trailing "/$ref", "/anyOf/N", "/oneOf/N" or
// "/allOf/N" from a keyword location, or returns it unchanged.
func trimComposition(kl string) string {
	if p, ok := strings.CutSuffix(kl, "/$ref"); ok {
		return p
	}
	i := strings.LastIndexByte(kl, '/')
	if i <= 0 {
		return kl
	}
	for _, kw := range []string{"/anyOf", "/oneOf", "/allOf"} {
		if strings.HasSuffix(kl[:i], kw) {
			return kl[:i-len(kw)]
		}
	}
	return kl
}

func mapValue(n *yaml.Node, key string) string {
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	if _, v := child(n, key); v != nil {
		return v.Value
	}
	return ""
}

// settleBranches extends drop across anyOf and oneOf: once every failure
// under one branch is dropped, that branch holds, and the failures of its
// sibling branches no longer matter. It repeats until nothing changes, so
// that a branch cleared deep inside clears the branches around it.
func settleBranches(fs []*lerrors.SchemaValidationFailure, drop []bool) {
	type branch struct{ composition, id string }
	branchesOf := func(kl string) []branch {
		var out []branch
		for _, kw := range []string{"/anyOf/", "/oneOf/"} {
			for i := 0; ; {
				j := strings.Index(kl[i:], kw)
				if j < 0 {
					break
				}
				at := i + j
				end := at + len(kw)
				for end < len(kl) && kl[end] != '/' {
					end++
				}
				out = append(out, branch{kl[:at+len(kw)], kl[:end]})
				i = end
			}
		}
		return out
	}
	for changed := true; changed; {
		changed = false
		pending := map[string]bool{} // branch id -> some failure under it is kept
		seen := map[string]string{}  // branch id -> its composition
		for i, f := range fs {
			for _, b := range branchesOf(f.KeywordLocation) {
				seen[b.id] = b.composition
				if !drop[i] {
					pending[b.id] = true
				}
			}
		}
		cleared := map[string]bool{} // composition -> one of its branches holds
		for id, comp := range seen {
			if !pending[id] {
				cleared[comp] = true
			}
		}
		for i, f := range fs {
			if drop[i] {
				continue
			}
			for _, b := range branchesOf(f.KeywordLocation) {
				if cleared[b.composition] {
					drop[i], changed = true, true
					break
				}
			}
		}
	}
}
