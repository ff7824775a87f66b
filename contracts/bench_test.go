package contracts

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
)

// BenchmarkLoad measures how long each corpus contract takes to become
// ready to validate: parse, model, index, validator.
//
//	TETHER_CORPUS=../shared/corpus go test ./contracts -run '^$' -bench Load -benchmem
func BenchmarkLoad(b *testing.B) {
	dir := corpusDir(b)
	for _, s := range corpusSpecs {
		data, err := os.ReadFile(filepath.Join(dir, "specs", s.file))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s.file, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse(s.file, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// stripeExchange is a request and its response on Stripe's contract, with
// the response body rebuilt for every call.
func stripeExchange() (*http.Request, func() *http.Response) {
	req, _ := http.NewRequest("GET", "https://api.stripe.com/v1/customers/cus_123", nil)
	req.Header.Set("Authorization", "Bearer sk_test_x")
	body := []byte(`{"id":"cus_123","object":"customer","created":1690000000,"livemode":false,"email":null,"balance":0,"default_source":null,"delinquent":false,"description":null,"discount":null,"invoice_prefix":"ABC123","invoice_settings":{"custom_fields":null,"default_payment_method":null,"footer":null,"rendering_options":null},"metadata":{},"name":null,"phone":null,"preferred_locales":[],"shipping":null,"tax_exempt":"none","test_clock":null,"address":null,"currency":null}`)
	return req, func() *http.Response {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(body)), Request: req}
	}
}

// BenchmarkStripeValidation measures the first validation of an operation
// (which compiles its schemas) and the later ones (cached).
func BenchmarkStripeValidation(b *testing.B) {
	dir := corpusDir(b)
	data, err := os.ReadFile(filepath.Join(dir, "specs", "stripe-spec3-2023-08-16.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			c, err := Parse("stripe.yaml", data)
			if err != nil {
				b.Fatal(err)
			}
			req, resp := stripeExchange()
			b.StartTimer()
			if _, ps := c.ValidateExchange(req, resp()); len(ps) > 0 {
				b.Fatal(ps)
			}
		}
	})
	b.Run("later", func(b *testing.B) {
		c, err := Parse("stripe.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		req, resp := stripeExchange()
		c.ValidateExchange(req, resp())
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, ps := c.ValidateExchange(req, resp()); len(ps) > 0 {
				b.Fatal(ps)
			}
		}
	})
}

// BenchmarkOverhead validates one request and its response through tether
// and through the raw validator (ValidateHttpRequestSync then
// ValidateHttpResponse, its fastest pairing) on the same model, and reports
// tether's time as a ratio of the raw time.
//
//	go test ./contracts -run '^$' -bench Overhead -count 5
func BenchmarkOverhead(b *testing.B) {
	c := mustLoad(b, filepath.Join("testdata", "petstore.yaml"))
	data, err := os.ReadFile(filepath.Join("testdata", "petstore.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	o := options{baseDir: "testdata"}
	refs, err := collectRefs("petstore.yaml", data, o)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := documentConfig(o, refs, "petstore.yaml")
	if err != nil {
		b.Fatal(err)
	}
	doc, err := libopenapi.NewDocumentWithConfiguration(data, cfg)
	if err != nil {
		b.Fatal(err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		b.Fatal(err)
	}
	raw := validator.NewValidatorFromV3Model(&m.Model, config.WithFormatAssertions(), config.WithURLEncodedBodyValidation())
	const reqBody = `{"name":"Rex","kind":"dog","born":"2020-01-02","owner_email":"a@example.com"}`
	const respBody = `{"id":"pet_1","name":"Rex","kind":"dog"}`
	newPair := func() (*http.Request, *http.Response) {
		req, _ := http.NewRequest("POST", "/pets", bytes.NewReader([]byte(reqBody)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer t")
		resp := &http.Response{StatusCode: 201, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader([]byte(respBody)))}
		return req, resp
	}
	// Interleave the two so that both see the same machine state; time each
	// side separately and report the ratio.
	var rawTime, tetherTime time.Duration
	b.ReportAllocs()
	runRaw := func() {
		req, resp := newPair()
		t0 := time.Now()
		ok1, e1 := raw.ValidateHttpRequestSync(req)
		ok2, e2 := raw.ValidateHttpResponse(req, resp)
		rawTime += time.Since(t0)
		if !ok1 || !ok2 {
			b.Fatal("raw validator rejected a valid exchange", e1, e2)
		}
	}
	runTether := func() {
		req, resp := newPair()
		t0 := time.Now()
		_, ps := c.ValidateExchange(req, resp)
		tetherTime += time.Since(t0)
		if len(ps) > 0 {
			b.Fatal(ps)
		}
	}
	// Alternate which goes first, so neither always runs on a warmer cache.
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			runRaw()
			runTether()
		} else {
			runTether()
			runRaw()
		}
	}
	b.ReportMetric(float64(rawTime.Nanoseconds())/float64(b.N), "raw-ns/op")
	b.ReportMetric(float64(tetherTime.Nanoseconds())/float64(b.N), "tether-ns/op")
	b.ReportMetric(float64(tetherTime)/float64(rawTime), "tether/raw")
}
