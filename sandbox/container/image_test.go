package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildContextDigest checks that the image tag follows the content of the
// build context and nothing else, which is what makes the image cache sound.
// It needs the go command but no Docker engine.
func TestBuildContextDigest(t *testing.T) {
	files := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := BuildSpec{
		Main:  "./testdata/hello",
		Port:  8080,
		Args:  []string{"-addr=:8080"},
		Files: map[string]string{"/etc/hello/greeting.txt": write("a.txt", "hi\n")},
	}
	digest := func(spec BuildSpec) string {
		t.Helper()
		name, _, err := spec.names()
		if err != nil {
			t.Fatal(err)
		}
		d, err := writeBuildContext(t.Context(), t.TempDir(), name, spec)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	want := digest(base)

	same := base
	same.Files = map[string]string{"/etc/hello/greeting.txt": write("b.txt", "hi\n")}
	if got := digest(same); got != want {
		t.Errorf("same binary and file content from another host path: digest %s, want %s", got, want)
	}

	for _, tc := range []struct {
		reason string
		change func(*BuildSpec)
	}{
		{"file content differs", func(s *BuildSpec) {
			s.Files = map[string]string{"/etc/hello/greeting.txt": write("c.txt", "ho\n")}
		}},
		{"file lands elsewhere in the image", func(s *BuildSpec) {
			s.Files = map[string]string{"/greeting.txt": base.Files["/etc/hello/greeting.txt"]}
		}},
		{"entrypoint arguments differ", func(s *BuildSpec) { s.Args = []string{"-addr=:9090"} }},
		{"exposed port differs", func(s *BuildSpec) { s.Port = 9090 }},
	} {
		spec := base
		tc.change(&spec)
		if got := digest(spec); got == want {
			t.Errorf("%s: digest unchanged (%s)", tc.reason, got)
		}
	}
}

func TestBuildSpecNames(t *testing.T) {
	for _, tc := range []struct {
		reason   string
		spec     BuildSpec
		wantName string
		wantRepo string
		wantErr  string
	}{
		{
			reason:   "the repository defaults to the package's last path element",
			spec:     BuildSpec{Main: "github.com/tetherkit/tether/cmd/tether", Port: 8080},
			wantName: "tether", wantRepo: "tether-tether",
		},
		{
			reason:   "a directory works like an import path",
			spec:     BuildSpec{Main: "./testdata/hello", Repo: "tether/sandbox", Port: 1},
			wantName: "hello", wantRepo: "tether/sandbox",
		},
		{
			reason:   "the current directory has no name of its own",
			spec:     BuildSpec{Main: ".", Port: 65535},
			wantName: "app", wantRepo: "tether-app",
		},
		{reason: "a main package is required", spec: BuildSpec{Port: 8080}, wantErr: "no main package"},
		{reason: "a port is required", spec: BuildSpec{Main: "."}, wantErr: "port 0 out of range"},
		{reason: "ports stop at 65535", spec: BuildSpec{Main: ".", Port: 65536}, wantErr: "out of range"},
		{reason: "docker rejects upper case", spec: BuildSpec{Main: ".", Repo: "Tether", Port: 80}, wantErr: "not a valid image name"},
		{reason: "the tag is not the caller's to choose", spec: BuildSpec{Main: ".", Repo: "tether:v1", Port: 80}, wantErr: "not a valid image name"},
	} {
		name, repo, err := tc.spec.names()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", tc.reason, err, tc.wantErr)
			}
			continue
		}
		if err != nil || name != tc.wantName || repo != tc.wantRepo {
			t.Errorf("%s: got (%q, %q, %v), want (%q, %q, nil)", tc.reason, name, repo, err, tc.wantName, tc.wantRepo)
		}
	}
}
