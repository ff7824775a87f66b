package fleet_test

import (
	"fmt"

	"github.com/tetherkit/tether/harness/fleet"
)

// Each CI job of a matrix computes the same split and gates its own part;
// timings from the last run put the slow connector alone.
func ExampleShard_Pick() {
	connectors := []string{"billing", "crm-sync", "dealnotify", "escalate", "issuepage"}
	last := fleet.Timings{"billing": 50, "crm-sync": 10, "dealnotify": 12, "escalate": 14, "issuepage": 9}
	for k := 1; k <= 2; k++ {
		s, _ := fleet.ParseShard(fmt.Sprintf("%d/2", k))
		fmt.Println(s, s.Pick(connectors, nil), s.Pick(connectors, last))
	}
	// Output:
	// 1/2 [billing dealnotify issuepage] [billing]
	// 2/2 [crm-sync escalate] [crm-sync dealnotify escalate issuepage]
}
