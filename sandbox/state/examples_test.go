package state_test

import (
	"fmt"
	"log"
	"os"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/sandbox/state"
)

// Infer reads the resources of a contract: here incidents, with notes
// below each incident and a resolve action, and a status path that is no
// collection.
func ExampleInfer() {
	c, err := contracts.Load("testdata/incidents_notes.yaml")
	if err != nil {
		log.Fatal(err)
	}
	m, err := state.Infer(c)
	if err != nil {
		log.Fatal(err)
	}
	m.WriteText(os.Stdout)
	// Output:
	// testdata/incidents_notes.yaml: 2 resources
	//
	// incidents
	//   collection  /incidents
	//   item        /incidents/{id}
	//   id          id: 7 upper-alnum (source: the contract's examples)
	//   schema      #/components/schemas/Incident
	//   idempotency none declared
	//   list           GET    /incidents  listIncidents
	//                  pages: offset (parameters offset and limit)
	//   create         POST   /incidents  createIncident
	//   read           GET    /incidents/{id}  getIncident
	//   update         PUT    /incidents/{id}  updateIncident
	//   action resolve POST   /incidents/{id}/resolve  resolveIncident
	//
	// notes
	//   parent      incidents
	//   collection  /incidents/{id}/notes
	//   keyed by    id
	//   id          uid: string, format uuid (source: the schema's format)
	//   schema      #/components/schemas/Note
	//   idempotency none declared
	//   list           GET    /incidents/{id}/notes  listNotes
	//                  pages: page-token (parameter page_token and answer field next_page_token)
	//   create         POST   /incidents/{id}/notes  createNote
	//
	// not inferred (2)
	//   line 84: GET /status (getStatus): nothing lists or reads what it answers, which carries no identifier, so it is an RPC-style method rather than a collection
	//   line 93: POST /status/refresh (refreshStatus): nothing lists or reads what it answers, which carries no identifier, so it is an RPC-style method rather than a collection
}

// An identifier shape makes new ids: here Stripe's customer ids, as its
// fixture file shows them.
func ExampleIDShape_Generator() {
	shape := state.IDShape{Type: "string", Prefix: "cus_", Alphabet: state.Alnum, Length: 14}
	ids := shape.Generator(1)
	fmt.Println(ids.Next(), ids.Next())
	// Output:
	// cus_KW7UGxUMNh2Ydh cus_UKalmNbheEDDVj
}
