package stack_test

import "github.com/moby/moby/api/types/mount"

func mountAt(target string) mount.Mount {
	return mount.Mount{Type: mount.TypeVolume, Target: target}
}
