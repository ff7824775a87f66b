package oci_test

import (
	"strings"
	"testing"

	"github.com/tetherkit/tether/harness/release/oci"
)

func TestParseReference(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   oci.Reference
		local  bool
		err    string
		reason string
	}{
		{in: "oci://registry.example.com/acme/dealnotify:1.2.0", want: oci.Reference{Registry: "registry.example.com", Repository: "acme/dealnotify", Tag: "1.2.0"}, reason: "a tag"},
		{in: "oci://localhost:5000/dealnotify", want: oci.Reference{Registry: "localhost:5000", Repository: "dealnotify"}, local: true, reason: "a whole repository, for --releases"},
		{in: "oci://127.0.0.1:5000/a/b@sha256:" + strings.Repeat("ab", 32), want: oci.Reference{Registry: "127.0.0.1:5000", Repository: "a/b", Digest: "sha256:" + strings.Repeat("ab", 32)}, local: true, reason: "a digest"},
		{in: "oci://[::1]:5000/a:1.0.0@sha256:" + strings.Repeat("ab", 32), want: oci.Reference{Registry: "[::1]:5000", Repository: "a", Tag: "1.0.0", Digest: "sha256:" + strings.Repeat("ab", 32)}, local: true, reason: "a tag and a digest"},
		{in: "registry.example.com/a:1", err: "want oci://", reason: "no scheme"},
		{in: "oci://", err: "no registry", reason: "nothing"},
		{in: "oci://registry.example.com", err: "no repository", reason: "a registry alone"},
		{in: "oci://registry.example.com/Acme:1", err: "reference", reason: "uppercase repository"},
		{in: "oci://registry.example.com/a:bad tag", err: "no spaces", reason: "a space"},
		{in: "oci://registry.example.com/a:" + strings.Repeat("x", 200), err: "reference", reason: "a tag over 128 characters"},
		{in: "oci://registry.example.com/a:!!@sha256:" + strings.Repeat("ab", 32), err: "reference", reason: "a bad tag beside a digest"},
		{in: "oci://registry.example.com/a@sha256:abc", err: "reference", reason: "a short digest"},
		{in: "oci://user:pw@registry.example.com/a:1", err: "reference", reason: "credentials in the reference"},
	} {
		got, err := oci.ParseReference(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseReference(%q) = %+v, %v; want an error saying %q (%s)", tc.in, got, err, tc.err, tc.reason)
			}
			continue
		}
		if err != nil || got != tc.want || got.Local() != tc.local {
			t.Errorf("ParseReference(%q) = %+v (local %v), %v; want %+v (local %v) (%s)", tc.in, got, got.Local(), err, tc.want, tc.local, tc.reason)
			continue
		}
		if got.String() != tc.in {
			t.Errorf("String() = %q, want %q", got.String(), tc.in)
		}
	}
	if r, _ := oci.ParseReference("oci://registry.example.com/a:1"); r.Local() {
		t.Error("a remote registry is taken as local, where plain HTTP is allowed")
	}
}

// The parser never panics, and what it accepts prints back as it reads.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{
		"oci://registry.example.com/acme/dealnotify:1.2.0",
		"oci://localhost:5000/dealnotify",
		"oci://127.0.0.1:5000/a/b@sha256:" + strings.Repeat("ab", 32),
		"oci://[::1]:5000/a:1.0.0@sha256:" + strings.Repeat("ab", 32),
		"oci://a/b:c:d", "oci:///", "oci://a//b", "oci://a/b@", "oci://a/b:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := oci.ParseReference(s)
		if err != nil {
			return
		}
		if r.Registry == "" || r.Repository == "" {
			t.Fatalf("%q parsed to %+v, without a registry or repository", s, r)
		}
		again, err := oci.ParseReference(r.String())
		if err != nil || again != r {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, r, r.String(), again, err)
		}
	})
}
