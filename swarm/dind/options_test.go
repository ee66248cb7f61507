package dind_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/swarm/dind"
)

func TestOptionsValidate(t *testing.T) {
	if err := (dind.Options{}).Validate(); err != nil {
		t.Errorf("zero options: %v", err)
	}
	if err := (dind.Options{Name: "demo-1", Workers: 3, Push: []string{"busybox", "example.com:5000/a/b:v1"}}).Validate(); err != nil {
		t.Errorf("valid: %v", err)
	}
	err := dind.Options{Name: "Demo_1", Workers: -1, Security: "root", ReadyTimeout: -1, Push: []string{"UPPER:case"}}.Validate()
	var paths []string
	for _, ve := range berth.ValidationErrors(err) {
		paths = append(paths, ve.Path)
	}
	if fmt.Sprint(paths) != "[lab/name lab/push[0] lab/ready_timeout lab/security lab/workers]" {
		t.Errorf("paths %v: %v", paths, err)
	}
	// Start validates before it touches the engine (a nil client is never called).
	if _, err := dind.Start(context.Background(), nil, dind.Options{Workers: 99}); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("Start: %v", err)
	}
}

func TestRegistryRefs(t *testing.T) {
	reg := dind.Registry{HostAddr: "127.0.0.1:32768", ClusterAddr: "registry:5000"}
	for in, want := range map[string]string{
		"busybox":                      "registry:5000/library/busybox:latest",
		"berth-fixtures/busybox:local": "registry:5000/berth-fixtures/busybox:local",
		"127.0.0.1:5000/echo/api:v2":   "registry:5000/echo/api:v2",
		"ghcr.io/acme/tool:1.0@sha256:" + fmt.Sprintf("%064d", 0): "registry:5000/acme/tool:1.0",
	} {
		if got, err := reg.ClusterRef(in); got != want || err != nil {
			t.Errorf("ClusterRef(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := reg.HostRef("busybox@sha256:" + fmt.Sprintf("%064d", 0)); err == nil {
		t.Errorf("a digest-only reference has no tag to push")
	}
}

func ExampleRegistry_ClusterRef() {
	reg := dind.Registry{HostAddr: "127.0.0.1:32768", ClusterAddr: "registry:5000"}
	host, _ := reg.HostRef("echo-api:v1")
	cluster, _ := reg.ClusterRef("echo-api:v1")
	fmt.Println(host)
	fmt.Println(cluster)
	// Output:
	// 127.0.0.1:32768/library/echo-api:v1
	// registry:5000/library/echo-api:v1
}
