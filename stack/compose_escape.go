package stack

import (
	"reflect"
	"strings"
)

// escapeDollars doubles every '$' in the strings reachable from v (map values included, map
// keys not), so that the interpolation of a Compose loader gives the original strings back.
func escapeDollars(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() && strings.Contains(v.String(), "$") {
			v.SetString(strings.ReplaceAll(v.String(), "$", "$$"))
		}
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		if v.Kind() == reflect.Interface {
			inner := reflect.New(v.Elem().Type()).Elem()
			inner.Set(v.Elem())
			escapeDollars(inner)
			if v.CanSet() {
				v.Set(inner)
			}
			return
		}
		escapeDollars(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				escapeDollars(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			escapeDollars(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(v.MapIndex(k))
			if elem.Kind() == reflect.Pointer && !elem.IsNil() {
				cp := reflect.New(elem.Type().Elem())
				cp.Elem().Set(elem.Elem())
				elem = cp
			}
			escapeDollars(elem)
			v.SetMapIndex(k, elem)
		}
	}
}
