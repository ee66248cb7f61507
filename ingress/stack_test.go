package ingress_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berthdev/berth/ingress"
	"github.com/berthdev/berth/stack"
)

// The Compose file and the Go stack are the same stack.
func TestStackFile(t *testing.T) {
	t.Setenv("INGRESS_IMAGE", "registry:5000/berth/ingress:1")
	t.Setenv("INGRESS_NETWORK", "web")
	t.Setenv("INGRESS_PORT", "8000")
	t.Setenv("INGRESS_ADMIN_PORT", "8001")
	f := filepath.Join(t.TempDir(), "stack.yml")
	if err := os.WriteFile(f, ingress.StackFile, 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := stack.Load(context.Background(), "ingress", f)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := loaded.Compile()
	if err != nil {
		t.Fatal(err)
	}
	fromGo, err := ingress.Stack(ingress.StackOptions{Image: "registry:5000/berth/ingress:1", Network: "web", Port: 8000, AdminPort: 8001}).Compile()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(fromGo, fromFile); d != "" {
		t.Errorf("stack.yml and Stack differ (-Go +file):\n%s", d)
	}
}
