package berth_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth"
)

func TestConnectNamesTheAddressWhenNoEngineAnswers(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "no-engine.sock")
	t.Setenv("DOCKER_HOST", host)
	_, err := berth.Connect(context.Background())
	if !errors.Is(err, berth.ErrNoEngine) {
		t.Fatalf("want ErrNoEngine, got %v", err)
	}
	var ee *berth.EngineError
	if !errors.As(err, &ee) || ee.Host != host || !strings.Contains(err.Error(), host) {
		t.Fatalf("error should name %s: %v", host, err)
	}
	if strings.Contains(err.Error(), "make ") {
		t.Errorf("a library error should not point at this repository's Makefile: %v", err)
	}
}

func TestConnectRejectsMalformedHost(t *testing.T) {
	t.Setenv("DOCKER_HOST", "nonsense://x")
	if _, err := berth.Connect(context.Background()); err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Fatalf("want an error about the malformed DOCKER_HOST, got %v", err)
	}
}
