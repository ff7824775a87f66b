package contracts

import (
	"fmt"

	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// Model returns the operation as libopenapi built it: the path item that
// holds it and the operation object. Both belong to the loaded contract and
// are shared: read them, never change them. Packages that infer more from
// a contract than this one does (the sandbox's resources, for one) walk
// them instead of parsing the document again.
func (o *Operation) Model() (*v3.PathItem, *v3.Operation) { return o.item, o.op }

// Parameters lists the operation's effective parameters: those of its path
// item, overridden by name and location by its own, in declaration order.
func (o *Operation) Parameters() []*v3.Parameter { return effectiveParams(o) }

// SchemaValue synthesises a value that satisfies schema, which must be a
// schema of this contract (reached through [Operation.Model]); the same
// seed gives the same value. It fails, with an [*UnsatisfiableError], only
// when no value can satisfy the schema.
func (c *Contract) SchemaValue(schema *base.Schema, seed uint64) (v any, err error) {
	if schema == nil {
		return nil, fmt.Errorf("%s: no schema to synthesise a value for", c.file)
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%s: synthesis failed on this schema: %v", c.file, r)
		}
	}()
	return newSynthesizer(seed, c.versionNumber()).value(schema)
}
