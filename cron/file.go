package cron

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/berthdev/berth"
	"github.com/berthdev/berth/internal/shellwords"
	"github.com/moby/moby/api/types/mount"
	"gopkg.in/yaml.v3"
)

// File is the format of a jobs file (YAML or JSON), as `berth cron run --file` reads it:
//
//	jobs:
//	  - name: stamp
//	    schedule: "@every 5s"
//	    overlap: skip          # skip (default), allow, replace
//	    timeout: 30s
//	    container:             # one of container, exec, service
//	      image: busybox:latest
//	      command: [sh, -c, "date >> /data/log"]
//	      env: [TZ=UTC]
//	      volumes: ["stamps:/data", "/srv/in:/in:ro"]
//	      volumes_from: [app]
//	      network: backend
//	      keep: false
//	  - name: reindex
//	    schedule: "CRON_TZ=Europe/Paris 0 3 * * *"
//	    exec: {container: web, command: [php, artisan, reindex]}   # or label: app=web
//	  - name: report
//	    schedule: "@daily"
//	    service: {name: report, replicas: 1}
type File struct {
	Jobs []FileJob `yaml:"jobs" json:"jobs"`
}

// FileJob is one job of a File.
type FileJob struct {
	Name      string         `yaml:"name"`
	Schedule  string         `yaml:"schedule"`
	Overlap   string         `yaml:"overlap"`
	Timeout   string         `yaml:"timeout"`
	Container *FileContainer `yaml:"container"`
	Exec      *FileExec      `yaml:"exec"`
	Service   *FileService   `yaml:"service"`
}

// FileContainer describes a ContainerTask.
type FileContainer struct {
	Image       string   `yaml:"image"`
	Command     Words    `yaml:"command"`
	Entrypoint  Words    `yaml:"entrypoint"`
	Env         []string `yaml:"env"`
	User        string   `yaml:"user"`
	WorkingDir  string   `yaml:"working_dir"`
	Volumes     []string `yaml:"volumes"`
	VolumesFrom []string `yaml:"volumes_from"`
	Network     string   `yaml:"network"`
	Keep        bool     `yaml:"keep"`
}

// Words is a command line in a cron file: a list of words, or a string split into words with
// the Docker CLI's rules (internal/shellwords: quotes group, operators such as && are words;
// nothing is run by a shell unless the words say so).
type Words []string

// UnmarshalYAML accepts a sequence of strings or one string.
func (w *Words) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		var list []string
		err := n.Decode(&list)
		*w = list
		return err
	}
	words, err := shellwords.Split(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q: %w", n.Line, n.Value, err)
	}
	*w = words
	return nil
}

// FileExec describes an ExecTask.
type FileExec struct {
	Container  string   `yaml:"container"`
	Label      string   `yaml:"label"`
	Command    Words    `yaml:"command"`
	Env        []string `yaml:"env"`
	User       string   `yaml:"user"`
	WorkingDir string   `yaml:"working_dir"`
}

// FileService describes a ServiceTask on an existing service.
type FileService struct {
	Name     string `yaml:"name"`
	Replicas uint64 `yaml:"replicas"`
}

// LoadFile reads and parses a jobs file (see File).
func LoadFile(path string) ([]Job, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cron: %w", err)
	}
	return ParseFile(data)
}

// ParseFile parses a jobs file (see File) and validates every job as Add does. Problems are
// *berth.ValidationError values at "cron/jobs/NAME/FIELD" (or "cron/jobs/#N" for a job without
// a name), all reported at once.
func ParseFile(data []byte) ([]Job, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, berth.Invalid("cron/file", "not a jobs file: %v; want a YAML or JSON document with a jobs list", err)
	}
	var p berth.Problems
	var jobs []Job
	seen := map[string]bool{}
	for i, fj := range f.Jobs {
		job := fj.job(i, &p)
		if seen[job.Name] {
			p.Add("cron/jobs/"+job.Name+"/name", "%q is used by two jobs; names must be unique", job.Name)
		}
		seen[job.Name] = true
		if _, err := job.validate(); err != nil {
			p.AddErr("cron/jobs/"+job.Name, err)
		}
		jobs = append(jobs, job)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return jobs, nil
}

func (fj FileJob) job(i int, p *berth.Problems) Job {
	job := Job{Name: fj.Name, Schedule: fj.Schedule, Overlap: Overlap(fj.Overlap), Source: SourceFile}
	if job.Name == "" {
		job.Name = fmt.Sprintf("#%d", i+1)
	}
	path := "cron/jobs/" + job.Name
	if fj.Timeout != "" {
		d, err := time.ParseDuration(fj.Timeout)
		if err != nil || d <= 0 {
			p.Add(path+"/timeout", "%q is not a positive duration; accepted: a Go duration such as 90s, 5m or 1h30m", fj.Timeout)
		}
		job.Timeout = d
	}
	kinds := 0
	if c := fj.Container; c != nil {
		kinds++
		job.Task = c.task(path+"/container", p)
	}
	if e := fj.Exec; e != nil {
		kinds++
		job.Task = &ExecTask{Container: e.Container, Label: e.Label, Cmd: e.Command, Env: e.Env, User: e.User, WorkingDir: e.WorkingDir}
	}
	if s := fj.Service; s != nil {
		kinds++
		job.Task = &ServiceTask{Service: s.Name, Replicas: s.Replicas}
	}
	if kinds > 1 {
		p.Add(path+"/task", "%d of container, exec, service are set; set one", kinds)
	}
	return job
}

func (c *FileContainer) task(path string, p *berth.Problems) *ContainerTask {
	t := &ContainerTask{Image: c.Image, Cmd: c.Command, Entrypoint: c.Entrypoint, Env: c.Env, User: c.User,
		WorkingDir: c.WorkingDir, VolumesFrom: c.VolumesFrom, Network: c.Network, Keep: c.Keep}
	for i, v := range c.Volumes {
		m, err := parseVolume(v)
		if err != nil {
			p.Add(fmt.Sprintf("%s/volumes[%d]", path, i), "%q: %v; accepted: VOLUME:/target[:ro] or /host/path:/target[:ro]", v, err)
			continue
		}
		t.Mounts = append(t.Mounts, m)
	}
	return t
}

// parseVolume parses "source:/target[:ro|rw]": a named volume, or a bind when source is a path.
func parseVolume(v string) (mount.Mount, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") {
		return mount.Mount{}, errors.New("want SOURCE:/TARGET with an optional :ro")
	}
	m := mount.Mount{Type: mount.TypeVolume, Source: parts[0], Target: parts[1]}
	if strings.HasPrefix(parts[0], "/") || strings.HasPrefix(parts[0], ".") {
		m.Type = mount.TypeBind
	}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			m.ReadOnly = true
		case "rw":
		default:
			return mount.Mount{}, fmt.Errorf("mode %q is not ro or rw", parts[2])
		}
	}
	return m, nil
}
