package streamlines

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/pkg/stdcopy"
)

func TestSplit(t *testing.T) {
	var mux bytes.Buffer
	frame := func(stream stdcopy.StdType, s string) {
		mux.Write([]byte{byte(stream), 0, 0, 0, 0, 0, 0, byte(len(s))})
		mux.WriteString(s)
	}
	frame(stdcopy.Stdout, "one\ntw")
	frame(stdcopy.Stderr, "err\n")
	frame(stdcopy.Stdout, "o\nlast")
	var got []string
	err := Split(&mux, false, func(stderr bool, line string) error {
		got = append(got, map[bool]string{false: "out:", true: "err:"}[stderr]+line)
		return nil
	})
	if want := []string{"out:one", "err:err", "out:two", "out:last"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q %v, want %q", got, err, want)
	}
	got = nil
	Split(strings.NewReader("a\r\nb\r\n"), true, func(stderr bool, line string) error {
		got = append(got, line)
		return nil
	})
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("tty: %q", got)
	}
	stop := errors.New("stop")
	if err := Split(strings.NewReader("a\nb\n"), true, func(bool, string) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("emit's error: %v", err)
	}
}
