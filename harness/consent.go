package harness

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// consentRedirect is where the harness, as the consenting user's browser,
// asks the authorization server to send the code. Nothing listens there:
// the harness reads the code from the redirect itself.
const consentRedirect = "http://127.0.0.1/tether/consent"

// consent does what installing a connector does for a vendor whose
// credential is an OAuth2 authorization code: the user consents at the
// authorize endpoint, and the code is exchanged (with PKCE) at the token
// endpoint for the refresh token the connector is given. It returns that
// refresh token.
func consent(ctx context.Context, authorizeURL, tokenURL, clientID, clientSecret string, scopes []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	verifier := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(verifier))
	state := base64.RawURLEncoding.EncodeToString(sum[:8])

	au, err := url.Parse(authorizeURL)
	if err != nil {
		return "", fmt.Errorf("authorize endpoint %q: %w", authorizeURL, err)
	}
	q := au.Query()
	q.Set("response_type", "code")
	q.Set("client_id", clientID)
	q.Set("redirect_uri", consentRedirect)
	q.Set("state", state)
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	q.Set("code_challenge_method", "S256")
	if len(scopes) > 0 {
		q.Set("scope", strings.Join(scopes, " "))
	}
	au.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, au.String(), nil)
	if err != nil {
		return "", err
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		return "", fmt.Errorf("consent at %s: %w", authorizeURL, err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		return "", fmt.Errorf("consent at %s: answered %d without a redirect", authorizeURL, resp.StatusCode)
	}
	back := loc.Query()
	if e := back.Get("error"); e != "" {
		return "", fmt.Errorf("consent at %s: %s: %s", authorizeURL, e, back.Get("error_description"))
	}
	if back.Get("state") != state {
		return "", errors.New("consent: the redirect does not carry the state sent")
	}
	code := back.Get("code")
	if code == "" {
		return "", errors.New("consent: the redirect carries no code")
	}

	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {consentRedirect}, "code_verifier": {verifier}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("exchange the code at %s: %w", tokenURL, err)
	}
	defer resp.Body.Close()
	var tok struct {
		RefreshToken string `json:"refresh_token"`
		Error        string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil {
		return "", fmt.Errorf("exchange the code at %s: answered %d, not a token: %v", tokenURL, resp.StatusCode, err)
	}
	switch {
	case tok.Error != "":
		return "", fmt.Errorf("exchange the code at %s: %s", tokenURL, tok.Error)
	case tok.RefreshToken == "":
		return "", fmt.Errorf("exchange the code at %s: the token answer holds no refresh token", tokenURL)
	}
	return tok.RefreshToken, nil
}
