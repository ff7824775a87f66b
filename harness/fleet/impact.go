package fleet

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/release"
)

// ImpactVersion is the version of the [ImpactReport] format.
const ImpactVersion = 1

// Ways a release's usage was found.
const (
	UsageRecorded = "recorded" // read from the bundle's usage/ files
	UsageDerived  = "derived"  // derived from the bundle's recordings: an older bundle without usage/
)

// ImpactReport is the outcome of [Impact]: the comparison of two versions
// of a vendor contract, and the releases of a fleet it breaks, each with
// the changes that affect it. Releases not affected are counted only. The
// same inputs give the same JSON form: it holds no time.
type ImpactReport struct {
	Version int    `json:"version"`
	Tether  string `json:"tether,omitempty"`
	Fleet   string `json:"fleet"`
	Old     Input  `json:"old"`
	New     Input  `json:"new"`
	// Vendor is the manifest name the releases were matched by, when
	// given; otherwise a release uses the contract when one of its
	// contracts has OLD's or NEW's file name.
	Vendor string          `json:"vendor,omitempty"`
	FailOn contracts.Level `json:"fail_on"`
	// Changes counts what the comparison found, affecting anyone or not.
	Changes ChangeCount `json:"changes"`
	// Affected are the releases with a change at or above FailOn that
	// affects them, sorted by connector, version, then bundle.
	Affected []ReleaseImpact `json:"affected"`
	// Unreadable are the bundles that could not be read or matched.
	Unreadable []Problem     `json:"unreadable,omitempty"`
	Summary    ImpactSummary `json:"summary"`
}

// Input names a contract compared and the SHA-256 of its bytes.
type Input struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// ChangeCount counts changes by level.
type ChangeCount struct {
	Total    int `json:"total"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Infos    int `json:"infos"`
}

// ReleaseImpact is one release a change breaks.
type ReleaseImpact struct {
	Connector string `json:"connector"`
	Version   string `json:"version"`
	Bundle    string `json:"bundle"`
	// Vendors are the manifest's names for the contract.
	Vendors []string `json:"vendors"`
	Usage   string   `json:"usage"` // UsageRecorded or UsageDerived
	// Changes are those at or above the report's FailOn that affect it.
	Changes []contracts.Change `json:"changes"`
}

// Problem is a bundle that could not be checked, and why.
type Problem struct {
	Bundle string `json:"bundle"`
	Error  string `json:"error"`
}

// ImpactSummary counts the fleet's releases.
type ImpactSummary struct {
	Status     string `json:"status"`   // "pass" when none is affected, else "fail"
	Releases   int    `json:"releases"` // every bundle in the fleet
	Using      int    `json:"using"`    // those that use the contract
	Affected   int    `json:"affected"`
	Unaffected int    `json:"unaffected"` // using it, but no counted change affects them
	Unreadable int    `json:"unreadable"`
}

// ImpactOption configures [Impact].
type ImpactOption func(*impactOptions)

type impactOptions struct {
	compare func(oldFile, newFile string) ([]contracts.Change, error)
	vendor  string
	failOn  contracts.Level
	workers int
}

// CompareWith replaces [contracts.CompareFiles] as the comparison of the
// two contract files, which [Impact] runs exactly once.
func CompareWith(f func(oldFile, newFile string) ([]contracts.Change, error)) ImpactOption {
	return func(o *impactOptions) { o.compare = f }
}

// ForVendor matches releases by the manifest's name for the vendor
// rather than by the contract's file name.
func ForVendor(name string) ImpactOption { return func(o *impactOptions) { o.vendor = name } }

// FailOn sets the lowest level of change that affects a release (error,
// the default: breaking changes only).
func FailOn(l contracts.Level) ImpactOption { return func(o *impactOptions) { o.failOn = l } }

// Workers sets how many bundles are read at once (default: one per CPU).
func Workers(n int) ImpactOption { return func(o *impactOptions) { o.workers = max(n, 1) } }

// Impact compares oldFile with newFile, two versions of a vendor
// contract, once, then marks the changes against each release in src that
// uses that contract, from the usage its bundle carries (usage/, see
// [release.RecordedUsage]) or, for a bundle written before bundles carried
// it, from its recordings. A bundle that cannot be read is listed among
// the report's Unreadable and the run goes on; an error is for a
// comparison or a source that fails.
func Impact(ctx context.Context, src Source, oldFile, newFile string, opts ...ImpactOption) (*ImpactReport, error) {
	o := impactOptions{compare: func(a, b string) ([]contracts.Change, error) { return contracts.CompareFiles(a, b) }, failOn: contracts.LevelError, workers: runtime.GOMAXPROCS(0)}
	for _, opt := range opts {
		opt(&o)
	}
	r := &ImpactReport{Version: ImpactVersion, Fleet: src.String(), Vendor: o.vendor, FailOn: o.failOn, Affected: []ReleaseImpact{}}
	var err error
	if r.Old, err = digest(oldFile); err != nil {
		return nil, err
	}
	if r.New, err = digest(newFile); err != nil {
		return nil, err
	}
	names, err := src.Releases(ctx)
	if err != nil {
		return nil, err
	}
	changes, err := o.compare(oldFile, newFile)
	if err != nil {
		return nil, err
	}
	for _, c := range changes {
		r.Changes.Total++
		switch c.Level {
		case contracts.LevelError:
			r.Changes.Errors++
		case contracts.LevelWarning:
			r.Changes.Warnings++
		default:
			r.Changes.Infos++
		}
	}
	m := matcher{vendor: o.vendor, files: []string{path.Base(oldFile), path.Base(newFile)}}
	if o.vendor != "" {
		m.files = nil
	}
	results := make([]releaseResult, len(names))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(o.workers, max(len(names), 1)) {
		wg.Go(func() {
			for i := range next {
				results[i] = markRelease(ctx, src, names[i], changes, m, o.failOn)
			}
		})
	}
	for i := range names {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.Summary.Releases = len(names)
	for i, res := range results {
		switch {
		case res.err != nil:
			r.Unreadable = append(r.Unreadable, Problem{Bundle: names[i], Error: res.err.Error()})
		case res.impact == nil:
		case len(res.impact.Changes) > 0:
			r.Summary.Using++
			r.Affected = append(r.Affected, *res.impact)
		default:
			r.Summary.Using++
			r.Summary.Unaffected++
		}
	}
	slices.SortFunc(r.Affected, func(a, b ReleaseImpact) int {
		return cmp.Or(strings.Compare(a.Connector, b.Connector), compareVersions(a.Version, b.Version), strings.Compare(a.Bundle, b.Bundle))
	})
	r.Summary.Affected = len(r.Affected)
	r.Summary.Unreadable = len(r.Unreadable)
	r.Summary.Status = "pass"
	if r.Summary.Affected > 0 {
		r.Summary.Status = "fail"
	}
	return r, nil
}

// compareVersions orders semantic versions by precedence, and anything
// else after them by text.
func compareVersions(a, b string) int {
	va, errA := compat.ParseVersion(a)
	vb, errB := compat.ParseVersion(b)
	switch {
	case errA == nil && errB == nil:
		return cmp.Or(va.Compare(vb), strings.Compare(a, b))
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}

func digest(file string) (Input, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Input{}, fmt.Errorf("read %s: %w", file, err)
	}
	sum := sha256.Sum256(data)
	return Input{File: file, SHA256: hex.EncodeToString(sum[:])}, nil
}

// matcher says which of a release's contracts is the one compared: by the
// vendor's name, or by the contract's file name.
type matcher struct {
	vendor string
	files  []string
}

func (m matcher) matches(vendor, contract string) bool {
	if m.vendor != "" {
		return vendor == m.vendor
	}
	return contract != "" && slices.Contains(m.files, path.Base(contract))
}

// releaseResult is one bundle's outcome: an error, no use of the
// contract (nil impact), or the changes that affect it.
type releaseResult struct {
	impact *ReleaseImpact
	err    error
}

// markRelease reads one bundle and marks a copy of changes with what it
// uses of the contract.
func markRelease(ctx context.Context, src Source, name string, changes []contracts.Change, m matcher, failOn contracts.Level) releaseResult {
	b, err := src.Bundle(ctx, name)
	if err != nil {
		return releaseResult{err: err}
	}
	data, ok := b.Files[manifest.File]
	if !ok {
		return releaseResult{err: fmt.Errorf("%s: the bundle holds no %s", name, manifest.File)}
	}
	mf, err := manifest.Parse(b.Root, data, func(rel string) bool { _, ok := b.Files[rel]; return ok })
	if err != nil {
		return releaseResult{err: fmt.Errorf("%s: %w", name, err)}
	}
	imp := &ReleaseImpact{Connector: mf.Name, Version: mf.Version, Bundle: name, Changes: []contracts.Change{}}
	usage, err := recordedUsage(b, m, imp)
	if err == nil && usage == nil && imp.Usage == "" {
		usage, err = derivedUsage(b, mf, m, imp)
	}
	if err != nil {
		return releaseResult{err: fmt.Errorf("%s: %w", name, err)}
	}
	if usage == nil {
		return releaseResult{}
	}
	marked := slices.Clone(changes)
	usage.Mark(marked)
	for _, c := range marked {
		if c.Affects == contracts.AffectsConnector && c.Level >= failOn {
			imp.Changes = append(imp.Changes, c)
		}
	}
	return releaseResult{impact: imp}
}

// recordedUsage is the usage the bundle's usage/ files record of the
// contract; nil with imp.Usage set when the bundle has such files but none
// is about the contract, nil with it unset when it has none.
func recordedUsage(b *release.Bundle, m matcher, imp *ReleaseImpact) (*contracts.Usage, error) {
	var matched []*release.RecordedUsage
	for _, p := range b.Order {
		dir, file, _ := strings.Cut(p, "/")
		if dir != release.UsageDir || path.Ext(file) != ".json" {
			continue
		}
		imp.Usage = UsageRecorded
		u, err := release.ParseUsage(p, b.Files[p])
		if err != nil {
			return nil, err
		}
		if m.matches(u.Vendor, u.Contract) {
			matched = append(matched, u)
			if u.Vendor != "" {
				imp.Vendors = append(imp.Vendors, u.Vendor)
			}
		}
	}
	if len(matched) == 0 {
		return nil, nil
	}
	all := &release.RecordedUsage{}
	for _, u := range matched {
		all.Calls = append(all.Calls, u.Calls...)
		all.Events = append(all.Events, u.Events...)
	}
	slices.Sort(imp.Vendors)
	imp.Vendors = slices.Compact(imp.Vendors)
	return all.Usage(), nil
}

// derivedUsage loads an older bundle, one without usage/, from memory and
// derives its usage of the contract as the compatibility suite does.
func derivedUsage(b *release.Bundle, mf *manifest.Manifest, m matcher, imp *ReleaseImpact) (*contracts.Usage, error) {
	var rel string
	for _, name := range slices.Sorted(maps.Keys(mf.Vendors)) {
		if c := mf.Vendors[name].Contract; m.matches(name, c) {
			imp.Vendors = append(imp.Vendors, name)
			rel = c
		}
	}
	if rel == "" && m.vendor == "" && m.matches("", mf.Events.Contract) {
		rel = mf.Events.Contract
	}
	if rel == "" {
		return nil, nil
	}
	fsys, err := b.FS()
	if err != nil {
		return nil, err
	}
	c, err := manifest.Load(b.Root, manifest.ReadFrom(fsys))
	if err != nil {
		return nil, err
	}
	imp.Usage = UsageDerived
	return compat.UsageOf(c, path.Clean(strings.ReplaceAll(rel, `\`, "/"))), nil
}
