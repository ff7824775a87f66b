package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/fixtures"
)

// cassette record writes a connector's cassettes from its vendors'
// contracts, whatever the contract files are called: here the CRM's is a
// .json file, which the shell script this replaced never found (it
// looped forever). The answers are the ones checked in.
func TestCassetteRecord(t *testing.T) {
	dir := releaseCopy(t, "1.0.0")
	if err := os.Rename(filepath.Join(dir, "contracts", "crm.openapi.yaml"), filepath.Join(dir, "contracts", "crm.json")); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "connector.yaml")
	data := strings.ReplaceAll(string(mustRead(t, m)), "contracts/crm.openapi.yaml", "contracts/crm.json")
	if err := os.WriteFile(m, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"crm-deal-4207.yaml", "chat-post-message.yaml"} {
		if err := os.Remove(filepath.Join(dir, "cassettes", f)); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runCLI("cassette", "record", dir, "--timeout", "1m")
	if code != exitOK {
		t.Fatalf("cassette record: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"crm-deal-4207.yaml", "chat-post-message.yaml"} {
		got, err := fixtures.Load(filepath.Join(dir, "cassettes", f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := fixtures.Load(filepath.Join(exampleDir, "cassettes", f))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Interactions) != 1 {
			t.Fatalf("%s: %d interactions, want 1", f, len(got.Interactions))
		}
		g, w := got.Interactions[0], want.Interactions[0]
		if g.Request.URL != w.Request.URL || g.Response.Body != w.Response.Body || g.Response.Code != w.Response.Code {
			t.Errorf("%s: recorded %s -> %d %s\nwant %s -> %d %s", f, g.Request.URL, g.Response.Code, g.Response.Body, w.Request.URL, w.Response.Code, w.Response.Body)
		}
		if strings.Contains(g.Request.Headers.Get("Authorization"), "recording-token") {
			t.Errorf("%s keeps the credential in clear: %q", f, g.Request.Headers.Get("Authorization"))
		}
	}
	if code, stdout, stderr := runCLI("gate", dir, "--out", t.TempDir()); code != exitOK {
		t.Errorf("the connector with its cassettes recorded again does not pass its gate: exit %d\n%s\n%s", code, stdout, tailLines(stderr, 10))
	}
}

// A recordings file with a mistake is an error at its line, and nothing is
// recorded.
func TestCassetteRecordBadFile(t *testing.T) {
	for name, tc := range map[string]struct{ file, want string }{
		"unknown vendor": {"cassettes:\n  - file: a.yaml\n    vendor: crm\n    requests: [{path: /deals/1}]\n  - file: b.yaml\n    vendor: billing\n    requests: [{path: /x}]\n", "recordings.yaml:5: cassette b.yaml: vendor \"billing\" is not one of connector.yaml's: chat, crm"},
		"path escapes":   {"cassettes:\n  - file: ../a.yaml\n    vendor: crm\n    requests: [{path: /deals/1}]\n", "recordings.yaml:2: cassette 1: file \"../a.yaml\""},
		"relative path":  {"cassettes:\n  - file: a.yaml\n    vendor: crm\n    requests:\n      - path: deals/1\n", "recordings.yaml:5: cassette a.yaml: request 1: path \"deals/1\""},
		"unknown field":  {"cassettes:\n  - file: a.yaml\n    vendor: crm\n    url: /x\n", "recordings.yaml:4"},
		"empty":          {"cassettes: []\n", "recordings.yaml:1: cassettes: the list is empty"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dealnotify")
			if err := os.CopyFS(dir, os.DirFS(exampleDir)); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "recordings.yaml"), []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCLI("cassette", "record", dir)
			if code != exitCannot || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d and %q\n%s%s", code, exitCannot, tc.want, stdout, stderr)
			}
		})
	}
}
