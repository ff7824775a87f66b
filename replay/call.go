package replay

import "net/http"

// Call is one outbound HTTP call a connector made, as captured during event
// replay and as kept in golden files.
type Call struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers http.Header `json:"headers,omitempty"`
	Body    string      `json:"body,omitempty"`
}
