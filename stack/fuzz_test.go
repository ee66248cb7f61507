package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/stack"
)

// FuzzCompose feeds Compose files through Load and Compile. Any input may be refused, but only
// with an error; an accepted stack must marshal to JSON and survive a Compose round trip.
// Each input takes milliseconds, so keep minimisation short:
//
//	go test ./stack -run XXX -fuzz FuzzCompose -fuzztime 60s -fuzzminimizetime 50x
func FuzzCompose(f *testing.F) {
	for _, s := range composeFiles(f, conformanceFiles) {
		b, _ := os.ReadFile(s)
		f.Add(b)
	}
	f.Add([]byte("services:\n  a:\n    image: x:1\n    deploy:\n      mode: global\n      replicas: 2\n"))
	f.Add([]byte("services:\n  a:\n    image: x:1\n    ports: ['1-2:3-4/udp']\n    networks: [n]\nnetworks:\n  n:\n    external: true\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, "stack.yml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		st, err := stack.Load(ctx, "fuzz", file)
		if err != nil {
			return
		}
		spec, err := st.Compile()
		if err != nil {
			if !errors.Is(err, berth.ErrInvalid) {
				t.Fatalf("compile error is not ErrInvalid: %v", err)
			}
			return
		}
		want, err := json.Marshal(spec.Services)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		out, err := st.Compose()
		if err != nil {
			t.Fatalf("a stack that compiles must render: %v", err)
		}
		file2 := filepath.Join(dir, "again.yml")
		os.WriteFile(file2, out, 0o644)
		again, err := stack.Load(ctx, "fuzz", file2)
		if err != nil {
			t.Fatalf("rendered file does not load: %v\n%s", err, out)
		}
		spec2, err := again.Compile()
		if err != nil {
			t.Fatalf("rendered file does not compile: %v\n%s", err, out)
		}
		got, _ := json.Marshal(spec2.Services)
		if !bytes.Equal(want, got) {
			t.Fatalf("round trip changed the services:\n%s\n%s\nrendered:\n%s", want, got, out)
		}
	})
}
