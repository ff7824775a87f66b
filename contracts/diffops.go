package contracts

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

type differ struct {
	old, new *Spec
	opts     compareOptions
	memo     map[pairKey]*memoEntry
	out      []Change
	depth    int // of the schema comparison under way
	cycleAt  int // the shallowest pair in progress met since the frame began
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

var templateParam = regexp.MustCompile(`\{[^}/]*\}`)

// normTemplate makes path templates that differ only in parameter names
// equal: /deals/{id} and /deals/{deal_id} are one path.
func normTemplate(p string) string { return templateParam.ReplaceAllString(p, "{}") }

// add records a change; the message comes from the changeRules.
func (d *differ) add(c Change, on, nn yn, args ...any) {
	r, ok := changeRules[c.ID]
	if !ok {
		return
	}
	c.Level = r.Level
	c.Message = changeMessage(c.ID, args...)
	c.Old, c.New = on.pos(), nn.pos()
	d.out = append(d.out, c)
}

func (d *differ) paths() {
	op, np := d.old.root().get("paths"), d.new.root().get("paths")
	// A path matches the same template in the other document, else the
	// one template there that differs only in parameter names.
	oldExact, newExact := map[string]bool{}, map[string]bool{}
	op.pairs(func(path string, _, _ yn) { oldExact[path] = true })
	np.pairs(func(path string, _, _ yn) { newExact[path] = true })
	renamed := func(from, to map[string]bool) map[string]string {
		byNorm := map[string][]string{}
		for p := range to {
			if !from[p] {
				byNorm[normTemplate(p)] = append(byNorm[normTemplate(p)], p)
			}
		}
		out := map[string]string{}
		count := map[string]int{}
		for p := range from {
			if !to[p] {
				count[normTemplate(p)]++
			}
		}
		for p := range from {
			n := normTemplate(p)
			if !to[p] && count[n] == 1 && len(byNorm[n]) == 1 {
				out[p] = byNorm[n][0]
			}
		}
		return out
	}
	toNew := renamed(oldExact, newExact)
	matched := map[string]bool{}
	op.pairs(func(path string, k, v yn) {
		oi := d.old.deref(v)
		npath := path
		if !newExact[path] {
			var ok bool
			if npath, ok = toNew[path]; !ok {
				for _, m := range httpMethods {
					if oo := oi.get(m); oo.ok() {
						d.removed(path, m, oo, np, true)
					}
				}
				return
			}
		}
		matched[npath] = true
		ni := d.new.deref(np.get(npath))
		for _, m := range httpMethods {
			oo, no := oi.get(m), ni.get(m)
			switch {
			case oo.ok() && no.ok():
				d.operation(path, npath, m, oi, oo, ni, no)
			case oo.ok():
				d.removed(path, m, oo, ni, false)
			case no.ok():
				c := Change{ID: "endpoint-added", Method: strings.ToUpper(m), Path: npath}
				d.add(c, oi, no, c.Operation())
			}
		}
	})
	np.pairs(func(path string, _, v yn) {
		if matched[path] {
			return
		}
		ni := d.new.deref(v)
		for _, m := range httpMethods {
			if no := ni.get(m); no.ok() {
				c := Change{ID: "endpoint-added", Method: strings.ToUpper(m), Path: path}
				d.add(c, op, no, c.Operation())
			}
		}
	})
}

// removed reports an operation that is gone, judged by its deprecation and
// sunset date.
func (d *differ) removed(path, method string, oo, where yn, withPath bool) {
	prefix := "api-removed-"
	if withPath {
		prefix = "api-path-removed-"
	}
	c := Change{Method: strings.ToUpper(method), Path: path}
	sunset := oo.get("x-sunset").str()
	switch day, ok := parseDay(sunset); {
	case !oo.get("deprecated").truthy():
		c.ID = prefix + "without-deprecation"
	case ok && day.After(d.opts.today):
		c.ID = prefix + "before-sunset"
	default:
		c.ID = prefix + "with-deprecation"
	}
	if strings.HasSuffix(c.ID, "before-sunset") {
		d.add(c, oo, where, c.Operation(), sunset)
		return
	}
	d.add(c, oo, where, c.Operation())
}

func parseDay(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (d *differ) operation(path, npath, method string, oi, oo, ni, no yn) {
	base := Change{Method: strings.ToUpper(method), Path: path}
	opName := base.Operation()
	switch od, nd := oo.get("deprecated").truthy(), no.get("deprecated").truthy(); {
	case !od && nd:
		c := base
		c.ID = "endpoint-deprecated"
		d.add(c, oo, no.get("deprecated"), opName)
	case od && !nd:
		c := base
		c.ID = "endpoint-reactivated"
		d.add(c, oo.get("deprecated"), no, opName)
	}
	d.parameters(base, path, npath, oi, oo, ni, no)
	d.requestBody(base, oo, no)
	d.responses(base, oo, no, flows[flowResponse])
	d.security(base, oo, no)
}

type param struct {
	key  string // "in:name"; path parameters by their place in the template
	name string
	in   string
	n    yn
}

func (d *differ) params(s *Spec, path string, item, op yn) []param {
	var out []param
	add := func(x yn) {
		x = s.deref(x)
		in, name := x.get("in").str(), x.get("name").str()
		if in == "" || name == "" {
			return
		}
		key := in + ":" + name
		switch in {
		case "header":
			key = in + ":" + strings.ToLower(name)
		case "path":
			for i, m := range templateParam.FindAllString(path, -1) {
				if m == "{"+name+"}" {
					key = "path:#" + strconv.Itoa(i)
				}
			}
		}
		for i := range out {
			if out[i].key == key {
				out[i] = param{key, name, in, x}
				return
			}
		}
		out = append(out, param{key, name, in, x})
	}
	for _, x := range item.get("parameters").items() {
		add(x)
	}
	for _, x := range op.get("parameters").items() {
		add(x)
	}
	return out
}

func paramSchema(s *Spec, p yn) yn {
	if sch := p.get("schema"); sch.ok() {
		return sch
	}
	var first yn
	p.get("content").pairs(func(_ string, _, v yn) {
		if !first.ok() {
			first = v.get("schema")
		}
	})
	return first
}

func (d *differ) parameters(base Change, path, npath string, oi, oo, ni, no yn) {
	op := d.params(d.old, path, oi, oo)
	np := d.params(d.new, npath, ni, no)
	find := func(list []param, key string) (param, bool) {
		for _, p := range list {
			if p.key == key {
				return p, true
			}
		}
		return param{}, false
	}
	for _, p := range op {
		c := base
		c.Param = p.in + ":" + p.name
		subject := p.in + " parameter " + p.name
		q, ok := find(np, p.key)
		if !ok {
			c.ID = "request-parameter-removed"
			if p.n.get("deprecated").truthy() {
				c.ID = "request-parameter-removed-with-deprecation"
			}
			d.add(c, p.n, no, subject)
			continue
		}
		or, nr := p.n.get("required").truthy() || p.in == "path", q.n.get("required").truthy() || q.in == "path"
		switch {
		case !or && nr:
			c.ID = "request-parameter-became-required"
			d.add(c, p.n, q.n.get("required"), subject)
		case or && !nr:
			c.ID = "request-parameter-became-optional"
			d.add(c, p.n.get("required"), q.n, subject)
		}
		rels := d.schema(paramSchema(d.old, p.n), paramSchema(d.new, q.n), flows[flowParameter])
		d.emit(c, flows[flowParameter], rels, subject)
	}
	for _, q := range np {
		if _, ok := find(op, q.key); ok {
			continue
		}
		c := base
		c.Param = q.in + ":" + q.name
		switch {
		case q.in == "path":
			c.ID = "new-request-path-parameter"
		case q.n.get("required").truthy():
			c.ID = "new-required-request-parameter"
		default:
			c.ID = "new-optional-request-parameter"
		}
		d.add(c, oo, q.n, q.in+" parameter "+q.name)
	}
}

func mediaTypes(x yn) map[string]yn {
	out := map[string]yn{}
	x.get("content").pairs(func(media string, _, v yn) {
		out[normMedia(media)] = v
	})
	return out
}

// normMedia writes a media type in one way: lower case, no spaces. Its
// parameters stay: application/json;simple=true is another body than
// application/json (Datadog's log intake takes both).
func normMedia(m string) string {
	return strings.ToLower(strings.ReplaceAll(m, " ", ""))
}

func mediaKeys(m map[string]yn) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (d *differ) requestBody(base Change, oo, no yn) {
	orb, nrb := d.old.deref(oo.get("requestBody")), d.new.deref(no.get("requestBody"))
	opName := base.Operation()
	c := base
	c.Body = "request"
	switch {
	case !orb.ok() && !nrb.ok():
		return
	case !orb.ok():
		c.ID = "request-body-added-optional"
		if nrb.get("required").truthy() {
			c.ID = "request-body-added-required"
		}
		d.add(c, oo, nrb, opName)
		return
	case !nrb.ok():
		c.ID = "request-body-removed"
		d.add(c, orb, no, opName)
		return
	}
	switch or, nr := orb.get("required").truthy(), nrb.get("required").truthy(); {
	case !or && nr:
		c.ID = "request-body-became-required"
		d.add(c, orb, nrb.get("required"), opName)
	case or && !nr:
		c.ID = "request-body-became-optional"
		d.add(c, orb.get("required"), nrb, opName)
	}
	om, nm := mediaTypes(orb), mediaTypes(nrb)
	for _, media := range mediaKeys(om) {
		c := c
		c.Media = media
		nv, ok := nm[media]
		if !ok {
			c.ID = "request-body-media-type-removed"
			d.add(c, om[media], nrb, opName, media)
			continue
		}
		d.emit(c, flows[flowRequest], d.schema(om[media].get("schema"), nv.get("schema"), flows[flowRequest]), "")
	}
	for _, media := range mediaKeys(nm) {
		if _, ok := om[media]; !ok {
			c := c
			c.Media = media
			c.ID = "request-body-media-type-added"
			d.add(c, orb, nm[media], opName, media)
		}
	}
}

func successStatus(s string) bool { return strings.HasPrefix(s, "2") }

func (d *differ) responses(base Change, oo, no yn, fl flow) {
	ors, nrs := oo.get("responses"), no.get("responses")
	opName := base.Operation()
	ors.pairs(func(status string, k, v yn) {
		c := base
		c.Body, c.Status = "response", status
		w := nrs.get(status)
		if !w.ok() {
			c.ID = "response-non-success-status-removed"
			if successStatus(status) {
				c.ID = "response-success-status-removed"
			}
			d.add(c, k, nrs, opName, status)
			return
		}
		or, nr := d.old.deref(v), d.new.deref(w)
		om, nm := mediaTypes(or), mediaTypes(nr)
		for _, media := range mediaKeys(om) {
			c := c
			c.Media = media
			nv, ok := nm[media]
			if !ok {
				c.ID = "response-media-type-removed"
				d.add(c, om[media], nr, opName, status, media)
				continue
			}
			d.emit(c, fl, d.schema(om[media].get("schema"), nv.get("schema"), fl), "")
		}
		for _, media := range mediaKeys(nm) {
			if _, ok := om[media]; !ok && len(om) > 0 {
				c := c
				c.Media = media
				c.ID = "response-media-type-added"
				d.add(c, or, nm[media], opName, status, media)
			}
		}
		oh, nh := or.get("headers"), nr.get("headers")
		oh.pairs(func(name string, hk, hv yn) {
			if nh.get(name).ok() {
				return
			}
			c := c
			c.ID = "optional-response-header-removed"
			if d.old.deref(hv).get("required").truthy() {
				c.ID = "required-response-header-removed"
			}
			d.add(c, hk, nr, opName, status, name)
		})
	})
	nrs.pairs(func(status string, k, _ yn) {
		if ors.get(status).ok() {
			return
		}
		c := base
		c.Body, c.Status = "response", status
		c.ID = "response-non-success-status-added"
		if successStatus(status) {
			c.ID = "response-success-status-added"
		}
		d.add(c, ors, k, opName, status)
	})
}

// emit turns the changes found in a schema into Changes under base. subject
// names the value for parameters; bodies are named from base.
func (d *differ) emit(base Change, fl flow, rels []rel, subject string) {
	first := map[string]int{}
	for _, r := range rels {
		if i, ok := first[r.ident]; ok {
			d.out[i].Also = append(d.out[i].Also, "$"+r.field)
			continue
		}
		c := base
		c.Field = "$" + r.field
		c.ID = r.id
		if c.ID == "" {
			prefix := fl.nested
			if r.field == "" {
				prefix = fl.root
			}
			c.ID = prefix + "-" + r.suffix
		}
		rule, ok := changeRules[c.ID]
		if !ok {
			continue
		}
		c.Level = rule.Level
		c.Message = changeMessage(c.ID, append([]any{subjectOf(c, fl, subject)}, r.args...)...)
		c.Old, c.New = r.old, r.new
		first[r.ident] = len(d.out)
		d.out = append(d.out, c)
	}
}

func subjectOf(c Change, fl flow, param string) string {
	switch fl.kind {
	case flowParameter:
		if c.Field == "$" {
			return param
		}
		return "property " + c.Field + " of " + param
	case flowRequest:
		if c.Field == "$" {
			return "the request body"
		}
		return "request property " + c.Field
	case flowWebhook:
		if c.Field == "$" {
			return "the payload"
		}
		return "payload property " + c.Field
	}
	if c.Field == "$" {
		return "the " + c.Status + " response body"
	}
	return "response property " + c.Field + " (" + c.Status + ")"
}

// security compares what an operation requires: its own security, else
// the document's.
func (d *differ) security(base Change, oo, no yn) {
	os, ns := oo.get("security"), no.get("security")
	if !os.ok() {
		os = d.old.root().get("security")
	}
	if !ns.ok() {
		ns = d.new.root().get("security")
	}
	type alt struct {
		n      yn
		scopes map[string][]string
	}
	alts := func(x yn) (map[string]alt, []string) {
		out := map[string]alt{}
		var order []string
		for _, req := range x.items() {
			a := alt{n: req, scopes: map[string][]string{}}
			var names []string
			req.pairs(func(scheme string, _, v yn) {
				names = append(names, scheme)
				for _, s := range v.items() {
					a.scopes[scheme] = append(a.scopes[scheme], s.str())
				}
			})
			slices.Sort(names)
			key := strings.Join(names, "+")
			if key == "" {
				key = "none"
			}
			if _, dup := out[key]; !dup {
				order = append(order, key)
			}
			out[key] = a
		}
		return out, order
	}
	oa, oorder := alts(os)
	na, norder := alts(ns)
	opName := base.Operation()
	for _, key := range oorder {
		a := oa[key]
		b, ok := na[key]
		if !ok {
			c := base
			c.ID = "api-security-removed"
			d.add(c, a.n, no, opName, key)
			continue
		}
		for scheme, scopes := range sortedScopes(a.scopes) {
			for _, s := range scopes {
				if !slices.Contains(b.scopes[scheme], s) {
					c := base
					c.ID = "api-security-scope-removed"
					d.add(c, a.n, b.n, opName, s, scheme)
				}
			}
		}
		for scheme, scopes := range sortedScopes(b.scopes) {
			for _, s := range scopes {
				if !slices.Contains(a.scopes[scheme], s) {
					c := base
					c.ID = "api-security-scope-added"
					d.add(c, a.n, b.n, opName, s, scheme)
				}
			}
		}
	}
	for _, key := range norder {
		if _, ok := oa[key]; !ok {
			c := base
			c.ID = "api-security-added"
			d.add(c, oo, na[key].n, opName, key)
		}
	}
}

// sortedScopes iterates a scheme -> scopes map in scheme order.
func sortedScopes(m map[string][]string) func(func(string, []string) bool) {
	return func(yield func(string, []string) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

func (d *differ) securitySchemes() {
	os := d.old.root().get("components").get("securitySchemes")
	ns := d.new.root().get("components").get("securitySchemes")
	os.pairs(func(name string, k, v yn) {
		w := ns.get(name)
		if !w.ok() {
			d.add(Change{ID: "api-security-component-removed"}, k, ns, name)
			return
		}
		ot, nt := d.old.deref(v).get("type"), d.new.deref(w).get("type")
		if ot.str() != nt.str() {
			d.add(Change{ID: "api-security-component-type-changed"}, ot, nt, name, ot.str(), nt.str())
		}
	})
	ns.pairs(func(name string, k, _ yn) {
		if !os.get(name).ok() {
			d.add(Change{ID: "api-security-component-added"}, os, k, name)
		}
	})
}

// webhooks compares OpenAPI 3.1 webhooks. Their payloads are compared as
// something the client reads: a connector receives them.
func (d *differ) webhooks() {
	ow, nw := d.old.root().get("webhooks"), d.new.root().get("webhooks")
	ow.pairs(func(name string, k, v yn) {
		w := nw.get(name)
		if !w.ok() {
			c := Change{ID: "webhook-removed", Webhook: name}
			d.add(c, k, nw, "webhook "+name)
			return
		}
		oi, ni := d.old.deref(v), d.new.deref(w)
		for _, m := range httpMethods {
			oo, no := oi.get(m), ni.get(m)
			if !oo.ok() || !no.ok() {
				continue
			}
			base := Change{Webhook: name, Method: strings.ToUpper(m), Body: "request"}
			orb, nrb := d.old.deref(oo.get("requestBody")), d.new.deref(no.get("requestBody"))
			om, nm := mediaTypes(orb), mediaTypes(nrb)
			for _, media := range mediaKeys(om) {
				if nv, ok := nm[media]; ok {
					c := base
					c.Media = media
					fl := flows[flowWebhook]
					d.emit(c, fl, d.schema(om[media].get("schema"), nv.get("schema"), fl), "")
				}
			}
		}
	})
	nw.pairs(func(name string, k, _ yn) {
		if !ow.get(name).ok() {
			c := Change{ID: "webhook-added", Webhook: name}
			d.add(c, ow, k, "webhook "+name)
		}
	})
}
