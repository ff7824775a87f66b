package compat

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tetherkit/tether/contracts"
)

// Version is a semantic version as semver.org 2.0.0 defines it:
// MAJOR.MINOR.PATCH, an optional pre-release after "-" and optional build
// metadata after "+".
type Version struct {
	Major, Minor, Patch uint64
	Pre                 []string // pre-release identifiers, such as ["rc", "1"]
	Build               string   // build metadata; it never affects ordering
}

// ParseVersion reads a semantic version such as 1.4.0, 2.0.0-rc.1 or
// 1.0.0+build.5. A leading "v" is not accepted, nor are leading zeros in
// numbers, empty identifiers, or anything else semver.org rules out.
func ParseVersion(s string) (Version, error) {
	var v Version
	rest := s
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		v.Build = rest[i+1:]
		rest = rest[:i]
		if err := checkIdentifiers(v.Build, false); err != nil {
			return Version{}, fmt.Errorf("version %q: build metadata: %w", s, err)
		}
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		pre := rest[i+1:]
		rest = rest[:i]
		if err := checkIdentifiers(pre, true); err != nil {
			return Version{}, fmt.Errorf("version %q: pre-release: %w", s, err)
		}
		v.Pre = strings.Split(pre, ".")
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return Version{}, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH, such as 1.4.0", s)
	}
	nums := [3]*uint64{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		if !numeric(p) || (len(p) > 1 && p[0] == '0') {
			return Version{}, fmt.Errorf("version %q: %q is not a number without leading zeros", s, p)
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return Version{}, fmt.Errorf("version %q: %q is too large", s, p)
		}
		*nums[i] = n
	}
	return v, nil
}

// checkIdentifiers checks dot-separated identifiers of [0-9A-Za-z-];
// numeric pre-release identifiers may not have leading zeros.
func checkIdentifiers(s string, pre bool) error {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return fmt.Errorf("empty identifier")
		}
		for _, r := range id {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
				return fmt.Errorf("identifier %q: use only letters, digits and hyphens", id)
			}
		}
		if pre && numeric(id) && len(id) > 1 && id[0] == '0' {
			return fmt.Errorf("numeric identifier %q has a leading zero", id)
		}
	}
	return nil
}

func numeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String writes the version back in its canonical form.
func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if len(v.Pre) > 0 {
		s += "-" + strings.Join(v.Pre, ".")
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// Compare returns -1, 0 or +1 as v is lower than, equal to or higher than
// w in semver precedence: a pre-release is lower than its release;
// pre-release identifiers compare numerically when both are numbers,
// numbers are lower than words, and a longer list wins a tie. Build
// metadata is ignored.
func (v Version) Compare(w Version) int {
	for _, c := range [3][2]uint64{{v.Major, w.Major}, {v.Minor, w.Minor}, {v.Patch, w.Patch}} {
		if c[0] != c[1] {
			if c[0] < c[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(v.Pre) == 0 && len(w.Pre) == 0:
		return 0
	case len(v.Pre) == 0:
		return 1
	case len(w.Pre) == 0:
		return -1
	}
	for i := 0; i < len(v.Pre) && i < len(w.Pre); i++ {
		if c := comparePre(v.Pre[i], w.Pre[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(v.Pre) < len(w.Pre):
		return -1
	case len(v.Pre) > len(w.Pre):
		return 1
	}
	return 0
}

func comparePre(a, b string) int {
	an, bn := numeric(a), numeric(b)
	switch {
	case an && bn:
		// No leading zeros, so the longer number is the larger.
		if len(a) != len(b) {
			if len(a) < len(b) {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}

// Bump is how much a release's version must rise over the previous one.
type Bump int

// The bumps, in increasing order.
const (
	BumpNone  Bump = iota // nothing changed
	BumpPatch             // something changed that no one needs to act on
	BumpMinor             // an admin must act: approve scopes, add credentials, review a default
	BumpMajor             // a breaking change
)

func (b Bump) String() string {
	switch b {
	case BumpNone:
		return "none"
	case BumpPatch:
		return "patch"
	case BumpMinor:
		return "minor"
	case BumpMajor:
		return "major"
	}
	return fmt.Sprintf("bump(%d)", int(b))
}

// adminAction are the change IDs after which an admin must act before the
// new release runs; they need at least a minor release.
var adminAction = []string{
	RuleManifestScopeAdded,
	RuleManifestVendorAdded,
	RuleConfigRequiredFieldWithDefault,
}

// RequiredBump is the least bump the changes call for: BumpMajor for an
// error-level change that concerns the connector (Affects is
// [contracts.AffectsConnector], or empty because no one has looked),
// BumpMinor for a change after which an admin must act (a scope or vendor
// added, a required configuration field added with a default), BumpPatch
// for any other change and BumpNone for none. An error-level change marked
// [contracts.AffectsElsewhere] needs only a patch release.
func RequiredBump(changes []contracts.Change) Bump {
	bump := BumpNone
	for _, c := range changes {
		b := BumpPatch
		switch {
		case c.Level >= contracts.LevelError && (c.Affects == "" || c.Affects == contracts.AffectsConnector):
			b = BumpMajor
		case slices.Contains(adminAction, c.ID):
			b = BumpMinor
		}
		bump = max(bump, b)
	}
	return bump
}

// CheckBump says whether the step from oldVersion to newVersion is at least
// the required bump, and if not, why. The new version must be higher than
// the old whenever anything is required, and never lower.
//
// Before 1.0.0 semver promises nothing, and the convention is that the
// scale moves down one place: a breaking change needs a minor bump
// (0.3.1 to 0.4.0) and any other change a patch bump. Leaving 0.x for
// 1.0.0 satisfies every requirement.
//
// When the old version is a pre-release of the new version's core (say
// 2.0.0-rc.1 then 2.0.0 or 2.0.0-rc.2), any higher version satisfies the
// requirement: pre-releases carry no compatibility promise, so the
// changes belong to the release being prepared.
func CheckBump(oldVersion, newVersion string, required Bump) (ok bool, why string) {
	ov, err := ParseVersion(oldVersion)
	if err != nil {
		return false, "the previous version: " + err.Error()
	}
	nv, err := ParseVersion(newVersion)
	if err != nil {
		return false, "the new version: " + err.Error()
	}
	cmp := nv.Compare(ov)
	switch {
	case cmp < 0:
		return false, fmt.Sprintf("version %s is lower than the previous %s", nv, ov)
	case required == BumpNone:
		return true, ""
	case cmp == 0:
		return false, fmt.Sprintf("the changes need a %s release, but the version is still %s", required, ov)
	}
	if len(ov.Pre) > 0 && ov.Major == nv.Major && ov.Minor == nv.Minor && ov.Patch == nv.Patch {
		return true, ""
	}
	need := required
	if ov.Major == 0 && nv.Major == 0 {
		need = max(BumpPatch, required-1)
	}
	got := BumpPatch
	switch {
	case nv.Major != ov.Major:
		got = BumpMajor
	case nv.Minor != ov.Minor:
		got = BumpMinor
	}
	if got >= need {
		return true, ""
	}
	msg := fmt.Sprintf("the changes need a %s release, but %s to %s is a %s release", required, ov, nv, got)
	if need != required {
		msg = fmt.Sprintf("the changes need a %s release (a %s one before 1.0.0), but %s to %s is a %s release", required, need, ov, nv, got)
	}
	return false, msg + "; " + suggest(ov, need)
}

// suggest names the lowest version that makes the bump.
func suggest(v Version, b Bump) string {
	n := Version{Major: v.Major, Minor: v.Minor, Patch: v.Patch}
	switch b {
	case BumpMajor:
		n = Version{Major: v.Major + 1}
	case BumpMinor:
		n = Version{Major: v.Major, Minor: v.Minor + 1}
	default:
		n.Patch++
	}
	return "use " + n.String() + " or higher"
}
