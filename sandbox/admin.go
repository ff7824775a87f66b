package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tetherkit/tether/sandbox/state"
)

// maxAdminBody bounds what the admin API reads of a request body.
const maxAdminBody = 4 << 20

// Health is what GET /__tether/health answers.
type Health struct {
	Status  string       `json:"status"` // "ok"
	Vendors []VendorInfo `json:"vendors"`
	Tenants []string     `json:"tenants,omitempty"`
	Journal JournalPage  `json:"journal"` // without entries
	Faults  int          `json:"faults"`  // how many faults are in force
}

// VendorInfo describes one impersonated vendor.
type VendorInfo struct {
	Name       string `json:"name"`
	BasePath   string `json:"base_path"` // "/crm/v2": the sandbox's URL plus this is the vendor's base URL
	Contract   string `json:"contract"`  // the contract's file name
	Title      string `json:"title"`
	Version    string `json:"version"`
	Operations int    `json:"operations"`
	Cassettes  int    `json:"cassettes"`
	// State is what the vendor's state models; nil when it is served
	// without state.
	State *StateInfo `json:"state,omitempty"`
	// OAuth2 lists the endpoints of the vendor's authorization server,
	// derived from its contract's oauth2 flows.
	OAuth2 []OAuthEndpoint `json:"oauth2,omitempty"`
}

// StateInfo says what a vendor's state models and starts with.
type StateInfo struct {
	Resources int `json:"resources"` // the resources inferred from the contract
	Stored    int `json:"stored"`    // those whose items state keeps: their identifier field is known
	Seeded    int `json:"seeded"`    // the objects every tenant starts with
}

// Health reports what the sandbox serves.
func (s *Sandbox) Health() Health {
	h := Health{Status: "ok", Tenants: slices.Clone(s.tenants.names), Faults: len(s.faults.Load().plan.Faults)}
	for _, v := range s.order {
		h.Vendors = append(h.Vendors, VendorInfo{
			Name: v.Name, BasePath: "/" + v.Name + v.basePath, Contract: filepath.Base(v.Contract.File()),
			Title: v.Contract.Title(), Version: v.Contract.OpenAPIVersion(), Operations: len(v.Contract.Operations()),
			Cassettes: len(v.Cassettes), State: v.stateInfo, OAuth2: v.auth.endpointList(),
		})
	}
	h.Journal = s.journal.query(JournalFilter{Limit: 1, After: ^uint64(0)})
	return h
}

// serveAdmin answers the admin API:
//
//	GET    /__tether/health    what is served, journal size, faults in force
//	GET    /__tether/journal   entries; filters as query parameters (see JournalFilter)
//	GET    /__tether/faults    the fault plan in force
//	PUT    /__tether/faults    replace it (YAML or JSON, as a fault file)
//	POST   /__tether/faults    add faults to it
//	DELETE /__tether/faults    clear it
//	POST   /__tether/reset     empty the journal, restart fault counters, rewind cassettes
//	POST   /__tether/deliver   deliver webhooks (a Webhook as JSON); answers the attempts
//	GET    /__tether/targets   the delivery targets registered
//	POST   /__tether/targets   register one ({"url": "http://host:port/path"})
//	GET    /__tether/state     ?tenant=T[&vendor=V]: the tenant's state, {vendor: document}
//	PUT    /__tether/state     ?tenant=T: replace it (YAML or JSON, as a state file)
//	DELETE /__tether/state     ?tenant=T: return it to its seeds; without a tenant, every tenant's
//	POST   /__tether/credentials/expire          {"tenant"}: end the tenant's access tokens now
//	POST   /__tether/credentials/revoke-refresh  {"tenant"}: forget its refresh tokens
//	POST   /__tether/credentials/remove-scope    {"tenant", "scope"}: take a scope from it
//	POST   /__tether/credentials/rotate          {"tenant", "old", "new"}: replace a secret; "new" is made when empty
//
// Every request passes [Sandbox.checkAdmin] first. The admin token may do
// everything; a tenant's credential may read health and its own journal
// entries, and read, replace and reset its own state, nothing else.
func (s *Sandbox) serveAdmin(w http.ResponseWriter, r *http.Request) {
	who, no := s.checkAdmin(r)
	if no != nil {
		for k, v := range no.header {
			w.Header()[k] = v
		}
		adminError(w, no.status, no.detail)
		return
	}
	route := strings.Trim(strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(AdminPrefix, "/")), "/")
	if !who.admin && route != "health" && route != "" && route != "journal" && route != "state" {
		adminError(w, http.StatusForbidden, fmt.Sprintf("a tenant's credential may read health, its own journal and its own state; %s needs the admin token", route))
		return
	}
	if action, ok := strings.CutPrefix(route, "credentials/"); ok {
		s.serveCredentials(w, r, action)
		return
	}
	switch route {
	case "health", "":
		if !allow(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		h := s.Health()
		if !who.admin {
			h.Tenants = []string{who.tenant}
			h.Journal = JournalPage{Entries: []Entry{}, Cap: h.Journal.Cap}
		}
		writeJSON(w, http.StatusOK, h)
	case "journal":
		if !allow(w, r, http.MethodGet) {
			return
		}
		f, err := parseJournalFilter(r.URL.Query())
		if err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		if !who.admin {
			if f.Tenant != "" && f.Tenant != who.tenant {
				adminError(w, http.StatusForbidden, fmt.Sprintf("the credential of tenant %q reads only its own calls, not those of tenant %q", who.tenant, f.Tenant))
				return
			}
			f.Tenant = who.tenant
		}
		writeJSON(w, http.StatusOK, s.Journal(f))
	case "faults":
		s.serveFaults(w, r)
	case "reset":
		if !allow(w, r, http.MethodPost) {
			return
		}
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case "deliver":
		if !allow(w, r, http.MethodPost) {
			return
		}
		body, ok := s.readAdminBody(w, r)
		if !ok {
			return
		}
		var wh Webhook
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&wh); err != nil {
			adminError(w, http.StatusBadRequest, "read webhook request: "+err.Error())
			return
		}
		attempts, err := s.Deliver(r.Context(), wh)
		if err != nil {
			var ue *usageError
			status := http.StatusBadGateway
			if errors.As(err, &ue) {
				status = http.StatusBadRequest
			}
			adminError(w, status, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, attempts)
	case "targets":
		s.serveTargets(w, r)
	case "state":
		s.serveState(w, r, who)
	default:
		adminError(w, http.StatusNotFound, fmt.Sprintf("no admin endpoint %q; there are health, journal, faults, reset, deliver, targets, state and credentials/... under %s", route, AdminPrefix))
	}
}

// TargetRequest registers a delivery target through the admin API.
type TargetRequest struct {
	URL string `json:"url"`
}

func (s *Sandbox) serveTargets(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.targets.list())
	case http.MethodPost:
		body, ok := s.readAdminBody(w, r)
		if !ok {
			return
		}
		var tr TargetRequest
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&tr); err != nil {
			adminError(w, http.StatusBadRequest, "read target request: "+err.Error())
			return
		}
		if err := s.AllowTarget(tr.URL); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.targets.list())
	default:
		w.Header().Set("Allow", "GET, POST")
		adminError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on targets; use GET or POST")
	}
}

// serveState answers /__tether/state. A tenant's credential names its own
// tenant, or none; the admin names one, except to reset every tenant.
func (s *Sandbox) serveState(w http.ResponseWriter, r *http.Request, who caller) {
	q := r.URL.Query()
	for k := range q {
		if k != "tenant" && (k != "vendor" || r.Method != http.MethodGet && r.Method != http.MethodHead) {
			adminError(w, http.StatusBadRequest, fmt.Sprintf("state takes ?tenant=NAME, and with GET &vendor=NAME; not %s", quoteHost(k)))
			return
		}
	}
	tenant := q.Get("tenant")
	switch {
	case !who.admin && tenant != "" && tenant != who.tenant:
		adminError(w, http.StatusForbidden, fmt.Sprintf("the credential of tenant %q reads and changes only its own state, not that of tenant %q", who.tenant, tenant))
		return
	case !who.admin:
		tenant = who.tenant
	case tenant == "" && r.Method != http.MethodDelete && !s.tenants.open:
		adminError(w, http.StatusBadRequest, fmt.Sprintf("name the tenant: ?tenant=NAME; the tenants are %s", strings.Join(append([]string{DefaultTenant}, s.tenants.names...), ", ")))
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		m, err := s.State(tenant)
		if err != nil {
			adminError(w, http.StatusNotFound, err.Error())
			return
		}
		if v := q.Get("vendor"); v != "" {
			d, ok := m[v]
			if !ok {
				adminError(w, http.StatusNotFound, fmt.Sprintf("no vendor %q with state; the vendors with state are %s", v, strings.Join(slices.Sorted(maps.Keys(m)), ", ")))
				return
			}
			m = map[string]state.Document{v: d}
		}
		writeJSON(w, http.StatusOK, m)
	case http.MethodPut:
		body, ok := s.readAdminBodyUpTo(w, r, MaxStateFile)
		if !ok {
			return
		}
		f, err := parseState("request body", body)
		if err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := s.setState(tenant, f.docs, f); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		m, err := s.State(tenant)
		if err != nil {
			adminError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, m)
	case http.MethodDelete:
		var err error
		if tenant == "" {
			err = s.ResetState()
		} else {
			err = s.ResetState(tenant)
		}
		if err != nil {
			adminError(w, http.StatusNotFound, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, PUT, DELETE")
		adminError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on state; use GET, PUT or DELETE")
	}
}

func (s *Sandbox) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.Faults())
	case http.MethodDelete:
		if err := s.SetFaults(&FaultPlan{Seed: s.Faults().Seed}); err != nil {
			adminError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut, http.MethodPost:
		body, ok := s.readAdminBody(w, r)
		if !ok {
			return
		}
		plan, err := ParseFaults("request body", body)
		if err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		if r.Method == http.MethodPost {
			err = s.AddFaults(plan.Faults...)
		} else {
			err = s.SetFaults(plan)
		}
		if err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.Faults())
	default:
		w.Header().Set("Allow", "GET, PUT, POST, DELETE")
		adminError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on faults; use GET, PUT, POST or DELETE")
	}
}

// parseJournalFilter reads a JournalFilter from query parameters named as
// its JSON fields.
func parseJournalFilter(q url.Values) (JournalFilter, error) {
	var f JournalFilter
	num := func(name string, max uint64) (uint64, error) {
		v := q.Get(name)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n > max {
			return 0, fmt.Errorf("journal filter %s=%q: want a whole number from 0 to %d", name, v, max)
		}
		return n, nil
	}
	for k := range q {
		switch k {
		case "vendor", "tenant", "operation", "kind", "correlation_id", "status", "after", "findings", "limit":
		default:
			return f, fmt.Errorf("journal filter %q is unknown; filters are vendor, tenant, operation, kind, correlation_id, status, after, findings and limit", k)
		}
	}
	f.Vendor, f.Tenant, f.Operation, f.Kind, f.CorrelationID = q.Get("vendor"), q.Get("tenant"), q.Get("operation"), q.Get("kind"), q.Get("correlation_id")
	if f.Kind != "" && f.Kind != KindCall && f.Kind != KindDelivery {
		return f, fmt.Errorf("journal filter kind=%q: want %s or %s", f.Kind, KindCall, KindDelivery)
	}
	status, err := num("status", 599)
	if err != nil {
		return f, err
	}
	after, err := num("after", ^uint64(0))
	if err != nil {
		return f, err
	}
	limit, err := num("limit", 1<<31-1)
	if err != nil {
		return f, err
	}
	f.Status, f.After, f.Limit = int(status), after, int(limit)
	switch q.Get("findings") {
	case "", "0", "false":
	case "1", "true":
		f.Findings = true
	default:
		return f, fmt.Errorf("journal filter findings=%q: want true or false", q.Get("findings"))
	}
	return f, nil
}

// values is the inverse of parseJournalFilter.
func (f JournalFilter) values() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("vendor", f.Vendor)
	set("tenant", f.Tenant)
	set("operation", f.Operation)
	set("kind", f.Kind)
	set("correlation_id", f.CorrelationID)
	if f.Status != 0 {
		q.Set("status", strconv.Itoa(f.Status))
	}
	if f.After != 0 {
		q.Set("after", strconv.FormatUint(f.After, 10))
	}
	if f.Findings {
		q.Set("findings", "true")
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	adminError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed here; use %s", r.Method, strings.Join(methods, " or ")))
	return false
}

func (s *Sandbox) readAdminBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	return s.readAdminBodyUpTo(w, r, maxAdminBody)
}

// readAdminBodyUpTo reads an admin request's body of at most limit bytes.
func (s *Sandbox) readAdminBodyUpTo(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(s.cfg.bodyTimeout)) == nil {
		defer rc.SetReadDeadline(time.Time{})
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if isTimeout(err) {
		w.Header().Set("Connection", "close")
		adminError(w, http.StatusRequestTimeout, fmt.Sprintf("the request body did not arrive within %s", s.cfg.bodyTimeout))
		return nil, false
	}
	if err != nil {
		adminError(w, http.StatusBadRequest, "read request body: "+err.Error())
		return nil, false
	}
	if int64(len(body)) > limit {
		adminError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over %d bytes", limit))
		return nil, false
	}
	return body, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		adminError(w, http.StatusInternalServerError, "encode answer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte("\n"))
}

func adminError(w http.ResponseWriter, status int, detail string) {
	writeAnswer(w, problemAnswer(status, "", detail, nil))
}

// usageError is a webhook request that cannot be carried out as given.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
