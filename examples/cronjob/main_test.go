package main

import (
	"testing"
	"time"

	"github.com/berthdev/berth/internal/fixtures"
	"github.com/berthdev/berth/internal/testenv"
)

func TestCronjobExample(t *testing.T) {
	cli := testenv.Engine(t)
	testenv.Image(t, cli, fixtures.Busybox)
	if err := run(testenv.Context(t, 2*time.Minute), 5*time.Second); err != nil {
		t.Fatal(err)
	}
}
