package swarm_test

import (
	"fmt"

	swarmapi "github.com/moby/moby/api/types/swarm"

	"github.com/berthdev/berth/swarm"
)

func ExampleModeOf() {
	fmt.Println(swarm.ModeOf(swarmapi.ServiceMode{}))
	fmt.Println(swarm.ModeOf(swarmapi.ServiceMode{Global: &swarmapi.GlobalService{}}))
	fmt.Println(swarm.ModeOf(swarmapi.ServiceMode{ReplicatedJob: &swarmapi.ReplicatedJob{}}))
	// Output:
	// replicated
	// global
	// replicated-job
}
