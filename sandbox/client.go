package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tetherkit/tether/sandbox/state"
)

// Client drives a sandbox's admin API over HTTP: in the same process
// ([Sandbox.Client]) or in a container, with the same calls.
type Client struct {
	base  string
	hc    *http.Client
	token string
}

// ClientOption configures [NewClient]. Make one with [UseToken].
type ClientOption struct{ apply func(*Client) }

// UseToken sends token as "Authorization: Bearer TOKEN" on every admin
// call: the sandbox's admin token ([Sandbox.AdminToken], printed by tether
// sandbox serve), or a tenant's credential, which may read only health and
// that tenant's journal entries.
func UseToken(token string) ClientOption {
	return ClientOption{func(c *Client) { c.token = token }}
}

// NewClient is a client for the sandbox whose root URL is baseURL, such as
// "http://127.0.0.1:8080". A nil hc means a client of its own. Without
// [UseToken] every call is refused with 401.
func NewClient(baseURL string, hc *http.Client, opts ...ClientOption) *Client {
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}
	}
	c := &Client{base: strings.TrimSuffix(baseURL, "/"), hc: hc}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(c)
		}
	}
	return c
}

// URL is the sandbox's root URL.
func (c *Client) URL() string { return c.base }

// Health asks what the sandbox serves. It fails unless the sandbox answers
// 200, so it also tells whether it is up.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	if err := c.do(ctx, http.MethodGet, "health", "", nil, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// VendorURL is the base URL of the vendor called name, as
// [Sandbox.VendorURL] gives it.
func (c *Client) VendorURL(ctx context.Context, name string) (string, error) {
	h, err := c.Health(ctx)
	if err != nil {
		return "", err
	}
	var names []string
	for _, v := range h.Vendors {
		if v.Name == name {
			return c.base + v.BasePath, nil
		}
		names = append(names, v.Name)
	}
	return "", fmt.Errorf("sandbox %s: no vendor %q; it serves %s", c.base, name, strings.Join(names, ", "))
}

// Journal returns the entries that pass f.
func (c *Client) Journal(ctx context.Context, f JournalFilter) (*JournalPage, error) {
	var p JournalPage
	if err := c.do(ctx, http.MethodGet, "journal?"+f.values().Encode(), "", nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Faults returns the fault plan in force.
func (c *Client) Faults(ctx context.Context) (*FaultPlan, error) {
	var p FaultPlan
	if err := c.do(ctx, http.MethodGet, "faults", "", nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// SetFaults replaces the fault plan; counters restart.
func (c *Client) SetFaults(ctx context.Context, plan *FaultPlan) error {
	if plan == nil {
		plan = &FaultPlan{}
	}
	return c.do(ctx, http.MethodPut, "faults", "application/json", plan, nil)
}

// AddFaults adds faults to the plan in force; counters restart.
func (c *Client) AddFaults(ctx context.Context, faults ...Fault) error {
	return c.do(ctx, http.MethodPost, "faults", "application/json", &FaultPlan{Faults: faults}, nil)
}

// ClearFaults removes every fault.
func (c *Client) ClearFaults(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "faults", "", nil, nil)
}

// Reset empties the journal, restarts fault counters and rewinds cassettes.
func (c *Client) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "reset", "", nil, nil)
}

// Deliver has the sandbox deliver webhooks, and returns every attempt as
// it was journaled.
func (c *Client) Deliver(ctx context.Context, wh Webhook) ([]Entry, error) {
	var out []Entry
	if err := c.do(ctx, http.MethodPost, "deliver", "application/json", wh, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// AllowTarget registers the origin of rawURL as a place the sandbox may
// deliver webhooks to, as [Sandbox.AllowTarget] does.
func (c *Client) AllowTarget(ctx context.Context, rawURL string) error {
	return c.do(ctx, http.MethodPost, "targets", "application/json", TargetRequest{URL: rawURL}, nil)
}

// State returns tenant's state, by vendor, as [Sandbox.State] does; the
// admin token may name any tenant, a tenant's credential only its own (or
// "", meaning its own).
func (c *Client) State(ctx context.Context, tenant string) (map[string]state.Document, error) {
	var m map[string]state.Document
	if err := c.do(ctx, http.MethodGet, "state"+tenantQuery(tenant), "", nil, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// SetState replaces tenant's state of each vendor m names, as
// [Sandbox.SetState] does. A document that does not fit is refused with
// an [AdminError] whose detail says where in the request body.
func (c *Client) SetState(ctx context.Context, tenant string, m map[string]state.Document) error {
	if m == nil {
		m = map[string]state.Document{}
	}
	return c.do(ctx, http.MethodPut, "state"+tenantQuery(tenant), "application/json", m, nil)
}

// ResetState returns tenant's state to its seeds, as [Sandbox.ResetState]
// does; an empty tenant means every tenant's, which needs the admin token
// (a tenant's credential resets its own).
func (c *Client) ResetState(ctx context.Context, tenant string) error {
	return c.do(ctx, http.MethodDelete, "state"+tenantQuery(tenant), "", nil, nil)
}

func tenantQuery(tenant string) string {
	if tenant == "" {
		return ""
	}
	return "?" + url.Values{"tenant": {tenant}}.Encode()
}

// AdminError is a refusal from the admin API, with the sandbox's reason.
type AdminError struct {
	Method, URL string
	Status      int
	Detail      string
}

func (e *AdminError) Error() string {
	return fmt.Sprintf("sandbox %s %s: %d %s: %s", e.Method, e.URL, e.Status, http.StatusText(e.Status), e.Detail)
}

func (c *Client) do(ctx context.Context, method, path, contentType string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("sandbox %s %s: encode: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.base + AdminPrefix + path
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("sandbox %s %s: %w", method, u, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("sandbox %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("sandbox %s %s: read answer: %w", method, u, err)
	}
	if resp.StatusCode >= 300 {
		var p problem
		detail := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &p) == nil && p.Detail != "" {
			detail = p.Detail
		}
		return &AdminError{Method: method, URL: u, Status: resp.StatusCode, Detail: detail}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("sandbox %s %s: decode answer: %w", method, u, err)
		}
	}
	return nil
}

// ExpireTokens ends tenant's access tokens now, as [Sandbox.ExpireTokens]
// does.
func (c *Client) ExpireTokens(ctx context.Context, tenant string) error {
	return c.do(ctx, http.MethodPost, "credentials/expire", "application/json", CredentialRequest{Tenant: tenant}, nil)
}

// RevokeRefreshTokens forgets tenant's refresh tokens, as
// [Sandbox.RevokeRefreshTokens] does.
func (c *Client) RevokeRefreshTokens(ctx context.Context, tenant string) error {
	return c.do(ctx, http.MethodPost, "credentials/revoke-refresh", "application/json", CredentialRequest{Tenant: tenant}, nil)
}

// RemoveScope takes scope from tenant, as [Sandbox.RemoveScope] does.
func (c *Client) RemoveScope(ctx context.Context, tenant, scope string) error {
	return c.do(ctx, http.MethodPost, "credentials/remove-scope", "application/json", CredentialRequest{Tenant: tenant, Scope: scope}, nil)
}

// RotateKey replaces tenant's secret oldSecret by newSecret, as
// [Sandbox.RotateKey] does; newSecret must be given.
func (c *Client) RotateKey(ctx context.Context, tenant, oldSecret, newSecret string) error {
	if newSecret == "" {
		return fmt.Errorf("sandbox rotate key: give the new secret")
	}
	return c.do(ctx, http.MethodPost, "credentials/rotate", "application/json", CredentialRequest{Tenant: tenant, Old: oldSecret, New: newSecret}, nil)
}
