package release

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
)

// UsageDir is the folder of a bundle that holds one [RecordedUsage] per
// vendor, usage/<vendor>.json, and usage/events.json for an events
// contract that is no vendor's.
const UsageDir = "usage"

// Bounds of what [ParseUsage] reads of one usage file: its size, and the
// calls and events it lists, each of which marking a change visits.
const (
	maxUsageFile    = 16 << 20
	maxUsageEntries = 100_000
)

// RecordedUsage is what a release uses of one vendor contract, as its
// bundle carries it: the shape of each call the connector's recordings
// show it making to the vendor's servers, and of each event it receives,
// so that a fleet can be marked against a contract change without
// loading the connector. It keeps names and structure only, never a value:
// query and header values are dropped and every JSON scalar is null, so
// no credential or customer datum travels in it.
type RecordedUsage struct {
	Vendor   string `json:"vendor"`   // the manifest's name for the vendor; "" for an events-only contract
	Contract string `json:"contract"` // the contract's file in the bundle
	// Calls are the distinct calls, sorted by method, URL, then shape.
	Calls []UsedCall `json:"calls"`
	// Events are the distinct payloads received, by webhook name.
	Events []UsedEvent `json:"events,omitempty"`
}

// UsedCall is the shape of one call and of its answer.
type UsedCall struct {
	Method string `json:"method"`
	// URL is the called URL with each query value emptied.
	URL string `json:"url"`
	// Headers are the request's header names, lower case and sorted.
	Headers []string `json:"headers,omitempty"`
	// Request is the shape of a JSON body: scalars null, each array the
	// distinct shapes of its items. Null for a body that is neither JSON
	// nor a form.
	Request json.RawMessage `json:"request,omitempty"`
	// Form holds the field names of a form-encoded body.
	Form []string `json:"form,omitempty"`
	// Status is the answer's status; 0 when no answer was recorded.
	Status   int             `json:"status,omitempty"`
	Response json.RawMessage `json:"response,omitempty"`
	// ResponseForm holds the field names of a form-encoded answer.
	ResponseForm []string `json:"response_form,omitempty"`
}

// UsedEvent is the shape of one event payload the connector receives.
type UsedEvent struct {
	Webhook string          `json:"webhook"`
	Payload json.RawMessage `json:"payload"`
}

// UsagePath is the file in a bundle of the usage of vendor; "" names the
// events contract.
func UsagePath(vendor string) string {
	if vendor == "" {
		vendor = "events"
	}
	return UsageDir + "/" + vendor + ".json"
}

// RecordUsage is the usage of the connector c for each vendor contract,
// and for its events contract when that is no vendor's, by file in the
// bundle ([UsagePath]), each as JSON.
func RecordUsage(c *manifest.Connector) (map[string][]byte, error) {
	out := map[string][]byte{}
	m := c.Manifest
	add := func(vendor, contract string) error {
		rel := path.Clean(strings.ReplaceAll(contract, `\`, "/"))
		u := NewRecordedUsage(vendor, rel, compat.UsedOf(c, rel))
		data, err := json.MarshalIndent(u, "", "  ")
		if err != nil {
			return fmt.Errorf("record usage of %s: %w", rel, err)
		}
		out[UsagePath(vendor)] = append(data, '\n')
		return nil
	}
	eventsIsVendor := false
	for _, name := range slices.Sorted(maps.Keys(m.Vendors)) {
		if path.Base(m.Vendors[name].Contract) == path.Base(m.Events.Contract) {
			eventsIsVendor = true
		}
		if err := add(name, m.Vendors[name].Contract); err != nil {
			return nil, err
		}
	}
	if m.Events.Contract != "" && !eventsIsVendor {
		if err := add("", m.Events.Contract); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// NewRecordedUsage keeps the shape of used, what a connector uses of the
// contract in its file contract.
func NewRecordedUsage(vendor, contract string, used compat.Used) *RecordedUsage {
	u := &RecordedUsage{Vendor: vendor, Contract: contract, Calls: []UsedCall{}}
	seen := map[string]bool{}
	for _, call := range used.Calls {
		uc := UsedCall{Method: strings.ToUpper(call.Method), URL: emptyQuery(call.URL), Status: call.Status}
		for k := range call.Header {
			uc.Headers = append(uc.Headers, strings.ToLower(k))
		}
		slices.Sort(uc.Headers)
		uc.Headers = slices.Compact(uc.Headers)
		uc.Request, uc.Form = bodyShape(call.Body)
		if call.Status > 0 {
			uc.Response, uc.ResponseForm = bodyShape(call.Answer)
		}
		key, _ := json.Marshal(uc)
		if !seen[string(key)] {
			seen[string(key)] = true
			u.Calls = append(u.Calls, uc)
		}
	}
	slices.SortFunc(u.Calls, func(a, b UsedCall) int {
		ka, _ := json.Marshal(a)
		kb, _ := json.Marshal(b)
		return cmp.Or(strings.Compare(a.Method, b.Method), strings.Compare(a.URL, b.URL), bytes.Compare(ka, kb))
	})
	for _, ev := range used.Events {
		shape, _ := bodyShape(ev.Body)
		if shape == nil {
			shape = json.RawMessage("null")
		}
		ue := UsedEvent{Webhook: ev.Name, Payload: shape}
		key, _ := json.Marshal(ue)
		if !seen[string(key)] {
			seen[string(key)] = true
			u.Events = append(u.Events, ue)
		}
	}
	slices.SortFunc(u.Events, func(a, b UsedEvent) int {
		return cmp.Or(strings.Compare(a.Webhook, b.Webhook), bytes.Compare(a.Payload, b.Payload))
	})
	return u
}

// Usage is the [contracts.Usage] the record stands for: marking a change
// with it gives what marking with the connector's own recordings gives.
func (r *RecordedUsage) Usage() *contracts.Usage {
	var used compat.Used
	for _, c := range r.Calls {
		h := http.Header{}
		for _, name := range c.Headers {
			h[name] = []string{""}
		}
		used.Calls = append(used.Calls, compat.RecordedCall{Method: c.Method, URL: c.URL, Header: h,
			Body: shapeBody(c.Request, c.Form), Status: c.Status, Answer: shapeBody(c.Response, c.ResponseForm)})
	}
	for _, ev := range r.Events {
		used.Events = append(used.Events, compat.RecordedEvent{Name: ev.Webhook, Body: ev.Payload})
	}
	return used.Usage()
}

// ParseUsage reads a usage file of a bundle, named file in errors. It
// refuses a file over 16 MiB or listing over 100,000 calls and events,
// one that is not a [RecordedUsage], and one with anything after it.
func ParseUsage(file string, data []byte) (*RecordedUsage, error) {
	if len(data) > maxUsageFile {
		return nil, fmt.Errorf("%s: %d bytes, over the %d MiB a usage file may have", file, len(data), maxUsageFile>>20)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var u RecordedUsage
	if err := dec.Decode(&u); err != nil {
		return nil, fmt.Errorf("%s: not a usage file: %w", file, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: data after the usage record", file)
	}
	if n := len(u.Calls) + len(u.Events); n > maxUsageEntries {
		return nil, fmt.Errorf("%s: %d calls and events, over the %d a usage file may list", file, n, maxUsageEntries)
	}
	for i, c := range u.Calls {
		if c.Method == "" || c.URL == "" {
			return nil, fmt.Errorf("%s: call %d has no method or URL", file, i+1)
		}
	}
	return &u, nil
}

// emptyQuery is rawURL with every query value emptied; a URL that does
// not parse is kept as it is, since the usage ignores it too.
func emptyQuery(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	u.User = nil
	u.Fragment = ""
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{""}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// bodyShape is the shape of a body: for JSON, the value with scalars
// null and each array the distinct shapes of its items; for a form, its
// field names; for anything else, JSON null. An empty body has no shape.
func bodyShape(body []byte) (json.RawMessage, []string) {
	if len(body) == 0 {
		return nil, nil
	}
	var v any
	if json.Unmarshal(body, &v) == nil {
		data, err := json.Marshal(shapeOf(v))
		if err == nil {
			return data, nil
		}
	}
	if form, err := url.ParseQuery(string(body)); err == nil && len(form) > 0 {
		return nil, slices.Sorted(maps.Keys(form))
	}
	return json.RawMessage("null"), nil
}

func shapeOf(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = shapeOf(e)
		}
		return t
	case []any:
		var out []any
		seen := map[string]bool{}
		for _, e := range t {
			s := shapeOf(e)
			key, _ := json.Marshal(s)
			if !seen[string(key)] {
				seen[string(key)] = true
				out = append(out, s)
			}
		}
		if out == nil {
			out = []any{}
		}
		return out
	}
	return nil
}

// shapeBody is a body with the shape given: the JSON shape, else a form
// with the names, else none.
func shapeBody(shape json.RawMessage, form []string) []byte {
	if len(shape) > 0 {
		return shape
	}
	if len(form) > 0 {
		q := url.Values{}
		for _, k := range form {
			q[k] = []string{""}
		}
		return []byte(q.Encode())
	}
	return nil
}
