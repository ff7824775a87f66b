package contracts

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
)

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc >> 20
}

func TestScratchStages(t *testing.T) {
	f := os.Getenv("SCRATCH_FILE")
	if f == "" {
		t.Skip("no SCRATCH_FILE")
	}
	data, _ := os.ReadFile(f)
	t0 := time.Now()
	lap := func(s string) { t.Logf("%-12s %6.2fs heap %d MiB", s, time.Since(t0).Seconds(), heap()); t0 = time.Now() }
	lap("read")
	cfg := documentConfig(options{}); cfg.SkipJSONConversion = os.Getenv("S1") != ""; cfg.SkipMetadataCollection = os.Getenv("S2") != ""
	doc, err := libopenapi.NewDocumentWithConfiguration(data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	lap("newdoc")
	m, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	lap("build")
	c := &Contract{file: f, doc: doc, model: &m.Model}
	if err := c.index(); err != nil {
		t.Fatal(err)
	}
	lap("index")
	c.schemas = &lazySchemaCache{}
	c.schemas.constructing.Store(true)
	v := validator.NewValidatorFromV3Model(c.model, config.WithSchemaCache(c.schemas))
	lap("validator")
	_ = v
	runtime.KeepAlive(doc)
	runtime.KeepAlive(c)
}
