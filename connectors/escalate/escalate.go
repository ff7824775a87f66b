// Package escalate is an example connector run as a black box: when a
// helpdesk ticket is escalated, it opens an incident on the paging API and
// posts a notice about it to a chat channel.
//
// For each ticket.escalated webhook, signed the Standard Webhooks way, it
//
//  1. skips tickets below the configured minimum priority (no call);
//  2. opens an incident (POST /incidents) with the ticket's subject, an
//     urgency mapped from its priority, and an Idempotency-Key derived
//     from the event, so that a retry opens it once; a 409 (an incident
//     for the ticket is already open) ends the event quietly;
//  3. posts the notice, rendered from the configured template, to the chat
//     API, which answers like Slack's ({"ok": false, "error": ...}).
//
// It ships as a binary (cmd/escalate, a run configuration names the
// vendors' base URLs) and as a FROM scratch image (Dockerfile); the
// harness tests it both ways, from outside.
package escalate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/tetherkit/tether/connectors"
)

// Name is the connector's name in its manifest, metrics and logs.
const Name = "escalate"

// Secrets the connector reads from its environment.
const (
	SecretIncidentToken = "incident_token" // bearer token for the incident API
	// The chat app was installed with OAuth2's authorization code: the
	// connector holds its client and the refresh token it was given.
	SecretChatClientID     = "chat_client_id"
	SecretChatClientSecret = "chat_client_secret"
	SecretChatRefreshToken = "chat_refresh_token"
	SecretWebhookSecret    = "helpdesk_secret" // the helpdesk's signing key, whsec_...
)

// DefaultNotice is the chat notice when the configuration gives none.
const DefaultNotice = ":rotating_light: {{.Subject}} ({{.Priority}}) escalated by {{.EscalatedBy}}: {{.IncidentURL}}"

// priorities in increasing order.
var priorities = []string{"low", "normal", "high", "urgent"}

// Config is the connector's configuration; config.schema.json describes
// it for admins.
type Config struct {
	ServiceID   string            `json:"service_id"`
	MinPriority string            `json:"min_priority"`
	Urgency     map[string]string `json:"urgency"`
	Channel     string            `json:"channel"`
	Notice      string            `json:"notice"`
}

var (
	servicePattern = regexp.MustCompile(`^P[A-Z0-9]{6}$`)
	channelPattern = regexp.MustCompile(`^[CG][A-Z0-9]{8,12}$`)
)

// ParseConfig reads the configuration from its JSON form and fills in
// the defaults.
func ParseConfig(raw map[string]any) (Config, error) {
	var c Config
	if err := connectors.DecodeConfig(raw, &c); err != nil {
		return Config{}, err
	}
	if c.MinPriority == "" {
		c.MinPriority = "high"
	}
	urgency := map[string]string{"urgent": "high", "high": "high", "normal": "low", "low": "low"}
	for p, u := range c.Urgency {
		urgency[p] = u
	}
	c.Urgency = urgency
	if c.Notice == "" {
		c.Notice = DefaultNotice
	}
	switch {
	case !servicePattern.MatchString(c.ServiceID):
		return Config{}, fmt.Errorf("config: service_id %q is not a service ID such as PCHKOUT", c.ServiceID)
	case !channelPattern.MatchString(c.Channel):
		return Config{}, fmt.Errorf("config: channel %q is not a channel ID such as C0INCIDENT1", c.Channel)
	case !slices.Contains(priorities, c.MinPriority):
		return Config{}, fmt.Errorf("config: min_priority %q: use %s", c.MinPriority, strings.Join(priorities, ", "))
	}
	for p, u := range c.Urgency {
		if !slices.Contains(priorities, p) || (u != "high" && u != "low") {
			return Config{}, fmt.Errorf("config: urgency %s: %s; map low, normal, high and urgent to high or low", p, u)
		}
	}
	return c, nil
}

// Connector opens incidents for escalated tickets. Make one with [New].
type Connector struct {
	cfg    Config
	notice *template.Template
}

// New returns the connector for cfg.
func New(cfg Config) (*Connector, error) {
	t, err := template.New("notice").Option("missingkey=error").Parse(cfg.Notice)
	if err != nil {
		return nil, fmt.Errorf("config: notice: %w", err)
	}
	return &Connector{cfg: cfg, notice: t}, nil
}

// Retry is how the connector retries a delivery that failed for a reason
// that may pass.
var Retry = connectors.RetryPolicy{Base: 100 * time.Millisecond, Max: 2 * time.Second, Budget: 10 * time.Second, Attempts: 3}

// Setup builds the connector's webhook handler for env.
func Setup(env *connectors.Env) (http.Handler, error) {
	cfg, err := ParseConfig(env.Config)
	if err != nil {
		return nil, err
	}
	if err := env.RequireSecrets(SecretIncidentToken, SecretChatClientID, SecretChatClientSecret, SecretChatRefreshToken, SecretWebhookSecret); err != nil {
		return nil, err
	}
	chat := env.Vendor("chat")
	if chat.TokenURL == "" {
		return nil, errors.New("the chat vendor takes OAuth2: give its token endpoint (token_urls.chat in the run configuration)")
	}
	// Chat tokens are redeemed from the refresh token, before they
	// expire and once more if the chat API refuses one; a revoked refresh
	// token is permanent, and the event is dead-lettered.
	tokens := connectors.NewTokenSource(connectors.RefreshToken(oauth2.Config{
		ClientID:     env.Secrets[SecretChatClientID],
		ClientSecret: env.Secrets[SecretChatClientSecret],
		Endpoint:     oauth2.Endpoint{TokenURL: chat.TokenURL},
		Scopes:       []string{"chat:write"},
	}, &oauth2.Token{RefreshToken: env.Secrets[SecretChatRefreshToken]}))
	chat.Client.Transport = tokens.Transport(chat.Client.Transport)
	verifier, err := connectors.VerifyStandardWebhooks(env.Secrets[SecretWebhookSecret], 5*time.Minute)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", SecretWebhookSecret, err)
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return connectors.NewWebhookHandler(c, env,
		connectors.WithName(Name),
		connectors.WithVerifier(verifier),
		connectors.WithRetry(Retry),
		connectors.WithDeadLetterExhausted(),
	), nil
}

// escalation is a ticket.escalated event, as the helpdesk's contract
// describes it.
type escalation struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	CreatedAt string `json:"created_at"`
	Data      struct {
		Ticket struct {
			ID        string `json:"id"`
			Subject   string `json:"subject"`
			Priority  string `json:"priority"`
			Status    string `json:"status"`
			Requester struct {
				Name  string `json:"name"`
				Email string `json:"email"`
			} `json:"requester"`
			URL       string `json:"url"`
			CreatedAt string `json:"created_at"`
		} `json:"ticket"`
		EscalatedBy struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"escalated_by"`
		Reason string `json:"reason"`
	} `json:"data"`
}

var (
	messageIDPattern = regexp.MustCompile(`^msg_[A-Za-z0-9]{6,40}$`)
	ticketIDPattern  = regexp.MustCompile(`^T-[0-9]{1,10}$`)
	statuses         = []string{"new", "open", "pending", "solved", "closed"}
)

// parseEscalation reads a ticket.escalated event and checks it as the
// helpdesk's contract does, so that a malformed event is refused before
// it opens an incident.
func parseEscalation(body []byte) (escalation, error) {
	var e escalation
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return e, err
	}
	t, by := e.Data.Ticket, e.Data.EscalatedBy
	switch {
	case !messageIDPattern.MatchString(e.ID):
		return e, fmt.Errorf("id %q is not a message ID", e.ID)
	case !ticketIDPattern.MatchString(t.ID):
		return e, fmt.Errorf("data.ticket.id %q is not a ticket ID", t.ID)
	case t.Subject == "" || utf8.RuneCountInString(t.Subject) > 250:
		return e, errors.New("data.ticket.subject must have 1 to 250 characters")
	case !slices.Contains(priorities, t.Priority):
		return e, fmt.Errorf("data.ticket.priority %q is not a priority", t.Priority)
	case !slices.Contains(statuses, t.Status):
		return e, fmt.Errorf("data.ticket.status %q is not a status", t.Status)
	case t.Requester.Name == "" || !strings.Contains(t.Requester.Email, "@"):
		return e, errors.New("data.ticket.requester needs a name and an email")
	case t.URL == "":
		return e, errors.New("data.ticket.url is missing")
	case by.Name == "" || !strings.Contains(by.Email, "@"):
		return e, errors.New("data.escalated_by needs a name and an email")
	case utf8.RuneCountInString(e.Data.Reason) > 500:
		return e, errors.New("data.reason is longer than 500 characters")
	}
	for _, ts := range []string{e.CreatedAt, t.CreatedAt} {
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			return e, fmt.Errorf("created_at: %w", err)
		}
	}
	return e, nil
}

// Handle opens an incident for an escalated ticket and announces it.
func (c *Connector) Handle(ctx context.Context, env *connectors.Env, ev connectors.Event) error {
	if ev.Type != "ticket.escalated" {
		env.Logger.InfoContext(ctx, "event ignored: not a ticket.escalated", "type", ev.Type)
		return nil
	}
	e, err := parseEscalation(ev.Body)
	if err != nil {
		return connectors.Permanent(fmt.Errorf("ticket.escalated: %w", err))
	}
	t := e.Data.Ticket
	rank := slices.Index(priorities, t.Priority)
	if rank < slices.Index(priorities, c.cfg.MinPriority) {
		env.Logger.InfoContext(ctx, "ticket filtered out: priority below the minimum", "ticket", t.ID, "priority", t.Priority)
		return nil
	}

	details := fmt.Sprintf("Escalated by %s from ticket %s.", e.Data.EscalatedBy.Name, t.ID)
	if e.Data.Reason != "" {
		details += " Reason: " + e.Data.Reason
	}
	incident := map[string]any{
		"title":      truncate(t.Subject, 255),
		"service_id": c.cfg.ServiceID,
		"urgency":    c.cfg.Urgency[t.Priority],
		"details":    details,
		"source_url": t.URL,
		"dedup_key":  "ticket-" + t.ID,
	}
	var opened struct {
		ID      string `json:"id"`
		HTMLURL string `json:"html_url"`
	}
	status, err := c.call(ctx, env, "incident", "/incidents", SecretIncidentToken, connectors.IdempotencyKey(ev.ID, "create-incident"), incident, &opened)
	if status == http.StatusConflict {
		env.Logger.InfoContext(ctx, "incident already open for the ticket", "ticket", t.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("open incident: %w", err)
	}

	var text strings.Builder
	if err := c.notice.Execute(&text, map[string]any{
		"Subject": t.Subject, "Priority": t.Priority, "EscalatedBy": e.Data.EscalatedBy.Name, "IncidentURL": opened.HTMLURL,
	}); err != nil {
		return connectors.Permanent(fmt.Errorf("render notice: %w", err))
	}
	var posted struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	msg := map[string]any{"channel": c.cfg.Channel, "text": text.String(), "unfurl_links": false}
	if _, err := c.call(ctx, env, "chat", "/chat.postMessage", "", connectors.IdempotencyKey(ev.ID, "post-notice"), msg, &posted); err != nil {
		return fmt.Errorf("post notice: %w", err)
	}
	if !posted.OK {
		err := fmt.Errorf("post notice: chat answered error %q", posted.Error)
		if posted.Error == "ratelimited" || posted.Error == "internal_error" {
			return err
		}
		return connectors.Permanent(err)
	}
	env.Logger.InfoContext(ctx, "ticket escalated", "ticket", t.ID, "incident", opened.ID)
	return nil
}

// call POSTs body as JSON to the vendor and decodes a 2xx answer into
// out. It returns the answer's status, 0 when there was none.
func (c *Connector) call(ctx context.Context, env *connectors.Env, vendor, path, secret, key string, body, out any) (int, error) {
	v := env.Vendor(vendor)
	data, err := json.Marshal(body)
	if err != nil {
		return 0, connectors.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.BaseURL+path, bytes.NewReader(data))
	if err != nil {
		return 0, connectors.Permanent(err)
	}
	if secret != "" { // else the vendor's client sends its own token
		req.Header.Set("Authorization", "Bearer "+env.Secrets[secret])
	}
	req.Header.Set("Content-Type", "application/json")
	connectors.SetIdempotencyKey(req, key)
	resp, err := v.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if err := connectors.CheckResponse(resp, time.Now()); err != nil {
		return resp.StatusCode, err
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("decode: %w", err)
	}
	return resp.StatusCode, nil
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
