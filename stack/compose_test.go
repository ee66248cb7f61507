package stack_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/stack"
)

// roundTrip renders st as Compose, loads the file again and checks that both compile to the
// same spec.
func roundTrip(t *testing.T, st *stack.Stack) []byte {
	t.Helper()
	want, err := st.Compile()
	if err != nil {
		t.Fatal(err)
	}
	out, err := st.Compose()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "stack.yml")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := stack.Load(context.Background(), st.Name(), file)
	if err != nil {
		t.Fatalf("load rendered file: %v\n%s", err, out)
	}
	got, err := again.Compile()
	if err != nil {
		t.Fatalf("compile rendered file: %v\n%s", err, out)
	}
	want.Warnings, got.Warnings = nil, nil
	if a, b := specJSON(t, want), specJSON(t, got); !bytes.Equal(a, b) {
		t.Errorf("round trip changed the spec:\n%s\nrendered:\n%s", lineDiff(string(a), string(b)), out)
	}
	return out
}

func TestComposeRoundTrip(t *testing.T) {
	t.Setenv("BERTH_CONF_PREFIX", "golden")
	for _, file := range composeFiles(t, conformanceFiles) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			st, err := stack.Load(context.Background(), "demo", file)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, st)
		})
	}
	t.Run("builder", func(t *testing.T) {
		out := roundTrip(t, echoStack())
		golden(t, "builder-echo.compose.yml", out)
	})
	t.Run("builder-shop", func(t *testing.T) { roundTrip(t, shopStack()) })
	t.Run("dollars", func(t *testing.T) {
		t.Setenv("HOME", "/should/not/appear")
		st := stack.New("d")
		st.Secret("s").Data([]byte("pa$$word $HOME"))
		st.Config("c").Data([]byte("${HOME}"))
		st.Service("a").Image("x:1").Env("P", "a$HOME${HOME}$$").Command("sh", "-c", "echo $HOME").
			ContainerLabel("l", "$x").Label("m", "$").Secret("s", "").Config("c", "")
		roundTrip(t, st)
	})
}

func TestComposeRefusesInvalid(t *testing.T) {
	st := stack.New("x")
	st.Service("a").Image("bad image")
	if _, err := st.Compose(); err == nil || !strings.Contains(err.Error(), "stack/x/services/a/image") {
		t.Fatalf("want the validation error, got %v", err)
	}
}
