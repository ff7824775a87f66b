package contracts

import (
	"strings"
	"sync"

	"github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
)

// Compiling a schema renders the shared OpenAPI model, and rendering writes
// to it, so two goroutines must never compile at once. Each operation's
// schemas are compiled together on its first use, under compileMu; later
// validations only read the cache and run in parallel.

// ready compiles every schema of op on its first use.
func (c *Contract) ready(op *Operation) {
	op.compiled.Do(func() {
		c.compileMu.Lock()
		defer c.compileMu.Unlock()
		c.warm(op)
	})
}

// firstUse runs fn under compileMu the first time key is seen, and freely
// after that, for schemas compiled by the validator itself on first use.
func (c *Contract) firstUse(key string, fn func()) {
	v, _ := c.onces.LoadOrStore(key, new(sync.Once))
	ran := false
	v.(*sync.Once).Do(func() {
		c.compileMu.Lock()
		defer c.compileMu.Unlock()
		fn()
		ran = true
	})
	if !ran {
		fn()
	}
}

// warm compiles op's request body, response and parameter schemas into the
// validator's cache, under the keys the validator looks them up by.
func (c *Contract) warm(op *Operation) {
	version := helpers.VersionToFloat(c.model.Version)
	compile := func(p *base.SchemaProxy, purpose schema_validation.SchemaValidationPurpose) {
		if p == nil {
			return
		}
		s := p.Schema()
		if s == nil || s.GoLow() == nil {
			return
		}
		key := schema_validation.SchemaCacheKey(s.GoLow().Hash(), version, purpose)
		if _, ok := c.schemas.m.Load(key); ok {
			return
		}
		compiled, err := schema_validation.CompileSchemaForValidation(s, purpose, c.compileOpts, version)
		if err != nil || compiled == nil || compiled.CompiledSchema == nil {
			return // the validator will report it when it meets it
		}
		c.schemas.Store(key, compiled.ToCacheEntry(s))
	}
	if rb := op.op.RequestBody; rb != nil && rb.Content != nil {
		for p := rb.Content.First(); p != nil; p = p.Next() {
			compile(p.Value().Schema, schema_validation.SchemaValidationPurposeRequestBody)
		}
	}
	if rs := op.op.Responses; rs != nil {
		if rs.Codes != nil {
			for p := rs.Codes.First(); p != nil; p = p.Next() {
				if p.Value() != nil && p.Value().Content != nil {
					for m := p.Value().Content.First(); m != nil; m = m.Next() {
						compile(m.Value().Schema, schema_validation.SchemaValidationPurposeResponseBody)
					}
				}
			}
		}
		if rs.Default != nil && rs.Default.Content != nil {
			for m := rs.Default.Content.First(); m != nil; m = m.Next() {
				compile(m.Value().Schema, schema_validation.SchemaValidationPurposeResponseBody)
			}
		}
	}
	for _, p := range effectiveParams(op) {
		if p.Schema != nil {
			compile(p.Schema, schema_validation.SchemaValidationPurposeGeneric)
		} else if p.Content != nil && p.Content.First() != nil {
			compile(p.Content.First().Value().Schema, schema_validation.SchemaValidationPurposeGeneric)
		}
	}
}

func (c *Contract) schemaValidator() schema_validation.SchemaValidator {
	c.svOnce.Do(func() {
		c.sv = schema_validation.NewSchemaValidator(append(formatOptions(c.versionNumber()), config.WithSchemaCache(c.schemas))...)
	})
	return c.sv
}

// follow walks a JSON Schema keyword location ("/properties/a/anyOf/0/$ref/type")
// from the schema node root, which is in file ("" for the contract itself),
// through the documents, resolving $refs. It returns the last key node and
// value node it reaches and the file they are in, or nil nodes when it
// cannot follow.
func (c *Contract) follow(root *yaml.Node, file, kl string) (key, value *yaml.Node, in string) {
	if root == nil || kl == "" {
		return nil, nil, ""
	}
	n := root
	key = root
	for _, seg := range pointerSegments(kl) {
		if seg == "$ref" {
			ref := mapValue(n, "$ref")
			if ref == "" {
				continue // already resolved by the model
			}
			target, in := c.resolve(ref, file)
			if target == nil {
				return nil, nil, ""
			}
			key, n, file = target, target, in
			continue
		}
		k, next := child(n, seg)
		for hops := 0; next == nil && hops < 32; hops++ {
			// The validator inlines $refs without naming them in the
			// keyword location: follow the one written here.
			ref := mapValue(n, "$ref")
			if ref == "" {
				break
			}
			target, in := c.resolve(ref, file)
			if target == nil {
				break
			}
			n, file = target, in
			k, next = child(n, seg)
		}
		if next == nil {
			return nil, nil, ""
		}
		key, n = k, next
	}
	return key, n, file
}

// resolve finds the node a $ref names, written in file ("" for the
// contract): a local pointer, or a pointer into a file beside it.
func (c *Contract) resolve(ref, file string) (*yaml.Node, string) {
	target, pointer, _ := strings.Cut(ref, "#")
	var root *yaml.Node
	switch {
	case target == "" && file == "":
		if info := c.doc.GetSpecInfo(); info != nil {
			root = info.RootNode
		}
	case target == "":
		root = c.fileNode(file)
	default:
		rel, ok := c.refs.path(file, target)
		if !ok {
			return nil, ""
		}
		file = rel
		root = c.fileNode(file)
	}
	if root == nil {
		return nil, ""
	}
	n := documentBody(root)
	for _, seg := range pointerSegments(pointer) {
		if _, n = child(n, seg); n == nil {
			return nil, ""
		}
	}
	return n, file
}

// fileNode parses a referenced file once, for locating keywords in it;
// rel is its path under the contract's root.
func (c *Contract) fileNode(rel string) *yaml.Node {
	if v, ok := c.files.Load(rel); ok {
		return v.(*yaml.Node)
	}
	var root yaml.Node
	data, ok := c.refs.read(rel)
	if !ok || yaml.Unmarshal(data, &root) != nil {
		return nil
	}
	v, _ := c.files.LoadOrStore(rel, &root)
	return v.(*yaml.Node)
}
