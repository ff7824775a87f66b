// Package drift compares a connector's cassettes with what a live vendor
// answers today.
//
// [Check] replays each recorded interaction of one vendor against a live
// base URL and reports, as findings with stable IDs ([Rules]):
//
//   - live-contract-violation: the live answer breaks the vendor contract
//     of the connector's manifest;
//   - cassette-drift: the live answer differs from the recorded one in its
//     status, in fields added or removed, or in a field's JSON type;
//   - operation-gone: the vendor answers 404 or 405 where the cassette had
//     a 2xx, or the contract has no route for the request any more.
//
// Read-only requests (GET, HEAD, OPTIONS, and operations whose contract
// entry carries "x-tether-safe: true") are sent twice, and a field whose
// presence or JSON type differs between the two answers, or whose value
// differs where the cassette's or the answer's is null, is noise (ids,
// timestamps, request ids), not drift. Writes are sent only with
// [AllowWrites], once each, and without that noise filter.
//
// Nothing is written unless [Rewrite] is given: then each cassette with
// drift is replaced, atomically and redacted as recording does, by one
// holding the live answers.
package drift
