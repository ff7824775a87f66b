package contracts

import (
	"path/filepath"
	"sync"
	"testing"
)

// TestConcurrentValidation shares one contract between goroutines that
// validate different operations at once, so that the lazy schema compile
// and cache are exercised under -race.
func TestConcurrentValidation(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "petstore.yaml"))
	type exchange struct {
		method, target, body string
		status               int
		respBody             string
		bad                  bool
	}
	cases := []exchange{
		{"POST", "/v1/pets", `{"name":"Rex","kind":"dog"}`, 201, `{"id":"p1","name":"Rex"}`, false},
		{"POST", "/v1/pets", `{"name":"Rex","kind":"cow"}`, 201, `{"id":"p1","name":"Rex"}`, true},
		{"GET", "/v1/pets?limit=5", "", 200, `[{"id":"p1","name":"Rex"}]`, false},
		{"GET", "/v1/pets/pet_1", "", 200, `{"id":"pet_1"}`, true},
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				ex := cases[(g+i)%len(cases)]
				req := newRequest(ex.method, ex.target, ex.body)
				_, ps := c.ValidateExchange(req, newResponse(ex.status, ex.respBody))
				if (len(ps) > 0) != ex.bad {
					t.Errorf("%s %s: problems %v, want bad=%v", ex.method, ex.target, ps, ex.bad)
					return
				}
			}
		}()
	}
	wg.Wait()
}
