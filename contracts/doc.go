// Package contracts reads vendor API contracts and checks traffic against them.
//
// A contract is an OpenAPI 3.0 or 3.1 document; Swagger 2.0 documents are
// converted to OpenAPI 3.0 on load. [Load] and [Parse] return a [Contract],
// which is immutable after loading and safe for concurrent use. A [Registry]
// parses each file once and hands the same [Contract] to every caller.
//
// A Contract finds the operation for a method and URL ([Contract.Find]),
// validates requests, responses and event payloads ([Contract.ValidateRequest],
// [Contract.ValidateResponse], [Contract.ValidateEvent]), synthesises valid
// examples ([Contract.ExampleRequest], [Contract.ExampleResponses],
// [Contract.ExampleValue]) and derives invalid variants of a valid payload
// ([Contract.InvalidVariants]).
//
// Schemas are compiled lazily, per operation on first use, and cached, so a
// contract as large as Stripe's is ready to validate in well under a second;
// the first validation of an operation pays only for its own schemas.
//
// Problems found in traffic are data ([Finding]): a stable rule ID, a level,
// the contract's file:line, the JSON path in the payload and the reason.
// Problems with the document itself are returned as an [*Error] naming the
// file, line and column.
package contracts
