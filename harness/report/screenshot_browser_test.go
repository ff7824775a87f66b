package report

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

var updateScreenshot = flag.Bool("update", false, "rewrite testdata/report.golden.png with Chromium's screenshot of the page")

// Screenshot settings: a fixed window and font, so that two machines with
// the same browser and fonts draw the same pixels.
const (
	shotWidth  = 1100
	shotHeight = 2100
	// fixedFont replaces the page's fonts in the screenshot only: the
	// page's system-ui differs from machine to machine.
	fixedFont = `<style>*{font-family:"DejaVu Sans",sans-serif!important}code,pre,code *{font-family:"DejaVu Sans Mono",monospace!important}</style></head>`
	// A pixel differs when a channel differs by more than pixelSlack of
	// 255; the screenshot matches when at most maxDiffer of its pixels do
	// (anti-aliasing and font versions move a few).
	pixelSlack = 48
	maxDiffer  = 0.01
)

// picturedReport is the sample report with what the page draws: coverage
// with a vendor below the bands, metrics, timelines with retries, a
// Retry-After wait and a dead letter, a failing negative case, and a
// compatibility matrix with a failing cell.
func picturedReport() *Report {
	r := sampleReport()
	r.Coverage = coveredReport().Coverage
	r.Metrics = MetricsSummary{Deliveries: 12, Handled: 9, Failed: 3, Duplicates: 1, Retries: 4, SuccessRate: 0.75, Errors: map[string]int64{"permanent": 1, "retryable": 2}}
	r.Timings.LatencyP50, r.Timings.LatencyP95, r.Timings.LagMean = 12*time.Millisecond, 48*time.Millisecond, 3*time.Millisecond
	r.Scenarios[0].Timeline = []Step{
		{Kind: StepDelivery, Label: "deal.updated", Attempt: 1, Status: 200, Result: "handled"},
		{Kind: StepCall, Label: "crm getDeal", Attempt: 1, Status: 200},
		{Kind: StepCall, Label: "chat postMessage", Attempt: 1, Status: 429},
		{Kind: StepWait, Label: "chat postMessage", Result: "1"},
		{Kind: StepCall, Label: "chat postMessage", Attempt: 2, Status: 200},
	}
	r.Cases = []CaseReport{
		{Suite: SuiteNegative, Name: "error-status/postMessage/503", Status: StatusFail, Timeline: []Step{
			{Kind: StepDelivery, Label: "deal.updated", Attempt: 1, Status: 202, Result: "dead-lettered"},
			{Kind: StepCall, Label: "chat postMessage", Attempt: 1, Status: 503},
			{Kind: StepCall, Label: "chat postMessage", Attempt: 2, Status: 503},
			{Kind: StepCall, Label: "chat postMessage", Attempt: 3, Status: 503},
			{Kind: StepDeadLetter, Label: "evt_1", Attempt: 3, Result: "retryable"},
		}},
		{Suite: SuiteNegative, Name: "transport/getDeal/reset", Status: StatusPass, Timeline: []Step{
			{Kind: StepDelivery, Label: "deal.updated", Attempt: 1, Status: 200, Result: "handled"},
			{Kind: StepCall, Label: "crm getDeal", Attempt: 1, Result: "reset"},
			{Kind: StepCall, Label: "crm getDeal", Attempt: 2, Status: 200},
		}},
	}
	r.Releases = []ReleaseRow{
		{Release: "1.3.0", Version: "1.3.0", Contract: StatusPass, Config: StatusPass, Manifest: StatusPass, Replay: StatusPass, Semver: StatusPass},
		{Release: "1.2.0", Version: "1.2.0", Contract: StatusPass, Config: StatusFail, Manifest: StatusPass, Replay: StatusPass, Semver: StatusPass},
	}
	return r
}

// TestRenderScreenshot draws the page in headless Chromium and compares
// the screenshot with testdata/report.golden.png, pixel by pixel within a
// tolerance; -update rewrites the golden image.
func TestRenderScreenshot(t *testing.T) {
	bin := browser(t)
	var page bytes.Buffer
	if err := picturedReport().HTML(&page); err != nil {
		t.Fatal(err)
	}
	// The sections as the browser built them: each chart's section, a
	// timeline per run, and the failing case marked as such.
	dom, err := html.Parse(bytes.NewReader(dumpDOM(t, bin, page.Bytes())))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"metrics", "coverage", "timelines", "releases"} {
		if byID(dom, id) == nil {
			t.Errorf("the browser's page has no #%s", id)
		}
	}
	runs := findAll(dom, func(n *html.Node) bool { return hasClass(n, "run") })
	if len(runs) != 3 || attr(runs[1], "data-status") != StatusFail || !strings.Contains(text(runs[1]), "dead letter evt_1") {
		t.Errorf("the browser's page shows %d runs; want 3, the second failing with its dead letter", len(runs))
	}
	got := screenshot(t, bin, strings.Replace(page.String(), "</head>", fixedFont, 1))
	golden := filepath.Join("testdata", "report.golden.png")
	if *updateScreenshot {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./harness/report -run Screenshot -update to write it)", err)
	}
	if msg := comparePNG(want, got); msg != "" {
		out := filepath.Join(t.TempDir(), "report.png")
		os.WriteFile(out, got, 0o644)
		t.Errorf("the screenshot differs from %s: %s; it is kept in %s (run with -update if the change is meant)", golden, msg, out)
	}
}

// screenshot loads page in headless Chromium at a fixed window size and
// returns the PNG it takes.
func screenshot(t *testing.T, bin, page string) []byte {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--hide-scrollbars", "--force-device-scale-factor=1",
		"--font-render-hinting=none", "--disable-lcd-text", "--default-background-color=ffffffff",
		fmt.Sprintf("--window-size=%d,%d", shotWidth, shotHeight), "--screenshot="+shot, "file://"+file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s --screenshot: %v\n%s", bin, err, stderr.Bytes())
	}
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v\n%s", err, stderr.Bytes())
	}
	return data
}

// comparePNG says how two PNG images differ beyond the tolerance, or ""
// when they match: another size, or more than maxDiffer of the pixels off
// by more than pixelSlack in a channel.
func comparePNG(want, got []byte) string {
	a, err := png.Decode(bytes.NewReader(want))
	if err != nil {
		return "the golden image does not decode: " + err.Error()
	}
	b, err := png.Decode(bytes.NewReader(got))
	if err != nil {
		return "the screenshot does not decode: " + err.Error()
	}
	if a.Bounds().Size() != b.Bounds().Size() {
		return fmt.Sprintf("size %v, want %v", b.Bounds().Size(), a.Bounds().Size())
	}
	n := differing(a, b)
	total := a.Bounds().Dx() * a.Bounds().Dy()
	if float64(n) > maxDiffer*float64(total) {
		return fmt.Sprintf("%d of %d pixels differ (%.2f%%, at most %.2f%% may)", n, total, 100*float64(n)/float64(total), 100*maxDiffer)
	}
	return ""
}

// differing counts the pixels of a and b (the same size) that differ by
// more than pixelSlack in a channel.
func differing(a, b image.Image) int {
	n := 0
	ab, bb := a.Bounds(), b.Bounds()
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			if off(r1, r2) || off(g1, g2) || off(b1, b2) {
				n++
			}
		}
	}
	return n
}

func off(x, y uint32) bool {
	d := int(x>>8) - int(y>>8)
	return d > pixelSlack || d < -pixelSlack
}

// The comparison itself: the same image matches, a changed block of
// pixels beyond the tolerance does not, and a different size does not.
func TestComparePNG(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	enc := func(m image.Image) []byte {
		var b bytes.Buffer
		png.Encode(&b, m)
		return b.Bytes()
	}
	base := enc(img)
	if msg := comparePNG(base, base); msg != "" {
		t.Errorf("an image differs from itself: %s", msg)
	}
	few := image.NewRGBA(img.Bounds())
	copy(few.Pix, img.Pix)
	few.Pix[0] = 0 // one pixel of 10000: within 1%
	if msg := comparePNG(base, enc(few)); msg != "" {
		t.Errorf("one pixel off fails the comparison: %s", msg)
	}
	many := image.NewRGBA(img.Bounds())
	copy(many.Pix, img.Pix)
	for y := 0; y < 20; y++ {
		for x := 0; x < 20; x++ {
			many.Pix[y*many.Stride+x*4] = 0 // 400 of 10000 pixels: 4%
		}
	}
	if msg := comparePNG(base, enc(many)); !strings.Contains(msg, "400 of 10000 pixels differ") {
		t.Errorf("a 20x20 block changed: %q", msg)
	}
	if msg := comparePNG(base, enc(image.NewRGBA(image.Rect(0, 0, 50, 100)))); !strings.Contains(msg, "size") {
		t.Errorf("another size: %q", msg)
	}
}
