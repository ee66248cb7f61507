package visualize_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/visualize"
)

// TestStackMatchesFile: visualize.Stack and examples/visualizer/visualizer.yml compile to the
// same spec.
func TestStackMatchesFile(t *testing.T) {
	const img = "registry:5000/berth/visualizer:test"
	t.Setenv("VISUALIZER_IMAGE", img)
	st, err := stack.Load(context.Background(), "viz", "../examples/visualizer/visualizer.yml")
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	fromGo, err := visualize.Stack("viz", img).Compile()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(fromFile, fromGo); d != "" {
		t.Errorf("visualizer.yml and visualize.Stack differ (-file +Go):\n%s", d)
	}
}
