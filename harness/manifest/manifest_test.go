package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
)

// copyDir copies the example connector to a temporary directory, for a
// test to break.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// Mistakes in a connector's files are errors naming the file and line.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, file, old, new string
		want                 string // file:line and words of the message
	}{
		{"unknown manifest field", "connector.yaml", "summary:", "summry:", "connector.yaml:4: unknown field summry"},
		{"manifest version", "connector.yaml", "version: 1.0.0", "version: one", `connector.yaml:3: version "one" is not a semantic version`},
		{"missing contract", "connector.yaml", "contracts/chat.openapi.yaml", "contracts/chat.yaml", "connector.yaml:9: vendors.chat.contract: contracts/chat.yaml does not exist"},
		{"missing overlay", "connector.yaml", "secret: crm_token}", "secret: crm_token, overlays: [contracts/crm.overlay.yaml]}", "connector.yaml:7: vendors.crm.overlays[0]: contracts/crm.overlay.yaml does not exist"},
		{"an overlay that is not one", "connector.yaml", "secret: crm_token}", "secret: crm_token, overlays: [contracts/chat.openapi.yaml]}", "contracts/chat.openapi.yaml:1: not an OpenAPI Overlay"},
		{"credential without a kind", "connector.yaml", "kind: oauth2, ", "", "connector.yaml:10: vendors.chat: credential needs kind"},
		{"credential of an unknown kind", "connector.yaml", "kind: oauth2", "kind: oauth3", `connector.yaml:10: vendors.chat: credential kind "oauth3"`},
		{"oauth2 credential without a grant", "connector.yaml", "grant: client_credentials, ", "", "connector.yaml:10: vendors.chat: an oauth2 credential says its grant"},
		{"oauth2 credential without its secret", "connector.yaml", ", client_secret: chat_client_secret", "", "connector.yaml:10: vendors.chat: credential {kind: oauth2, grant: client_credentials} needs client_secret"},
		{"authorization code without a refresh token", "connector.yaml", "grant: client_credentials", "grant: authorization_code", "needs refresh_token"},
		{"credential with a field of another kind", "connector.yaml", "client_id: chat_client_id", "client_id: chat_client_id, in: header", "has no in"},
		{"secret name with a space", "connector.yaml", "client_id: chat_client_id", "client_id: chat client", `client_id "chat client"`},
		{"credential and secret both", "connector.yaml", "contract: contracts/chat.openapi.yaml\n", "contract: contracts/chat.openapi.yaml\n    secret: chat_token\n", "give the vendor's credential once"},
		{"a secret of two vendors", "connector.yaml", "client_secret: chat_client_secret", "client_secret: crm_token", `vendors.crm: secret "crm_token" is also a secret of vendors.chat`},
		{"api key without where", "connector.yaml", "secret: crm_token}", "credential: {kind: api-key, secret: crm_token}}", `in: header, query, cookie or body (not "")`},
		{"unknown signature scheme", "connector.yaml", "scheme: hmac-sha256", "scheme: md5", `connector.yaml:13: signature scheme "md5"`},
		{"webhook path", "connector.yaml", "webhook: /events", "webhook: events", `connector.yaml:17: run.webhook "events"`},
		{"scenario names a missing events file", "scenarios/won.yaml", "events/deal-won.yaml", "events/deal-lost.yaml", "won.yaml:5: events: events/deal-lost.yaml does not exist"},
		{"scenario names a missing cassette", "scenarios/won.yaml", "cassettes/chat-post-message.yaml", "cassettes/chat.yaml", "won.yaml:12: cassettes.chat: cassettes/chat.yaml does not exist"},
		{"cassettes of an unknown vendor", "scenarios/won.yaml", "  chat: [", "  slack: [", `won.yaml:12: cassettes: "slack" is not a vendor`},
		{"config fails the schema", "scenarios/won.yaml", "channel: C0DEALS001", "channel: general", "won.yaml:7: config fails config.schema.json"},
		{"unknown outcome", "scenarios/won.yaml", "outcome: handled", "outcome: done", `won.yaml:14: expect.outcome "done"`},
		{"missing golden file", "scenarios/won.yaml", "golden/won.json", "golden/gone.json", "won.yaml:15: expect: golden/gone.json does not exist"},
		{"bad fault", "scenarios/chat-unavailable.yaml", "status: 503", "status: 99", "chat-unavailable.yaml:10:5: fault 1"},
		{"scenario YAML syntax", "scenarios/won.yaml", "expect:\n", "expect: [\n", "won.yaml:"},
		{"ignore path that does not parse", "scenarios/won.yaml", "golden: golden/won.json", "golden: golden/won.json\n  ignore: [header Date, \"body $[\"]", `won.yaml:16: expect.ignore "body $[": an unclosed [`},
		{"ignore of the whole body", "scenarios/won.yaml", "golden: golden/won.json", "golden: golden/won.json\n  ignore: [body $]", `won.yaml:16: expect.ignore "body $": the path names the whole body`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, dealnotifyDir)
			path := filepath.Join(dir, tc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tc.old) {
				t.Fatalf("%s no longer holds %q; update the test", tc.file, tc.old)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(data), tc.old, tc.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}

// A vendor's overlays apply to its contract alone: the events contract,
// the same file, is read as published.
func TestLoadOverlays(t *testing.T) {
	dir := copyDir(t, dealnotifyDir)
	ov := "overlay: 1.0.0\ninfo: {title: crm as served, version: '1'}\nactions:\n  - target: $\n    update:\n      x-tether-media-types: {application/vnd.crm+json: application/json}\n"
	if err := os.WriteFile(filepath.Join(dir, "contracts", "crm.overlay.yaml"), []byte(ov), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, File)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "secret: crm_token}", "secret: crm_token, overlays: [contracts/crm.overlay.yaml]}", 1))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Contracts["crm"].Overlays(); len(got) != 1 || got[0] != "contracts/crm.overlay.yaml" {
		t.Errorf("crm's overlays %v, want contracts/crm.overlay.yaml", got)
	}
	if got := c.Contracts["chat"].Overlays(); len(got) != 0 {
		t.Errorf("chat's overlays %v, want none", got)
	}
	if ec := c.Events.Contract(); ec == nil || ec == c.Contracts["crm"] || len(ec.Overlays()) != 0 {
		t.Error("the events contract was read with crm's overlays")
	}
}

// Events given as one JSON Schema file per event type, which $ref each
// other by `$id` as octokit's do, from a sender that is not a called
// vendor.
func TestLoadEventSchemas(t *testing.T) {
	dir := copyDir(t, dealnotifyDir)
	write := func(rel, body string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("contracts/schemas/deal/updated.schema.json", `{"$id": "deal$updated", "type": "object", "required": ["id", "type", "data"],
  "properties": {"id": {"type": "string"}, "type": {"const": "deal.updated"}, "occurred_at": {"type": "string"}, "data": {"$ref": "common/deal.schema.json"}},
  "additionalProperties": false}`)
	write("contracts/schemas/common/deal.schema.json", `{"$id": "common/deal.schema.json", "type": "object", "required": ["deal_id"],
  "properties": {"deal_id": {"type": "integer"}}}`)
	manifest, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		t.Fatal(err)
	}
	const old = "  contract: contracts/crm.openapi.yaml      # its webhooks: deal.updated\n"
	if !strings.Contains(string(manifest), old) {
		t.Fatalf("%s no longer holds %q; update the test", File, old)
	}
	m := strings.Replace(string(manifest), old, "  schemas: {deal.updated: contracts/schemas/deal/updated.schema.json}\n", 1)
	write(File, m)
	c, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := c.Events.Events(); len(got) != 1 || got[0] != "deal.updated" {
		t.Fatalf("events = %v", got)
	}
	if v := c.Manifest.EventVendor(); v != "" {
		t.Errorf("EventVendor = %q; want none, the schemas being no vendor's", v)
	}
	fs := c.Events.ValidateEvent("deal.updated", []byte(`{"id": "e", "type": "deal.updated", "data": {"deal_id": "4207"}}`))
	if len(fs) != 1 || fs[0].Path != "$.data.deal_id" || fs[0].File != "contracts/schemas/common/deal.schema.json" {
		t.Errorf("findings = %v; want one at $.data.deal_id in the schema the $id names", fs)
	}
	// Both a contract and schemas is a mistake, named at its line.
	write(File, strings.Replace(m, "  schemas:", "  contract: contracts/crm.openapi.yaml\n  schemas:", 1))
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "both a contract and schemas") {
		t.Errorf("a contract and schemas: %v", err)
	}
	// A missing schema file is named.
	write(File, strings.Replace(m, "deal/updated.schema.json", "deal/gone.schema.json", 1))
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "events.schemas.deal.updated: contracts/schemas/deal/gone.schema.json does not exist") {
		t.Errorf("a missing schema file: %v", err)
	}
}

// An AsyncAPI document as the events contract, from a sender that is not
// a called vendor; strict events make an undeclared field an error.
func TestLoadAsyncAPIEvents(t *testing.T) {
	dir := copyDir(t, dealnotifyDir)
	doc := `asyncapi: 3.0.0
info: {title: CRM events, version: 1.0.0}
channels:
  deals:
    address: deals
    messages:
      deal.updated:
        payload:
          type: object
          required: [id, type]
          properties:
            id: {type: string}
            type: {const: deal.updated}
          additionalProperties: false
`
	if err := os.WriteFile(filepath.Join(dir, "contracts", "crm.asyncapi.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		t.Fatal(err)
	}
	for _, strict := range []bool{false, true} {
		m := strings.Replace(string(manifest), "contract: contracts/crm.openapi.yaml      # its webhooks: deal.updated", "contract: contracts/crm.asyncapi.yaml", 1)
		if strict {
			m = strings.Replace(m, "  signature:", "  strict: true\n  signature:", 1)
		}
		if err := os.WriteFile(filepath.Join(dir, File), []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(dir)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		fs := c.Events.ValidateEvent("deal.updated", []byte(`{"id": "e", "type": "deal.updated", "extra": 1}`))
		want := contracts.RuleEventPropertyUndeclared
		if strict {
			want = contracts.RuleEventInvalid
		}
		if len(fs) != 1 || fs[0].ID != want || fs[0].File != "contracts/crm.asyncapi.yaml" || fs[0].Line == 0 {
			t.Errorf("strict %v: findings = %v; want one %s in the AsyncAPI document", strict, fs, want)
		}
	}
}
