package contracts

import (
	"bufio"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/go-yaml"
)

// The day the corpus cases are judged on: after the 2022 sunset of case 04,
// before the 9999 ones.
var caseDay = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// readTSV reads a tab-separated file with a header line into maps.
func readTSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var header []string
	var rows []map[string]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = cols
			continue
		}
		row := map[string]string{}
		for i, h := range header {
			if i < len(cols) {
				row[h] = cols[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// TestCompareOasdiffCases runs every base/revision pair of oasdiff's own
// checker tests and holds tether's IDs to oasdiff's expected list, as the
// oasdiff test does: only the rules of the check it configures, at its
// threshold (lowered to the level of the expected rules where those are
// info), under its assertion.
func TestCompareOasdiffCases(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "oasdiff")
	checkOf := map[string]string{}
	for _, r := range readTSV(t, filepath.Join(dir, "rules.tsv")) {
		checkOf[r["rule_id"]] = r["check_func"]
	}
	cases := readTSV(t, filepath.Join(dir, "index.tsv"))
	if len(cases) < 20 {
		t.Fatalf("index.tsv has %d cases, want 20", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc["pair"], func(t *testing.T) {
			base, _ := filepath.Glob(filepath.Join(dir, tc["pair"], "base.*"))
			rev, _ := filepath.Glob(filepath.Join(dir, tc["pair"], "revision.*"))
			if len(base) != 1 || len(rev) != 1 {
				t.Fatalf("want one base and one revision, got %v %v", base, rev)
			}
			changes, err := CompareFiles(base[0], rev[0], On(caseDay))
			if err != nil {
				t.Fatal(err)
			}
			min := LevelWarning
			for _, l := range strings.Fields(tc["rule_default_levels"]) {
				if strings.HasSuffix(l, ":INFO") {
					min = LevelInfo
				}
			}
			var got []string
			for _, c := range AtLeast(changes, min) {
				if cfg := tc["check_config"]; cfg != "allChecks" && checkOf[c.ID] != cfg {
					continue
				}
				got = append(got, c.ID)
			}
			var want []string
			if tc["expected_rule_ids"] != "(none)" {
				want = strings.Split(tc["expected_rule_ids"], ",")
			}
			sort.Strings(got)
			sort.Strings(want)
			switch a := tc["assertion"]; {
			case a == "single" || strings.HasPrefix(a, "exactly-") || a == "empty":
				if !slices.Equal(got, want) {
					t.Errorf("%s: got %v, want exactly %v\n%s", a, got, want, changesText(changes))
				}
			case a == "contains":
				for _, w := range want {
					if !slices.Contains(got, w) {
						t.Errorf("contains: %s missing from %v\n%s", w, got, changesText(changes))
					}
				}
			default:
				t.Fatalf("unknown assertion %q", a)
			}
		})
	}
}

func changesText(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("  " + c.String() + "\n")
	}
	return b.String()
}

// TestCatalogueSeveritiesMatchOasdiff holds every ID tether shares with
// oasdiff to oasdiff's default level, except where tether disagrees on
// purpose (each reason is in the catalogue).
func TestCatalogueSeveritiesMatchOasdiff(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "oasdiff")
	deliberate := map[string]bool{
		"api-security-added":       true, // a client's credentials may no longer be enough
		"api-security-scope-added": true, // the admin must grant the new scope
	}
	level := map[string]Level{"INFO": LevelInfo, "WARN": LevelWarning, "ERR": LevelError}
	shared := 0
	for _, r := range readTSV(t, filepath.Join(dir, "rules.tsv")) {
		ours, ok := RuleFor(r["rule_id"])
		if !ok {
			continue
		}
		shared++
		if want := level[r["default_level"]]; ours.Level != want && !deliberate[ours.ID] {
			t.Errorf("%s: severity %s, oasdiff's is %s", ours.ID, ours.Level, want)
		}
	}
	if shared < 100 {
		t.Errorf("only %d IDs shared with oasdiff", shared)
	}
}

func pairFiles(t *testing.T, name string) (string, string) {
	t.Helper()
	dir := filepath.Join(corpusDir(t), "pairs", name)
	old, _ := filepath.Glob(filepath.Join(dir, "old.*"))
	cur, _ := filepath.Glob(filepath.Join(dir, "new.*"))
	if len(old) != 1 || len(cur) != 1 {
		t.Fatalf("%s: want one old and one new file", dir)
	}
	return old[0], cur[0]
}

func operationsWith(changes []Change, prefixes ...string) []string {
	var out []string
	for _, c := range changes {
		for _, p := range prefixes {
			if strings.HasPrefix(c.ID, p) {
				out = append(out, c.Operation())
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestCompareRealPairs checks that real vendor releases give what their
// SOURCE.txt says really changed.
func TestCompareRealPairs(t *testing.T) {
	if testing.Short() {
		t.Skip("compares four real vendor releases (Stripe's is 4 MB a side); run without -short")
	}
	t.Run("stripe", func(t *testing.T) {
		changes, err := CompareFiles(pairFiles(t, "stripe-2022-08-01-version-bump"))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			"DELETE /v1/recipients/{id}", "GET /v1/3d_secure/{three_d_secure}",
			"GET /v1/bitcoin/receivers", "GET /v1/bitcoin/receivers/{id}",
			"GET /v1/bitcoin/receivers/{receiver}/transactions", "GET /v1/bitcoin/transactions",
			"GET /v1/issuer_fraud_records", "GET /v1/issuer_fraud_records/{issuer_fraud_record}",
			"GET /v1/recipients", "GET /v1/recipients/{id}", "POST /v1/3d_secure",
			"POST /v1/recipients", "POST /v1/recipients/{id}",
		}
		if got := operationsWith(changes, "api-path-removed-", "api-removed-"); !slices.Equal(got, want) {
			t.Errorf("removed operations:\n got %v\nwant %v", got, want)
		}
		// The two 3-D Secure operations were removed without deprecation.
		if got := operationsWith(AtLeast(changes, LevelError), "api-path-removed-"); len(got) != 2 {
			t.Errorf("removed without deprecation: %v, want the two 3d_secure operations", got)
		}
	})
	t.Run("slack", func(t *testing.T) {
		changes, err := CompareFiles(pairFiles(t, "slack-web-1.0.6-to-1.2.0"))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"GET /rtm.start", "GET /search.all", "GET /search.files", "POST /files.comments.add", "POST /files.comments.edit"}
		if got := operationsWith(changes, "api-path-removed-", "api-removed-"); !slices.Equal(got, want) {
			t.Errorf("removed methods:\n got %v\nwant %v", got, want)
		}
	})
	t.Run("github", func(t *testing.T) {
		changes, err := CompareFiles(pairFiles(t, "github-octokit-routes-2.10.1-to-5.2.0"))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"DELETE /repos/{owner}/{repo}/downloads/{download_id}", "GET /repos/{owner}/{repo}/downloads",
			"GET /repos/{owner}/{repo}/downloads/{download_id}", "GET /user/{migration_id}/repositories"}
		if got := operationsWith(changes, "api-path-removed-", "api-removed-"); !slices.Equal(got, want) {
			t.Errorf("removed routes:\n got %v\nwant %v", got, want)
		}
		if n := len(operationsWith(changes, "endpoint-added")); n != 24 {
			t.Errorf("%d operations added, SOURCE.txt says 24", n)
		}
	})
	t.Run("twilio", func(t *testing.T) {
		changes, err := CompareFiles(pairFiles(t, "twilio-api-v2010-2.4.2-to-2.5.0-enum-removed"))
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, c := range changes {
			count[c.ID]++
			if strings.Contains(c.ID, "enum-value-removed") {
				t.Errorf("the enum was replaced by a string, not narrowed: %s", c)
			}
		}
		// Usage categories: 9 record lists and 4 trigger operations answer
		// with the category; 10 take it as a query parameter and one in
		// a form body.
		for id, n := range map[string]int{"response-property-became-not-enum": 13, "request-parameter-became-not-enum": 10, "request-property-became-not-enum": 1} {
			if count[id] != n {
				t.Errorf("%s: %d, want %d", id, count[id], n)
			}
		}
		for _, c := range changes {
			if c.ID == "response-property-became-not-enum" && c.Level != LevelError {
				t.Errorf("a reader meeting a value outside the old enum breaks: %s", c)
			}
		}
	})
}

// TestCompareCorpusWithItself compares each corpus contract with itself,
// read twice, and with a copy whose keys and paths are shuffled and whose
// schemas are renamed: none of these is a change.
func TestCompareCorpusWithItself(t *testing.T) {
	dir := corpusDir(t)
	for _, s := range corpusSpecs {
		// Under -short (the race pass) only the smallest document; the
		// plain pass compares them all.
		if testing.Short() && s.file != "twilio-messaging-v1.yaml" {
			continue
		}
		t.Run(s.file, func(t *testing.T) {
			path := filepath.Join(dir, "specs", s.file)
			if got, err := CompareFiles(path, path); err != nil || len(got) > 0 {
				t.Fatalf("compared with itself: %v\n%s", err, changesText(got))
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if s.converted {
				return // shuffling is tested on the OpenAPI 3 documents
			}
			shuffled := shuffleSpec(t, data, 7)
			out := filepath.Join(t.TempDir(), "shuffled.yaml")
			if err := os.WriteFile(out, shuffled, 0o644); err != nil {
				t.Fatal(err)
			}
			if got, err := CompareFiles(path, out); err != nil || len(got) > 0 {
				t.Fatalf("compared with a shuffled copy: %v\n%s", err, changesText(got[:min(len(got), 20)]))
			}
		})
	}
}

// shuffleSpec reorders every mapping's keys and renames every component
// schema (and every reference to it), as a refactoring of the document
// that changes nothing a client sees would.
func shuffleSpec(t *testing.T, data []byte, seed uint64) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(jsonEscapesForYAML(data), &doc); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	root := documentBody(&doc)
	renamed := map[string]string{}
	if schemas := (yn{root, nil}).get("components").get("schemas"); schemas.ok() {
		for i := 0; i+1 < len(schemas.n.Content); i += 2 {
			k := schemas.n.Content[i]
			renamed["#/components/schemas/"+k.Value] = "#/components/schemas/Moved" + k.Value
			k.Value = "Moved" + k.Value
		}
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			pairs := len(n.Content) / 2
			perm := rng.Perm(pairs)
			out := make([]*yaml.Node, 0, len(n.Content))
			for _, p := range perm {
				out = append(out, n.Content[2*p], n.Content[2*p+1])
			}
			n.Content = out
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "$ref" {
					if to, ok := renamed[n.Content[i+1].Value]; ok {
						n.Content[i+1].Value = to
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	out, err := yaml.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
