package contracts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi/overlay"
)

// WithOverlay applies the OpenAPI Overlay document held in data (named
// name in findings and errors) to the contract as it is loaded. An overlay
// describes where a vendor's behaviour differs from its published
// contract: the contract is served and judged as overlaid, and each call
// that the vendor's original would have refused is reported as an
// [RuleOverlayDeparture] finding (info) by [Contract.ValidateRequest].
// Positions still point into the original file, also for Swagger 2.0.
//
// Overlays apply in the order given, to the document as published (a
// Swagger 2.0 one before its conversion). Two extensions express what an
// overlay alone cannot; see [ExtFormPost].
func WithOverlay(name string, data []byte) Option {
	return func(o *options) { o.overlays = append(o.overlays, overlaySource{name: name, data: data}) }
}

// ExtFormPost, set to true on a GET operation (usually by an overlay),
// declares that the vendor also accepts the call as a POST whose
// application/x-www-form-urlencoded body carries the query parameters, as
// RPC-style APIs such as Slack's do. The POST operation is made on load,
// known as the GET's ID followed by "#POST /template".
const ExtFormPost = "x-tether-form-post"

// ExtMediaTypes, at the document's root (usually set by an overlay), maps
// vendor media types to the declared media type each is read as, such as
// application/vnd.github+json to application/json: a request body sent as
// the vendor's type is judged as one of the declared type, wherever the
// contract declares that type for a request body. Media type parameters
// (";version=2") are left out of the match, as the validator leaves them
// out of the request's.
const ExtMediaTypes = "x-tether-media-types"

type overlaySource struct {
	name string
	data []byte
}

// Overlays names the overlay documents applied to the contract, in order.
func (c *Contract) Overlays() []string {
	var out []string
	for _, ov := range c.opts.overlays {
		out = append(out, ov.name)
	}
	return out
}

// maxOverlaySize bounds one overlay document; overlays are small edits.
const maxOverlaySize = 4 << 20

// applyOverlays applies the overlays of o to src, the document as
// published, and returns the overlaid document as block YAML, one key a
// line, and the original's tree, to map positions back to.
func applyOverlays(name string, src []byte, o options) (out []byte, original *yaml.Node, warnings []Finding, err error) {
	original = &yaml.Node{}
	if err := yaml.Unmarshal(src, original); err != nil {
		return nil, nil, nil, syntaxError(name, src, err)
	}
	cur := src
	for _, ov := range o.overlays {
		if len(ov.data) > maxOverlaySize {
			return nil, nil, nil, &Error{File: ov.name, Msg: fmt.Sprintf("the overlay is %d bytes, over the %d tether reads", len(ov.data), maxOverlaySize)}
		}
		var tree yaml.Node
		if err := yaml.Unmarshal(ov.data, &tree); err != nil {
			return nil, nil, nil, syntaxError(ov.name, ov.data, err)
		}
		doc, err := libopenapi.NewOverlayDocument(ov.data)
		if err != nil {
			return nil, nil, nil, &Error{File: ov.name, Line: 1, Msg: "not an OpenAPI Overlay document: " + err.Error(), Err: err,
				Hint: "an overlay starts with `overlay: 1.0.0`, an `info` with title and version, and a list of `actions`"}
		}
		res, err := overlay.Apply(cur, doc)
		for _, bad := range []error{overlay.ErrInvalidOverlay, overlay.ErrMissingOverlayField, overlay.ErrMissingInfo, overlay.ErrMissingActions,
			overlay.ErrEmptyActions, overlay.ErrUnsupportedVersion, overlay.ErrInvalidInfo} {
			if errors.Is(err, bad) {
				return nil, nil, nil, &Error{File: ov.name, Line: 1, Msg: "not an OpenAPI Overlay document: " + err.Error(), Err: err,
					Hint: "an overlay starts with `overlay: 1.0.0`, an `info` with title and version, and a list of `actions`"}
			}
		}
		if err != nil {
			e := &Error{File: ov.name, Msg: "cannot apply the overlay: " + err.Error(), Err: err}
			var oe *overlay.OverlayError
			if errors.As(err, &oe) && oe.Action != nil {
				e.Line, e.Column = actionPosition(&tree, oe.Action.Target)
			}
			return nil, nil, nil, e
		}
		for _, w := range res.Warnings {
			f := newFinding(RuleOverlayUnmatched, fmt.Sprintf("target %s: %s", w.Target, w.Message))
			f.File = ov.name
			f.Line, f.Column = actionPosition(&tree, w.Target)
			warnings = append(warnings, f)
		}
		cur = res.Bytes
	}
	var tree yaml.Node
	if err := yaml.Unmarshal(cur, &tree); err != nil {
		return nil, nil, nil, &Error{File: name, Msg: "cannot read the overlaid document: " + err.Error(), Err: err}
	}
	expandMediaTypes(&tree)
	expandFormPost(&tree)
	blockStyle(&tree)
	out, err = yaml.Marshal(&tree)
	if err != nil {
		return nil, nil, nil, &Error{File: name, Msg: "cannot render the overlaid document: " + err.Error(), Err: err}
	}
	return out, original, warnings, nil
}

// actionPosition is where the first action with target is written in the
// overlay's tree.
func actionPosition(tree *yaml.Node, target string) (int, int) {
	_, actions := child(documentBody(tree), "actions")
	if actions == nil || actions.Kind != yaml.SequenceNode {
		return 0, 0
	}
	for _, a := range actions.Content {
		if k, v := child(a, "target"); v != nil && v.Value == target {
			return k.Line, k.Column
		}
	}
	return actions.Line, actions.Column
}

// blockStyle clears flow style everywhere, so that the rendered document
// has one key a line and [origin] can map each line back.
func blockStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// expandFormPost makes, for each GET operation marked [ExtFormPost], the
// POST operation it stands for, unless the path already has one.
func expandFormPost(tree *yaml.Node) {
	root := documentBody(tree)
	_, swagger := child(root, "swagger")
	_, paths := child(root, "paths")
	if paths == nil || paths.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(paths.Content); i += 2 {
		tmpl, item := paths.Content[i].Value, paths.Content[i+1]
		if item.Kind != yaml.MappingNode {
			continue
		}
		getKey, get := child(item, "get")
		if get == nil || get.Kind != yaml.MappingNode {
			continue
		}
		if _, flag := child(get, ExtFormPost); flag == nil || flag.Value != "true" {
			continue
		}
		if _, post := child(item, "post"); post != nil {
			continue
		}
		var post *yaml.Node
		if swagger != nil {
			post = swaggerFormPost(get, item)
		} else {
			post = openapiFormPost(get, item, root)
		}
		if post == nil {
			continue
		}
		if _, id := child(post, "operationId"); id != nil && id.Value != "" {
			id.Value += "#POST " + tmpl
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "post", Line: getKey.Line, Column: getKey.Column}
		item.Content = append(item.Content, key, post)
	}
}

// swaggerFormPost is get as a Swagger 2.0 POST: query parameters become
// formData ones.
func swaggerFormPost(get, item *yaml.Node) *yaml.Node {
	post := cloneNode(get)
	_, params := child(post, "parameters")
	var all []*yaml.Node
	if params != nil && params.Kind == yaml.SequenceNode {
		all = params.Content
	}
	// Parameters of the path item apply to the POST too; the query ones
	// move to the body with the rest.
	if _, shared := child(item, "parameters"); shared != nil && shared.Kind == yaml.SequenceNode {
		for _, p := range shared.Content {
			if _, in := child(p, "in"); in != nil && in.Value == "query" {
				all = append(all, cloneNode(p))
			}
		}
	}
	for _, p := range all {
		if _, in := child(p, "in"); in != nil && in.Value == "query" {
			in.Value = "formData"
		}
	}
	if params != nil {
		params.Content = all
	}
	setKey(post, "consumes", &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "application/x-www-form-urlencoded"}}})
	return post
}

// openapiFormPost is get as an OpenAPI 3 POST: its query parameters
// (inline, or local references to components) become the properties of
// a form body.
func openapiFormPost(get, item, root *yaml.Node) *yaml.Node {
	post := cloneNode(get)
	props := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	required := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	var kept []*yaml.Node
	var params []*yaml.Node
	if _, ps := child(post, "parameters"); ps != nil && ps.Kind == yaml.SequenceNode {
		params = ps.Content
	}
	if _, shared := child(item, "parameters"); shared != nil && shared.Kind == yaml.SequenceNode {
		params = append(params, shared.Content...)
	}
	for _, p := range params {
		def := p
		if _, ref := child(p, "$ref"); ref != nil && strings.HasPrefix(ref.Value, "#/") {
			if d := deepestExact(root, pointerSegments(ref.Value[1:])); d != nil {
				def = d
			}
		}
		_, in := child(def, "in")
		_, pname := child(def, "name")
		if in == nil || in.Value != "query" || pname == nil {
			kept = append(kept, p)
			continue
		}
		schema := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if _, s := child(def, "schema"); s != nil {
			schema = cloneNode(s)
		}
		props.Content = append(props.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: pname.Value}, schema)
		if _, req := child(def, "required"); req != nil && req.Value == "true" {
			required.Content = append(required.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: pname.Value})
		}
	}
	schema := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "type"}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: "object"},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "properties"}, props,
	}}
	if len(required.Content) > 0 {
		schema.Content = append(schema.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "required"}, required)
	}
	if _, ps := child(post, "parameters"); ps != nil {
		ps.Content = kept
	}
	body := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "content"},
		{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: "application/x-www-form-urlencoded"},
			{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "schema"}, schema}},
		}},
	}}
	setKey(post, "requestBody", body)
	return post
}

// deepestExact is the value at path under root, or nil when some part of
// it does not exist.
func deepestExact(root *yaml.Node, path []string) *yaml.Node {
	n := documentBody(root)
	for _, seg := range path {
		if _, n = child(n, seg); n == nil {
			return nil
		}
	}
	return n
}

// setKey sets key to value in the mapping m.
func setKey(m *yaml.Node, key string, value *yaml.Node) {
	if _, v := child(m, key); v != nil {
		*v = *value
		return
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, value)
}

// cloneNode copies a tree deeply; aliases are copied as they are.
func cloneNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = cloneNode(k)
	}
	return &c
}

// departures validates req against the vendor's original contract too,
// and reports each of its refusals that the overlaid contract lifts as an
// [RuleOverlayDeparture] finding. The request's body is read and put back.
func (c *Contract) departures(req *http.Request, m *Match, overlaid []Finding) []Finding {
	if c.base == nil {
		return nil
	}
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	again := func() *http.Request {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		return r
	}
	defer func() { req.Body = io.NopCloser(bytes.NewReader(body)) }()
	baseMatch, refusals := c.base.ValidateRequest(again())
	have := map[string]bool{}
	for _, f := range overlaid {
		have[f.ID+"\x00"+f.Path+"\x00"+f.Message] = true
	}
	hint := "the overlay " + strings.Join(c.Overlays(), ", ") + " says the vendor accepts this"
	var out []Finding
	for _, f := range refusals {
		if f.Level != LevelError || f.ID == RuleSecurityMissing || have[f.ID+"\x00"+f.Path+"\x00"+f.Message] {
			continue
		}
		d := newFinding(RuleOverlayDeparture, f.Message)
		d.Position, d.Path, d.Hint = f.Position, f.Path, hint
		d.Operation = m.Operation.ID
		if baseMatch != nil {
			d.Operation = baseMatch.Operation.ID
		}
		if !d.Position.Known() {
			d.Position = Position{File: c.file, Line: m.Operation.Line, Column: m.Operation.Column}
		}
		out = append(out, d)
	}
	return out
}

// expandMediaTypes declares each vendor media type of [ExtMediaTypes]
// beside the type it is read as, for every request body.
func expandMediaTypes(tree *yaml.Node) {
	root := documentBody(tree)
	_, ext := child(root, ExtMediaTypes)
	if ext == nil || ext.Kind != yaml.MappingNode {
		return
	}
	type alias struct{ vendor, declared string }
	var aliases []alias
	for i := 0; i+1 < len(ext.Content); i += 2 {
		vendor := ext.Content[i].Value
		if mt, _, err := mime.ParseMediaType(vendor); err == nil {
			vendor = mt
		}
		aliases = append(aliases, alias{vendor, ext.Content[i+1].Value})
	}
	// content maps each declared type to its media type object.
	content := func(c *yaml.Node) {
		if c == nil || c.Kind != yaml.MappingNode {
			return
		}
		for _, a := range aliases {
			_, have := child(c, a.vendor)
			_, decl := child(c, a.declared)
			if have == nil && decl != nil {
				// Shared, not copied: the tree is only rendered.
				c.Content = append(c.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: a.vendor}, decl)
			}
		}
	}
	// consumes is a Swagger 2.0 list of the types a body may have.
	consumes := func(l *yaml.Node) {
		if l == nil || l.Kind != yaml.SequenceNode {
			return
		}
		has := map[string]bool{}
		for _, t := range l.Content {
			has[t.Value] = true
		}
		for _, a := range aliases {
			if has[a.declared] && !has[a.vendor] {
				has[a.vendor] = true
				l.Content = append(l.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: a.vendor})
			}
		}
	}
	_, c := child(root, "consumes")
	consumes(c)
	if _, comps := child(root, "components"); comps != nil {
		if _, bodies := child(comps, "requestBodies"); bodies != nil && bodies.Kind == yaml.MappingNode {
			for i := 1; i < len(bodies.Content); i += 2 {
				_, c := child(bodies.Content[i], "content")
				content(c)
			}
		}
	}
	_, paths := child(root, "paths")
	if paths == nil || paths.Kind != yaml.MappingNode {
		return
	}
	for i := 1; i < len(paths.Content); i += 2 {
		item := paths.Content[i]
		if item.Kind != yaml.MappingNode {
			continue
		}
		for j := 1; j < len(item.Content); j += 2 {
			op := item.Content[j]
			if op.Kind != yaml.MappingNode {
				continue
			}
			_, c := child(op, "consumes")
			consumes(c)
			if _, body := child(op, "requestBody"); body != nil {
				_, c := child(body, "content")
				content(c)
			}
		}
	}
}
