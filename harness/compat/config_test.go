package compat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/manifest"
)

func compat(name string) string { return filepath.Join("testdata", name) }

func TestCompatConfigRules(t *testing.T) {
	tests := []struct {
		reason   string
		old, new string
		id       string
		severity contracts.Level
		field    string
		oldLine  int // 0: not checked
		newLine  int
	}{
		{"an optional field became required, with no default", "config_base.json", "config_mode_required.json",
			RuleConfigRequiredFieldAdded, contracts.LevelError, "$.mode", 16, 5},
		{"an optional field with a default became required", "config_base.json", "config_amount_required.json",
			RuleConfigRequiredFieldWithDefault, contracts.LevelWarning, "$.amount", 11, 5},
		{"a field was removed and unknown fields are rejected", "config_base.json", "config_code_removed.json",
			RuleConfigFieldRemoved, contracts.LevelError, "$.code", 14, 9},
		{"a field was removed and unknown fields are allowed", "config_open.json", "config_open_code_removed.json",
			RuleConfigFieldRemoved, contracts.LevelWarning, "$.code", 14, 9},
		{"a type list lost a member", "config_base.json", "config_amount_number_only.json",
			RuleConfigTypeNarrowed, contracts.LevelError, "$.amount", 11, 11},
		{"number became integer", "config_base.json", "config_count_integer.json",
			RuleConfigTypeNarrowed, contracts.LevelError, "$.count", 13, 13},
		{"an enum value was removed, behind a $ref", "config_base.json", "config_stage_open_removed.json",
			RuleConfigEnumValueRemoved, contracts.LevelError, "$.stages[*]", 7, 7},
		{"a free string became an enum", "config_base.json", "config_mode_enum.json",
			RuleConfigEnumAdded, contracts.LevelError, "$.mode", 16, 16},
		{"a pattern changed", "config_base.json", "config_label_pattern.json",
			RuleConfigPatternChanged, contracts.LevelError, "$.label", 15, 15},
		{"a pattern was added", "config_base.json", "config_code_pattern.json",
			RuleConfigPatternChanged, contracts.LevelError, "$.code", 14, 14},
		{"minLength was raised", "config_base.json", "config_channel_min_length.json",
			RuleConfigBoundTightened, contracts.LevelError, "$.channel", 10, 10},
		{"maximum was lowered", "config_base.json", "config_amount_maximum.json",
			RuleConfigBoundTightened, contracts.LevelError, "$.amount", 11, 11},
		{"uniqueItems was added", "config_base.json", "config_stages_unique.json",
			RuleConfigBoundTightened, contracts.LevelError, "$.stages", 12, 12},
		{"additionalProperties became false", "config_open.json", "config_base.json",
			RuleConfigBoundTightened, contracts.LevelError, "$", 4, 4},
		{"an optional field was added", "config_base.json", "config_region_added.json",
			RuleConfigFieldAdded, contracts.LevelInfo, "$.region", 9, 17},
		{"a nested default changed", "config_base.json", "config_retries_default.json",
			RuleConfigDefaultChanged, contracts.LevelWarning, "$.options.retries", 20, 20},
	}
	for _, tt := range tests {
		t.Run(tt.id+"/"+tt.new, func(t *testing.T) {
			changes, err := CompareConfigSchemas(loadSchema(t, compat(tt.old)), loadSchema(t, compat(tt.new)), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []contracts.Change
			for _, c := range changes {
				if c.ID == tt.id && c.Field == tt.field {
					got = append(got, c)
				}
			}
			if len(got) != 1 {
				t.Fatalf("%s: want one %s at %s, got %d in:\n%s", tt.reason, tt.id, tt.field, len(got), changeList(changes))
			}
			c := got[0]
			if c.Level != tt.severity {
				t.Errorf("%s: severity %s, want %s", tt.reason, c.Level, tt.severity)
			}
			if c.Old == nil || c.Old.Line != tt.oldLine || c.Old.File != compat(tt.old) {
				t.Errorf("%s: old position %v, want %s:%d", tt.reason, c.Old, compat(tt.old), tt.oldLine)
			}
			if c.New == nil || c.New.Line != tt.newLine || c.New.File != compat(tt.new) || c.New.Column == 0 {
				t.Errorf("%s: new position %v, want %s:%d with a column", tt.reason, c.New, compat(tt.new), tt.newLine)
			}
			if c.Method != "" || c.Path != "" || !strings.HasPrefix(c.Message, Summary(tt.id)) {
				t.Errorf("%s: unexpected change %+v", tt.reason, c)
			}
		})
	}
}

func changeList(changes []contracts.Change) string {
	var b strings.Builder
	for _, c := range changes {
		b.WriteString(c.Field + " " + c.String() + "\n")
	}
	return b.String()
}

func TestCompatConfigUnchanged(t *testing.T) {
	for _, file := range []string{compat("config_base.json"), compat("config_open.json"), filepath.Join("..", "..", "connectors", "dealnotify", "config.schema.json")} {
		samples := []ConfigSample{{Source: "x.yaml:3", Value: map[string]any{"channel": "C0DEALS001", "stages": []any{"won"}}}}
		changes, err := CompareConfigSchemas(loadSchema(t, file), loadSchema(t, file), samples)
		if err != nil {
			t.Fatal(err)
		}
		if len(changes) != 0 {
			t.Errorf("%s compared with itself: want no changes, got:\n%s", file, changeList(changes))
		}
	}
}

func TestCompatConfigSampleRejected(t *testing.T) {
	c, err := manifest.Load(filepath.Join("..", "..", "connectors", "dealnotify"))
	if err != nil {
		t.Fatal(err)
	}
	newFile := compat("config_dealnotify_no_min_amount.json")
	changes, err := CompareConfigSchemas(c.ConfigSchema, loadSchema(t, newFile), ScenarioConfigs(c.Scenarios))
	if err != nil {
		t.Fatal(err)
	}
	rejected := map[string]contracts.Change{}
	var removed *contracts.Change
	for _, c := range changes {
		switch c.ID {
		case RuleConfigSampleRejected:
			if c.Old != nil {
				rejected[filepath.Base(c.Old.File)] = c
			}
		case RuleConfigFieldRemoved:
			if c.Field == "$.min_amount" {
				removed = &c
			}
		}
	}
	if removed == nil || removed.Level != contracts.LevelError {
		t.Errorf("want config-field-removed error for $.min_amount, got:\n%s", changeList(changes))
	}
	for _, want := range []struct {
		file string
		line int
	}{{"won.yaml", 6}, {"filtered-amount.yaml", 5}} {
		c, ok := rejected[want.file]
		if !ok {
			t.Errorf("want %s for %s, got:\n%s", RuleConfigSampleRejected, want.file, changeList(changes))
			continue
		}
		if c.Level != contracts.LevelError || c.Old.Line != want.line || c.New.File != newFile || c.New.Line != 4 || !strings.Contains(c.Message, "min_amount") {
			t.Errorf("%s: unexpected %s", want.file, c)
		}
	}
	if _, ok := rejected["duplicate.yaml"]; ok {
		t.Errorf("a scenario without min_amount was rejected:\n%s", changeList(changes))
	}
}

func TestCompatConfigGeneratedSamples(t *testing.T) {
	// No sample is given: the minimal configuration generated from the old
	// schema lacks mode, which the new one requires.
	changes, err := CompareConfigSchemas(loadSchema(t, compat("config_base.json")), loadSchema(t, compat("config_mode_required.json")), nil)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, c := range changes {
		if c.ID == RuleConfigSampleRejected && strings.Contains(c.Message, "minimal configuration") && c.New.Line > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("want a generated configuration rejected, got:\n%s", changeList(changes))
	}
}

func TestCompatConfigSamplesOldRejectsAreSkipped(t *testing.T) {
	samples := []ConfigSample{{Source: "bad.yaml:1", Value: map[string]any{"nope": true}}}
	changes, err := CompareConfigSchemas(loadSchema(t, compat("config_base.json")), loadSchema(t, compat("config_base.json")), samples)
	if err != nil || len(changes) != 0 {
		t.Errorf("want nothing for a sample the old schema rejects, got %v:\n%s", err, changeList(changes))
	}
}

func TestCompatConfigErrors(t *testing.T) {
	base := loadSchema(t, compat("config_base.json"))
	bad := []ConfigSample{{Source: "x", Value: map[any]any{1: 2}}}
	if _, err := CompareConfigSchemas(base, base, bad); err == nil {
		t.Error("want an error for a sample that is not JSON")
	}
}

func FuzzCompareConfigSchemas(f *testing.F) {
	for _, name := range []string{"config_base.json", "config_open.json", "config_mode_enum.json", "config_dealnotify_no_min_amount.json"} {
		data, err := os.ReadFile(compat(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, []byte(`{"type": "object"}`))
	}
	f.Add([]byte(`{"$ref": "#"}`), []byte(`true`))
	f.Add([]byte(`{"items": {"$ref": "#"}, "type": "array"}`), []byte(`{"items": false}`))
	f.Add([]byte(`{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}`), []byte(`false`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		old, err := contracts.ParseSchema("old.json", a)
		if err != nil {
			return // not a schema: the loader's own tests cover its errors
		}
		changes, err := CompareConfigSchemas(old, old, nil)
		if err == nil && len(changes) != 0 {
			t.Fatalf("a schema compared with itself: want no changes, got:\n%s", changeList(changes))
		}
		if cur, err := contracts.ParseSchema("new.json", b); err == nil {
			_, _ = CompareConfigSchemas(old, cur, nil)
		}
	})
}

func loadSchema(t testing.TB, file string) *contracts.Schema {
	t.Helper()
	s, err := contracts.LoadSchema(file)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
