package sandbox

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/tetherkit/tether/contracts"
)

// credentialFault applies a credential fault of kind f.Kind to tenant, the
// caller of op at v, and says what it did, for the journal. Nothing it
// does names a secret.
func (s *Sandbox) credentialFault(v *vendor, f *Fault, tenant string, op *contracts.Operation, r *http.Request) string {
	now := s.cfg.now()
	switch f.Kind {
	case kindTokenExpired:
		if v.auth == nil {
			return "; the vendor has no authorization server, so no token of its to expire"
		}
		return fmt.Sprintf("; %d access tokens ended", v.auth.issued.expire(tenant, now))
	case kindGrantRevoked:
		if v.auth == nil {
			return "; the vendor has no authorization server, so no grant of its to revoke"
		}
		clients := v.auth.issued.clients(tenant)
		expired := v.auth.issued.expire(tenant, now)
		revoked := v.auth.store.revokeTenant(tenant)
		if revoked > 0 {
			// The grant was a refresh token: it is gone, and the next
			// refresh is refused invalid_grant.
			return fmt.Sprintf("; %d access tokens ended, %d refresh tokens revoked", expired, revoked)
		}
		// Client credentials hold no refresh token: the client's secret
		// goes instead, so the next grant is refused invalid_client.
		// A secret rotated away already stays as it is.
		rotated := 0
		for _, id := range clients {
			s.tenants.mu.RLock()
			c := s.tenants.clients[id]
			var secret string
			if c != nil && c.tenant == tenant && !strings.HasPrefix(c.secret, rotatedPrefix) {
				secret = c.secret
			}
			s.tenants.mu.RUnlock()
			if secret != "" && s.tenants.rotate(tenant, secret, unguessable(), s.adminToken, s.redactor) == nil {
				rotated++
			}
		}
		return fmt.Sprintf("; %d access tokens ended, %d clients' secrets rotated away", expired, rotated)
	case kindScopeRemoved:
		var taken []string
		for _, sc := range strings.Fields(f.Scope) {
			if s.RemoveScope(tenant, sc) == nil {
				taken = append(taken, sc)
			}
		}
		return fmt.Sprintf("; scopes taken from tenant %q: %v", tenant, taken)
	case kindKeyRotated:
		rotated := 0
		for _, req := range op.Security {
			for _, name := range slices.Sorted(maps.Keys(req)) {
				sc, ok := v.schemes[name]
				if !ok {
					continue
				}
				kind, secret, _ := presented(sc, r)
				if secret == "" || strings.HasPrefix(secret, rotatedPrefix) || (kind != "api-key" && kind != "bearer") {
					continue
				}
				if s.tenants.rotate(tenant, secret, unguessable(), s.adminToken, s.redactor) == nil {
					rotated++
				}
			}
		}
		return fmt.Sprintf("; %d keys the call carries rotated away", rotated)
	}
	return ""
}

// isCredentialFault says whether a fault of kind changes a credential.
func isCredentialFault(kind string) bool {
	switch kind {
	case kindTokenExpired, kindGrantRevoked, kindScopeRemoved, kindKeyRotated:
		return true
	}
	return false
}

// rotatedPrefix starts every secret a credential fault rotated away.
const rotatedPrefix = "rotated-"

// unguessable is a fresh secret nobody is given: what a rotated-away
// credential becomes.
func unguessable() string {
	b := make([]byte, 24)
	rand.Read(b)
	return rotatedPrefix + base64.RawURLEncoding.EncodeToString(b)
}
