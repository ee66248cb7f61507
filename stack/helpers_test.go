package stack_test

import (
	"github.com/moby/moby/api/types/mount"
	swarmapi "github.com/moby/moby/api/types/swarm"
)

func mountAt(target string) mount.Mount {
	return mount.Mount{Type: mount.TypeVolume, Target: target}
}

type swarmService = swarmapi.Service
