// Command issuepage serves the issuepage connector: run it with --config
// FILE, a run configuration naming PagerDuty's Events API base URL, the
// connector's configuration and its secrets.
package main

import (
	"github.com/tetherkit/tether/connectors"
	"github.com/tetherkit/tether/connectors/issuepage"
)

func main() { connectors.Main(issuepage.Name, issuepage.Setup) }
