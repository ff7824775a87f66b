package release

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/internal/markdown"
)

// ReleaseNotes writes the Markdown release notes of version m.Version from
// the compatibility findings in cmp (nil for a first release, which the
// notes say) and changelog, the connector's CHANGELOG.md (nil for none).
//
// The notes have these sections, in order:
//
//   - For admins: scopes added (which an admin must approve again) and
//     removed, each configuration field added, removed or changed with
//     what changed, the support level, and the other manifest changes an
//     admin acts on (vendors, events, the name).
//   - Vendor API changes that affect this connector: contract changes
//     marked [contracts.AffectsConnector] (or not marked at all), grouped
//     by vendor and operation with their severity, then one line counting
//     the changes in parts of the APIs the connector does not use.
//   - Version: the bump the changes require, the changes that require it,
//     and whether m.Version satisfies it.
//   - Changelog: the section of changelog whose "##" or "###" heading
//     names m.Version, as written; left out when there is none.
//
// The same inputs give the same bytes. Values taken from the inputs are
// escaped where Markdown would read them as markup; the changelog section
// is copied as written, its headings moved to sit under "Changelog".
func ReleaseNotes(m *manifest.Manifest, cmp *compat.ReleaseComparison, changelog []byte) []byte {
	n := &notes{m: m, cmp: cmp}
	n.header()
	n.admins()
	n.vendorChanges()
	n.version()
	if section := changelogSection(changelog, m.Version); section != "" {
		n.printf("\n## Changelog\n\n%s\n", section)
	}
	return n.buf.Bytes()
}

type notes struct {
	m   *manifest.Manifest
	cmp *compat.ReleaseComparison
	buf bytes.Buffer
}

func (n *notes) printf(format string, args ...any) { fmt.Fprintf(&n.buf, format, args...) }

func (n *notes) header() {
	n.printf("# %s %s\n\n", markdown.Text(n.m.Name), markdown.Text(n.m.Version))
	if n.m.Summary != "" {
		n.printf("%s\n\n", markdown.Text(n.m.Summary))
	}
	if n.cmp == nil {
		n.printf("First release: there is no earlier release to compare it with.\n")
		return
	}
	n.printf("Compared with %s", markdown.Text(n.cmp.BaselineVersion))
	if n.cmp.Baseline != "" && n.cmp.Baseline != n.cmp.BaselineVersion {
		n.printf(" (%s)", markdown.Code(n.cmp.Baseline))
	}
	n.printf(".\n")
}

// admins writes what an admin must know or do before upgrading.
func (n *notes) admins() {
	n.printf("\n## For admins\n\n")
	if n.cmp == nil {
		if len(n.m.Scopes) > 0 {
			n.printf("- Scopes an admin approves on install: %s.\n", codeList(n.m.Scopes))
		}
		n.printf("- Support: %s.\n", markdown.Text(compat.SupportName(n.m.Support)))
		return
	}
	var scopes, config, support, other []string
	for _, c := range n.cmp.Changes {
		switch {
		case c.ID == compat.RuleManifestScopeAdded:
			scopes = append(scopes, fmt.Sprintf("- Scope %s added: an admin must approve the connector again, with this scope, before upgrading.", markdown.Code(c.Field)))
		case c.ID == compat.RuleManifestScopeRemoved:
			scopes = append(scopes, fmt.Sprintf("- Scope %s removed: the connector no longer requests it, and an admin may revoke it.", markdown.Code(c.Field)))
		case c.ID == compat.RuleManifestSupportLowered:
			support = append(support, fmt.Sprintf("- Support lowered: %s (%s).", markdown.Text(detail(c, compat.Summary(c.ID))), c.Level))
		case strings.HasPrefix(c.ID, "config-"):
			config = append(config, configLine(c))
		case strings.HasPrefix(c.ID, "manifest-"):
			other = append(other, manifestLine(c))
		}
	}
	if len(scopes)+len(config)+len(support)+len(other) == 0 {
		n.printf("Nothing for admins to do: no scope, configuration field or support level changed.\n")
		return
	}
	for _, part := range []struct {
		title string
		lines []string
	}{{"Scopes", scopes}, {"Configuration", config}, {"Support", support}, {"Other", other}} {
		if len(part.lines) > 0 {
			n.printf("### %s\n\n%s\n\n", part.title, strings.Join(part.lines, "\n"))
		}
	}
	n.buf.Truncate(n.buf.Len() - 1) // one blank line before the next section
}

// configLine names the configuration field and says what changed, from
// the change's message without the rule's heading and the field's name.
func configLine(c contracts.Change) string {
	heading := compat.Summary(c.ID)
	what := heading
	if what == "" {
		what = c.ID
	}
	s := fmt.Sprintf("- %s: %s", markdown.Code(fieldOrWhole(c.Field)), markdown.Text(what))
	if d := detail(c, heading); d != "" {
		s += "; " + markdown.Text(d)
	}
	return s + fmt.Sprintf(" (%s, %s).", c.Level, markdown.Code(c.ID))
}

func manifestLine(c contracts.Change) string {
	return fmt.Sprintf("- %s (%s, %s).", markdown.Text(c.Message), c.Level, markdown.Code(c.ID))
}

// detail is the part of c's message after the heading of its rule, without
// a leading repetition of c.Field; "" when nothing is left.
func detail(c contracts.Change, heading string) string {
	d := c.Message
	if heading != "" {
		d = strings.TrimPrefix(d, heading)
		d = strings.TrimPrefix(d, ":")
	}
	d = strings.TrimSpace(d)
	if c.Field != "" {
		if d == c.Field {
			return ""
		}
		d = strings.TrimPrefix(d, c.Field+": ")
	}
	return d
}

func fieldOrWhole(f string) string {
	if f == "" {
		return "$"
	}
	return f
}

// vendorChanges writes the contract changes that concern the connector,
// by vendor and operation.
func (n *notes) vendorChanges() {
	n.printf("\n## Vendor API changes that affect this connector\n\n")
	if n.cmp == nil {
		n.printf("None to report: this is the first release.\n")
		return
	}
	type group struct {
		vendor, op string
		changes    []contracts.Change
	}
	var groups []*group
	elsewhere := 0
	for _, c := range n.cmp.Changes {
		if strings.HasPrefix(c.ID, "config-") || strings.HasPrefix(c.ID, "manifest-") {
			continue
		}
		if c.Affects == contracts.AffectsElsewhere {
			elsewhere++
			continue
		}
		vendor, op := n.vendorOf(c), c.Operation()
		i := slices.IndexFunc(groups, func(g *group) bool { return g.vendor == vendor && g.op == op })
		if i < 0 {
			groups = append(groups, &group{vendor: vendor, op: op})
			i = len(groups) - 1
		}
		groups[i].changes = append(groups[i].changes, c)
	}
	slices.SortStableFunc(groups, func(a, b *group) int {
		return cmp.Or(strings.Compare(a.vendor, b.vendor), strings.Compare(a.op, b.op))
	})
	if len(groups) == 0 {
		n.printf("None.\n")
	}
	vendor := "\x00"
	for _, g := range groups {
		if g.vendor != vendor {
			vendor = g.vendor
			n.printf("### %s\n\n", markdown.Text(vendor))
		}
		op := g.op
		if op == "" {
			op = "the document as a whole"
		}
		n.printf("#### %s\n\n", markdown.Text(op))
		slices.SortStableFunc(g.changes, func(a, b contracts.Change) int { return int(b.Level) - int(a.Level) })
		for _, c := range g.changes {
			n.printf("- **%s** %s", c.Level, markdown.Code(c.ID))
			if where := changePlace(c); where != "" {
				n.printf(" at %s", markdown.Code(where))
			}
			n.printf(": %s\n", markdown.Text(c.Message))
		}
		n.printf("\n")
	}
	if len(groups) > 0 {
		n.buf.Truncate(n.buf.Len() - 1)
	}
	switch elsewhere {
	case 0:
	case 1:
		n.printf("\n1 other change is in parts of the vendor APIs this connector does not use.\n")
	default:
		n.printf("\n%d other changes are in parts of the vendor APIs this connector does not use.\n", elsewhere)
	}
}

// changePlace narrows a contract change down within its operation:
// parameter, body and field.
func changePlace(c contracts.Change) string {
	var parts []string
	if c.Param != "" {
		parts = append(parts, c.Param)
	}
	if c.Body != "" {
		b := c.Body
		if c.Status != "" {
			b += " " + c.Status
		}
		parts = append(parts, b)
	} else if c.Status != "" {
		parts = append(parts, c.Status)
	}
	if c.Field != "" && c.Field != "$" {
		parts = append(parts, c.Field)
	}
	return strings.Join(parts, " ")
}

// vendorOf names the vendors whose contract file the change points into,
// matched by file name as [UsageFor] does, since the comparison may have
// read the contracts from another directory.
func (n *notes) vendorOf(c contracts.Change) string {
	var names []string
	for _, name := range slices.Sorted(maps.Keys(n.m.Vendors)) {
		base := filepath.Base(n.m.Vendors[name].Contract)
		for _, p := range []*contracts.Position{c.Old, c.New} {
			if p != nil && filepath.Base(filepath.FromSlash(p.File)) == base {
				names = append(names, name)
				break
			}
		}
	}
	switch {
	case len(names) > 0:
		return strings.Join(names, ", ")
	case c.Webhook != "" && n.m.EventVendor() != "":
		return n.m.EventVendor()
	}
	return "other"
}

// version writes the bump the changes require and whether the declared
// version makes it.
func (n *notes) version() {
	n.printf("\n## Version\n\n")
	if n.cmp == nil {
		n.printf("%s is the first release, so no bump is required.\n", markdown.Text(n.m.Version))
		return
	}
	required := n.cmp.RequiredBump
	if required == "" {
		required = compat.RequiredBump(n.cmp.Changes).String()
	}
	if required == compat.BumpNone.String() {
		n.printf("Nothing changed since %s, so no bump is required.\n", markdown.Text(n.cmp.BaselineVersion))
	} else {
		n.printf("The changes since %s require a **%s** release, because of:\n\n", markdown.Text(n.cmp.BaselineVersion), required)
		for _, line := range requiring(n.cmp.Changes, required) {
			n.printf("- %s\n", line)
		}
		n.printf("\n")
	}
	if n.cmp.Satisfied {
		n.printf("Version %s satisfies this.\n", markdown.Text(n.cmp.Version))
		return
	}
	n.printf("Version %s does not satisfy this", markdown.Text(n.cmp.Version))
	if n.cmp.Why != "" {
		n.printf(": %s", markdown.Text(n.cmp.Why))
	}
	n.printf(".\n")
}

// requiring lists the changes that each call for the required bump, one
// line per change ID in order of first appearance, naming what changed.
func requiring(changes []contracts.Change, required string) []string {
	const most = 5
	var ids []string
	names := map[string][]string{}
	for _, c := range changes {
		if compat.RequiredBump([]contracts.Change{c}).String() != required {
			continue
		}
		if _, ok := names[c.ID]; !ok {
			ids = append(ids, c.ID)
			names[c.ID] = []string{}
		}
		name := c.Field
		if op := c.Operation(); op != "" {
			name = op
			if c.Field != "" && c.Field != "$" {
				name += " " + c.Field
			}
		}
		if name != "" && !slices.Contains(names[c.ID], name) {
			names[c.ID] = append(names[c.ID], name)
		}
	}
	var out []string
	for _, id := range ids {
		line := markdown.Code(id)
		if list := names[id]; len(list) > 0 {
			shown := list[:min(len(list), most)]
			line += ": " + codeList(shown)
			if len(list) > most {
				line += fmt.Sprintf(" and %d more", len(list)-most)
			}
		}
		out = append(out, line)
	}
	return out
}

// changelogSection returns the body of the section of a CHANGELOG.md whose
// "##" or "###" heading names version (as "1.2.0", "v1.2.0" or
// "[1.2.0]"), up to the next heading of the same or a higher level, with
// its inner headings moved so that the section's own level becomes "##".
// It returns "" when no heading names the version.
func changelogSection(changelog []byte, version string) string {
	if len(changelog) == 0 || version == "" {
		return ""
	}
	lines := strings.Split(strings.ReplaceAll(string(changelog), "\r\n", "\n"), "\n")
	level, start := 0, -1
	fence := ""
	var body []string
	for i, line := range lines {
		var lv int
		if fence == "" {
			lv = headingLevel(line)
		}
		if f := fenceOf(line); f != "" {
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(f, fence):
				fence = ""
			}
		}
		if start < 0 {
			if (lv == 2 || lv == 3) && namesVersion(line[lv:], version) {
				level, start = lv, i
			}
			continue
		}
		if lv > 0 && lv <= level {
			break
		}
		if lv > 0 {
			line = strings.Repeat("#", min(6, lv-level+2)) + line[lv:]
		}
		body = append(body, line)
	}
	return strings.Trim(strings.Join(body, "\n"), "\n \t")
}

// headingLevel is the level of an ATX heading line ("## x" is 2), or 0.
func headingLevel(line string) int {
	if strings.HasPrefix(line, "    ") {
		return 0
	}
	t := strings.TrimLeft(line, " ")
	lv := len(t) - len(strings.TrimLeft(t, "#"))
	if lv == 0 || lv > 6 || (len(t) > lv && t[lv] != ' ' && t[lv] != '\t') {
		return 0
	}
	return lv + len(line) - len(t)
}

// fenceOf returns the fence a line opens or closes a code block with.
func fenceOf(line string) string {
	t := strings.TrimLeft(line, " ")
	for _, ch := range []string{"`", "~"} {
		if strings.HasPrefix(t, strings.Repeat(ch, 3)) {
			return strings.Repeat(ch, len(t)-len(strings.TrimLeft(t, ch)))
		}
	}
	return ""
}

// namesVersion reports whether the heading text holds version as a word
// of its own, optionally after a "v".
func namesVersion(heading, version string) bool {
	words := strings.FieldsFunc(heading, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == '-' || r == '+')
	})
	for _, w := range words {
		w = strings.TrimSuffix(w, ".")
		if w == version || w == "v"+version || w == "V"+version {
			return true
		}
	}
	return false
}

// codeList writes items as code spans, separated by commas.
func codeList(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = markdown.Code(s)
	}
	return strings.Join(out, ", ")
}
