package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The example connectors' directory is a fleet of three: the union of
// --shard k/4 for k = 1..4 gates each exactly once (one shard is empty),
// and the merged report equals the unsharded run's byte for byte, in
// every form; the merged timings balance a later run.
func TestFleetGateShardsMergeToUnsharded(t *testing.T) {
	if testing.Short() {
		t.Skip("gates the three example connectors twice (about a minute); runs in the plain pass")
	}
	fleetDir := filepath.Join("..", "..", "connectors")
	work := t.TempDir()
	whole := filepath.Join(work, "whole")
	code, stdout, stderr := runCLI("gate", "--fleet", fleetDir, "--out", whole)
	if code != exitOK {
		t.Fatalf("gate --fleet: exit %d\n%s\n%s", code, stdout, tailLines(stderr, 30))
	}
	var reports []string
	seen := map[string]int{}
	for _, k := range []string{"1", "2", "3", "4"} {
		out := filepath.Join(work, "shard-"+k)
		code, stdout, stderr := runCLI("gate", "--fleet", fleetDir, "--shard", k+"/4", "--out", out)
		if code != exitOK {
			t.Fatalf("gate --shard %s/4: exit %d\n%s\n%s", k, code, stdout, tailLines(stderr, 30))
		}
		var shard struct {
			Shard   string `json:"shard"`
			Results []struct {
				Connector string `json:"connector"`
			} `json:"results"`
		}
		data, err := os.ReadFile(filepath.Join(out, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &shard); err != nil || shard.Shard != k+"/4" {
			t.Fatalf("shard %s report: %v, shard %q", k, err, shard.Shard)
		}
		for _, r := range shard.Results {
			seen[r.Connector]++
		}
		reports = append(reports, filepath.Join(out, "report.json"))
	}
	want := []string{"dealnotify", "escalate", "issuepage"}
	for _, c := range want {
		if seen[c] != 1 {
			t.Errorf("%s gated by %d shards, want exactly one", c, seen[c])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("shards gated %v, want %v", seen, want)
	}
	merged := filepath.Join(work, "merged")
	slices.Reverse(reports) // the order given does not matter
	code, stdout, stderr = runCLI(append([]string{"report", "merge", "--out", merged}, reports...)...)
	if code != exitOK {
		t.Fatalf("report merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"report.json", "summary.md", "junit.xml"} {
		a, errA := os.ReadFile(filepath.Join(whole, f))
		b, errB := os.ReadFile(filepath.Join(merged, f))
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v %v", f, errA, errB)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("merged %s differs from the unsharded run's", f)
		}
	}
	// The merged timings name every connector, and balance the next run.
	data, err := os.ReadFile(filepath.Join(merged, "timings.json"))
	if err != nil || !strings.Contains(string(data), `"issuepage"`) || !strings.Contains(string(data), `"dealnotify"`) {
		t.Fatalf("merged timings: %v\n%s", err, data)
	}
	code, _, stderr = runCLI("gate", "--fleet", fleetDir, "--shard", "5/4", "--out", filepath.Join(work, "bad"))
	if code != exitCannot || !strings.Contains(stderr, "K must be") {
		t.Errorf("--shard 5/4: exit %d, %s", code, stderr)
	}
	code, _, stderr = runCLI("report", "merge", "--out", filepath.Join(work, "bad"), reports[0], reports[1])
	if code != exitCannot || !strings.Contains(stderr, "no report holds") {
		t.Errorf("merge of two of four shards: exit %d, %s", code, stderr)
	}
}

// tether impact over a fleet directory: exit 1 with the affected release
// listed, each format written, 0 when the change breaks nobody, 2 for an
// oci:// fleet and bad flags.
func TestImpactCommand(t *testing.T) {
	work := t.TempDir()
	dist := filepath.Join(work, "dist")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	// A release of the dealnotify example, packaged from its gate.
	gateOut := filepath.Join(work, "gate")
	if code, stdout, stderr := runCLI("gate", exampleDir, "--out", gateOut); code != exitOK {
		t.Fatalf("gate: exit %d\n%s\n%s", code, stdout, tailLines(stderr, 20))
	}
	if code, stdout, stderr := runCLI("package", exampleDir, "--report", filepath.Join(gateOut, "report.json"),
		"--out", filepath.Join(dist, "dealnotify-1.0.0.tar.gz")); code != exitOK {
		t.Fatalf("package: exit %d\n%s\n%s", code, stdout, stderr)
	}
	oldFile, newFile := breakingChat(t)
	data, err := os.ReadFile(oldFile)
	if err != nil {
		t.Fatal(err)
	}
	safe := strings.Replace(string(data), "        mrkdwn: {type: boolean}\n", "        mrkdwn: {type: boolean}\n        icon: {type: string}\n", 1)
	if safe == string(data) {
		t.Fatal("the chat contract changed; update the edits of this test")
	}
	safeFile := filepath.Join(work, "safe", "chat.openapi.yaml")
	if err := os.MkdirAll(filepath.Dir(safeFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(safeFile, []byte(safe), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("impact", oldFile, newFile, "--fleet", dist)
	if code != exitFindings || !strings.Contains(stdout, "dealnotify 1.0.0") || !strings.Contains(stdout, "POST /chat.postMessage response 200 $.message") ||
		!strings.Contains(stdout, "usage recorded") {
		t.Errorf("impact: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, format := range []string{"json", "markdown", "junit"} {
		out := filepath.Join(work, "impact."+format)
		code, stdout, stderr := runCLI("impact", oldFile, newFile, "--fleet", dist, "--format", format, "-o", out)
		data, err := os.ReadFile(out)
		if code != exitFindings || err != nil || !strings.Contains(string(data), "response-required-property-removed") {
			t.Errorf("impact --format %s: exit %d, %v\n%s\n%s\n%s", format, code, err, stdout, stderr, data)
		}
	}
	if code, stdout, stderr := runCLI("impact", oldFile, safeFile, "--fleet", dist); code != exitOK || !strings.Contains(stdout, "1 not affected") {
		t.Errorf("impact of a safe change: exit %d\n%s\n%s", code, stdout, stderr)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	if code, _, stderr := runCLI("impact", oldFile, newFile, "--fleet", "oci://"+closed+"/fleet"); code != exitCannot || !strings.Contains(stderr, "cannot reach the registry") {
		t.Errorf("impact on an oci:// fleet nobody serves: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI("impact", oldFile, newFile, "--fleet", "oci://"+closed+"/fleet:1.0.0"); code != exitCannot || !strings.Contains(stderr, "without a tag") {
		t.Errorf("impact on an oci:// fleet with a tag: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI("impact", oldFile, newFile, "--fleet", dist, "--vendor", "chatt"); code != exitCannot || !strings.Contains(stderr, "no release of the fleet has a vendor named chatt") {
		t.Errorf("impact with a mistyped vendor: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI("impact", oldFile, newFile, "--fleet", t.TempDir()); code != exitCannot || !strings.Contains(stderr, "holds no release") {
		t.Errorf("impact over an empty fleet: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI("impact", oldFile, "--fleet", dist); code != exitCannot || !strings.Contains(stderr, "two contracts") {
		t.Errorf("impact with one contract: exit %d, %s", code, stderr)
	}
}

// breakingChat writes the examples' chat contract with the success answer
// of POST /chat.postMessage no longer holding message, and returns the
// example's file and the new one, named alike.
func breakingChat(t *testing.T) (oldFile, newFile string) {
	t.Helper()
	oldFile = filepath.Join(exampleDir, "contracts", "chat.openapi.yaml")
	data, err := os.ReadFile(oldFile)
	if err != nil {
		t.Fatal(err)
	}
	breaking := strings.Replace(string(data), "required: [ok, channel, ts, message]", "required: [ok, channel, ts]", 1)
	breaking = strings.Replace(breaking, "        message:\n          type: object\n          required: [text, ts]\n", "        message_gone:\n          type: object\n          required: [text, ts]\n", 1)
	if breaking == string(data) {
		t.Fatal("the chat contract changed; update the edits of breakingChat")
	}
	newFile = filepath.Join(t.TempDir(), "chat.openapi.yaml")
	if err := os.WriteFile(newFile, []byte(breaking), 0o644); err != nil {
		t.Fatal(err)
	}
	return oldFile, newFile
}
