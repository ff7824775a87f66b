// Package issuepage is an example connector: a GitHub issue opened with
// one of the configured labels triggers a PagerDuty alert through the
// Events API v2, and closing the issue resolves it.
//
// For each signed issues webhook (X-Hub-Signature-256, as GitHub signs
// them) it
//
//  1. ignores other events and actions, and issues without a configured
//     label (no call at all);
//  2. ignores an event older (by the issue's updated_at) than one it
//     already acted on for the same issue, since deliveries may come out
//     of order;
//  3. sends one event to PagerDuty's /v2/enqueue: a trigger for
//     issues.opened, a resolve for issues.closed, with a dedup_key made
//     from the repository and issue number, so that a redelivery or a
//     retry never opens a second alert, and the close resolves the alert
//     the open triggered.
//
// The events are checked against GitHub's webhook schemas as GitHub
// publishes them (contracts/github-webhooks, in the same layout), and
// read tolerantly: GitHub adds fields and actions without notice, so a
// field the connector does not know is not an error. PagerDuty answers
// 202 when it takes an event; 429 and 5xx are retried, waiting as long as
// Retry-After says, and a 400 is permanent. An event that still fails
// after the retries ends in the dead-letter sink.
package issuepage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tetherkit/tether/connectors"
)

// Name is the connector's name in its manifest, metrics and logs.
const Name = "issuepage"

// Secrets the connector reads from its environment.
const (
	SecretRoutingKey    = "pagerduty_routing_key" // the integration key of the PagerDuty service
	SecretWebhookSecret = "github_webhook_secret" // the key GitHub signs webhooks with
)

// Config is the connector's configuration; config.schema.json describes
// it for admins.
type Config struct {
	// Labels are the issue labels that page; an issue needs one of them.
	Labels []string `json:"labels"`
	// Severity is the alert's severity: critical, error, warning or info.
	Severity string `json:"severity"`
}

var severities = []string{"critical", "error", "warning", "info"}

// ParseConfig reads the configuration from its JSON form.
func ParseConfig(raw map[string]any) (Config, error) {
	var c Config
	if err := connectors.DecodeConfig(raw, &c); err != nil {
		return Config{}, err
	}
	if len(c.Labels) == 0 {
		return Config{}, errors.New("config: labels is empty; list the issue labels that page, such as [incident]")
	}
	if c.Severity == "" {
		c.Severity = "error"
	}
	if !slices.Contains(severities, c.Severity) {
		return Config{}, fmt.Errorf("config: severity %q is not one of %s", c.Severity, strings.Join(severities, ", "))
	}
	return c, nil
}

// Connector pages on issues. Make one with [New].
type Connector struct {
	cfg Config

	mu sync.Mutex
	// applied is, per issue (its dedup key), the updated_at of the last
	// event acted on: GitHub does not promise to deliver in order, and an
	// opened event that arrives after the close must not page again. It
	// is kept in memory, as the example runs as one process; a connector
	// that restarts would keep it in its state directory.
	applied map[string]time.Time
}

// New returns the connector for cfg.
func New(cfg Config) *Connector { return &Connector{cfg: cfg, applied: map[string]time.Time{}} }

// newer records that an event about the issue key, as of updated, is
// acted on, and reports false when a later one already was.
func (c *Connector) newer(key string, updated time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if last, ok := c.applied[key]; ok && !updated.After(last) {
		return false
	}
	c.applied[key] = updated
	return true
}

// Retry is how the connector retries a send that failed for a reason that
// may pass: four attempts within ten seconds, inside the ten seconds
// GitHub waits for a webhook's answer.
var Retry = connectors.RetryPolicy{Base: 100 * time.Millisecond, Max: 2 * time.Second, Budget: 10 * time.Second, Attempts: 4}

// Setup builds the connector's webhook handler for env.
func Setup(env *connectors.Env) (http.Handler, error) {
	cfg, err := ParseConfig(env.Config)
	if err != nil {
		return nil, err
	}
	if err := env.RequireSecrets(SecretRoutingKey, SecretWebhookSecret); err != nil {
		return nil, err
	}
	return connectors.NewWebhookHandler(New(cfg), env,
		connectors.WithName(Name),
		connectors.WithVerifier(connectors.VerifyHex("X-Hub-Signature-256", "sha256=", env.Secrets[SecretWebhookSecret])),
		connectors.WithEventID(func(ev connectors.Event) string { return ev.Header.Get("X-GitHub-Delivery") }),
		connectors.WithEventType(EventType),
		connectors.WithRetry(Retry),
		connectors.WithDeadLetterExhausted(),
	), nil
}

// EventType names a GitHub webhook as its schemas do: the X-GitHub-Event
// header, and the body's action when it has one ("issues.opened").
func EventType(ev connectors.Event) string {
	kind := ev.Header.Get("X-GitHub-Event")
	var body struct {
		Action string `json:"action"`
	}
	if json.Unmarshal(ev.Body, &body) == nil && body.Action != "" {
		return kind + "." + body.Action
	}
	return kind
}

// issueEvent is what the connector reads of an issues webhook. Fields it
// does not name are ignored, as GitHub adds fields without notice.
type issueEvent struct {
	Action string `json:"action"`
	Issue  struct {
		Number  int     `json:"number"`
		Title   string  `json:"title"`
		HTMLURL string  `json:"html_url"`
		Body    *string `json:"body"`
		User    struct {
			Login string `json:"login"`
		} `json:"user"`
		Labels []struct {
			Name string `json:"name"`
		} `json:"labels"`
		CreatedAt string    `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
	} `json:"issue"`
	Repository struct {
		ID       int64  `json:"id"`
		FullName string `json:"full_name"`
	} `json:"repository"`
}

func parseIssueEvent(body []byte) (issueEvent, error) {
	var e issueEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return e, err
	}
	switch {
	case e.Issue.Number < 1:
		return e, fmt.Errorf("issue.number %d is not an issue number", e.Issue.Number)
	case e.Issue.Title == "":
		return e, errors.New("issue.title is missing")
	case e.Repository.ID < 1 || !strings.Contains(e.Repository.FullName, "/"):
		return e, fmt.Errorf("repository %q (id %d) is not a repository", e.Repository.FullName, e.Repository.ID)
	case e.Issue.UpdatedAt.IsZero():
		return e, errors.New("issue.updated_at is missing")
	}
	return e, nil
}

// Handle pages for, or resolves, the issue an event is about.
func (c *Connector) Handle(ctx context.Context, env *connectors.Env, ev connectors.Event) error {
	var action string
	switch ev.Type {
	case "issues.opened":
		action = "trigger"
	case "issues.closed":
		action = "resolve"
	default:
		// GitHub adds actions without notice: an action the connector
		// does not know is ignored, but a body that is not an issues
		// event at all is refused.
		var body struct {
			Action string `json:"action"`
		}
		if strings.HasPrefix(ev.Type, "issues") && (json.Unmarshal(ev.Body, &body) != nil || body.Action == "") {
			return connectors.Permanent(fmt.Errorf("%s: not an issues event with an action", ev.Type))
		}
		env.Logger.InfoContext(ctx, "event ignored", "type", ev.Type)
		return nil
	}
	e, err := parseIssueEvent(ev.Body)
	if err != nil {
		return connectors.Permanent(fmt.Errorf("%s: %w", ev.Type, err))
	}
	label := ""
	for _, l := range e.Issue.Labels {
		if slices.Contains(c.cfg.Labels, l.Name) {
			label = l.Name
			break
		}
	}
	if label == "" {
		env.Logger.InfoContext(ctx, "issue filtered out: no paging label", "repository", e.Repository.FullName, "issue", e.Issue.Number)
		return nil
	}
	key := DedupKey(e.Repository.ID, e.Issue.Number)
	if !c.newer(key, e.Issue.UpdatedAt) {
		env.Logger.InfoContext(ctx, "event ignored: a later one about the issue was already acted on", "repository", e.Repository.FullName, "issue", e.Issue.Number)
		return nil
	}
	if err := c.send(ctx, env, action, e, label); err != nil {
		c.mu.Lock()
		delete(c.applied, key) // not acted on: a retry or a redelivery may act
		c.mu.Unlock()
		return err
	}
	env.Logger.InfoContext(ctx, "alert sent", "action", action, "repository", e.Repository.FullName, "issue", e.Issue.Number)
	return nil
}

// DedupKey groups the events of one issue into one PagerDuty alert. It
// uses the repository's id, which survives a rename.
func DedupKey(repositoryID int64, number int) string {
	return "github-issue-" + strconv.FormatInt(repositoryID, 10) + "-" + strconv.Itoa(number)
}

func (c *Connector) send(ctx context.Context, env *connectors.Env, action string, e issueEvent, label string) error {
	event := map[string]any{
		"routing_key":  env.Secrets[SecretRoutingKey],
		"event_action": action,
		"dedup_key":    DedupKey(e.Repository.ID, e.Issue.Number),
		"client":       Name,
	}
	if action == "trigger" {
		summary := fmt.Sprintf("[%s#%d] %s", e.Repository.FullName, e.Issue.Number, e.Issue.Title)
		if len(summary) > 1024 {
			summary = strings.ToValidUTF8(summary[:1024], "")
		}
		event["payload"] = map[string]any{
			"summary":        summary,
			"source":         "github.com/" + e.Repository.FullName,
			"severity":       c.cfg.Severity,
			"class":          label,
			"custom_details": map[string]any{"author": e.Issue.User.Login, "opened_at": e.Issue.CreatedAt},
		}
		event["links"] = []map[string]string{{"href": e.Issue.HTMLURL, "text": "GitHub issue"}}
	}
	body, err := json.Marshal(event)
	if err != nil {
		return connectors.Permanent(err)
	}
	pd := env.Vendor("pagerduty")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, pd.BaseURL+"/v2/enqueue", bytes.NewReader(body))
	if err != nil {
		return connectors.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := pd.Client.Do(req)
	if err != nil {
		return fmt.Errorf("send %s: %w", action, err)
	}
	defer resp.Body.Close()
	if err := connectors.CheckResponse(resp, time.Now()); err != nil {
		return fmt.Errorf("send %s: %w", action, err)
	}
	return nil
}
