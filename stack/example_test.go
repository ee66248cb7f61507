package stack_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/stack"
	"github.com/berthdev/berth/swarm"
)

func ExampleNew() {
	st := stack.New("echo")
	st.Network("ch03").External()
	st.Service("api").Image("registry:5000/example/echo:latest").Replicas(3).
		Constraint("node.role != manager").Network("ch03")
	st.Service("nginx").Image("registry:5000/example/proxy:latest").Replicas(3).
		Env("BACKEND_HOST", "echo_api:8080").Network("ch03")
	spec, err := st.Compile()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range spec.Services {
		n := s.Spec.TaskTemplate.Networks[0]
		fmt.Println(s.Spec.Name, s.Spec.Labels[stack.LabelNamespace], n.Target, n.Aliases)
	}
	// Output:
	// echo_api echo ch03 [api]
	// echo_nginx echo ch03 [nginx]
}

func ExampleStack_Compile_invalid() {
	st := stack.New("echo")
	st.Service("api").Image("registry:5000/example/echo:latest").
		Global().Replicas(3).
		Constraint("node.role!=").
		Network("ch03")
	_, err := st.Compile()
	fmt.Println(errors.Is(err, berth.ErrInvalid))
	for _, ve := range berth.ValidationErrors(err) {
		fmt.Println(ve.Path)
	}
	// Output:
	// true
	// stack/echo/services/api/deploy/placement/constraints[0]
	// stack/echo/services/api/deploy/replicas
	// stack/echo/services/api/networks/ch03
}

func ExampleLoad() {
	st, err := stack.Load(context.Background(), "vote", "testdata/conformance/voting-app.yml")
	if err != nil {
		fmt.Println(err)
		return
	}
	spec, err := st.Compile()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range spec.Networks {
		fmt.Println("network", n.Name)
	}
	for _, s := range spec.Services {
		fmt.Println("service", s.Spec.Name, s.Spec.Labels[stack.LabelImage])
	}
	fmt.Println(len(spec.Warnings), "warnings, e.g.", spec.Warnings[0])
	// Output:
	// network vote_backend
	// network vote_default
	// network vote_frontend
	// service vote_db 127.0.0.1:5000/berth-conformance/postgres:9.4
	// service vote_redis 127.0.0.1:5000/berth-conformance/redis:alpine
	// service vote_result 127.0.0.1:5000/berth-conformance/examplevotingapp_result:before
	// service vote_visualizer 127.0.0.1:5000/berth-conformance/visualizer:stable
	// service vote_vote 127.0.0.1:5000/berth-conformance/examplevotingapp_vote:before
	// service vote_worker 127.0.0.1:5000/berth-conformance/examplevotingapp_worker
	// 3 warnings, e.g. stack/vote/services/result: depends_on: ignored by docker stack deploy
}

func ExampleStack_Compose() {
	st := stack.New("web")
	st.Service("app").Image("127.0.0.1:5000/web/app:1").Replicas(2).Port("8080:80").Env("MODE", "prod")
	out, err := st.Compose()
	if err != nil {
		fmt.Println(err)
		return
	}
	os.Stdout.Write(out)
	// Output:
	// services:
	//   app:
	//     deploy:
	//       replicas: 2
	//     environment:
	//       MODE: prod
	//     image: 127.0.0.1:5000/web/app:1
	//     ports:
	//       - mode: ingress
	//         target: 80
	//         published: "8080"
	//         protocol: tcp
}

func ExampleDeploy() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()
	st, err := stack.Load(ctx, "vote", "docker-stack.yml")
	if err != nil {
		fmt.Println(err)
		return
	}
	spec, err := st.CompileFor(cli.ClientVersion()) // every problem, before anything is written
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := stack.Deploy(ctx, cli, spec, stack.DeployOptions{PlanOptions: stack.PlanOptions{Prune: true, ResolveImage: stack.ResolveChanged}, Wait: true})
	var de *stack.DeployError
	switch {
	case errors.As(err, &de) && errors.Is(err, stack.ErrRolledBack):
		fmt.Println("failed, the stack is as it was:", de.Err) // e.g. a *swarm.ConvergeError
		return
	case err != nil:
		fmt.Println(err) // a *stack.PreflightError (nothing written), a *stack.LockedError, what was not undone
		return
	}
	fmt.Print(res.Plan) // "+ service vote_db" ..., or "no changes"
}

// ExampleSpec_Plan prints what a deploy would change, then applies exactly that.
func ExampleSpec_Plan() {
	ctx := context.Background()
	cli, err := berth.Connect(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()
	st := stack.New("echo")
	st.Service("api").Image("registry:5000/example/echo:2").Replicas(6)
	spec, err := st.Compile()
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := spec.Plan(ctx, cli, stack.PlanOptions{Prune: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(plan) // ~ service echo_api   replicas: 3 → 6   image: …/echo:1 → …/echo:2
	if !plan.HasChanges() {
		return
	}
	if _, err := plan.Apply(ctx, cli, stack.ApplyOptions{}); err != nil {
		fmt.Println(err)
	}
}

// ExamplePlan_String shows how a plan prints: only the actions that write.
func ExamplePlan_String() {
	plan := &stack.Plan{Stack: "echo", Actions: []stack.Action{
		{Op: stack.OpCreate, Kind: stack.KindNetwork, Name: "echo_ch03"},
		{Op: stack.OpUpdate, Kind: stack.KindService, Name: "echo_api", Changes: []stack.Change{
			{Field: "replicas", From: "3", To: "6"}, {Field: "image", From: "registry:5000/echo:1", To: "registry:5000/echo:2"}}},
		{Op: stack.OpNoop, Kind: stack.KindService, Name: "echo_web"},
		{Op: stack.OpRemove, Kind: stack.KindService, Name: "echo_old", Reason: "prune"},
	}}
	fmt.Print(plan)
	// Output:
	// + network echo_ch03
	// ~ service echo_api   replicas: 3 → 6   image: registry:5000/echo:1 → registry:5000/echo:2
	// - service echo_old   (prune)
}

// Deploy, Apply and Remove report progress as typed events; String renders each as the
// Docker CLI prints it.
func ExampleEvent_String() {
	for _, ev := range []stack.Event{
		{Stack: "echo", Type: stack.EventAction, Action: stack.Action{Op: stack.OpCreate, Kind: stack.KindNetwork, Name: "echo_default"}},
		{Stack: "echo", Type: stack.EventProgress, Progress: swarm.Progress{Service: "echo_api", Running: 2, Desired: 3, Phase: swarm.PhaseStarting}},
		{Stack: "echo", Type: stack.EventUndo, Action: stack.Action{Op: stack.OpRemove, Kind: stack.KindNetwork, Name: "echo_default", Reason: "created by the failed deploy"}},
	} {
		fmt.Println(ev)
	}
	// Output:
	// Creating network echo_default
	// echo_api 2/3 starting
	// Rolled back: Removing network echo_default (created by the failed deploy)
}
