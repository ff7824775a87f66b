package contracts

import (
	"path/filepath"
	"sync"
	"testing"
)

// TestConcurrentValidation starts goroutines together on a freshly loaded
// contract, so that several first uses of operations (which compile schemas)
// and of events overlap. Run it under -race.
func TestConcurrentValidation(t *testing.T) {
	type exchange struct {
		method, target, body string
		status               int
		respBody             string
		want                 string // the first rule expected, "" for none
	}
	cases := []exchange{
		{"POST", "/v1/pets", `{"name":"Rex","kind":"dog"}`, 201, `{"id":"p1","name":"Rex"}`, ""},
		{"POST", "/v1/pets", `{"name":"Rex","kind":"cow"}`, 201, `{"id":"p1","name":"Rex"}`, RuleRequestBodyInvalid},
		{"GET", "/v1/pets?limit=5", "", 200, `[{"id":"p1","name":"Rex"}]`, ""},
		{"GET", "/v1/pets/pet_1", "", 200, `{"id":"pet_1"}`, RuleResponseBodyInvalid},
		{"GET", "/v1/pets/p1/photos/x.json", "", 200, ``, ""},
	}
	for round := range 3 {
		c := mustLoad(t, filepath.Join("testdata", "petstore.yaml"))
		events := mustLoad(t, filepath.Join("testdata", "events.yaml"))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := range 20 {
					if (g+i)%3 == 0 {
						ps := events.ValidateEvent("deal.updated", []byte(`{"id":"e","type":"deal.updated","deal":{"id":"d","stage":"won","amount":-1}}`))
						if len(ps) != 1 || ps[0].ID != RuleEventInvalid {
							t.Errorf("round %d: event problems %v", round, ps)
						}
						continue
					}
					ex := cases[(g+i)%len(cases)]
					_, ps := c.ValidateExchange(newRequest(ex.method, ex.target, ex.body), newResponse(ex.status, ex.respBody))
					got := ""
					if len(ps) > 0 {
						got = ps[0].ID
					}
					if got != ex.want {
						t.Errorf("round %d: %s %s: problems %v, want first rule %q", round, ex.method, ex.target, ps, ex.want)
						return
					}
				}
			}()
		}
		close(start)
		wg.Wait()
	}
}
