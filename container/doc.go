// Package container runs single containers on one Docker engine: a builder (Container) that
// compiles, purely, to the Engine's create request, and the operations `docker run`, `exec`,
// `logs`, `stop`, `start`, `restart`, `rm`, `wait`, `inspect`, `ps` and `cp` perform.
//
// The builder follows swarm.Service: a method chain that never fails mid-way, recording every
// problem; Compile returns all of them at once as *berth.ValidationError values (errors.Is(err,
// berth.ErrInvalid)). RunFlags, ExecOptions, LogsOptions, StopOptions, RemoveOptions and
// ListOptions mirror the Docker CLI's flags, so that a CLI verb maps its flags one to one.
// Commands are argv slices, taken as they are: nothing here splits a command line.
//
// Engine errors are wrapped with %w: classify them with cerrdefs (IsNotFound, IsConflict).
package container
