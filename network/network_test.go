package network

import (
	"errors"
	"slices"
	"testing"

	"github.com/berthdev/berth"
)

func TestCreateOptionsEveryProblem(t *testing.T) {
	_, err := CreateOptions{Driver: "bridge", Attachable: true, Subnets: []Subnet{
		{Subnet: "10.0.0.1/24", Gateway: "10.0.1.1", IPRange: "10.0.0.0/16"},
		{Subnet: "nope"},
	}}.request("-bad")
	if !errors.Is(err, berth.ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	var paths []string
	for _, ve := range berth.ValidationErrors(err) {
		paths = append(paths, ve.Path)
	}
	want := []string{"attachable", "name", "subnets[0]/gateway", "subnets[0]/ip-range", "subnets[0]/subnet", "subnets[1]/subnet"}
	if !slices.Equal(paths, want) {
		t.Errorf("paths %q, want %q\n%v", paths, want, err)
	}
}

func TestCreateOptionsRequest(t *testing.T) {
	req, err := CreateOptions{Driver: "overlay", Attachable: true, Internal: true, Labels: map[string]string{"app": "ch03"},
		Options: map[string]string{"encrypted": ""}, Subnets: []Subnet{{Subnet: "10.9.0.0/24", Gateway: "10.9.0.1", IPRange: "10.9.0.128/25"}}}.request("ch03")
	if err != nil {
		t.Fatal(err)
	}
	c := req.IPAM.Config[0]
	if req.Driver != "overlay" || !req.Attachable || !req.Internal || req.Labels["app"] != "ch03" || c.Gateway.String() != "10.9.0.1" || c.IPRange.String() != "10.9.0.128/25" {
		t.Errorf("request %+v", req)
	}
}

func TestErrorKinds(t *testing.T) {
	err := &Error{Op: "remove", Network: "n", Kind: ErrInUse, Err: errors.New("has active endpoints")}
	if !errors.Is(err, ErrInUse) || errors.Is(err, ErrNotFound) || err.Error() != "network: remove n: network in use: has active endpoints" {
		t.Errorf("%v", err)
	}
}
