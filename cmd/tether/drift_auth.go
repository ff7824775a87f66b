package main

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tetherkit/tether/connectors"
	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/drift"
	"github.com/tetherkit/tether/harness/manifest"
)

// driftCredential is the option that sends vendor's credential cred on the
// live calls, with every secret read from the environment.
func driftCredential(env *environ, vendor string, cred *manifest.Credential, ct *contracts.Contract, base, tokenURL string) ([]drift.Option, error) {
	opts := func(o ...drift.Option) []drift.Option { return o }
	secret := func(name string) (string, error) {
		variable := credentialVariable(name)
		v := env.getenv(variable)
		if v == "" {
			return "", fmt.Errorf("vendor %s: the credential variable %s is not set (vendors.%s names secret %q in %s)",
				vendor, variable, vendor, name, manifest.File)
		}
		return v, nil
	}
	switch cred.Kind {
	case manifest.KindBearer:
		tok, err := secret(cred.Secret)
		if err != nil {
			return nil, err
		}
		return opts(drift.WithCredential(tok)), nil
	case manifest.KindAPIKey:
		key, err := secret(cred.Secret)
		if err != nil {
			return nil, err
		}
		return opts(drift.WithAPIKey(cred.In, cred.Name, key)), nil
	case manifest.KindBasic:
		user, err := secret(cred.User)
		if err != nil {
			return nil, err
		}
		password, err := secret(cred.Password)
		if err != nil {
			return nil, err
		}
		return opts(drift.WithBasic(user, password)), nil
	case manifest.KindOAuth2:
		id, err := secret(cred.ClientID)
		if err != nil {
			return nil, err
		}
		sec, err := secret(cred.ClientSecret)
		if err != nil {
			return nil, err
		}
		flow := "clientCredentials"
		if cred.Grant == manifest.GrantAuthorizationCode {
			flow = "authorizationCode"
		}
		if tokenURL == "" {
			if tokenURL, err = contractTokenURL(ct, flow, base); err != nil {
				return nil, fmt.Errorf("vendor %s: %w; give the token endpoint with --token-url", vendor, err)
			}
			// The client's secret goes where the contract says only when
			// that is the vendor's own host: a contract is an input, and
			// may name anyone's.
			if err := sameHost(tokenURL, base); err != nil {
				return nil, fmt.Errorf("vendor %s: %w; if that is the vendor's token endpoint, give it with --token-url", vendor, err)
			}
		}
		if err := safeTokenURL(tokenURL); err != nil {
			return nil, fmt.Errorf("vendor %s: %w", vendor, err)
		}
		if flow == "clientCredentials" {
			return opts(drift.WithTokenSource(connectors.NewTokenSource(connectors.ClientCredentials(clientcredentials.Config{
				ClientID: id, ClientSecret: sec, TokenURL: tokenURL}))), drift.WithSecrets(sec)), nil
		}
		refresh, err := secret(cred.RefreshToken)
		if err != nil {
			return nil, err
		}
		cfg := oauth2.Config{ClientID: id, ClientSecret: sec, Endpoint: oauth2.Endpoint{TokenURL: tokenURL}}
		return opts(drift.WithTokenSource(connectors.NewTokenSource(connectors.RefreshToken(cfg, &oauth2.Token{RefreshToken: refresh}))),
			drift.WithSecrets(sec, refresh)), nil
	}
	return nil, fmt.Errorf("vendor %s: a credential of kind %q in %s", vendor, cred.Kind, manifest.File)
}

// contractTokenURL is the token URL of the contract's first OAuth2 flow of
// kind flow, resolved against base when the contract gives it relative.
func contractTokenURL(ct *contracts.Contract, flow, base string) (string, error) {
	if ct != nil {
		for _, name := range sortedSchemes(ct) {
			for _, f := range ct.SecuritySchemes()[name].Flows {
				if f.Kind != flow || f.TokenURL == "" {
					continue
				}
				u, err := url.Parse(f.TokenURL)
				if err != nil {
					return "", fmt.Errorf("the contract's token URL %q: %w", f.TokenURL, err)
				}
				if u.IsAbs() {
					return u.String(), nil
				}
				b, err := url.Parse(strings.TrimSuffix(base, "/") + "/")
				if err != nil {
					return "", err
				}
				return b.ResolveReference(u).String(), nil
			}
		}
	}
	return "", fmt.Errorf("the contract declares no OAuth2 %s flow with a token URL", flow)
}

func sortedSchemes(ct *contracts.Contract) []string {
	var names []string
	for n := range ct.SecuritySchemes() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// sameHost refuses a token URL on another host than base's, or on none of
// its parent domains (auth.vendor.example for api.vendor.example).
func sameHost(tokenURL, base string) error {
	t, err1 := url.Parse(tokenURL)
	b, err2 := url.Parse(base)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("the token URL %q or the base URL cannot be read", tokenURL)
	}
	th, bh := t.Hostname(), b.Hostname()
	if th == bh || siteOf(th) != "" && siteOf(th) == siteOf(bh) {
		return nil
	}
	return fmt.Errorf("the contract's token URL is on %s, not on the vendor's %s: the client secret is not sent there", th, bh)
}

// siteOf is the last two labels of a host name (crm.example), or "" for
// an address or a one-label name.
func siteOf(host string) string {
	if net.ParseIP(host) != nil {
		return ""
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return ""
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

// safeTokenURL refuses to send a client secret in clear: HTTPS, or HTTP to
// this machine only.
func safeTokenURL(tokenURL string) error {
	u, err := url.Parse(tokenURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("token URL %q: want an absolute http or https URL", tokenURL)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); h == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("token URL %s: the client secret goes only over HTTPS, or HTTP to this machine", u.Redacted())
}
