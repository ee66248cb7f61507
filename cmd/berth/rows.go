package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	units "github.com/docker/go-units"
	swarmapi "github.com/moby/moby/api/types/swarm"

	"github.com/berthdev/berth/swarm"
)

// The rows of the list verbs, with the Docker CLI's column names, so --format templates and
// --format json read the same as docker's.

const (
	serviceTable = "{{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}"
	taskTable    = "{{.ID}}\t{{.Name}}\t{{.Image}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}\t{{.Ports}}"
)

type serviceRow struct {
	ID, Name, Mode, Replicas, Image, Ports string
}

func serviceRows(o listOptions, svcs []swarmapi.Service) []serviceRow {
	rows := make([]serviceRow, 0, len(svcs))
	for _, s := range svcs {
		rows = append(rows, serviceRow{ID: o.trunc(s.ID), Name: s.Spec.Name, Mode: mode(s.Spec.Mode), Replicas: replicas(s), Image: serviceImage(s.Spec), Ports: ports(s)})
	}
	return rows
}

func mode(m swarmapi.ServiceMode) string {
	switch {
	case m.Global != nil:
		return "global"
	case m.ReplicatedJob != nil:
		return "replicated job"
	case m.GlobalJob != nil:
		return "global job"
	}
	return "replicated"
}

func replicas(s swarmapi.Service) string {
	st := s.ServiceStatus
	if st == nil {
		return ""
	}
	if s.Spec.Mode.ReplicatedJob != nil || s.Spec.Mode.GlobalJob != nil {
		return fmt.Sprintf("%d/%d (%d/%d completed)", st.RunningTasks, st.DesiredTasks, st.CompletedTasks, st.DesiredTasks)
	}
	r := fmt.Sprintf("%d/%d", st.RunningTasks, st.DesiredTasks)
	if p := s.Spec.TaskTemplate.Placement; p != nil && p.MaxReplicas > 0 {
		r += fmt.Sprintf(" (max %d per node)", p.MaxReplicas)
	}
	return r
}

// serviceImage is the image without the digest a resolution pinned, as the Docker CLI shows it.
func serviceImage(spec swarmapi.ServiceSpec) string {
	if spec.TaskTemplate.ContainerSpec == nil {
		return ""
	}
	img, _, _ := strings.Cut(spec.TaskTemplate.ContainerSpec.Image, "@")
	return img
}

func ports(s swarmapi.Service) string {
	var out []string
	for _, p := range s.Endpoint.Ports {
		if p.PublishMode == swarmapi.PortConfigPublishModeIngress || p.PublishMode == "" {
			out = append(out, fmt.Sprintf("*:%d->%d/%s", p.PublishedPort, p.TargetPort, p.Protocol))
		}
	}
	return strings.Join(out, ", ")
}

type taskRow struct {
	ID, Name, Image, Node, DesiredState, CurrentState, Error, Ports string
}

// taskRows are `docker service ps` rows: an older task of the same slot is shown as
// ` \_ NAME` below the newest; noResolve shows node IDs instead of hostnames.
func taskRows(o listOptions, tasks []swarm.Task, now time.Time, noResolve bool) []taskRow {
	rows := make([]taskRow, 0, len(tasks))
	prev := ""
	for _, t := range tasks {
		name := t.Name
		if name == prev {
			name = ` \_ ` + name
		} else {
			prev = name
		}
		errText := t.Err
		if errText != "" {
			if !o.noTrunc && len(errText) > 30 {
				errText = errText[:29] + "…"
			}
			errText = `"` + errText + `"`
		}
		img := t.Image
		if !o.noTrunc {
			img, _, _ = strings.Cut(img, "@")
		}
		var ps []string
		for _, p := range t.API.Status.PortStatus.Ports {
			ps = append(ps, fmt.Sprintf("*:%d->%d/%s", p.PublishedPort, p.TargetPort, p.Protocol))
		}
		node := t.Node
		if noResolve {
			node = t.NodeID
		}
		rows = append(rows, taskRow{ID: o.trunc(t.ID), Name: name, Image: img, Node: node,
			DesiredState: title(string(t.DesiredState)), CurrentState: title(string(t.State)) + " " + units.HumanDuration(now.Sub(t.Since)) + " ago",
			Error: errText, Ports: strings.Join(ps, ",")})
	}
	return rows
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func sortServices(svcs []swarmapi.Service) {
	slices.SortFunc(svcs, func(a, b swarmapi.Service) int { return cmp.Compare(a.Spec.Name, b.Spec.Name) })
}
