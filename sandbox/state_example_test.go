package sandbox_test

import (
	"fmt"
	"log"
	"slices"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/sandbox"
	"github.com/tetherkit/tether/sandbox/state"
)

// A state file holds, per vendor and resource, the items every tenant
// starts with.
func ExampleLoadState() {
	docs, err := sandbox.LoadState("testdata/state/seed.yaml")
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range docs["tracker"]["issues"] {
		fmt.Println(e.Keys["owner"]+"/"+e.Keys["repo"], e.Object["number"], e.Object["title"])
	}
	// Output:
	// octo/hello 7 It broke
	// octo/other 8 Elsewhere
}

// A test sets up what a tenant's vendor already holds, runs the
// connector, and reads what it left.
func ExampleSandbox_SetState() {
	c, err := contracts.Load("testdata/crm.yaml")
	if err != nil {
		log.Fatal(err)
	}
	s, err := sandbox.Start([]sandbox.Vendor{{Name: "crm", Contract: c}}, sandbox.WithTenant("acme", sandbox.Bearer("acme-token-1234")))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	err = s.SetState("acme", map[string]state.Document{
		"crm": {"deals": {{Object: map[string]any{"id": "d_7", "name": "Globex expansion", "stage": "open", "amount": 5000}}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	// ... the connector's calls as acme ...
	got, err := s.State("acme")
	if err != nil {
		log.Fatal(err)
	}
	var ids []string
	for _, e := range got["crm"]["deals"] {
		ids = append(ids, fmt.Sprint(e.Object["id"]))
	}
	fmt.Println(slices.Sorted(slices.Values(ids)))
	// Output: [d_7]
}
