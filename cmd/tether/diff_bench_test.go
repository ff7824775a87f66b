package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDiffStripeAgainstOasdiff compares Stripe's contract before and
// after its 2022-08-01 API version with `tether diff --format json` and
// with `oasdiff changelog --format json`, each as a subprocess, in the same
// iterations, and reports each one's wall time and peak resident memory
// and their ratios (tether over oasdiff). Both are whole-process figures:
// start-up and writing the JSON are in them.
//
// It needs the corpus and an oasdiff binary, and skips without them:
//
//	TETHER_CORPUS=../shared/corpus TETHER_OASDIFF=/path/to/oasdiff go test ./cmd/tether -run '^$' -bench DiffStripeAgainstOasdiff -benchtime 3x
//
// Without TETHER_OASDIFF, oasdiff is looked for on the PATH.
func BenchmarkDiffStripeAgainstOasdiff(b *testing.B) {
	corpus := os.Getenv("TETHER_CORPUS")
	if corpus == "" {
		b.Skip("TETHER_CORPUS is not set: point it at the corpus with pairs/stripe-2022-08-01-version-bump")
	}
	pair := filepath.Join(corpus, "pairs", "stripe-2022-08-01-version-bump")
	oldFile, newFile := filepath.Join(pair, "old.yaml"), filepath.Join(pair, "new.yaml")
	for _, f := range []string{oldFile, newFile} {
		if _, err := os.Stat(f); err != nil {
			b.Skipf("the Stripe pair is not in the corpus: %v", err)
		}
	}
	oasdiff := os.Getenv("TETHER_OASDIFF")
	if oasdiff == "" {
		var err error
		if oasdiff, err = exec.LookPath("oasdiff"); err != nil {
			b.Skip("no oasdiff: set TETHER_OASDIFF to its binary or put it on the PATH")
		}
	} else if _, err := os.Stat(oasdiff); err != nil {
		b.Skipf("TETHER_OASDIFF: %v", err)
	}

	tether := filepath.Join(b.TempDir(), "tether")
	build := exec.Command("go", "build", "-o", tether, ".")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build tether: %v\n%s", err, out)
	}

	var tetherTime, oasdiffTime time.Duration
	var tetherRSS, oasdiffRSS int64 // KiB, the most over the iterations
	b.ResetTimer()
	for b.Loop() {
		d, rss := measureDiffRun(b, tether, "diff", oldFile, newFile, "--format", "json")
		tetherTime += d
		tetherRSS = max(tetherRSS, rss)
		d, rss = measureDiffRun(b, oasdiff, "changelog", oldFile, newFile, "--format", "json")
		oasdiffTime += d
		oasdiffRSS = max(oasdiffRSS, rss)
	}
	n := float64(b.N)
	b.ReportMetric(tetherTime.Seconds()/n, "tether-s/op")
	b.ReportMetric(oasdiffTime.Seconds()/n, "oasdiff-s/op")
	b.ReportMetric(tetherTime.Seconds()/oasdiffTime.Seconds(), "time-ratio")
	b.ReportMetric(float64(tetherRSS)/1024, "tether-MB")
	b.ReportMetric(float64(oasdiffRSS)/1024, "oasdiff-MB")
	b.ReportMetric(float64(tetherRSS)/float64(oasdiffRSS), "mem-ratio")
}

// measureDiffRun runs a command with its output discarded and returns its
// wall time and peak resident set size in KiB (Linux's unit for Maxrss).
// Exit status 1 is accepted: both tools may use it to say they found
// breaking changes.
func measureDiffRun(b *testing.B, name string, args ...string) (time.Duration, int64) {
	b.Helper()
	cmd := exec.Command(name, args...)
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		b.Fatalf("%s %v: %v", filepath.Base(name), args, err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Skip("no resource usage for subprocesses on this system")
	}
	return took, ru.Maxrss
}
