package contracts

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pb33f/go-yaml"
)

// EventContract describes the events a connector receives, in any of the
// forms vendors publish them: the `webhooks` of an OpenAPI 3.1 document
// ([EventsOf], [ParseEvents]), one JSON Schema file per event type
// ([EventSchemas]), or the messages of an AsyncAPI 2.x or 3.x document
// ([ParseEvents]). Whatever the form, events are validated by the same
// engine as a contract's bodies, and findings point at the keyword in the
// file that declares it. It is safe for concurrent use.
type EventContract struct {
	c      *Contract
	strict bool
	source string              // the file named when an event is unknown
	names  []string            // in declaration order
	pos    map[string]Position // where each event is declared
}

// ErrNoEvents is wrapped by the error for an events document that
// declares no event.
var ErrNoEvents = errors.New("no events declared")

// StrictEvents says whether an event field its schema does not declare
// (additionalProperties or unevaluatedProperties false) breaks the event
// contract. By default events are read tolerantly, as senders add fields
// as their payloads evolve: such a field is reported under
// [RuleEventPropertyUndeclared], at info level, and the event is
// otherwise judged as it is. With strict true it is [RuleEventInvalid].
func StrictEvents(strict bool) Option { return func(o *options) { o.strictEvents = strict } }

// EventsOf is the events of a contract's `webhooks` section; of the
// options only [StrictEvents] applies.
func EventsOf(c *Contract, opts ...Option) (*EventContract, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	names := c.Events()
	if len(names) == 0 {
		return nil, &Error{File: c.file, Line: 1, Msg: "the contract has no webhooks; the events a connector receives are its webhooks", Err: ErrNoEvents}
	}
	ec := &EventContract{c: c, strict: o.strictEvents, source: c.file, names: names, pos: map[string]Position{}}
	for _, n := range names {
		if p, ok := c.EventPosition(n); ok {
			ec.pos[n] = p
		}
	}
	return ec, nil
}

// ParseEvents reads an events document held in data: an OpenAPI 3.x
// document with `webhooks`, or an AsyncAPI 2.x or 3.x document, whose
// messages are the events, each named by its `name`, else by its key
// under `messages`. AsyncAPI 1.x is refused with an [Error] wrapping
// [ErrNotOpenAPI]. The options are those of [Parse]; relative-file $refs
// resolve only with [RefsRelativeTo] or [RefsFrom].
func ParseEvents(name string, data []byte, opts ...Option) (*EventContract, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(name, data, err)
	}
	doc := documentBody(&root)
	_, v := child(doc, "asyncapi")
	if doc.Kind != yaml.MappingNode || v == nil {
		c, err := Parse(name, data, opts...)
		if err != nil {
			return nil, err
		}
		return EventsOf(c, opts...)
	}
	switch {
	case strings.HasPrefix(v.Value, "2."), strings.HasPrefix(v.Value, "3."):
	default:
		return nil, &Error{File: name, Line: v.Line, Column: v.Column, Err: ErrNotOpenAPI,
			Msg:  fmt.Sprintf("this is AsyncAPI %s; tether reads AsyncAPI 2.x and 3.x, and OpenAPI 2.0/3.x", v.Value),
			Hint: "convert it to AsyncAPI 2.6 or 3.0, or give the events' JSON Schema files in the manifest's events.schemas"}
	}
	msgs := asyncMessages(doc, v.Value)
	if len(msgs) == 0 {
		return nil, &Error{File: name, Line: v.Line, Column: v.Column, Err: ErrNoEvents,
			Msg: "the AsyncAPI document declares no message with a JSON Schema payload"}
	}
	file := path.Base(filepath.ToSlash(name))
	refs := make([]eventRef, len(msgs))
	for i, m := range msgs {
		refs[i] = eventRef{name: m.name, ref: file + "#" + m.pointer}
	}
	ec, err := synthesize(name, refs, opts)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		ec.pos[m.name] = Position{File: name, Line: m.line, Column: m.column}
	}
	return ec, nil
}

// EventSchemas are events each described by a JSON Schema file: schemas
// maps an event type ("issues.opened") to its file, a slash path relative
// to the folder [RefsRelativeTo] or [RefsFrom] gives, which one of them
// must. The schema files' own $refs resolve as in a contract, `$id`s
// included. name is where the mapping is declared, for messages.
func EventSchemas(name string, schemas map[string]string, opts ...Option) (*EventContract, error) {
	if len(schemas) == 0 {
		return nil, &Error{File: name, Msg: "no event schemas given", Err: ErrNoEvents}
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.baseDir == "" && o.refFS == nil {
		return nil, &Error{File: name, Msg: "event schema files need the folder they are relative to", Hint: "give RefsRelativeTo or RefsFrom"}
	}
	var refs []eventRef
	for _, ev := range slices.Sorted(maps.Keys(schemas)) {
		refs = append(refs, eventRef{name: ev, ref: filepath.ToSlash(schemas[ev])})
	}
	ec, err := synthesize(name, refs, opts)
	if err != nil {
		return nil, err
	}
	dir := o.refFSDir
	if o.refFS == nil {
		dir = ""
	}
	for _, r := range refs {
		file := r.ref
		if dir != "" && dir != "." {
			file = path.Join(dir, file)
		}
		if o.refFS == nil && o.baseDir != "" {
			file = filepath.Join(o.baseDir, filepath.FromSlash(r.ref))
		}
		ec.pos[r.name] = Position{File: file, Line: 1, Column: 1}
	}
	return ec, nil
}

type eventRef struct{ name, ref string }

// synthesize writes the OpenAPI 3.1 document whose webhooks $ref the
// events' schemas where they are declared, and loads it, so that one
// engine validates every form of events contract and positions land in
// the files that declare the schemas. The document itself is never shown:
// its name is source's with "#webhooks" added.
func synthesize(source string, refs []eventRef, opts []Option) (*EventContract, error) {
	var b strings.Builder
	b.WriteString("openapi: 3.1.0\ninfo: {title: events, version: \"0\"}\nwebhooks:\n")
	for _, r := range refs {
		fmt.Fprintf(&b, "  %s:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema: {$ref: %s}\n      responses: {\"200\": {description: received}}\n",
			strconv.Quote(r.name), strconv.Quote(r.ref))
	}
	c, err := Parse(source+"#webhooks", []byte(b.String()), opts...)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) && ce.File == source+"#webhooks" {
			ce.File, ce.Line, ce.Column = source, 0, 0
		}
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ec := &EventContract{c: c, strict: o.strictEvents, source: source, pos: map[string]Position{}}
	for _, r := range refs {
		ec.names = append(ec.names, r.name)
	}
	return ec, nil
}

// Events lists the event types, in the order they are declared (schema
// files: by name).
func (ec *EventContract) Events() []string { return slices.Clone(ec.names) }

// File is the document the events come from: the OpenAPI or AsyncAPI
// file, or where the schema files are named.
func (ec *EventContract) File() string { return ec.source }

// Position is where the event type name is declared.
func (ec *EventContract) Position(name string) (Position, bool) {
	p, ok := ec.pos[name]
	return p, ok
}

// Contract is the OpenAPI contract the events are validated with: the
// document itself, or the one written for schema files or an AsyncAPI
// document, whose webhooks $ref them. Use it for examples and variants.
func (ec *EventContract) Contract() *Contract { return ec.c }

// ValidateEvent checks an event's payload against the schema of its type.
// Each finding carries the payload's JSON path and the position of the
// failing keyword, in the file that declares it.
func (ec *EventContract) ValidateEvent(name string, payload []byte) []Finding {
	if !slices.Contains(ec.names, name) {
		p := newFinding(RuleEventUnknown, fmt.Sprintf("%s declares no event %q; it has %s", ec.source, name, strings.Join(ec.names, ", ")))
		p.File = ec.source
		return []Finding{p}
	}
	fs := ec.c.ValidateEvent(name, payload)
	for i := range fs {
		if fs[i].File == ec.c.file && ec.c.file != ec.source {
			fs[i].Position = ec.pos[name]
		}
		if !ec.strict && undeclaredProperty(fs[i]) {
			f := newFinding(RuleEventPropertyUndeclared, strings.TrimPrefix(fs[i].Message, rules[RuleEventInvalid].Summary+": "))
			f.Position, f.Contract, f.Operation, f.Path = fs[i].Position, fs[i].Contract, fs[i].Operation, fs[i].Path
			fs[i] = f
		}
	}
	sortFindings(fs)
	return fs
}

// undeclaredProperty reports whether a finding says only that a payload
// has a property its schema does not declare (additionalProperties or
// unevaluatedProperties false).
func undeclaredProperty(f Finding) bool {
	if f.ID == RuleEventPropertyUndeclared {
		return true
	}
	m := strings.ToLower(f.Message)
	return (f.ID == RuleEventInvalid || f.ID == RulePayloadInvalid) &&
		(strings.Contains(m, "additional properties") || strings.Contains(m, "additionalproperties") ||
			strings.Contains(m, "unevaluated properties") || strings.Contains(m, "unevaluatedproperties")) &&
		strings.Contains(m, "not allowed")
}

// Strict reports whether undeclared fields break the event contract; see
// [StrictEvents].
func (ec *EventContract) Strict() bool { return ec.strict }

// InvalidVariants derives invalid instances of valid, a valid payload of
// the event type name, as [Contract.InvalidVariants] does.
func (ec *EventContract) InvalidVariants(name string, valid any) ([]Variant, error) {
	return ec.c.InvalidVariants(name, valid)
}

// asyncMessage is one message of an AsyncAPI document with a JSON Schema
// payload: its event name, the JSON pointer to its payload schema, and
// where it is declared.
type asyncMessage struct {
	name, pointer string
	line, column  int
}

// asyncMessages collects the messages of an AsyncAPI 2.x or 3.x document:
// those under components.messages, then those declared inline in channels
// (2.x: in their publish and subscribe operations, oneOf included; 3.x:
// under their messages). A message whose payload is in a schema format
// other than JSON Schema is left out.
func asyncMessages(doc *yaml.Node, version string) []asyncMessage {
	var out []asyncMessage
	seen := map[string]bool{}
	add := func(key string, msg *yaml.Node, keyNode *yaml.Node, pointer string) {
		if msg == nil || msg.Kind != yaml.MappingNode || mapValue(msg, "$ref") != "" {
			return
		}
		_, payload := child(msg, "payload")
		if payload == nil {
			return
		}
		if f := mapValue(msg, "schemaFormat"); f != "" && !jsonSchemaFormat(f) {
			return
		}
		pointer += "/payload"
		if _, inner := child(payload, "schema"); inner != nil && mapValue(payload, "schemaFormat") != "" {
			if !jsonSchemaFormat(mapValue(payload, "schemaFormat")) {
				return
			}
			pointer += "/schema"
		}
		name := mapValue(msg, "name")
		if name == "" {
			name = key
		}
		if name == "" || seen[name] {
			return
		}
		seen[name] = true
		at := keyNode
		if at == nil {
			at = msg
		}
		out = append(out, asyncMessage{name: name, pointer: pointer, line: at.Line, column: at.Column})
	}
	if _, comps := child(doc, "components"); comps != nil {
		if _, msgs := child(comps, "messages"); msgs != nil && msgs.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(msgs.Content); i += 2 {
				k := msgs.Content[i]
				add(k.Value, msgs.Content[i+1], k, "/components/messages/"+escapePointer(k.Value))
			}
		}
	}
	_, channels := child(doc, "channels")
	if channels == nil || channels.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(channels.Content); i += 2 {
		ch, item := channels.Content[i].Value, channels.Content[i+1]
		base := "/channels/" + escapePointer(ch)
		if strings.HasPrefix(version, "3.") {
			_, msgs := child(item, "messages")
			if msgs == nil || msgs.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(msgs.Content); j += 2 {
				k := msgs.Content[j]
				add(k.Value, msgs.Content[j+1], k, base+"/messages/"+escapePointer(k.Value))
			}
			continue
		}
		for _, op := range []string{"subscribe", "publish"} {
			_, o := child(item, op)
			if o == nil {
				continue
			}
			_, msg := child(o, "message")
			if msg == nil {
				continue
			}
			if _, one := child(msg, "oneOf"); one != nil && one.Kind == yaml.SequenceNode {
				for j, m := range one.Content {
					add(mapValue(m, "messageId"), m, nil, base+"/"+op+"/message/oneOf/"+strconv.Itoa(j))
				}
				continue
			}
			key := mapValue(msg, "messageId")
			if key == "" {
				key = ch
			}
			add(key, msg, nil, base+"/"+op+"/message")
		}
	}
	return out
}

// jsonSchemaFormat says whether an AsyncAPI schemaFormat is JSON Schema
// (AsyncAPI's own schema format is a superset of it).
func jsonSchemaFormat(f string) bool {
	return strings.HasPrefix(f, "application/vnd.aai.asyncapi") || strings.HasPrefix(f, "application/schema+json") || strings.HasPrefix(f, "application/schema+yaml")
}

// escapePointer escapes a JSON pointer segment, and percent-encodes what
// a URI fragment may not hold.
func escapePointer(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"#%<>[\\]^`{|}", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
