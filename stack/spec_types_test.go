package stack_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/berthdev/berth/stack"
)

// The compiled Spec holds berth's own types and Engine API types only, never the client's
// option structs (github.com/moby/moby/client): its JSON must not change with the client.
func TestSpecHoldsAPITypesOnly(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(path string, ty reflect.Type)
	walk = func(path string, ty reflect.Type) {
		if seen[ty] {
			return
		}
		seen[ty] = true
		if pkg := ty.PkgPath(); strings.HasPrefix(pkg, "github.com/moby/moby/client") {
			t.Errorf("%s is %s from the Engine API client, not an API type", path, ty)
		}
		switch ty.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			walk(path+"[]", ty.Elem())
		case reflect.Struct:
			for i := range ty.NumField() {
				if f := ty.Field(i); f.IsExported() {
					walk(path+"."+f.Name, f.Type)
				}
			}
		}
	}
	walk("Spec", reflect.TypeFor[stack.Spec]())
}
