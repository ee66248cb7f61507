package swarm_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm"
)

func TestInitOptionsValidate(t *testing.T) {
	valid := []swarm.InitOptions{
		{},
		{ListenAddr: "0.0.0.0:2377", AdvertiseAddr: "10.0.0.2", DataPathAddr: "eth1"},
		{AdvertiseAddr: "eth0:2377", DataPathPort: 4790, DefaultAddrPool: []string{"10.20.0.0/16", "10.30.0.0/16"}, SubnetSize: 26},
		{AdvertiseAddr: "[fd00::2]:2377", Availability: swarm.AvailabilityDrain},
	}
	for _, o := range valid {
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	invalid := map[string]swarm.InitOptions{
		"init/data_path_port":        {DataPathPort: 80},
		"init/default_addr_pool[1]":  {DefaultAddrPool: []string{"10.20.0.0/16", "10.30.0.0"}},
		"init/default_addr_pool[0]":  {DefaultAddrPool: []string{"10.20.0.1/16"}},
		"init/subnet_size":           {DefaultAddrPool: []string{"10.20.0.0/16"}, SubnetSize: 12},
		"init/availability":          {Availability: "asleep"},
		"init/advertise_addr":        {AdvertiseAddr: "10.0.0.2:http"},
		"init/listen_addr":           {ListenAddr: "0.0.0.0:99999"},
		"init/data_path_addr":        {DataPathAddr: "10.0.0.0/8"},
		"init/subnet_size (over 32)": {SubnetSize: 33},
	}
	for path, o := range invalid {
		err := o.Validate()
		if !errors.Is(err, berth.ErrInvalid) || !cerrdefs.IsInvalidArgument(err) {
			t.Errorf("%s: %v; want a validation error", path, err)
			continue
		}
		if ves := berth.ValidationErrors(err); len(ves) != 1 || ves[0].Path != fmt.Sprint(pathOnly(path)) {
			t.Errorf("%s: %v", path, err)
		}
	}
}

func pathOnly(s string) string {
	for i, r := range s {
		if r == ' ' {
			return s[:i]
		}
	}
	return s
}

func TestJoinOptionsValidate(t *testing.T) {
	ok := swarm.JoinOptions{Token: "SWMTKN-1-abc-def", Managers: []string{"10.0.0.2:2377", "manager1"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid: %v", err)
	}
	err := swarm.JoinOptions{Managers: []string{""}, Availability: "x"}.Validate()
	var paths []string
	for _, ve := range berth.ValidationErrors(err) {
		paths = append(paths, ve.Path)
	}
	if fmt.Sprint(paths) != "[join/availability join/managers[0] join/token]" {
		t.Errorf("paths %v: %v", paths, err)
	}
	if err := (swarm.JoinOptions{Token: "SWMTKN-1-a"}).Validate(); len(berth.ValidationErrors(err)) != 1 {
		t.Errorf("no managers: %v", err)
	}
}

// Validation happens before any request: a nil client is never called.
func TestValidationBeforeRequests(t *testing.T) {
	ctx := context.Background()
	if _, err := swarm.Init(ctx, nil, swarm.InitOptions{DataPathPort: 1}); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("Init: %v", err)
	}
	if err := swarm.Join(ctx, nil, swarm.JoinOptions{}); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("Join: %v", err)
	}
	if _, err := swarm.JoinToken(ctx, nil, "admin"); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("JoinToken: %v", err)
	}
	if _, err := swarm.RotateJoinTokens(ctx, nil); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("RotateJoinTokens: %v", err)
	}
	if _, err := swarm.UpdateNode(ctx, nil, "n", swarm.NodeUpdate{Role: "boss"}); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("UpdateNode: %v", err)
	}
	if _, err := swarm.SetAvailability(ctx, nil, "n", ""); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("SetAvailability: %v", err)
	}
	if _, err := swarm.Nodes(ctx, nil, swarm.NodeFilter{Role: "boss"}); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("Nodes: %v", err)
	}
}

func ExampleInitOptions_Validate() {
	err := swarm.InitOptions{
		DataPathPort:    80,
		DefaultAddrPool: []string{"10.20.0.0/16"},
		SubnetSize:      8,
	}.Validate()
	fmt.Println(err)
	// Output:
	// init/data_path_port: 80 is out of range: use 1024 to 49151, or 0 for the default 4789
	// init/subnet_size: 8 is shorter than the prefix of pool 10.20.0.0/16: use 16 or more
}
