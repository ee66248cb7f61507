// Package shellwords splits a command line into words with the rules of the Docker CLI (the
// github.com/google/shlex lexer that `docker stack deploy` uses for a Compose command or
// entrypoint given as a string, and `docker service create --entrypoint`).
//
// The rules: words are separated by spaces, tabs and newlines; "double quotes" group and let
// a backslash escape any character; 'single quotes' group with no escapes; a backslash outside
// quotes makes the next character literal; a '#' that starts a word starts a comment up to the
// end of the line. Nothing else is special: shell operators such as &&, |, ; and > are plain
// words (the program that runs the words, a shell with -c, interprets them), and there is no
// variable or glob expansion.
package shellwords

import (
	"errors"
	"strings"
)

// ErrUnterminated is matched by the error of a line that ends inside quotes or right after a
// backslash.
var ErrUnterminated = errors.New("unterminated quote or escape")

type state int

const (
	start     state = iota // between words
	word                   // in a word, outside quotes
	escape                 // after a backslash outside quotes
	dquote                 // inside "..."
	dquoteEsc              // after a backslash inside "..."
	squote                 // inside '...'
	comment                // after a '#' that started a word, up to a newline
)

// Split returns the words of line. An empty or blank line gives no words (an empty, non-nil
// slice). A line that ends inside quotes or after a backslash is an error matching
// ErrUnterminated.
func Split(line string) ([]string, error) {
	words := []string{}
	var cur strings.Builder
	st := start
	for _, r := range line {
		switch st {
		case start, word:
			switch r {
			case ' ', '\t', '\r', '\n':
				if st == word {
					words = append(words, cur.String())
					cur.Reset()
				}
				st = start
			case '"':
				st = dquote
			case '\'':
				st = squote
			case '\\':
				st = escape
			case '#':
				if st == start { // a '#' inside a word is a character
					st = comment
					continue
				}
				cur.WriteRune(r)
			default:
				cur.WriteRune(r)
				st = word
			}
		case escape:
			cur.WriteRune(r)
			st = word
		case dquote:
			switch r {
			case '"':
				st = word
			case '\\':
				st = dquoteEsc
			default:
				cur.WriteRune(r)
			}
		case dquoteEsc:
			cur.WriteRune(r)
			st = dquote
		case squote:
			if r == '\'' {
				st = word
			} else {
				cur.WriteRune(r)
			}
		case comment:
			if r == '\n' {
				st = start
			}
		}
	}
	switch st {
	case word:
		words = append(words, cur.String())
	case escape, dquote, dquoteEsc, squote:
		return words, ErrUnterminated
	}
	return words, nil
}
