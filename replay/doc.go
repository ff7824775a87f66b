// Package replay feeds recorded traffic back through a connector and shows
// exactly what changed: a replay transport that answers a connector's vendor
// calls from cassettes, event replay that delivers inbound events and
// captures every outbound call, and a semantic comparison of those calls
// against golden files.
//
// # Options
//
// Each entry point takes its own option type: [TransportOption],
// [CaptureOption], [CompareOption] (for [Compare] and [UpdateGolden]),
// [HMACOption], and [TimestampOption] for the two timestamped signers. An
// option applies where its type says: [IgnoreField] returns an
// [IgnoreOption], good for matching and comparison alike, so one rule
// serves both, and [RedactWith] a [LiveOption], good for the transport and
// the capture. An option given where it does not apply fails to compile.
package replay
