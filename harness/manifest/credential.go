package manifest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Credential kinds, in the words the sandbox's --tenant flag uses
// (bearer:, api-key:, basic:, oauth2:).
const (
	KindBearer = "bearer"
	KindAPIKey = "api-key"
	KindBasic  = "basic"
	KindOAuth2 = "oauth2"
)

// OAuth2 grants a connector holds a vendor's credential by.
const (
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
)

// Credential is what the connector holds to call a vendor. Its fields name
// secrets (entries of the run configuration's secrets), never hold them:
//
//	credential: {kind: bearer, secret: crm_token}
//	credential: {kind: api-key, in: body, name: routing_key, secret: pagerduty_routing_key}
//	credential: {kind: basic, user: crm_user, password: crm_password}
//	credential: {kind: oauth2, grant: client_credentials, client_id: chat_client_id, client_secret: chat_client_secret}
//	credential: {kind: oauth2, grant: authorization_code, client_id: chat_client_id,
//	             client_secret: chat_client_secret, refresh_token: chat_refresh_token}
//
// A vendor's `secret: NAME` is short for {kind: bearer, secret: NAME}.
// The harness puts a test value in each named secret, registers the
// credential with the sandbox as the scenario's tenant's, redacts every
// value from what it writes, and looks for each in the connector's logs
// and in calls to other vendors. For an OAuth2 vendor it gives the
// connector the sandbox's token endpoint (the run configuration's
// token_urls), and for the authorization_code grant it consents as the
// user would and puts the refresh token it was given in refresh_token.
type Credential struct {
	Kind string `yaml:"kind"`
	// Secret names the secret holding a bearer token or an API key.
	Secret string `yaml:"secret"`
	// In is where an API key goes: header, query, cookie or body (a
	// field of the request's body, such as PagerDuty Events'
	// routing_key, which no security scheme can declare); Name is the
	// header, parameter, cookie or field.
	In   string `yaml:"in"`
	Name string `yaml:"name"`
	// User and Password name the secrets of HTTP basic credentials.
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	// Grant, ClientID, ClientSecret and RefreshToken are an OAuth2
	// client's: the grant it holds its tokens by and the secrets'
	// names.
	Grant        string `yaml:"grant"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	RefreshToken string `yaml:"refresh_token"`
}

// SecretNames are the names of the secrets the credential holds, in the
// order of its fields.
func (c Credential) SecretNames() []string {
	var out []string
	for _, s := range []string{c.Secret, c.User, c.Password, c.ClientID, c.ClientSecret, c.RefreshToken} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// IsOAuth2 says whether the connector gets its tokens from the vendor's
// authorization server.
func (c Credential) IsOAuth2() bool { return c.Kind == KindOAuth2 }

// Static says whether the credential is a fixed secret the vendor issued,
// such as an API key, which an admin rotates rather than the connector
// refreshes.
func (c Credential) Static() bool {
	return c.Kind == KindBearer || c.Kind == KindAPIKey || c.Kind == KindBasic
}

// credentialKeys are, per kind (and grant), the keys a credential needs;
// it may have no other.
var credentialKeys = map[string][]string{
	KindBearer: {"secret"},
	KindAPIKey: {"in", "name", "secret"},
	KindBasic:  {"user", "password"},
	KindOAuth2 + " " + GrantClientCredentials: {"grant", "client_id", "client_secret"},
	KindOAuth2 + " " + GrantAuthorizationCode: {"grant", "client_id", "client_secret", "refresh_token"},
}

// secretKeys are the keys whose values name secrets.
var secretKeys = []string{"secret", "user", "password", "client_id", "client_secret", "refresh_token"}

// checkCredential checks a vendor's credential. It returns the key its
// problem is at ("secret" or "credential") and the problem, or "".
func checkCredential(v Vendor) (field, problem string) {
	if v.Credential == nil {
		if v.Secret != "" && !secretPattern.MatchString(v.Secret) {
			return "secret", fmt.Sprintf("secret name %q: use letters, digits and underscores", v.Secret)
		}
		return "", ""
	}
	if v.Secret != "" {
		return "secret", "give the vendor's credential once: secret: NAME is short for credential: {kind: bearer, secret: NAME}"
	}
	c := *v.Credential
	values := map[string]string{"secret": c.Secret, "in": c.In, "name": c.Name, "user": c.User, "password": c.Password,
		"grant": c.Grant, "client_id": c.ClientID, "client_secret": c.ClientSecret, "refresh_token": c.RefreshToken}
	key := c.Kind
	switch c.Kind {
	case "":
		return "credential", "credential needs kind: bearer, api-key, basic or oauth2"
	case KindOAuth2:
		if c.Grant != GrantClientCredentials && c.Grant != GrantAuthorizationCode {
			return "credential", fmt.Sprintf("an oauth2 credential says its grant: grant: %s or %s (not %q)", GrantClientCredentials, GrantAuthorizationCode, c.Grant)
		}
		key += " " + c.Grant
	case KindAPIKey:
		if !slices.Contains([]string{"header", "query", "cookie", "body"}, c.In) {
			return "credential", fmt.Sprintf("an api-key credential says where the key goes: in: header, query, cookie or body (not %q)", c.In)
		}
	}
	label := "kind: " + c.Kind
	if c.Kind == KindOAuth2 {
		label += ", grant: " + c.Grant
	}
	keys, ok := credentialKeys[key]
	if !ok {
		return "credential", fmt.Sprintf("credential kind %q: use bearer, api-key, basic or oauth2", c.Kind)
	}
	for _, k := range keys {
		switch {
		case strings.TrimSpace(values[k]) == "":
			what := "the name of the secret that holds it"
			if !slices.Contains(secretKeys, k) {
				what = "the header, parameter, cookie or body field the key goes in, such as X-Api-Key"
			}
			return "credential", fmt.Sprintf("credential {%s} needs %s: %s", label, k, what)
		case slices.Contains(secretKeys, k) && !secretPattern.MatchString(values[k]):
			return "credential", fmt.Sprintf("%s %q: a secret's name uses letters, digits and underscores", k, values[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if values[k] != "" && !slices.Contains(keys, k) {
			return "credential", fmt.Sprintf("credential {%s} has no %s", label, k)
		}
	}
	return "", ""
}
