package container

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// BuildSpec says what goes into an image built by [Build].
type BuildSpec struct {
	// Main is the Go main package to compile, as `go build` takes it: an
	// import path, or a directory relative to Dir such as "./cmd/tether".
	Main string
	// Dir is the directory `go build` runs in; empty means the current one.
	Dir string
	// Repo is the image repository; the tag is always the content digest.
	// Empty means "tether-" followed by the last element of Main.
	Repo string
	// Port is the TCP port the program listens on inside the container.
	// The image exposes it, and [Run] publishes it and checks health on it.
	Port int
	// Args follow the binary in the image's entrypoint. They must make the
	// program listen on Port.
	Args []string
	// Files maps absolute paths in the image to files on the host to copy
	// there, such as contracts or cassettes the program reads at startup.
	Files map[string]string
	// Binary, when set, is the program already compiled (see [Compile]),
	// so that many images of one program compile it once; Main then only
	// names it in the image.
	Binary string
	// Dockerfile, when set, is a Dockerfile on the host to build with
	// instead of the generated one, such as a connector's own. Its build
	// context holds the binary at ./NAME (NAME being the last element of
	// Main) and Files under ./rootfs/; Port and Args are then its business.
	Dockerfile string
}

// Image is a local image built by [Build].
type Image struct {
	// Ref is "repo:tag", the tag being a digest of the build context.
	Ref string
	// Port is [BuildSpec.Port].
	Port int
	// Cached is true when an image with this content was already present
	// and no build ran.
	Cached bool
}

// Build compiles spec.Main as a static Linux binary (CGO_ENABLED=0,
// -trimpath, -ldflags="-s -w"), puts it with spec.Files into a FROM scratch
// image and tags the image with a digest of that build context. When the
// engine already holds an image with that tag, Build does not build again and
// reports [Image.Cached]. Images are kept after containers end, so that later
// runs can reuse them; nothing removes them.
//
// The binary is compiled for the architecture of the calling process, which
// is the engine's own when the engine is local. The go command inherits this
// process's environment (module cache, proxy, GOFLAGS) apart from CGO_ENABLED,
// GOOS and GOARCH, which Build sets. Transient engine errors are retried
// until ctx ends, so give ctx a deadline.
func Build(ctx context.Context, spec BuildSpec) (Image, error) {
	name, repo, err := spec.names()
	if err != nil {
		return Image{}, fmt.Errorf("build image: %w", err)
	}
	dir, err := os.MkdirTemp("", "tether-image-")
	if err != nil {
		return Image{}, fmt.Errorf("build image of %s: %w", spec.Main, err)
	}
	defer os.RemoveAll(dir)

	digest, err := writeBuildContext(ctx, dir, name, spec)
	if err != nil {
		return Image{}, fmt.Errorf("build image of %s: %w", spec.Main, err)
	}
	img := Image{Ref: repo + ":" + digest[:tagLen], Port: spec.Port}

	provider, err := testcontainers.NewDockerProvider()
	if err != nil {
		return Image{}, fmt.Errorf("build image %s: connect to docker: %w", img.Ref, err)
	}
	defer provider.Close()

	found, err := provider.Client().ImageList(ctx, client.ImageListOptions{
		Filters: make(client.Filters).Add("reference", img.Ref),
	})
	if err != nil {
		return Image{}, fmt.Errorf("build image %s: list images: %w", img.Ref, err)
	}
	if len(found.Items) > 0 {
		img.Cached = true
		return img, nil
	}

	var buildLog tailBuffer
	_, err = provider.BuildImage(ctx, &testcontainers.ContainerRequest{
		FromDockerfile: testcontainers.FromDockerfile{
			Context:        dir,
			Dockerfile:     "Dockerfile",
			Repo:           repo,
			Tag:            digest[:tagLen],
			KeepImage:      true,
			BuildLogWriter: &buildLog,
		},
	})
	if err != nil {
		return Image{}, fmt.Errorf("build image %s: %w\nbuild output ends with:\n%s", img.Ref, err, buildLog.String())
	}
	return img, nil
}

// tagLen is how many hex digits of the context digest make the image tag:
// 64 bits, plenty to tell apart the images one machine builds.
const tagLen = 16

var repoPattern = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$`)

// names returns the binary's name in the image and the image repository.
func (s BuildSpec) names() (name, repo string, err error) {
	if s.Main == "" {
		return "", "", errors.New("no main package given")
	}
	if s.Port < 1 || s.Port > 65535 {
		return "", "", fmt.Errorf("port %d out of range 1-65535", s.Port)
	}
	name = path.Base(filepath.ToSlash(s.Main))
	if name == "." || name == "/" || name == ".." {
		name = "app"
	}
	repo = s.Repo
	if repo == "" {
		repo = "tether-" + strings.ToLower(name)
	}
	if !repoPattern.MatchString(repo) {
		return "", "", fmt.Errorf("repository %q is not a valid image name (lowercase letters, digits, '.', '_', '-', '/')", repo)
	}
	return name, repo, nil
}

// writeBuildContext fills dir with a Dockerfile and a rootfs/ tree holding
// the compiled binary and the extra files, and returns the digest of dir.
func writeBuildContext(ctx context.Context, dir, name string, spec BuildSpec) (string, error) {
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return "", err
	}
	binary := "/" + name
	if spec.Binary != "" {
		if err := copyFile(spec.Binary, filepath.Join(rootfs, name)); err != nil {
			return "", err
		}
		if err := os.Chmod(filepath.Join(rootfs, name), 0o755); err != nil {
			return "", err
		}
	} else if err := compile(ctx, spec, filepath.Join(rootfs, name)); err != nil {
		return "", err
	}
	for _, dst := range slices.Sorted(maps.Keys(spec.Files)) {
		if !path.IsAbs(dst) || path.Clean(dst) != dst || dst == "/" {
			return "", fmt.Errorf("image path %q: want a clean absolute file path", dst)
		}
		if dst == binary {
			return "", fmt.Errorf("image path %q: taken by the binary", dst)
		}
		if err := copyFile(spec.Files[dst], filepath.Join(rootfs, filepath.FromSlash(dst))); err != nil {
			return "", err
		}
	}

	if spec.Dockerfile != "" {
		// The given Dockerfile copies the binary from the context's root.
		if err := os.Rename(filepath.Join(rootfs, name), filepath.Join(dir, name)); err != nil {
			return "", err
		}
		if err := copyFile(spec.Dockerfile, filepath.Join(dir, "Dockerfile")); err != nil {
			return "", err
		}
		return contextDigest(dir)
	}
	entrypoint, err := json.Marshal(append([]string{binary}, spec.Args...))
	if err != nil {
		return "", err
	}
	dockerfile := fmt.Sprintf("FROM scratch\nCOPY rootfs/ /\nEXPOSE %d/tcp\nENTRYPOINT %s\n", spec.Port, entrypoint)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return "", err
	}
	return contextDigest(dir)
}

// Compile builds main (an import path, or a directory relative to dir) as
// the static Linux binary [Build] puts in an image, at out. Give the result
// to [BuildSpec.Binary] or [SandboxSpec.Binary] to build many images of it.
func Compile(ctx context.Context, main, dir, out string) error {
	return compile(ctx, BuildSpec{Main: main, Dir: dir}, out)
}

// compile builds a static Linux binary. -trimpath and -buildvcs=false keep
// the output a function of the source alone, so that unchanged code gives an
// unchanged digest whatever the checkout's path or git state.
func compile(ctx context.Context, spec BuildSpec, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, spec.Main)
	cmd.Dir = spec.Dir
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", spec.Main, err, output)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy file into image: %w", err)
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return fmt.Errorf("copy file into image: %w", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("copy file into image: %s is not a regular file", src)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("copy file into image: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
	if err != nil {
		return fmt.Errorf("copy file into image: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s into image: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy %s into image: %w", src, err)
	}
	// OpenFile applied the umask; the image should get the source's mode.
	return os.Chmod(dst, info.Mode().Perm())
}

// contextDigest hashes every regular file under dir: its slash-separated
// path, permission bits, size and content, in lexical path order.
func contextDigest(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00", filepath.ToSlash(rel), info.Mode().Perm(), info.Size())
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("digest build context: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// tailBuffer keeps the last few kilobytes written to it, enough to show why
// a build failed without holding a whole build log.
type tailBuffer struct{ b []byte }

const tailMax = 4 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = append(t.b[:0], t.b[len(t.b)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
