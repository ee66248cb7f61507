// Package swarm manages a Docker Swarm cluster through the Engine API: its life cycle (Init,
// Join, Leave, join tokens and their rotation, Inspect), its nodes (list, labels, availability,
// promote and demote, remove) and single services (the Service builder and the operations on
// it).
//
// Every call takes the smallest Engine API client interface it needs
// (client.SwarmAPIClient, client.NodeAPIClient, ...), so a *client.Client from
// berth.Connect works, and so does the client of one node of a swarm/dind lab.
//
// Options are validated before the first request: invalid input is reported as
// *berth.ValidationError values matching berth.ErrInvalid. Engine errors are wrapped with %w
// and keep their cerrdefs class: a node that is not in a swarm, or not a manager, answers
// cerrdefs.IsUnavailable; a node that is already in a swarm answers
// cerrdefs.IsFailedPrecondition (as the engine does); an unknown node cerrdefs.IsNotFound.
//
// A cluster in a few calls:
//
//	res, err := swarm.Init(ctx, manager, swarm.InitOptions{AdvertiseAddr: "10.0.0.2"})
//	token, err := swarm.JoinToken(ctx, manager, swarm.RoleWorker)
//	err = swarm.Join(ctx, worker, swarm.JoinOptions{Token: token, Managers: []string{"10.0.0.2:2377"}})
//	nodes, err := swarm.Nodes(ctx, manager, swarm.NodeFilter{})
//	_, err = swarm.UpdateNode(ctx, manager, "worker1", swarm.NodeUpdate{Availability: swarm.AvailabilityDrain})
//
// One service, as `docker service create|scale|update|rollback|ps|logs|rm` handle it:
//
//	res, err := swarm.Create(ctx, manager, swarm.NewService("echo").Image("registry:5000/echo:1"), swarm.CreateOptions{Wait: true})
//	p, err := swarm.Scale(ctx, manager, "echo", 6, swarm.ScaleOptions{Wait: true}) // returns once 6 tasks run
//	_, err = swarm.Update(ctx, manager, "echo", func(s *swarmapi.ServiceSpec) error { ...; return nil }, swarm.UpdateOptions{Wait: true})
//	_, err = swarm.Rollback(ctx, manager, "echo", swarm.UpdateOptions{Wait: true})
//	tasks, err := swarm.Tasks(ctx, manager, "echo", swarm.TasksOptions{}) // with node hostnames and errors
//	for line, err := range swarm.Logs(ctx, manager, "echo", swarm.LogsOptions{Follow: true, Tail: 10}) { ... }
//	err = swarm.Remove(ctx, manager, "echo", swarm.RemoveOptions{Wait: true})
//
// An update is sent with the version it was computed from: when someone else changed the
// service in between, it fails with *VersionConflictError (cerrdefs.IsConflict) instead of
// overwriting their change. SendUpdate is that one update path (Update, Replace, Rollback and
// the stack package's Apply use it) and CloneSpec the one deep copy of a spec. Waits end with a *ConvergeError that says why a service did not
// converge.
package swarm
