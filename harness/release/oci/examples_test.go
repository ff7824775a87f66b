package oci_test

import (
	"fmt"

	"github.com/tetherkit/tether/harness/release/oci"
)

func ExampleParseReference() {
	ref, err := oci.ParseReference("oci://localhost:5000/acme/dealnotify:1.1.0")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ref.Registry, ref.Repository, ref.Tag, ref.Local())
	// Output: localhost:5000 acme/dealnotify 1.1.0 true
}
