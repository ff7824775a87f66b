package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// ExpireTokens ends now, by the sandbox's clock, every access token that
// the vendors' authorization servers issued to tenant, and says how many
// were still valid. Calls with them are answered 401 with
// WWW-Authenticate: Bearer error="invalid_token"; a client that refreshes
// gets new ones.
func (s *Sandbox) ExpireTokens(tenant string) int {
	n := 0
	now := s.cfg.now()
	for _, v := range s.order {
		if v.auth != nil {
			n += v.auth.issued.expire(tenant, now)
		}
	}
	return n
}

// RevokeRefreshTokens forgets every refresh token the vendors'
// authorization servers issued to tenant, and says how many were still
// usable. A refresh with one of them is answered invalid_grant.
func (s *Sandbox) RevokeRefreshTokens(tenant string) int {
	n := 0
	for _, v := range s.order {
		if v.auth != nil {
			n += v.auth.store.revokeTenant(tenant)
		}
	}
	return n
}

// RemoveScope takes scope from tenant: from its OAuth2 clients, the
// tokens they were issued and its bearer credentials. A call whose
// operation needs the scope is answered 403 with WWW-Authenticate: Bearer
// error="insufficient_scope", and a token request that asks for it
// invalid_scope. It fails for a tenant nobody registered, or one none of
// whose credentials has the scope.
func (s *Sandbox) RemoveScope(tenant, scope string) error {
	if scope == "" {
		return &usageError{"remove scope: name the scope"}
	}
	t := s.tenants
	sp := t.spec(tenant)
	if sp == nil {
		return &usageError{fmt.Sprintf("remove scope: no tenant %q; the tenants are %s", tenant, strings.Join(t.names, ", "))}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	has := false
	for _, c := range sp.creds {
		has = has || slices.Contains(c.scopes, scope)
	}
	if !has {
		return &usageError{fmt.Sprintf("remove scope: no credential of tenant %q has scope %q", tenant, scope)}
	}
	if t.removed[tenant] == nil {
		t.removed[tenant] = map[string]bool{}
	}
	t.removed[tenant][scope] = true
	return nil
}

// RotateKey replaces oldSecret, a secret of tenant (an API key, a bearer
// token or an OAuth2 client's secret), by newSecret. Calls with the old
// one are answered 401 from then on, and a token request authenticated
// with it invalid_client. Through the admin API an empty newSecret has the
// sandbox make one, which the answer carries; here it must be given.
func (s *Sandbox) RotateKey(tenant, oldSecret, newSecret string) error {
	if newSecret == "" {
		return &usageError{"rotate key: give the new secret"}
	}
	return s.tenants.rotate(tenant, oldSecret, newSecret, s.adminToken, s.redactor)
}

// spec is the registration of tenant, or nil.
func (t *tenants) spec(tenant string) *tenantSpec {
	for i := range t.specs {
		if t.specs[i].name == tenant {
			return &t.specs[i]
		}
	}
	return nil
}

func (t *tenants) rotate(tenant, oldSecret, newSecret, adminToken string, red *redactor) error {
	if t.spec(tenant) == nil {
		return &usageError{fmt.Sprintf("rotate key: no tenant %q; the tenants are %s", tenant, strings.Join(t.names, ", "))}
	}
	if oldSecret == "" {
		return &usageError{"rotate key: give the secret to replace"}
	}
	if newSecret == oldSecret {
		return &usageError{"rotate key: the new secret is the old one; a rotation replaces it"}
	}
	if strings.ContainsAny(newSecret, "\r\n") {
		return &usageError{"rotate key: the new secret must be one line"}
	}
	if sameSecret(newSecret, adminToken) {
		return &usageError{"rotate key: the new secret is the admin token; the admin token must be a secret of its own"}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for key, os := range t.bySecr {
		if !strings.HasSuffix(key, "\x00"+newSecret) {
			continue
		}
		for _, o := range os {
			if o.tenant != tenant {
				return &usageError{fmt.Sprintf("rotate key: the new secret is a credential of tenant %q; one credential must identify one tenant", o.tenant)}
			}
		}
	}
	found := 0
	for _, kind := range []string{"api-key", "bearer", "oauth2-client"} {
		key := kind + "\x00" + oldSecret
		var keep []owned
		for _, o := range t.bySecr[key] {
			if o.tenant != tenant {
				keep = append(keep, o)
				continue
			}
			c := *o.cred
			c.secret = newSecret
			t.bySecr[kind+"\x00"+newSecret] = append(t.bySecr[kind+"\x00"+newSecret], owned{tenant: tenant, cred: &c})
			if kind == "oauth2-client" {
				if cl := t.clients[c.clientID]; cl != nil {
					cl.secret = newSecret
				}
			}
			red.rename(oldSecret, newSecret)
			found++
		}
		if len(keep) == 0 {
			delete(t.bySecr, key)
		} else {
			t.bySecr[key] = keep
		}
	}
	if found == 0 {
		return &usageError{fmt.Sprintf("rotate key: tenant %q has no API key, bearer token or OAuth2 client secret equal to the one given", tenant)}
	}
	return nil
}

// CredentialRequest is the body of a POST to /__tether/credentials/...:
// the tenant, and for remove-scope the scope, for rotate the secret to
// replace and its replacement (made by the sandbox when empty).
type CredentialRequest struct {
	Tenant string `json:"tenant"`
	Scope  string `json:"scope,omitempty"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
}

// CredentialResult is what /__tether/credentials/... answers: how many
// tokens were expired or revoked, or the new secret of a rotation.
type CredentialResult struct {
	Expired int    `json:"expired"`
	Revoked int    `json:"revoked"`
	New     string `json:"new,omitempty"`
}

// serveCredentials answers POST /__tether/credentials/ACTION, where ACTION
// is expire, revoke-refresh, remove-scope or rotate.
func (s *Sandbox) serveCredentials(w http.ResponseWriter, r *http.Request, action string) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	body, ok := s.readAdminBody(w, r)
	if !ok {
		return
	}
	var cr CredentialRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cr); err != nil {
		adminError(w, http.StatusBadRequest, "read credentials request: "+err.Error())
		return
	}
	if cr.Tenant == "" {
		adminError(w, http.StatusBadRequest, `name the tenant: {"tenant": "NAME"}`)
		return
	}
	if action != "rotate" && s.tenants.spec(cr.Tenant) == nil {
		adminError(w, http.StatusNotFound, fmt.Sprintf("no tenant %q; the tenants are %s", cr.Tenant, strings.Join(s.tenants.names, ", ")))
		return
	}
	var res CredentialResult
	switch action {
	case "expire":
		res.Expired = s.ExpireTokens(cr.Tenant)
	case "revoke-refresh":
		res.Revoked = s.RevokeRefreshTokens(cr.Tenant)
	case "remove-scope":
		if err := s.RemoveScope(cr.Tenant, cr.Scope); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
	case "rotate":
		if cr.New == "" {
			cr.New = "tsk_" + base64.RawURLEncoding.EncodeToString(randomBytes(24))
		}
		if err := s.RotateKey(cr.Tenant, cr.Old, cr.New); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		res.New = cr.New
	default:
		adminError(w, http.StatusNotFound, fmt.Sprintf("no credentials action %q; there are expire, revoke-refresh, remove-scope and rotate", action))
		return
	}
	writeJSON(w, http.StatusOK, res)
}
