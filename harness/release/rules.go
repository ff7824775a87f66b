package release

import "github.com/tetherkit/tether/contracts"

// Problems VerifyBundle reports, by ID.
const (
	RuleChecksumMismatch    = "bundle-checksum-mismatch"
	RuleChecksumsInvalid    = "bundle-checksums-invalid"
	RuleFileMissing         = "bundle-file-missing"
	RuleFileUnlisted        = "bundle-file-unlisted"
	RuleRootMismatch        = "bundle-root-mismatch"
	RuleManifestInvalid     = "bundle-manifest-invalid"
	RuleReportInvalid       = "bundle-report-invalid"
	RuleReportMismatch      = "bundle-report-mismatch"
	RuleReportFailed        = "bundle-report-failed"
	RuleVersionNotSuccessor = "bundle-version-not-successor"
	// The signature checks, made only when a key is given (see
	// [RequireSignature]).
	RuleUnsigned          = "bundle-unsigned"
	RuleSignatureOtherKey = "bundle-signature-other-key"
	RuleSignatureMismatch = "bundle-signature-mismatch"
	RuleSignatureInvalid  = "bundle-signature-invalid"
)

// Rules lists the problems [VerifyBundle] reports. Each is an error: a
// marketplace refuses a bundle with any of them.
func Rules() []contracts.Rule {
	out := make([]contracts.Rule, len(rules))
	copy(out, rules)
	return out
}

var rules = []contracts.Rule{
	{ID: RuleChecksumMismatch, Level: contracts.LevelError, Summary: "a file differs from its checksum", Hint: "the bundle was changed after it was written; get it again from its source"},
	{ID: RuleChecksumsInvalid, Level: contracts.LevelError, Summary: "SHA256SUMS is malformed", Hint: "each line is a 64-digit hex SHA-256, two spaces and a path"},
	{ID: RuleFileMissing, Level: contracts.LevelError, Summary: "a file is missing", Hint: "the bundle was changed after it was written, or written by a tool that left it out"},
	{ID: RuleFileUnlisted, Level: contracts.LevelError, Summary: "a file is not in SHA256SUMS", Hint: "the file was added after the bundle was written"},
	{ID: RuleRootMismatch, Level: contracts.LevelError, Summary: "the root folder is not <name>-<version>", Hint: "write the bundle with tether package"},
	{ID: RuleManifestInvalid, Level: contracts.LevelError, Summary: "the manifest is not valid", Hint: "fix connector.yaml, run the gate and package again"},
	{ID: RuleReportInvalid, Level: contracts.LevelError, Summary: "the report cannot be read", Hint: "package again with a report of this tether's format"},
	{ID: RuleReportMismatch, Level: contracts.LevelError, Summary: "the report is not about the bundled files", Hint: "run the gate on the files shipped and package again"},
	{ID: RuleReportFailed, Level: contracts.LevelError, Summary: "the report does not pass the policy", Hint: "fix the findings, or waive them in the policy with a reason and an expiry date"},
	{ID: RuleVersionNotSuccessor, Level: contracts.LevelError, Summary: "the version does not succeed the releases compared", Hint: "raise the version as much as the changes need"},
	{ID: RuleUnsigned, Level: contracts.LevelError, Summary: "the bundle is not signed", Hint: "sign it with tether sign BUNDLE --key KEY (or tether package --sign KEY) and publish the signature with it"},
	{ID: RuleSignatureOtherKey, Level: contracts.LevelError, Summary: "the signature is not by the key trusted", Hint: "check that the public key is the publisher's; a signature by any other key is refused"},
	{ID: RuleSignatureMismatch, Level: contracts.LevelError, Summary: "the bundle changed after it was signed", Hint: "the signature is of other bytes; get the bundle again from its source, or sign the bundle that was gated"},
	{ID: RuleSignatureInvalid, Level: contracts.LevelError, Summary: "the signature cannot be read", Hint: "a signature is the Sigstore bundle tether sign writes; sign again"},
}

// rule returns the rule with the ID id; an ID missing from the table is a
// programming error.
func rule(id string) contracts.Rule {
	for _, r := range rules {
		if r.ID == id {
			return r
		}
	}
	panic("release: rule " + id + " is missing from rules.go")
}
