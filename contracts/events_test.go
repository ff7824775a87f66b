package contracts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAsyncAPIEvents(t *testing.T) {
	for _, file := range []string{"signup.asyncapi-2.6.yaml", "signup.asyncapi-3.0.yaml"} {
		t.Run(file, func(t *testing.T) {
			name := filepath.Join("testdata", "events", file)
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			ec, err := ParseEvents(name, data, RefsRelativeTo(filepath.Dir(name)))
			if err != nil {
				t.Fatalf("ParseEvents: %v", err)
			}
			if got := strings.Join(ec.Events(), ","); got != "user.signedup,user.deleted" {
				t.Errorf("events = %s; want the two JSON Schema messages, the Avro one left out", got)
			}
			if fs := ec.ValidateEvent("user.signedup", []byte(`{"id": 1, "email": "a@example.com"}`)); len(fs) > 0 {
				t.Errorf("a valid event: %v", fs)
			}
			fs := ec.ValidateEvent("user.signedup", []byte(`{"id": "1", "email": "a@example.com"}`))
			if len(fs) != 1 || fs[0].Path != "$.id" || fs[0].File != name || fs[0].Line == 0 {
				t.Fatalf("findings = %v; want one at $.id, placed in %s", fs, name)
			}
			if fs := ec.ValidateEvent("user.deleted", []byte(`{}`)); len(fs) != 1 || fs[0].File != name {
				t.Errorf("an inline payload's findings = %v; want one in %s", fs, name)
			}
			if fs := ec.ValidateEvent("user.renamed", []byte(`{}`)); len(fs) != 1 || fs[0].ID != RuleEventUnknown {
				t.Errorf("an unknown event: %v", fs)
			}
			if p, ok := ec.Position("user.signedup"); !ok || p.Line == 0 {
				t.Errorf("position of user.signedup = %v, %v", p, ok)
			}
		})
	}
}

func TestAsyncAPI1Refused(t *testing.T) {
	data := []byte("{\n  \"asyncapi\": \"1.2.0\",\n  \"info\": {\"title\": \"t\", \"version\": \"1\"}\n}\n")
	_, err := ParseEvents("slack.json", data)
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, ErrNotOpenAPI) || ce.Line != 2 || !strings.Contains(ce.Msg, "AsyncAPI 1.2.0") {
		t.Errorf("AsyncAPI 1.2: %v; want a refusal naming the version at line 2", err)
	}
}

func TestCorpusSlackAsyncAPIRefusedAsEvents(t *testing.T) {
	dir := corpusDir(t)
	path := filepath.Join(dir, "specs", "slack-events-api-asyncapi-v1.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseEvents(path, data); !errors.Is(err, ErrNotOpenAPI) || !strings.Contains(err.Error(), "AsyncAPI 1.2.0; tether reads AsyncAPI 2.x and 3.x") {
		t.Errorf("Slack's AsyncAPI 1.2 as events: %v", err)
	}
}

func TestEventSchemas(t *testing.T) {
	ec, err := EventSchemas("connector.yaml", map[string]string{"issues.opened": "schemas/issues/opened.schema.json"}, RefsRelativeTo("testdata/ids"))
	if err != nil {
		t.Fatalf("EventSchemas: %v", err)
	}
	fs := ec.ValidateEvent("issues.opened", []byte(`{"action":"opened","issue":{"number":1,"url":"u","user":{"login":"a","id":1}},"sender":{"login":"b","id":"2"}}`))
	if len(fs) != 1 || fs[0].Path != "$.sender.id" || fs[0].Position.String() != "testdata/ids/schemas/common/user.schema.json:8:13" {
		t.Errorf("findings = %v; want one at $.sender.id placed in user.schema.json", fs)
	}
	if p, _ := ec.Position("issues.opened"); p.File != filepath.Join("testdata", "ids", "schemas", "issues", "opened.schema.json") {
		t.Errorf("position = %v", p)
	}
	vs, err := ec.InvalidVariants("issues.opened", map[string]any{"action": "opened", "issue": map[string]any{"number": 1.0, "url": "u", "user": map[string]any{"login": "a", "id": 1.0}}, "sender": map[string]any{"login": "b", "id": 2.0}})
	if err != nil || len(vs) == 0 {
		t.Errorf("variants: %d, %v", len(vs), err)
	}
	if _, err := EventSchemas("connector.yaml", map[string]string{"x": "schemas/none.json"}, RefsRelativeTo("testdata/ids")); err == nil {
		t.Error("a schema file that does not exist: no error")
	}
}
