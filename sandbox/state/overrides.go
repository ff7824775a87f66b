package state

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/internal/yamldoc"
)

// OverridesFile is where the overrides of the contract in path live when
// nobody says otherwise: beside it, as path + ".model.yaml".
func OverridesFile(contract string) string { return contract + ".model.yaml" }

// maxOverridesSize bounds an overrides file: it is written by hand.
const maxOverridesSize = 1 << 20

// Overrides corrects an inferred [Model] where the contract misleads
// inference. Its YAML file, beside the contract, reads:
//
//	resources:
//	  customers:                      # a name `tether sandbox model` prints, or a new one
//	    collection: /v1/customers     # regroup: these paths form the resource
//	    item: /v1/customers/{customer}
//	    id: {field: id, type: string, prefix: cus_, alphabet: alnum, length: 14}
//	    pagination: cursor            # the style of its lists
//	    idempotency: Idempotency-Key  # the header its creates honour
//
// Every key is optional but the resource's name.
type Overrides struct {
	File      string
	Resources []ResourceOverride // in file order
}

// ResourceOverride is what the overrides file says of one resource.
type ResourceOverride struct {
	Name        string
	Collection  string
	Item        string
	ID          IDOverride
	Pagination  Style
	Idempotency string

	line, col int
	at        map[string][2]int // line and column of each key's value
}

// IDOverride sets a resource's identifier field and shape.
type IDOverride struct {
	Field    string   `yaml:"field"`
	Type     string   `yaml:"type"`
	Prefix   string   `yaml:"prefix"`
	Alphabet Alphabet `yaml:"alphabet"`
	Length   int      `yaml:"length"`
}

type overridesDoc struct {
	Resources map[string]struct {
		Collection  string     `yaml:"collection"`
		Item        string     `yaml:"item"`
		ID          IDOverride `yaml:"id"`
		Pagination  string     `yaml:"pagination"`
		Idempotency string     `yaml:"idempotency"`
	} `yaml:"resources"`
}

// LoadOverrides reads the overrides file at path ([ParseOverrides]).
func LoadOverrides(path string) (*Overrides, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &contracts.Error{File: path, Msg: "cannot read the overrides file", Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxOverridesSize+1))
	if err != nil {
		return nil, &contracts.Error{File: path, Msg: "cannot read the overrides file", Err: err}
	}
	return ParseOverrides(path, data)
}

// ParseOverrides reads an overrides file held in data; name is used in
// errors, which are *[contracts.Error]s at the line and column of what is
// wrong.
func ParseOverrides(name string, data []byte) (*Overrides, error) {
	if len(data) > maxOverridesSize {
		return nil, &contracts.Error{File: name, Msg: fmt.Sprintf("the overrides file is over %d KiB", maxOverridesSize>>10)}
	}
	var doc overridesDoc
	root, err := yamldoc.Decode(name, data, &doc, "an overrides file is a mapping with a resources key")
	if err != nil {
		return nil, err
	}
	ov := &Overrides{File: name}
	res := yamldoc.Field(root, "resources")
	if res == nil {
		return ov, nil
	}
	if res.Kind != yaml.MappingNode {
		return nil, &contracts.Error{File: name, Line: res.Line, Column: res.Column, Msg: "resources is " + yamldoc.Describe(res) + "; it must be a mapping from resource names"}
	}
	for i := 0; i+1 < len(res.Content); i += 2 {
		k, v := res.Content[i], res.Content[i+1]
		d := doc.Resources[k.Value]
		ro := ResourceOverride{Name: k.Value, Collection: d.Collection, Item: d.Item, ID: d.ID,
			Pagination: Style(d.Pagination), Idempotency: d.Idempotency, line: k.Line, col: k.Column, at: map[string][2]int{}}
		if v.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(v.Content); j += 2 {
				ro.at[v.Content[j].Value] = [2]int{v.Content[j+1].Line, v.Content[j+1].Column}
				if v.Content[j].Value == "id" && v.Content[j+1].Kind == yaml.MappingNode {
					id := v.Content[j+1]
					for m := 0; m+1 < len(id.Content); m += 2 {
						ro.at["id."+id.Content[m].Value] = [2]int{id.Content[m+1].Line, id.Content[m+1].Column}
					}
				}
			}
		}
		if err := ro.check(name); err != nil {
			return nil, err
		}
		ov.Resources = append(ov.Resources, ro)
	}
	return ov, nil
}

func (ro ResourceOverride) errAt(file, key, msg, hint string) error {
	pos, ok := ro.at[key]
	if !ok {
		pos = [2]int{ro.line, ro.col}
	}
	return &contracts.Error{File: file, Line: pos[0], Column: pos[1], Msg: msg, Hint: hint}
}

// styles lists every pagination style, for checking and for messages.
func styles() []Style {
	return []Style{Cursor, NextCursor, PageToken, Link, NextURL, Offset, Page, Single}
}

func (ro ResourceOverride) check(file string) error {
	if strings.TrimSpace(ro.Name) == "" {
		return ro.errAt(file, "", "a resource needs a name", "")
	}
	if ro.Pagination != "" && !slices.Contains(styles(), ro.Pagination) {
		return ro.errAt(file, "pagination", fmt.Sprintf("resource %s: unknown pagination style %q", ro.Name, ro.Pagination), "one of "+joinStyles())
	}
	if ro.ID.Type != "" && ro.ID.Type != "string" && ro.ID.Type != "integer" {
		return ro.errAt(file, "id.type", fmt.Sprintf("resource %s: id type %q is neither string nor integer", ro.Name, ro.ID.Type), "")
	}
	if ro.ID.Alphabet != "" && !knownAlphabet(ro.ID.Alphabet) {
		return ro.errAt(file, "id.alphabet", fmt.Sprintf("resource %s: unknown id alphabet %q", ro.Name, ro.ID.Alphabet), "one of digits, hex, upper-alnum, lower-alnum, alnum, token")
	}
	if ro.ID.Length < 0 || ro.ID.Length > 256 {
		return ro.errAt(file, "id.length", fmt.Sprintf("resource %s: id length %d is not between 0 and 256", ro.Name, ro.ID.Length), "")
	}
	for _, k := range []string{"collection", "item"} {
		p := ro.Collection
		if k == "item" {
			p = ro.Item
		}
		if p != "" && !strings.HasPrefix(p, "/") {
			return ro.errAt(file, k, fmt.Sprintf("resource %s: %s %q is not a path template", ro.Name, k, p), "write it as the contract does, starting with /")
		}
	}
	return nil
}

func joinStyles() string {
	all := styles()
	s := make([]string, len(all))
	for i, st := range all {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

// forced is a path the overrides place in a named resource.
type forced struct {
	name string
	role role
}

// forcedPaths checks that every path the overrides name is a path of the
// contract, and returns where each goes.
func (ov *Overrides) forcedPaths(c *contracts.Contract) (map[string]forced, error) {
	paths := map[string]bool{}
	for _, op := range c.Operations() {
		paths[op.Path] = true
	}
	out := map[string]forced{}
	for _, ro := range ov.Resources {
		for _, f := range []struct {
			key, path string
			role      role
		}{{"collection", ro.Collection, onCollection}, {"item", ro.Item, onItem}} {
			if f.path == "" {
				continue
			}
			if !paths[f.path] {
				return nil, ro.errAt(ov.File, f.key, fmt.Sprintf("resource %s: the contract has no path %s", ro.Name, f.path), "copy the path from `tether sandbox model` or the contract")
			}
			out[f.path] = forced{ro.Name, f.role}
		}
	}
	return out, nil
}

// apply corrects the inferred model after grouping and identification.
func (ov *Overrides) apply(inf *inferrer) error {
	for _, ro := range ov.Resources {
		r := inf.m.Resource(ro.Name)
		if r == nil {
			return ro.errAt(ov.File, "", fmt.Sprintf("the model has no resource %s", ro.Name), "name one that `tether sandbox model` prints, or give its collection or item path")
		}
		if ro.ID.Field != "" {
			if r.item != nil && property(r.item, ro.ID.Field) == nil {
				return ro.errAt(ov.File, "id.field", fmt.Sprintf("resource %s: its schema has no property %s", ro.Name, ro.ID.Field), "")
			}
			r.IDField = ro.ID.Field
			inf.dropNotes(r)
		}
		id := ro.ID
		if id.Type != "" || id.Prefix != "" || id.Alphabet != "" || id.Length != 0 {
			r.ID.Source, r.ID.Pattern, r.ID.Format, r.ID.schema = "the overrides file", "", "", nil
			if id.Type != "" {
				r.ID.Type = id.Type
			}
			if id.Prefix != "" {
				r.ID.Prefix = id.Prefix
			}
			if id.Alphabet != "" {
				r.ID.Alphabet = id.Alphabet
			}
			if id.Length != 0 {
				r.ID.Length = id.Length
			}
		}
		if ro.Idempotency != "" {
			r.Idempotency = ro.Idempotency
		}
		if ro.Pagination != "" {
			for i := range r.Ops {
				if r.Ops[i].Kind == List && r.Ops[i].Pagination != nil {
					r.Ops[i].Pagination.Style = ro.Pagination
					r.Ops[i].Pagination.Why = "the overrides file"
				}
			}
		}
	}
	return nil
}

// dropNotes removes the notes about a resource's identifier once the
// overrides settle it.
func (inf *inferrer) dropNotes(r *Resource) {
	prefix := "resource " + r.Name + ":"
	inf.m.Notes = slices.DeleteFunc(inf.m.Notes, func(n Note) bool { return strings.HasPrefix(n.Reason, prefix) })
}
