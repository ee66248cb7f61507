package shellwords_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/berthdev/berth/internal/shellwords"
)

// The expectations are what github.com/google/shlex (the Docker CLI's splitter) returns.
func TestSplit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`echo "hello world" && sleep 3600`, []string{"echo", "hello world", "&&", "sleep", "3600"}},
		{`a|b ; c > /dev/null 2>&1`, []string{"a|b", ";", "c", ">", "/dev/null", "2>&1"}},
		{``, []string{}},
		{"  \t\n ", []string{}},
		{`'single $x \n' "dq \" \\ \n" plain\ space`, []string{`single $x \n`, `dq " \ n`, "plain space"}},
		{`a"b"'c'd`, []string{"abcd"}},
		{`"" x`, []string{"", "x"}},
		{"a # comment\nb", []string{"a", "b"}},
		{`a#b`, []string{"a#b"}},
		{`$HOME ${X:-y} *.go`, []string{"$HOME", "${X:-y}", "*.go"}},
	} {
		got, err := shellwords.Split(c.in)
		if err != nil || !slices.Equal(got, c.want) || got == nil {
			t.Errorf("Split(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestSplitUnterminated(t *testing.T) {
	for _, in := range []string{`"abc`, `'abc`, `abc\`, `"a\`} {
		if _, err := shellwords.Split(in); !errors.Is(err, shellwords.ErrUnterminated) {
			t.Errorf("Split(%q) error = %v; want ErrUnterminated", in, err)
		}
	}
}

func FuzzSplit(f *testing.F) {
	f.Add(`echo "hello world" && sleep 1`)
	f.Add(`'a' "b\"" c\ d #e`)
	f.Fuzz(func(t *testing.T, s string) {
		words, err := shellwords.Split(s)
		if err == nil && words == nil {
			t.Fatal("nil words without error")
		}
	})
}

func ExampleSplit() {
	words, _ := shellwords.Split(`echo "hello world" && sleep 3600`)
	fmt.Printf("%q\n", words)
	// Output: ["echo" "hello world" "&&" "sleep" "3600"]
}
