package examples_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every example builds when copied out of the repository into a module of its own (with a
// replace directive to this checkout, since berth is not published from here): it imports no
// internal package and nothing else only this module can see.
func TestExamplesBuildInAModuleOfTheirOwn(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var built int
	for _, e := range entries {
		files := programFiles(t, e)
		if len(files) == 0 {
			continue
		}
		built++
		t.Run(e.Name(), func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			mod := "module example.com/copied/" + e.Name() + "\n\ngo 1.26\n\n" +
				"require github.com/berthdev/berth v0.0.0\n\nreplace github.com/berthdev/berth => " + root + "\n"
			if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
				t.Fatal(err)
			}
			goCmd(t, dir, "mod", "tidy")
			goCmd(t, dir, "build", "-o", os.DevNull, ".")
		})
	}
	if built < 5 {
		t.Fatalf("found %d example programs below examples/; want every one (at least 5)", built)
	}
}

// programFiles returns the non-test Go files of e when it is a directory holding a main
// package.
func programFiles(t *testing.T, e os.DirEntry) []string {
	if !e.IsDir() {
		return nil
	}
	files, err := filepath.Glob(filepath.Join(e.Name(), "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte("\npackage main\n")) && !bytes.HasPrefix(data, []byte("package main\n")) {
			return nil
		}
		out = append(out, f)
	}
	return out
}

func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in a copy of the example: %v\n%s", strings.Join(args, " "), err, out)
	}
}
