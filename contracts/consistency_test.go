package contracts

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// selfConsistency checks every operation of c: its synthesised request must
// validate, and so must each synthesised JSON response as the answer to it.
// It returns the counts, the unsatisfiable schemas with their reasons, and
// every other failure keyed by operation ID.
func selfConsistency(t *testing.T, c *Contract) (requests, responses int, unsat []string, failed map[string]string) {
	t.Helper()
	failed = map[string]string{}
	errorf := func(op string, format string, args ...any) {
		if _, seen := failed[op]; !seen {
			failed[op] = fmt.Sprintf(format, args...)
		}
	}
	for _, op := range c.Operations() {
		r, err := c.ExampleRequest(op.ID, 1)
		var ue *UnsatisfiableError
		if errors.As(err, &ue) && !strings.HasPrefix(ue.Path, "request") {
			unsat = append(unsat, fmt.Sprintf("%s request: %v", op.ID, err))
			continue
		}
		if err != nil {
			errorf(op.ID, "%v", err)
			continue
		}
		requests++
		resps, err := c.ExampleResponses(op.ID, 1)
		if errors.As(err, &ue) {
			unsat = append(unsat, fmt.Sprintf("%s response: %v", op.ID, err))
		} else if err != nil {
			errorf(op.ID, "responses: %v", err)
		}
		for _, resp := range resps {
			if resp.Body != nil && !isJSON(resp.ContentType) {
				continue
			}
			req, err := r.HTTPRequest("")
			if err != nil {
				t.Fatal(err)
			}
			if ps := c.ValidateResponse(req, resp.HTTPResponse()); len(ps) > 0 {
				errorf(op.ID, "synthesised %d response does not validate: %s", resp.Status, briefFindings(ps))
				continue
			}
			responses++
		}
	}
	sort.Strings(unsat)
	return requests, responses, unsat, failed
}

func TestSelfConsistency(t *testing.T) {
	for _, file := range []string{"petstore.yaml", "events.yaml", "swagger_pets.yaml", "circular.yaml"} {
		c := mustLoad(t, filepath.Join("testdata", file))
		req, resp, unsat, failed := selfConsistency(t, c)
		for op, msg := range failed {
			t.Errorf("%s %s: %s", file, op, msg)
		}
		t.Logf("%s: %d requests and %d responses validate; %d unsatisfiable", file, req, resp, len(unsat))
		for _, u := range unsat {
			t.Logf("  unsatisfiable: %s", u)
		}
	}
}

// TestCorpusSelfConsistency synthesises a request and every declared
// response for every operation of every corpus contract and validates them.
// It is skipped under -short: with the race detector it takes too long, and
// CI runs it in its plain `go test` pass.
func TestCorpusSelfConsistency(t *testing.T) {
	corpusDir(t)
	if testing.Short() {
		t.Skip("-short: the whole corpus takes minutes under the race detector; run without -short")
	}
	cs, err := loadCorpus()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range corpusSpecs {
		t.Run(s.file, func(t *testing.T) {
			c := cs[s.file]
			req, resp, unsat, failed := selfConsistency(t, c)
			ops := make([]string, 0, len(failed))
			for op := range failed {
				ops = append(ops, op)
			}
			sort.Strings(ops)
			for _, op := range ops {
				t.Errorf("%s: %s", op, failed[op])
			}
			t.Logf("%s: %d of %d operations give a valid request; %d responses validate; %d unsatisfiable",
				s.file, req, len(c.Operations()), resp, len(unsat))
			for _, u := range unsat {
				t.Logf("  unsatisfiable: %s", u)
			}
		})
	}
}
