package oci

import (
	"context"
	"fmt"
	"slices"

	"oras.land/oras-go/v2/registry"

	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
)

// Window picks the releases of m's connector that its compatibility
// window names from the tags of t: the tags that are semantic versions
// below m's version, newest first, as many as compatibility.window says
// (one when it says nothing). Tags that are not versions are ignored.
func Window(ctx context.Context, t Target, m *manifest.Manifest) ([]string, error) {
	cur, err := compat.ParseVersion(m.Version)
	if err != nil {
		return nil, err
	}
	tags, err := registry.Tags(ctx, t)
	if err != nil {
		return nil, explainFor(t, fmt.Errorf("list tags: %w", err))
	}
	type tagged struct {
		tag string
		v   compat.Version
	}
	var below []tagged
	released := false
	for _, tag := range tags {
		v, err := compat.ParseVersion(tag)
		if err != nil {
			continue
		}
		switch c := v.Compare(cur); {
		case c == 0:
			released = true
		case c < 0:
			below = append(below, tagged{tag, v})
		}
	}
	slices.SortFunc(below, func(a, b tagged) int { return b.v.Compare(a.v) })
	var out []string
	for _, r := range below[:min(len(below), max(m.Compatibility.Window, 1))] {
		out = append(out, r.tag)
	}
	if len(out) == 0 {
		if released {
			return nil, fmt.Errorf("no tag is an earlier release of %s than %s, which is released already: raise version in connector.yaml for the next release", m.Name, m.Version)
		}
		return nil, fmt.Errorf("no tag is an earlier release of %s than %s", m.Name, m.Version)
	}
	return out, nil
}
