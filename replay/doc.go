// Package replay feeds recorded traffic back through a connector and shows
// exactly what changed: a replay transport that answers a connector's vendor
// calls from cassettes, event replay that delivers inbound events and
// captures every outbound call, and a semantic comparison of those calls
// against golden files.
package replay
