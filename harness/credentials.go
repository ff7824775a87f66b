package harness

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/sandbox"
)

// TestCredential is a tenant's credential for one vendor, with the test
// values the harness makes up for it: what the sandbox registers, and
// what the connector is given in its secrets.
type TestCredential struct {
	manifest.Credential
	// Values holds the test value of each secret the credential names,
	// by the secret's name.
	Values map[string]string
	// Scopes are those its tokens carry.
	Scopes []string
}

// testCredential makes up the test values of vendor's credential c for
// tenant: stable for a tenant and vendor, so that golden files hold the
// same placeholders run after run, and distinct across vendors, so that
// the secrets check can tell whose a leaked value is.
func testCredential(tenant, vendor string, c manifest.Credential, scopes []string) TestCredential {
	tc := TestCredential{Credential: c, Values: map[string]string{}, Scopes: scopes}
	put := func(name, value string) {
		if name != "" {
			tc.Values[name] = value
		}
	}
	base := tokenFor(tenant, vendor)
	put(c.Secret, base)
	put(c.User, "tether-"+tenant+"-"+vendor)
	put(c.Password, base+"-password")
	put(c.ClientID, "tether-client-"+tenant+"-"+vendor)
	put(c.ClientSecret, base+"-client-secret")
	return tc
}

// value is the test value of the secret called name; "" for a name the
// credential does not hold.
func (tc TestCredential) value(name string) string {
	if name == "" {
		return ""
	}
	return tc.Values[name]
}

// Sandbox is the credential as the sandbox registers it for the tenant.
// An API key sent in a body field is registered too: no contract can
// declare it, so the sandbox never asks for it, but its journal redacts it.
func (tc TestCredential) Sandbox() sandbox.Credential {
	switch tc.Kind {
	case manifest.KindAPIKey:
		return sandbox.APIKey(tc.value(tc.Secret))
	case manifest.KindBasic:
		return sandbox.Basic(tc.value(tc.User), tc.value(tc.Password))
	case manifest.KindOAuth2:
		return sandbox.OAuth2Client(tc.value(tc.ClientID), tc.value(tc.ClientSecret), tc.Scopes...)
	}
	return sandbox.Bearer(tc.value(tc.Secret), tc.Scopes...)
}

// Flag is the credential as `tether sandbox serve --tenant TENANT=...`
// takes it.
func (tc TestCredential) Flag(tenant string) string {
	scopes := ""
	if len(tc.Scopes) > 0 {
		scopes = ";" + strings.Join(tc.Scopes, ",")
	}
	switch tc.Kind {
	case manifest.KindAPIKey:
		return fmt.Sprintf("%s=api-key:%s", tenant, tc.value(tc.Secret))
	case manifest.KindBasic:
		return fmt.Sprintf("%s=basic:%s:%s", tenant, tc.value(tc.User), tc.value(tc.Password))
	case manifest.KindOAuth2:
		return fmt.Sprintf("%s=oauth2:%s:%s%s", tenant, tc.value(tc.ClientID), tc.value(tc.ClientSecret), scopes)
	}
	return fmt.Sprintf("%s=bearer:%s%s", tenant, tc.value(tc.Secret), scopes)
}

// secretValues are the test values of the credentials' secrets, each with
// the vendor it belongs to: tokens, keys, passwords, clients' secrets and
// refresh tokens. A user name or a client's ID identifies without
// granting anything, so logging one is no leak.
func secretValues(creds map[string]TestCredential) map[string]string {
	out := map[string]string{}
	for _, vendor := range slices.Sorted(maps.Keys(creds)) {
		tc := creds[vendor]
		for _, name := range []string{tc.Secret, tc.Password, tc.ClientSecret, tc.RefreshToken} {
			if v := tc.value(name); v != "" {
				out[v] = vendor
			}
		}
	}
	return out
}
