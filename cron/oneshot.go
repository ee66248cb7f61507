package cron

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/image"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// ContainerEngine is the part of the Engine API client that Container uses.
type ContainerEngine interface {
	client.ContainerAPIClient
	client.ExecAPIClient
	client.ImageAPIClient
	client.ImageBuildAPIClient
}

// Tab is the one-container cron pattern: one container whose only process is a cron daemon
// in the foreground (busybox `crond -f`) with a crontab and task scripts, every task's output
// appended to one log file.
type Tab struct {
	// Name is the container's name (required).
	Name string
	// Tasks are the crontab's entries (at least one).
	Tasks []Entry
	// Base is the image to build from: one with busybox crond and sh; DefaultBase when empty.
	// The build never pulls a base image the engine already has.
	Base string
	// Image is the tag of the built image ("berth-cron/NAME:latest" when empty).
	Image string
	// Env is passed to the container; busybox crond gives tasks the daemon's environment.
	Env []string
	// Mounts are the container's volumes and binds (for the tasks' data).
	Mounts []mount.Mount
	// Labels are put on the container.
	Labels map[string]string
}

// Entry is one crontab line: a five-field schedule (minute resolution, no CRON_TZ, no
// @every: what busybox crond understands) and a shell script saved as /etc/cron.tasks/NAME.
type Entry struct {
	Name     string // letters, digits, _ and -
	Schedule string // e.g. "*/5 * * * *"
	Script   string // sh script body; "#!/bin/sh" is added when missing
}

// DefaultBase is the image a Tab builds from when its Base is empty.
const DefaultBase = "busybox:latest"

// LogPath is where, inside the container, the tasks' output is appended (each line prefixed
// by nothing: the scripts write what they write).
const LogPath = "/var/log/cron/cron.log"

var taskName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
var fiveFields = regexp.MustCompile(`^\S+\s+\S+\s+\S+\s+\S+\s+\S+$`)

// validate checks c and returns all problems under "cron/container/NAME".
func (c Tab) validate() error {
	var p berth.Problems
	path := "cron/container/" + c.Name
	if !jobName.MatchString(c.Name) || strings.Contains(c.Name, "/") {
		p.Add(path+"/name", "%q is not a container name: want letters, digits and _.-", c.Name)
	}
	if len(c.Tasks) == 0 {
		p.Add(path+"/tasks", "none; want at least one entry")
	}
	seen := map[string]bool{}
	for i, t := range c.Tasks {
		tp := fmt.Sprintf("%s/tasks[%d]", path, i)
		if !taskName.MatchString(t.Name) || seen[t.Name] {
			p.Add(tp+"/name", "%q is not a unique task name: want letters, digits, _ and -", t.Name)
		}
		seen[t.Name] = true
		if _, err := ParseSchedule(t.Schedule); err != nil || !fiveFields.MatchString(strings.TrimSpace(t.Schedule)) || strings.Contains(t.Schedule, "=") {
			p.Add(tp+"/schedule", "%q: busybox crond accepts five fields MIN HOUR DOM MON DOW (e.g. */5 * * * *), no seconds, descriptors or CRON_TZ", t.Schedule)
		}
		if strings.TrimSpace(t.Script) == "" {
			p.Add(tp+"/script", "empty; want a shell script")
		}
	}
	return p.Err()
}

// crontab returns the crontab and the build context's files.
func (c Tab) files(base string) map[string][]byte {
	var tab strings.Builder
	files := map[string][]byte{}
	for _, t := range c.Tasks {
		script := t.Script
		if !strings.HasPrefix(script, "#!") {
			script = "#!/bin/sh\n" + script
		}
		files["tasks/"+t.Name] = []byte(script + "\n")
		fmt.Fprintf(&tab, "%s /etc/cron.tasks/%s >> %s 2>&1\n", strings.TrimSpace(t.Schedule), t.Name, LogPath)
	}
	files["crontab"] = []byte(tab.String())
	files["Dockerfile"] = []byte(fmt.Sprintf(`FROM %s
COPY crontab /etc/crontabs/root
COPY tasks/ /etc/cron.tasks/
CMD ["sh", "-c", "mkdir -p %s && touch %s && exec crond -f -l 8 -c /etc/crontabs"]
`, base, pathDir(LogPath), LogPath))
	return files
}

func pathDir(p string) string { return p[:strings.LastIndex(p, "/")] }

// Daemon is a running one-container cron.
type Daemon struct {
	ID    string
	Name  string
	Image string
	eng   ContainerEngine
}

// Container builds the image of c (through the Engine API, from c.Base) and runs it detached.
// Remove stops and removes the container and the image.
func Container(ctx context.Context, eng ContainerEngine, c Tab) (*Daemon, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	base := cmp.Or(c.Base, DefaultBase)
	img := c.Image
	if img == "" {
		img = "berth-cron/" + strings.ToLower(c.Name) + ":latest"
	}
	if err := build(ctx, eng, img, c.files(base)); err != nil {
		return nil, err
	}
	cc := &Daemon{Name: c.Name, Image: img, eng: eng}
	created, err := eng.ContainerCreate(ctx, client.ContainerCreateOptions{Name: c.Name,
		Config:     &container.Config{Image: img, Env: c.Env, Labels: c.Labels},
		HostConfig: &container.HostConfig{Mounts: c.Mounts}})
	if err != nil {
		cc.removeImage(ctx)
		return nil, fmt.Errorf("cron: create container %s: %w", c.Name, err)
	}
	cc.ID = created.ID
	if _, err := eng.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		cc.Remove(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("cron: start container %s: %w", c.Name, err)
	}
	return cc, nil
}

// build builds tag from the files with image.Build (the classic builder, no pull); the task
// scripts are executable.
func build(ctx context.Context, eng ContainerEngine, tag string, files map[string][]byte) error {
	var src image.Files
	for _, n := range slices.Sorted(maps.Keys(files)) {
		mode := fs.FileMode(0o644)
		if strings.HasPrefix(n, "tasks/") {
			mode = 0o755
		}
		src = append(src, image.File{Name: n, Mode: mode, Data: files[n]})
	}
	if _, err := image.Wait(image.Build(ctx, eng, src, image.BuildOptions{Tags: []string{tag}})); err != nil {
		return fmt.Errorf("cron: %w", err)
	}
	return nil
}

// Log returns the tasks' output collected so far (the log file, read with an exec, as
// `docker exec NAME cat LOG` would).
func (c *Daemon) Log(ctx context.Context) (string, error) {
	var stdout, stderr bytes.Buffer
	code, err := execIn(ctx, c.eng, c.ID, client.ExecCreateOptions{Cmd: []string{"cat", LogPath}, AttachStdout: true, AttachStderr: true}, &stdout, &stderr)
	if err != nil {
		return "", fmt.Errorf("cron: read %s in %s: %w", LogPath, c.Name, err)
	}
	if code != 0 {
		return "", fmt.Errorf("cron: read %s in %s: exit code %d: %s", LogPath, c.Name, code, stderr.String())
	}
	return stdout.String(), nil
}

// CrondLog returns what crond itself logged (its container logs).
func (c *Daemon) CrondLog(ctx context.Context) (string, error) {
	logs, err := c.eng.ContainerLogs(ctx, c.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "", err
	}
	defer logs.Close()
	var b bytes.Buffer
	_, err = stdcopy.StdCopy(&b, &b, logs)
	return b.String(), err
}

// Remove removes the container (stopping it) and the image built for it.
func (c *Daemon) Remove(ctx context.Context) error {
	var errs []error
	if c.ID != "" {
		if _, err := c.eng.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, c.removeImage(ctx))
	return errors.Join(errs...)
}

func (c *Daemon) removeImage(ctx context.Context) error {
	_, err := c.eng.ImageRemove(ctx, c.Image, client.ImageRemoveOptions{PruneChildren: true})
	return err
}
