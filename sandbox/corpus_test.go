package sandbox

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
)

// TestCorpusSelfConsistency serves every OpenAPI contract of the corpus and
// calls every operation with a valid synthesised request: each answer must
// validate against the contract. Schemas no value can satisfy are listed
// with their reasons. Skipped under -short: over the whole corpus it takes
// minutes with the race detector, and CI runs it in its plain pass.
func TestCorpusSelfConsistency(t *testing.T) {
	dir := os.Getenv("TETHER_CORPUS")
	if dir == "" {
		t.Skip("TETHER_CORPUS is not set; it names the corpus of real vendor material (.ci/run sets it)")
	}
	if testing.Short() {
		t.Skip("-short: the whole-corpus sweep runs in the plain pass")
	}
	files, err := filepath.Glob(filepath.Join(dir, "specs", "*"))
	if err != nil {
		t.Fatal(err)
	}
	served := 0
	for _, file := range files {
		if !strings.HasSuffix(file, ".json") && !strings.HasSuffix(file, ".yaml") {
			continue
		}
		c, err := contracts.Load(file)
		if errors.Is(err, contracts.ErrNotOpenAPI) {
			t.Logf("%s: not an OpenAPI contract, not served (%v)", filepath.Base(file), firstLine(err))
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(file), err)
			continue
		}
		served++
		t.Run(filepath.Base(file), func(t *testing.T) {
			calls, unsat, failed := sweep(t, c)
			t.Logf("%d of %d operations answered with a response that validates; %d unsatisfiable", calls, len(c.Operations()), len(unsat))
			for _, u := range unsat {
				t.Logf("  unsatisfiable: %s", u)
			}
			ids := make([]string, 0, len(failed))
			for id := range failed {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				t.Errorf("%s: %s", id, failed[id])
			}
		})
	}
	if served < 6 {
		t.Errorf("served %d corpus contracts; the corpus has at least 6 OpenAPI ones", served)
	}
}

// sweep calls every operation of c through a sandbox.
func sweep(t *testing.T, c *contracts.Contract) (calls int, unsat []string, failed map[string]string) {
	s, err := Start([]Vendor{{Name: "vendor", Contract: c}}, WithJournalCap(64))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	failed = map[string]string{}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// State is on: deletes go last, since a read of what was deleted is
	// rightly not found.
	ops := slices.Clone(c.Operations())
	slices.SortStableFunc(ops, func(a, b *contracts.Operation) int {
		return cmp.Compare(boolInt(a.Method == http.MethodDelete), boolInt(b.Method == http.MethodDelete))
	})
	// An operation that is the vendor's OAuth2 token endpoint (Slack's
	// oauth.access) is answered by its authorization server, which
	// refuses a request without a registered client; its refusal must
	// still validate.
	authOps := map[string]bool{}
	for _, v := range s.Health().Vendors {
		for _, ep := range v.OAuth2 {
			authOps[ep.Operation] = ep.Operation != ""
		}
	}
	for _, op := range ops {
		ex, err := c.ExampleRequest(op.ID, 1)
		var ue *contracts.UnsatisfiableError
		if errors.As(err, &ue) {
			unsat = append(unsat, fmt.Sprintf("%s request: %v", op.ID, err))
			continue
		}
		if err != nil {
			failed[op.ID] = "synthesise request: " + err.Error()
			continue
		}
		req, err := ex.HTTPRequest(s.VendorURL("vendor"))
		if err != nil {
			failed[op.ID] = "build request: " + err.Error()
			continue
		}
		resp, err := client.Do(req)
		if err != nil {
			failed[op.ID] = "call: " + err.Error()
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			failed[op.ID] = "read answer: " + err.Error()
			continue
		}
		if resp.StatusCode == http.StatusNotImplemented {
			// The sandbox could not render a response: an unsatisfiable
			// response schema, which it names.
			unsat = append(unsat, fmt.Sprintf("%s response: %s", op.ID, body))
			continue
		}
		if resp.StatusCode >= 400 && !authOps[op.ID] {
			failed[op.ID] = fmt.Sprintf("answered %d to a valid request: %s", resp.StatusCode, excerpt(body))
			continue
		}
		asSent, err := ex.HTTPRequest("")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		if ps := c.ValidateResponse(asSent, resp); len(ps) > 0 {
			failed[op.ID] = fmt.Sprintf("the %d answer breaks the contract: %s", resp.StatusCode, ps[0])
			continue
		}
		if j := s.Journal(JournalFilter{Findings: true, After: s.Journal(JournalFilter{}).Last - 1}); len(j.Entries) > 0 {
			if f := firstAbove(j.Entries[0].Findings, contracts.LevelInfo); f != nil {
				failed[op.ID] = fmt.Sprintf("the sandbox found the synthesised request invalid: %s", f)
				continue
			}
		}
		calls++
	}
	sort.Strings(unsat)
	return calls, unsat, failed
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// firstAbove is the first finding more severe than level, or nil.
func firstAbove(fs []contracts.Finding, level contracts.Level) *contracts.Finding {
	for i := range fs {
		if fs[i].Level > level {
			return &fs[i]
		}
	}
	return nil
}

func excerpt(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
