package compat

import (
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/manifest"
)

// UsageOf derives what the connector c uses of the contract in its file
// contractRel: the calls in its cassettes and golden files whose URL is
// under one of the contract's servers, and the sample events its scenarios
// deliver. The contract is matched to the manifest's vendors by file name,
// so a newer version kept elsewhere finds the vendor it replaces; a name no
// vendor has takes every vendor's calls.
func UsageOf(c *manifest.Connector, contractRel string) *contracts.Usage {
	return UsedOf(c, contractRel).Usage()
}

// Used is the evidence [UsageOf] reads of a connector for one contract:
// the recorded calls to its servers and the events delivered, when it is
// the events contract. A release bundle keeps it (without values), so
// that a fleet is marked without loading each connector again.
type Used struct {
	Calls  []RecordedCall
	Events []RecordedEvent
}

// RecordedEvent is a sample event a scenario delivers: the webhook's
// name and the payload.
type RecordedEvent struct {
	Name string
	Body []byte
}

// Usage builds the [contracts.Usage] of the evidence.
func (u Used) Usage() *contracts.Usage {
	out := contracts.NewUsage()
	for _, call := range u.Calls {
		out.AddCall(call.Method, call.URL, call.Header, call.Body, call.Status, call.Answer)
	}
	for _, ev := range u.Events {
		out.AddEvent(ev.Name, ev.Body)
	}
	return out
}

// UsedOf gathers what [UsageOf] derives the usage from.
func UsedOf(c *manifest.Connector, contractRel string) Used {
	var u Used
	base := path.Base(contractRel)
	var vendors []string
	for _, name := range slices.Sorted(maps.Keys(c.Manifest.Vendors)) {
		if path.Base(c.Manifest.Vendors[name].Contract) == base {
			vendors = append(vendors, name)
		}
	}
	events := path.Base(c.Manifest.Events.Contract) == base
	if len(vendors) == 0 && !events {
		vendors = slices.Sorted(maps.Keys(c.Manifest.Vendors))
		events = true
	}
	var servers []string
	for _, v := range vendors {
		for _, s := range c.Contracts[v].Servers() {
			servers = append(servers, strings.TrimSuffix(s.Resolved, "/"))
		}
	}
	ours := func(url string) bool {
		for _, s := range servers {
			if url == s || strings.HasPrefix(url, s+"/") || strings.HasPrefix(url, s+"?") {
				return true
			}
		}
		return false
	}
	for _, call := range RecordedCalls(c) {
		if ours(call.URL) {
			u.Calls = append(u.Calls, call)
		}
	}
	if events {
		for _, sc := range c.Scenarios {
			for _, ev := range sc.Events {
				u.Events = append(u.Events, RecordedEvent{ev.Event.Name, ev.Event.Body})
			}
		}
	}
	return u
}

// RecordedCall is a call the connector's files show it making: a cassette
// interaction (with its answer) or a golden call (Status 0, no answer).
type RecordedCall struct {
	Method, URL string
	Header      http.Header
	Body        []byte
	Status      int
	Answer      []byte
}

// RecordedCalls lists the calls in the connector's cassettes, in file
// order, then in its golden files, in scenario order.
func RecordedCalls(c *manifest.Connector) []RecordedCall {
	var out []RecordedCall
	for _, f := range slices.Sorted(maps.Keys(c.Cassettes)) {
		for _, in := range c.Cassettes[f].Interactions {
			out = append(out, RecordedCall{in.Request.Method, in.Request.URL, in.Request.Headers,
				[]byte(in.Request.Body), in.Response.Code, []byte(in.Response.Body)})
		}
	}
	for _, sc := range c.Scenarios {
		for _, call := range c.Golden[sc.Expect.Golden] {
			out = append(out, RecordedCall{Method: call.Method, URL: call.URL, Header: http.Header(call.Headers), Body: []byte(call.Body)})
		}
	}
	return out
}
