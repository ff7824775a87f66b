// Package dealnotify is an example connector: when a CRM deal moves into
// one of the configured stages and is worth at least the configured
// amount, it posts a message about it to a chat channel.
//
// For each signed deal.updated webhook it
//
//  1. skips the event when the stage it reports is not configured (no
//     call at all);
//  2. fetches the deal from the CRM (GET /deals/{id}), since the webhook
//     carries only the change;
//  3. skips the deal when it is now in another stage, or worth less than
//     min_amount;
//  4. posts the message, rendered from the configured template, with
//     chat.postMessage and an Idempotency-Key derived from the event, so
//     that a retry never posts twice.
//
// The chat API answers failures the way Slack's does, with 200 and
// {"ok": false, "error": "..."}; ratelimited and internal_error are
// retried, every other error code is permanent. HTTP 429 and 5xx are
// retried too, waiting at least as long as Retry-After says. An event
// that still fails after the retries ends in the dead-letter sink.
//
// The connector is tested in-process by the harness; see
// dealnotify_test.go and the scenarios directory.
package dealnotify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/tetherkit/tether/connectors"
)

// Name is the connector's name in its manifest, metrics and logs.
const Name = "dealnotify"

// Secrets the connector reads from its environment.
const (
	SecretCRMToken         = "crm_token"          // bearer token for the CRM API
	SecretChatClientID     = "chat_client_id"     // the chat API's OAuth2 client
	SecretChatClientSecret = "chat_client_secret" // and its secret
	SecretWebhookSecret    = "crm_webhook_secret" // the key the CRM signs webhooks with
)

// DefaultTemplate is the message when the configuration gives none.
const DefaultTemplate = "{{.Name}} moved to {{.Stage}}: {{.Amount}} {{.Currency}} (owner {{.Owner}}) {{.URL}}"

// Config is the connector's configuration; config.schema.json describes
// it for admins.
type Config struct {
	Channel   string   `json:"channel"`
	Stages    []string `json:"stages"`
	MinAmount float64  `json:"min_amount"`
	Template  string   `json:"template"`
}

var channelPattern = regexp.MustCompile(`^[CG][A-Z0-9]{8,12}$`)

// ParseConfig reads the configuration from its JSON form, as the harness
// and a run configuration give it.
func ParseConfig(raw map[string]any) (Config, error) {
	var c Config
	if err := connectors.DecodeConfig(raw, &c); err != nil {
		return Config{}, err
	}
	switch {
	case !channelPattern.MatchString(c.Channel):
		return Config{}, fmt.Errorf("config: channel %q is not a channel ID such as C0DEALS001", c.Channel)
	case len(c.Stages) == 0:
		return Config{}, errors.New("config: stages is empty; list the stages to announce, such as [won]")
	case c.MinAmount < 0:
		return Config{}, fmt.Errorf("config: min_amount %v is negative", c.MinAmount)
	}
	if c.Template == "" {
		c.Template = DefaultTemplate
	}
	return c, nil
}

// Connector announces deals. Make one with [New].
type Connector struct {
	cfg  Config
	tmpl *template.Template
}

// New returns the connector for cfg.
func New(cfg Config) (*Connector, error) {
	tmpl, err := template.New("message").Option("missingkey=error").Parse(cfg.Template)
	if err != nil {
		return nil, fmt.Errorf("config: template: %w", err)
	}
	return &Connector{cfg: cfg, tmpl: tmpl}, nil
}

// Retry is how the connector retries a delivery that failed for a reason
// that may pass: four attempts within ten seconds, well inside the time
// the CRM waits for an answer.
var Retry = connectors.RetryPolicy{Base: 100 * time.Millisecond, Max: 2 * time.Second, Budget: 10 * time.Second, Attempts: 4}

// Setup builds the connector's webhook handler for env: it reads the
// configuration and secrets, verifies the CRM's signature, retries with
// [Retry] and dead-letters what still fails. A binary serves it with
// connectors.Main; the harness calls it in-process.
func Setup(env *connectors.Env) (http.Handler, error) {
	cfg, err := ParseConfig(env.Config)
	if err != nil {
		return nil, err
	}
	if err := Authorize(env); err != nil {
		return nil, err
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return connectors.NewWebhookHandler(c, env,
		connectors.WithName(Name),
		connectors.WithVerifier(connectors.VerifyHex("X-Crm-Signature", "sha256=", env.Secrets[SecretWebhookSecret])),
		connectors.WithRetry(Retry),
		connectors.WithDeadLetterExhausted(),
	), nil
}

// Authorize readies env's vendors' clients with the connector's
// credentials: the CRM's token is sent with each call, and the chat API's
// tokens come from OAuth2 client credentials, got again before they expire
// and once more if the chat API refuses one.
func Authorize(env *connectors.Env) error {
	if err := env.RequireSecrets(SecretCRMToken, SecretChatClientID, SecretChatClientSecret, SecretWebhookSecret); err != nil {
		return err
	}
	chat := env.Vendor("chat")
	if chat.TokenURL == "" {
		return errors.New("the chat vendor takes OAuth2: give its token endpoint (token_urls.chat in the run configuration)")
	}
	tokens := connectors.NewTokenSource(connectors.ClientCredentials(clientcredentials.Config{
		ClientID:     env.Secrets[SecretChatClientID],
		ClientSecret: env.Secrets[SecretChatClientSecret],
		TokenURL:     chat.TokenURL,
		Scopes:       []string{"chat:write"},
	}))
	chat.Client.Transport = tokens.Transport(chat.Client.Transport)
	return nil
}

// dealEvent is a deal webhook, as the CRM's contract describes it.
type dealEvent struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	OccurredAt string `json:"occurred_at"`
	Data       struct {
		DealID        string   `json:"deal_id"`
		Stage         string   `json:"stage"`
		PreviousStage *string  `json:"previous_stage"`
		Changed       []string `json:"changed"`
	} `json:"data"`
}

var (
	eventIDPattern = regexp.MustCompile(`^evt_[A-Za-z0-9]{6,40}$`)
	dealIDPattern  = regexp.MustCompile(`^[0-9]{1,12}$`)
	stages         = []string{"lead", "qualified", "proposal", "negotiation", "won", "lost"}
	changeable     = []string{"stage", "amount", "name", "owner"}
)

// parseDealEvent reads a deal webhook and checks it as the CRM's contract
// does, so that a malformed event is refused before it causes a call.
func parseDealEvent(body []byte) (dealEvent, error) {
	var e dealEvent
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return e, err
	}
	dec := json.NewDecoder(bytes.NewReader(top["data"]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e.Data); err != nil {
		return e, fmt.Errorf("data: %w", err)
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return e, err
	}
	d := e.Data
	switch {
	case !eventIDPattern.MatchString(e.ID):
		return e, fmt.Errorf("id %q is not an event ID", e.ID)
	case e.OccurredAt == "":
		return e, errors.New("occurred_at is missing")
	case !dealIDPattern.MatchString(d.DealID):
		return e, fmt.Errorf("data.deal_id %q is not a deal ID", d.DealID)
	case !slices.Contains(stages, d.Stage):
		return e, fmt.Errorf("data.stage %q is not a stage", d.Stage)
	case d.PreviousStage != nil && !slices.Contains(stages, *d.PreviousStage):
		return e, fmt.Errorf("data.previous_stage %q is not a stage", *d.PreviousStage)
	case len(d.Changed) == 0:
		return e, errors.New("data.changed is empty")
	}
	if _, err := time.Parse(time.RFC3339, e.OccurredAt); err != nil {
		return e, fmt.Errorf("occurred_at: %w", err)
	}
	for _, c := range d.Changed {
		if !slices.Contains(changeable, c) {
			return e, fmt.Errorf("data.changed holds %q, not a deal field", c)
		}
	}
	return e, nil
}

// Deal is a CRM deal, as getDeal answers it.
type Deal struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Stage    string  `json:"stage"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
	Owner    struct {
		Name string `json:"name"`
	} `json:"owner"`
	URL string `json:"url"`
}

// Handle announces the deal an event is about, when it matches.
func (c *Connector) Handle(ctx context.Context, env *connectors.Env, ev connectors.Event) error {
	if ev.Type != "deal.updated" {
		env.Logger.InfoContext(ctx, "event ignored: not a deal.updated", "type", ev.Type)
		return nil
	}
	e, err := parseDealEvent(ev.Body)
	if err != nil {
		return connectors.Permanent(fmt.Errorf("deal.updated: %w", err))
	}
	if !slices.Contains(c.cfg.Stages, e.Data.Stage) {
		env.Logger.InfoContext(ctx, "deal filtered out: stage not announced", "deal", e.Data.DealID, "stage", e.Data.Stage)
		return nil
	}
	deal, err := c.fetchDeal(ctx, env, e.Data.DealID)
	if err != nil {
		return err
	}
	if !slices.Contains(c.cfg.Stages, deal.Stage) || deal.Amount < c.cfg.MinAmount {
		env.Logger.InfoContext(ctx, "deal filtered out", "deal", deal.ID, "stage", deal.Stage, "amount", deal.Amount)
		return nil
	}
	var text strings.Builder
	if err := c.tmpl.Execute(&text, map[string]any{
		"Name": deal.Name, "Stage": deal.Stage, "Amount": deal.Amount,
		"Currency": deal.Currency, "Owner": deal.Owner.Name, "URL": deal.URL,
	}); err != nil {
		return connectors.Permanent(fmt.Errorf("render message: %w", err))
	}
	if err := c.post(ctx, env, ev.ID, text.String()); err != nil {
		return err
	}
	env.Logger.InfoContext(ctx, "deal announced", "deal", deal.ID, "channel", c.cfg.Channel)
	return nil
}

func (c *Connector) fetchDeal(ctx context.Context, env *connectors.Env, id string) (Deal, error) {
	crm := env.Vendor("crm")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, crm.BaseURL+"/deals/"+url.PathEscape(id), nil)
	if err != nil {
		return Deal{}, connectors.Permanent(err)
	}
	req.Header.Set("Authorization", "Bearer "+env.Secrets[SecretCRMToken])
	req.Header.Set("Accept", "application/json")
	resp, err := crm.Client.Do(req)
	if err != nil {
		return Deal{}, fmt.Errorf("get deal %s: %w", id, err)
	}
	defer resp.Body.Close()
	if err := connectors.CheckResponse(resp, time.Now()); err != nil {
		return Deal{}, fmt.Errorf("get deal %s: %w", id, err)
	}
	var d Deal
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&d); err != nil {
		// A body cut short or garbled in transit may come whole next time.
		return Deal{}, fmt.Errorf("get deal %s: decode: %w", id, err)
	}
	return d, nil
}

// chatAnswer is chat.postMessage's answer, success or failure.
type chatAnswer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// retryableChatErrors are the error codes that may pass on a later try.
var retryableChatErrors = []string{"ratelimited", "internal_error"}

func (c *Connector) post(ctx context.Context, env *connectors.Env, eventID, text string) error {
	chat := env.Vendor("chat")
	body, err := json.Marshal(map[string]any{"channel": c.cfg.Channel, "text": text, "unfurl_links": false})
	if err != nil {
		return connectors.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, chat.BaseURL+"/chat.postMessage", bytes.NewReader(body))
	if err != nil {
		return connectors.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	connectors.SetIdempotencyKey(req, connectors.IdempotencyKey(eventID, "post-message"))
	resp, err := chat.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post message: %w", err)
	}
	defer resp.Body.Close()
	if err := connectors.CheckResponse(resp, time.Now()); err != nil {
		return fmt.Errorf("post message: %w", err)
	}
	var a chatAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&a); err != nil {
		return fmt.Errorf("post message: decode: %w", err)
	}
	if !a.OK {
		err := fmt.Errorf("post message: chat answered error %q", a.Error)
		if slices.Contains(retryableChatErrors, a.Error) {
			return err
		}
		return connectors.Permanent(err)
	}
	return nil
}
