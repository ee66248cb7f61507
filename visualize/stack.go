package visualize

import (
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	swarmapi "github.com/moby/moby/api/types/swarm"

	"github.com/berthdev/berth/stack"
)

// StackPort is the port the visualizer's stack publishes on each manager, in host mode (the
// chapter's `9000:8080`).
const StackPort = 9000

// Stack returns the stack that runs the visualizer image img (a FROM scratch image of
// examples/visualizer) as the chapter runs its visualizer: the service visualizer, global
// on the managers only, the engine socket mounted read-only, its port 8080 published as
// StackPort in host mode. It is examples/visualizer/visualizer.yml in Go (a test holds the
// two equal). It listens with -insecure on its container's addresses: publish StackPort on
// loopback only (the lab does), or add a token with Modify.
func Stack(name, img string) *stack.Stack {
	st := stack.New(name)
	st.Service("visualizer").Image(img).Command("-listen", ":8080", "-insecure").Global().
		Constraint("node.role == manager").StopGracePeriod(2 * time.Second).
		Mount(mount.Mount{Type: mount.TypeBind, Source: "/var/run/docker.sock", Target: "/var/run/docker.sock", ReadOnly: true}).
		PublishPort(swarmapi.PortConfig{Protocol: network.TCP, TargetPort: 8080, PublishedPort: StackPort, PublishMode: swarmapi.PortConfigPublishModeHost})
	return st
}
