package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// ExecOptions mirror `docker exec`.
type ExecOptions struct {
	Env        []string  // KEY=VALUE (`--env`)
	User       string    // `--user`
	WorkingDir string    // `--workdir`
	Stdin      io.Reader // sent to the process's standard input, then closed (`--interactive`)
	TTY        bool      // a pseudo terminal (`--tty`): output is one stream
	Privileged bool      // `--privileged`
}

// ExecResult is what an exec wrote and how it ended.
type ExecResult struct {
	Argv           []string
	Stdout, Stderr []byte // with TTY, everything is in Stdout
	ExitCode       int
}

// Err returns an *ExitError when the process exited with a non-zero code, nil otherwise.
func (r ExecResult) Err() error {
	if r.ExitCode == 0 {
		return nil
	}
	return &ExitError{What: fmt.Sprintf("exec %q", r.Argv), Code: r.ExitCode, Stderr: tail(r.Stderr, 2048)}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Exec runs argv in a running container (`docker exec`) and returns its output and exit code.
// A non-zero exit is not an error of Exec (see ExecResult.Err); argv is taken as is, no shell
// splits it.
func Exec(ctx context.Context, cli client.ExecAPIClient, ctr string, argv []string, opts ExecOptions) (ExecResult, error) {
	res := ExecResult{Argv: slices.Clone(argv)}
	var stdout, stderr bytes.Buffer
	code, err := execRun(ctx, cli, ctr, argv, opts, func(r io.Reader) (bool, error) {
		if opts.TTY {
			_, err := io.Copy(&stdout, r)
			return false, err
		}
		_, err := stdcopy.StdCopy(&stdout, &stderr, r)
		return false, err
	})
	res.Stdout, res.Stderr, res.ExitCode = stdout.Bytes(), stderr.Bytes(), code
	return res, err
}

// ExecStream runs argv like Exec and yields its output line by line as it comes. When the
// process exits with a non-zero code the last value is an *ExitError; an exit code 0 ends the
// iteration without one. Stopping the iteration early closes the connection (the process may
// go on running in the container).
func ExecStream(ctx context.Context, cli client.ExecAPIClient, ctr string, argv []string, opts ExecOptions) iter.Seq2[Line, error] {
	return func(yield func(Line, error) bool) {
		stopped := false
		code, err := execRun(ctx, cli, ctr, argv, opts, func(r io.Reader) (bool, error) {
			var err error
			stopped, err = lines(ctx, r, opts.TTY, false, yield)
			return stopped, err
		})
		switch {
		case stopped:
		case err != nil:
			yield(Line{}, err)
		case code != 0:
			yield(Line{}, &ExitError{What: fmt.Sprintf("exec %q", argv), Code: code})
		}
	}
}

// execRun creates and attaches an exec, feeds opts.Stdin, hands the output to read and, once
// the output ended, returns the exit code. When read reports that its caller stopped, execRun
// returns at once (code -1) without waiting for the process.
func execRun(ctx context.Context, cli client.ExecAPIClient, ctr string, argv []string, opts ExecOptions, read func(io.Reader) (stopped bool, err error)) (int, error) {
	if len(argv) == 0 {
		return -1, fmt.Errorf("container: exec in %s: %w", ctr, errors.New("empty command"))
	}
	created, err := cli.ExecCreate(ctx, ctr, client.ExecCreateOptions{
		User: opts.User, Privileged: opts.Privileged, TTY: opts.TTY, AttachStdin: opts.Stdin != nil,
		AttachStdout: true, AttachStderr: true, Env: opts.Env, WorkingDir: opts.WorkingDir, Cmd: argv,
	})
	if err != nil {
		return -1, fmt.Errorf("container: exec %q in %s: %w", argv, ctr, err)
	}
	att, err := cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: opts.TTY})
	if err != nil {
		return -1, fmt.Errorf("container: exec %q in %s: attach: %w", argv, ctr, err)
	}
	defer att.Close()
	if opts.Stdin != nil {
		go func() {
			io.Copy(att.Conn, opts.Stdin)
			att.CloseWrite()
		}()
	}
	stopped, err := read(att.Reader)
	switch {
	case stopped:
		return -1, nil
	case err != nil:
		return -1, fmt.Errorf("container: exec %q in %s: output: %w", argv, ctr, err)
	}
	return exitCode(ctx, cli, created.ID)
}

// exitCode waits the moment the engine may take to record the exit after the output ended.
func exitCode(ctx context.Context, cli client.ExecAPIClient, id string) (int, error) {
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		info, err := cli.ExecInspect(ctx, id, client.ExecInspectOptions{})
		if err != nil {
			return -1, fmt.Errorf("container: exec %s: inspect: %w", id, err)
		}
		if !info.Running {
			return info.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(delay):
		}
	}
}
