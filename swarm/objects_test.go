package swarm_test

import (
	"context"
	"errors"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/swarm"
)

// TestSecretsConfigsAndReferences creates a secret and a config, finds them by label, has a
// service spec that names them get their IDs, and removes them.
func TestSecretsConfigsAndReferences(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, time.Minute)
	name := testenv.Name(t, "obj")
	labels := map[string]string{"berth.test": name}
	sid, err := swarm.CreateSecret(ctx, cli, swarmapi.SecretSpec{Annotations: swarmapi.Annotations{Name: name, Labels: labels}, Data: []byte("s")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { swarm.RemoveSecret(context.Background(), cli, sid) })
	cid, err := swarm.CreateConfig(ctx, cli, swarmapi.ConfigSpec{Annotations: swarmapi.Annotations{Name: name, Labels: labels}, Data: []byte("c")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { swarm.RemoveConfig(context.Background(), cli, cid) })
	if _, err := swarm.CreateSecret(ctx, cli, swarmapi.SecretSpec{Annotations: swarmapi.Annotations{Name: name}, Data: []byte("s")}); !cerrdefs.IsConflict(err) {
		t.Errorf("a second secret of the same name: %v", err)
	}
	if _, err := swarm.CreateConfig(ctx, cli, swarmapi.ConfigSpec{}); !errors.Is(err, berth.ErrInvalid) {
		t.Errorf("a config without a name: %v", err)
	}
	f := make(client.Filters).Add("label", "berth.test="+name)
	if s, err := swarm.Secrets(ctx, cli, f); err != nil || len(s) != 1 || s[0].ID != sid {
		t.Errorf("Secrets by label: %v %v", s, err)
	}
	if c, err := swarm.Configs(ctx, cli, f); err != nil || len(c) != 1 || c[0].ID != cid {
		t.Errorf("Configs by label: %v %v", c, err)
	}
	if c, err := swarm.InspectConfig(ctx, cli, name); err != nil || string(c.Spec.Data) != "c" {
		t.Errorf("InspectConfig: %+v %v", c, err)
	}
	if _, err := swarm.InspectSecret(ctx, cli, name+"-none"); !cerrdefs.IsNotFound(err) {
		t.Errorf("InspectSecret of a missing one: %v", err)
	}

	spec, err := swarm.NewService(name).Image("127.0.0.1:5000/x:1").Secret(name, "").Config(name, "/etc/c").Spec()
	if err != nil {
		t.Fatal(err)
	}
	if err := swarm.ResolveReferences(ctx, cli, &spec); err != nil {
		t.Fatal(err)
	}
	c := spec.TaskTemplate.ContainerSpec
	if c.Secrets[0].SecretID != sid || c.Configs[0].ConfigID != cid {
		t.Errorf("references: %+v %+v", c.Secrets[0], c.Configs[0])
	}
	missing, _ := swarm.NewService(name).Image("127.0.0.1:5000/x:1").Secret(name+"-none", "").Spec()
	err = swarm.ResolveReferences(ctx, cli, &missing)
	if ve := berth.ValidationErrors(err); len(ve) != 1 || ve[0].Path != "secrets[0]" {
		t.Errorf("a missing secret: %v", err)
	}
	if err := swarm.RemoveSecret(ctx, cli, name); err != nil {
		t.Error(err)
	}
	if err := swarm.RemoveConfig(ctx, cli, name); err != nil {
		t.Error(err)
	}
}

// TestListTasksAndNodes lists with engine filters.
func TestListTasksAndNodes(t *testing.T) {
	cli := testenv.Swarm(t)
	ctx := testenv.Context(t, time.Minute)
	nodes, err := swarm.ListNodes(ctx, cli, make(client.Filters).Add("role", "manager"))
	if err != nil || len(nodes) == 0 {
		t.Fatalf("ListNodes role=manager: %v %v", nodes, err)
	}
	if none, err := swarm.ListNodes(ctx, cli, make(client.Filters).Add("name", "no-such-node-"+testenv.Name(t, "n"))); err != nil || len(none) != 0 {
		t.Errorf("ListNodes of no name: %v %v", none, err)
	}
	// a filter that matches nothing answers with no tasks (the CLI tests compare node=HOSTNAME
	// filters of live tasks with docker's)
	tasks, err := swarm.ListTasks(ctx, cli, make(client.Filters).Add("node", nodes[0].Hostname).Add("name", "no-such-task-"+testenv.Name(t, "t")))
	if err != nil || len(tasks) != 0 {
		t.Errorf("ListTasks: %v %v", tasks, err)
	}
}
