package berth

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	cerrdefs "github.com/containerd/errdefs"
)

// ErrInvalid is matched (errors.Is) by every error that reports invalid input: a
// *ValidationError, or several of them joined. It wraps cerrdefs.ErrInvalidArgument, so
// cerrdefs.IsInvalidArgument is true for the same errors.
var ErrInvalid = fmt.Errorf("berth: invalid input: %w", cerrdefs.ErrInvalidArgument)

// ValidationError is one problem in user input: the path of the field (slash separated, as in
// "stack/echo/services/api/deploy/replicas", a list element's index in brackets, as in
// "services/api/ports[0]") and what is wrong with it, including the accepted forms where that
// helps.
type ValidationError struct {
	Path string
	Msg  string
}

func (e *ValidationError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Unwrap makes every ValidationError match ErrInvalid (and so cerrdefs.ErrInvalidArgument).
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Invalid returns a *ValidationError for path with a formatted message.
func Invalid(path, format string, args ...any) *ValidationError {
	return &ValidationError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Problems collects validation problems so that a builder can report all of them at once. The
// zero value is ready to use.
type Problems struct {
	list []*ValidationError
}

// Add records a problem at path.
func (p *Problems) Add(path, format string, args ...any) {
	p.list = append(p.list, Invalid(path, format, args...))
}

// AddErr records err: a *ValidationError or joined ones keep their own paths; any other error
// is recorded at path.
func (p *Problems) AddErr(path string, err error) {
	if err == nil {
		return
	}
	for _, ve := range ValidationErrors(err) {
		p.list = append(p.list, ve)
	}
	if len(ValidationErrors(err)) == 0 {
		p.list = append(p.list, &ValidationError{Path: path, Msg: err.Error()})
	}
}

// Len reports how many problems were recorded.
func (p *Problems) Len() int { return len(p.list) }

// Err returns nil when nothing was recorded, otherwise every problem sorted by path then
// message and joined with errors.Join.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	list := slices.Clone(p.list)
	slices.SortStableFunc(list, func(a, b *ValidationError) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Msg, b.Msg))
	})
	list = slices.CompactFunc(list, func(a, b *ValidationError) bool { return *a == *b })
	errs := make([]error, len(list))
	for i, e := range list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// ValidationErrors returns every *ValidationError inside err, walking joined and wrapped
// errors, in order.
func ValidationErrors(err error) []*ValidationError {
	var out []*ValidationError
	var walk func(error)
	walk = func(e error) {
		switch x := e.(type) {
		case nil:
		case *ValidationError:
			out = append(out, x)
		case interface{ Unwrap() []error }:
			for _, inner := range x.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}
