package fleet

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tetherkit/tether/harness/manifest"
)

// MaxShards is the most shards a fleet may be split into.
const MaxShards = 1000

// Shard is the slice K of N of a fleet's connectors that one CI job
// gates, K counted from 1.
type Shard struct {
	K, N int
}

// ParseShard reads "K/N", with 1 <= K <= N <= [MaxShards].
func ParseShard(s string) (Shard, error) {
	ks, ns, ok := strings.Cut(s, "/")
	k, errK := strconv.Atoi(ks)
	n, errN := strconv.Atoi(ns)
	switch {
	case !ok || errK != nil || errN != nil || strings.ContainsAny(s, "+- "):
		return Shard{}, fmt.Errorf("shard %q: write K/N, such as 2/4 for the second of four", s)
	case n < 1 || n > MaxShards:
		return Shard{}, fmt.Errorf("shard %q: N must be from 1 to %d", s, MaxShards)
	case k < 1 || k > n:
		return Shard{}, fmt.Errorf("shard %q: K must be from 1 to N (%d)", s, n)
	}
	return Shard{K: k, N: n}, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// Pick is the shard's connectors among connectors: its part of
// [Assign]'s split.
func (s Shard) Pick(connectors []string, t Timings) []string {
	return Assign(connectors, s.N, t)[s.K-1]
}

// Assign splits connectors into n shards, each sorted, so that every
// connector is in exactly one: the longest first, each to the shard with
// the least time so far, by the previous run's timings t; a connector t
// does not know counts as the mean of those it knows (one second when it
// knows none). The split is a function of its arguments alone, so every
// job of a CI matrix computes the same one.
func Assign(connectors []string, n int, t Timings) [][]string {
	names := slices.Clone(connectors)
	slices.Sort(names)
	names = slices.Compact(names)
	weight := map[string]float64{}
	var sum float64
	known := 0
	for _, c := range names {
		if d, ok := t[c]; ok {
			weight[c] = d
			sum += d
			known++
		}
	}
	mean := 1.0
	if known > 0 {
		mean = sum / float64(known)
	}
	for _, c := range names {
		if _, ok := weight[c]; !ok {
			weight[c] = mean
		}
	}
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(weight[b], weight[a]) })
	shards := make([][]string, n)
	load := make([]float64, n)
	for _, c := range names {
		least := 0
		for i := 1; i < n; i++ {
			if load[i] < load[least] {
				least = i
			}
		}
		shards[least] = append(shards[least], c)
		load[least] += weight[c]
	}
	for _, s := range shards {
		slices.Sort(s)
	}
	return shards
}

// Timings are how long each connector's gate took, in seconds, by its
// directory's name in the fleet: the timings.json a fleet gate writes
// beside its report, merged by [MergeTimings].
type Timings map[string]float64

// timingsFile is the JSON form of [Timings].
type timingsFile struct {
	Connectors map[string]float64 `json:"connectors"`
}

// maxTimingsFile bounds what ParseTimings reads.
const maxTimingsFile = 16 << 20

// ParseTimings reads a timings.json, named file in errors: an object with
// "connectors" mapping names to non-negative seconds.
func ParseTimings(file string, data []byte) (Timings, error) {
	if len(data) > maxTimingsFile {
		return nil, fmt.Errorf("%s: %d bytes, over the %d MiB a timings file may have", file, len(data), maxTimingsFile>>20)
	}
	var tf timingsFile
	if err := decodeStrict(data, &tf); err != nil {
		return nil, fmt.Errorf("%s: not a fleet timings file: %w", file, err)
	}
	for _, name := range slices.Sorted(maps.Keys(tf.Connectors)) {
		if d := tf.Connectors[name]; d < 0 || math.IsInf(d, 0) || math.IsNaN(d) {
			return nil, fmt.Errorf("%s: connector %q: %v seconds; a time is 0 or more", file, name, d)
		}
	}
	if tf.Connectors == nil {
		tf.Connectors = map[string]float64{}
	}
	return tf.Connectors, nil
}

// JSON is the timings file's form.
func (t Timings) JSON() ([]byte, error) {
	if t == nil {
		t = Timings{}
	}
	return encodeJSON(timingsFile{Connectors: t})
}

// MergeTimings joins the timings of several shards.
func MergeTimings(ts ...Timings) Timings {
	out := Timings{}
	for _, t := range ts {
		maps.Copy(out, t)
	}
	return out
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// anything after the value.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// Connectors lists the connectors of a fleet directory: the names of its
// directories that hold a connector.yaml, sorted. Links are not followed.
func Connectors(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read the fleet %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if st, err := os.Lstat(filepath.Join(dir, e.Name(), manifest.File)); err == nil && st.Mode().IsRegular() {
			out = append(out, e.Name())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the fleet %s holds no connector: give a directory whose folders each hold a %s", dir, manifest.File)
	}
	return out, nil
}
