package berth_test

import (
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/berthdev/berth"
)

// Builders collect every problem and report them together, sorted by path.
func ExampleProblems() {
	var p berth.Problems
	p.Add("stack/echo/services/api/deploy/replicas", "%d is negative (want 0 or more)", -1)
	p.Add("stack/echo/services/api/image", "%q is not a valid image reference", "Echo")
	err := p.Err()
	fmt.Println(err)
	fmt.Println(errors.Is(err, berth.ErrInvalid), cerrdefs.IsInvalidArgument(err))
	for _, ve := range berth.ValidationErrors(err) {
		fmt.Println("field:", ve.Path)
	}
	// Output:
	// stack/echo/services/api/deploy/replicas: -1 is negative (want 0 or more)
	// stack/echo/services/api/image: "Echo" is not a valid image reference
	// true true
	// field: stack/echo/services/api/deploy/replicas
	// field: stack/echo/services/api/image
}
