package ingress

import (
	"cmp"
	_ "embed"
	"time"

	"github.com/moby/moby/api/types/mount"
	swarmapi "github.com/moby/moby/api/types/swarm"

	"github.com/berthdev/berth/stack"
)

// StackFile is the Compose file of the ingress stack (ingress/stack.yml), for `docker stack
// deploy` or stack.Load: INGRESS_IMAGE, INGRESS_NETWORK and INGRESS_PORT choose the image, the
// shared network and the published port. Stack builds the same stack in Go.
//
//go:embed stack.yml
var StackFile []byte

// StackOptions configures Stack.
type StackOptions struct {
	// Name is the stack's name; empty means "ingress". Its one service is NAME_proxy.
	Name string
	// Image is the ingress image (the program ingress/cmd/ingress FROM scratch), required.
	Image string
	// Network is the attachable overlay network shared with the backends; it must exist
	// (external to the stack).
	Network string
	// Port is the port published in host mode on every manager; 0 means 80.
	Port uint16
	// AdminPort is the stats page and /metrics port, also published in host mode; 0 means 8081.
	AdminPort uint16
}

// Stack is the ingress as a stack: one global service on the managers (it reads the engine
// through the manager's socket) with host-mode ports, so it works without the routing mesh,
// attached to the shared network to reach the tasks at their addresses. Updates stop the old
// task first: two tasks cannot hold one host port on a node.
func Stack(o StackOptions) *stack.Stack {
	name := cmp.Or(o.Name, "ingress")
	port, admin := cmp.Or(o.Port, 80), cmp.Or(o.AdminPort, 8081)
	st := stack.New(name)
	st.Network("shared").Named(o.Network).External()
	st.Service("proxy").Image(o.Image).Global().Constraint("node.role == manager").
		Command("-network", o.Network, "-addr", ":80", "-admin", ":8081").
		Network("shared").EndpointMode("dnsrr").
		PublishPort(swarmapi.PortConfig{TargetPort: 80, PublishedPort: uint32(port), PublishMode: swarmapi.PortConfigPublishModeHost}).
		PublishPort(swarmapi.PortConfig{TargetPort: 8081, PublishedPort: uint32(admin), PublishMode: swarmapi.PortConfigPublishModeHost}).
		Mount(mount.Mount{Type: mount.TypeBind, Source: "/var/run/docker.sock", Target: "/var/run/docker.sock"}).
		StopGracePeriod(15 * time.Second).
		UpdateConfig(swarmapi.UpdateConfig{Parallelism: 1, Order: swarmapi.UpdateOrderStopFirst})
	return st
}
