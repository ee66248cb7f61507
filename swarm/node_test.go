package swarm_test

import (
	"fmt"
	"testing"

	swarmtypes "github.com/moby/moby/api/types/swarm"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
)

func TestNodeFromAPI(t *testing.T) {
	api := swarmtypes.Node{
		ID: "abc",
		Spec: swarmtypes.NodeSpec{
			Annotations:  swarmtypes.Annotations{Labels: map[string]string{"zone": "a"}},
			Role:         swarmtypes.NodeRoleManager,
			Availability: swarmtypes.NodeAvailabilityDrain,
		},
		Description: swarmtypes.NodeDescription{
			Hostname: "m1",
			Platform: swarmtypes.Platform{OS: "linux", Architecture: "x86_64"},
			Engine:   swarmtypes.EngineDescription{EngineVersion: "20.10.24", Labels: map[string]string{"ssd": "yes"}},
		},
		Status:        swarmtypes.NodeStatus{State: swarmtypes.NodeStateReady, Addr: "10.0.0.2"},
		ManagerStatus: &swarmtypes.ManagerStatus{Reachability: swarmtypes.ReachabilityUnreachable},
	}
	n := swarm.NodeFromAPI(api)
	got := fmt.Sprintf("%s %s %s %s %s %s %s %s %v %v", n.ID, n.Hostname, n.Role, n.Availability, n.Status, n.Addr,
		n.ManagerStatus, n.Platform, n.Labels, n.EngineLabels)
	want := "abc m1 manager drain ready 10.0.0.2 Unreachable linux/x86_64 map[zone:a] map[ssd:yes]"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	api.ManagerStatus = &swarmtypes.ManagerStatus{Leader: true, Reachability: swarmtypes.ReachabilityReachable}
	if s := swarm.NodeFromAPI(api).ManagerStatus; s != "Leader" {
		t.Errorf("leader: %q", s)
	}
	api.ManagerStatus = nil
	if s := swarm.NodeFromAPI(api).ManagerStatus; s != "" {
		t.Errorf("worker: %q", s)
	}
	n.Labels["zone"] = "b"
	if api.Spec.Labels["zone"] != "a" {
		t.Errorf("NodeFromAPI shares the labels map")
	}
}

func TestNodeUpdateValidate(t *testing.T) {
	if err := (swarm.NodeUpdate{Role: swarm.RoleManager, Availability: swarm.AvailabilityPause,
		AddLabels: map[string]string{"zone": "a", "com.example.rack": ""}, RemoveLabels: []string{"old"}}).Validate(); err != nil {
		t.Errorf("valid: %v", err)
	}
	err := swarm.NodeUpdate{Role: "boss", Availability: "off", AddLabels: map[string]string{"a=b": "c", "x": "1"}, RemoveLabels: []string{"x", ""}}.Validate()
	var paths []string
	for _, ve := range berth.ValidationErrors(err) {
		paths = append(paths, ve.Path)
	}
	if fmt.Sprint(paths) != "[node/availability node/labels/a=b node/labels/x node/remove_labels[1] node/role]" {
		t.Errorf("paths %v: %v", paths, err)
	}
}

func ExampleNodeUpdate_Validate() {
	err := swarm.NodeUpdate{Availability: "off", AddLabels: map[string]string{"zone": "a"}, RemoveLabels: []string{"zone"}}.Validate()
	fmt.Println(err)
	// Output:
	// node/availability: "off" is not an availability: use active, pause or drain
	// node/labels/zone: both added and removed: give the key in one of AddLabels and RemoveLabels
}

func ExampleNodeFromAPI() {
	n := swarm.NodeFromAPI(swarmtypes.Node{
		ID:            "4x2kq",
		Spec:          swarmtypes.NodeSpec{Role: swarmtypes.NodeRoleManager, Availability: swarmtypes.NodeAvailabilityActive},
		Description:   swarmtypes.NodeDescription{Hostname: "lab-manager", Platform: swarmtypes.Platform{OS: "linux", Architecture: "x86_64"}},
		Status:        swarmtypes.NodeStatus{State: swarmtypes.NodeStateReady},
		ManagerStatus: &swarmtypes.ManagerStatus{Leader: true},
	})
	fmt.Println(n.Hostname, n.Role, n.Availability, n.Status, n.ManagerStatus, n.Platform)
	// Output: lab-manager manager active ready Leader linux/x86_64
}
