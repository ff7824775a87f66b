// Command dealnotify serves the dealnotify connector: run it with
// --config FILE, a run configuration naming the CRM's and the chat API's
// base URLs, the connector's configuration and its secrets.
package main

import (
	"github.com/tetherkit/tether/connectors"
	"github.com/tetherkit/tether/connectors/dealnotify"
)

func main() { connectors.Main(dealnotify.Name, dealnotify.Setup) }
