package harness

import (
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/replay"
)

// UsageFor derives what the connector in dir uses of a vendor's contract:
// the calls in its cassettes and golden files whose URL is under one of the
// contract's servers, and the sample events its scenarios deliver. The
// contract is matched to the manifest's vendors by file name, so a newer
// version kept elsewhere finds the vendor it replaces; a name no vendor has
// takes every vendor's calls.
func UsageFor(dir, contractPath string) (*contracts.Usage, error) {
	c, err := Load(dir, true)
	if err != nil {
		return nil, err
	}
	return usageOf(c, contractPath)
}

// usageOf is [UsageFor] on a connector already loaded.
func usageOf(c *Connector, contractPath string) (*contracts.Usage, error) {
	u := contracts.NewUsage()
	base := filepath.Base(contractPath)
	var vendors []string
	for _, name := range slices.Sorted(maps.Keys(c.Manifest.Vendors)) {
		if filepath.Base(c.Manifest.Vendors[name].Contract) == base {
			vendors = append(vendors, name)
		}
	}
	events := filepath.Base(c.Manifest.Events.Contract) == base
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
	calls, err := recordedCalls(c)
	if err != nil {
		return nil, err
	}
	for _, call := range calls {
		if ours(call.URL) {
			u.AddCall(call.Method, call.URL, call.Header, call.Body, call.Status, call.Answer)
		}
	}
	if events {
		for _, sc := range c.Scenarios {
			for _, ev := range sc.Events {
				u.AddEvent(ev.Event.Name, ev.Event.Body)
			}
		}
	}
	return u, nil
}

// recordedCall is a call the connector's files show it making: a cassette
// interaction (with its answer) or a golden call (Status 0, no answer).
type recordedCall struct {
	Method, URL string
	Header      http.Header
	Body        []byte
	Status      int
	Answer      []byte
}

// recordedCalls lists the calls in the connector's cassettes (its
// cassettes folder and those its scenarios name), then in its golden files.
func recordedCalls(c *Connector) ([]recordedCall, error) {
	var out []recordedCall
	files := map[string]bool{}
	if found, err := filepath.Glob(filepath.Join(c.Manifest.Dir, "cassettes", "*.yaml")); err == nil {
		for _, f := range found {
			files[f] = true
		}
	}
	for _, sc := range c.Scenarios {
		for _, list := range sc.Cassettes {
			for _, f := range list {
				files[f] = true
			}
		}
	}
	for _, f := range slices.Sorted(maps.Keys(files)) {
		cas, err := fixtures.Load(f)
		if err != nil {
			return nil, err
		}
		for _, in := range cas.Interactions {
			out = append(out, recordedCall{in.Request.Method, in.Request.URL, in.Request.Headers,
				[]byte(in.Request.Body), in.Response.Code, []byte(in.Response.Body)})
		}
	}
	for _, sc := range c.Scenarios {
		if sc.Expect.Golden == "" {
			continue
		}
		calls, err := replay.LoadGolden(sc.Expect.Golden)
		if err != nil {
			continue // a golden file still to be written
		}
		for _, call := range calls {
			out = append(out, recordedCall{Method: call.Method, URL: call.URL, Header: http.Header(call.Headers), Body: []byte(call.Body)})
		}
	}
	return out, nil
}
