package sandbox

import (
	"context"
	"fmt"
)

// OAuth2Endpoints are the URLs of the token and authorize endpoints of
// vendor's authorization server in this sandbox; an endpoint the
// contract's flows do not have is "". It fails for a vendor the sandbox
// does not serve, or one whose contract declares no oauth2 flow.
func (s *Sandbox) OAuth2Endpoints(vendor string) (token, authorize string, err error) {
	return oauth2Endpoints(s.url, vendor, s.Health())
}

// OAuth2Endpoints is [Sandbox.OAuth2Endpoints] through the admin API.
func (c *Client) OAuth2Endpoints(ctx context.Context, vendor string) (token, authorize string, err error) {
	h, err := c.Health(ctx)
	if err != nil {
		return "", "", err
	}
	return oauth2Endpoints(c.base, vendor, *h)
}

func oauth2Endpoints(root, vendor string, h Health) (token, authorize string, err error) {
	for _, v := range h.Vendors {
		if v.Name != vendor {
			continue
		}
		for _, ep := range v.OAuth2 {
			switch {
			case ep.Kind == "token" && token == "":
				token = root + ep.Path
			case ep.Kind == "authorize" && authorize == "":
				authorize = root + ep.Path
			}
		}
		if token == "" {
			return "", "", fmt.Errorf("sandbox %s: vendor %q has no authorization server: its contract declares no oauth2 flow with a token URL", root, vendor)
		}
		return token, authorize, nil
	}
	return "", "", fmt.Errorf("sandbox %s: no vendor %q", root, vendor)
}
