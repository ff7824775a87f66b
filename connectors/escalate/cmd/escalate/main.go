// Command escalate serves the escalate connector: run it with
// --config FILE, a run configuration naming the incident and chat APIs'
// base URLs, the connector's configuration and its secrets.
package main

import (
	"github.com/tetherkit/tether/connectors"
	"github.com/tetherkit/tether/connectors/escalate"
)

func main() { connectors.Main(escalate.Name, escalate.Setup) }
