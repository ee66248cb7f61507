package visualize

import (
	"context"
	"fmt"
	"sync"
	"time"

	swarmapi "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// Engine is the part of the Engine API client the model reads: lists and the event stream.
// Nothing else: the visualizer never writes, and never forwards a request.
type Engine interface {
	NodeList(ctx context.Context, options client.NodeListOptions) (client.NodeListResult, error)
	ServiceList(ctx context.Context, options client.ServiceListOptions) (client.ServiceListResult, error)
	TaskList(ctx context.Context, options client.TaskListOptions) (client.TaskListResult, error)
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
}

// ModelOptions tunes how the model reads the engine.
type ModelOptions struct {
	// Interval is how often tasks are listed: the engine has no task events. 0 means 1s.
	Interval time.Duration
	// FullInterval is how often nodes and services are listed too, besides on their events
	// (a safety net for an event stream that missed something). 0 means 15s.
	FullInterval time.Duration
}

// Model is the placement of one swarm, kept current from its engine by a single reader
// however many pages watch it: Run reads, Snapshot and Subscribe share what it read.
type Model struct {
	cli  Engine
	opts ModelOptions

	mu       sync.Mutex
	snap     Snapshot
	err      error
	nodes    []swarmapi.Node
	services []swarmapi.Service
	subs     map[chan Change]struct{}
	ready    chan struct{} // closed after the first read, successful or not
	kick     chan struct{}
}

// NewModel returns a model of the swarm cli manages. It reads nothing until Run.
func NewModel(cli Engine, opts ModelOptions) *Model {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.FullInterval <= 0 {
		opts.FullInterval = 15 * time.Second
	}
	return &Model{cli: cli, opts: opts, subs: map[chan Change]struct{}{},
		ready: make(chan struct{}), kick: make(chan struct{}, 1)}
}

// Run reads the engine until ctx ends: nodes, services and tasks at once, all three again on
// every node or service event, and tasks every Interval. It returns ctx's error. A failed
// read is kept (see Err) and retried on the next tick; the last good snapshot stays.
func (m *Model) Run(ctx context.Context) error {
	go m.follow(ctx)
	m.read(ctx, true)
	close(m.ready)
	tick := time.NewTicker(m.opts.Interval)
	defer tick.Stop()
	lastFull := time.Now()
	for {
		full := false
		select {
		case <-ctx.Done():
			m.closeAll()
			return ctx.Err()
		case <-m.kick:
			// Events come in bursts (an update touches a service many times): gather them.
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
			}
			full = true
		case <-tick.C:
			full = time.Since(lastFull) >= m.opts.FullInterval
		}
		if full {
			lastFull = time.Now()
		}
		m.read(ctx, full)
	}
}

// Ready returns a channel closed once the model has read the engine (or failed to) once.
func (m *Model) Ready() <-chan struct{} { return m.ready }

// follow subscribes to the node and service events and kicks a full read on each; it
// subscribes again after the stream fails, and kicks a read then too, for what it missed.
func (m *Model) follow(ctx context.Context) {
	f := make(client.Filters).Add("type", "service", "node")
	for ctx.Err() == nil {
		res := m.cli.Events(ctx, client.EventsListOptions{Filters: f})
	stream:
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-res.Messages:
				if !ok {
					break stream
				}
				m.poke()
			case <-res.Err:
				break stream
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		m.poke()
	}
}

func (m *Model) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// read lists what changed (everything when full, else the tasks) and publishes the change.
func (m *Model) read(ctx context.Context, full bool) {
	m.mu.Lock()
	nodes, services := m.nodes, m.services
	m.mu.Unlock()
	var err error
	if full || nodes == nil {
		nodes, services, err = m.listNodesServices(ctx)
	}
	var tasks []swarmapi.Task
	if err == nil {
		var res client.TaskListResult
		res, err = m.cli.TaskList(ctx, client.TaskListOptions{})
		if err != nil {
			err = fmt.Errorf("visualize: list tasks: %w", err)
		}
		tasks = res.Items
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
	if err != nil {
		return
	}
	m.nodes, m.services = nodes, services
	next := Build(nodes, services, tasks)
	next.Read = time.Now().UTC()
	c := Diff(m.snap, next)
	next.Seq = m.snap.Seq
	if !c.Empty() {
		next.Seq++
		c.Seq = next.Seq
	}
	m.snap = next
	if !c.Empty() {
		m.broadcast(c)
	}
}

func (m *Model) listNodesServices(ctx context.Context) ([]swarmapi.Node, []swarmapi.Service, error) {
	n, err := m.cli.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("visualize: list nodes: %w", err)
	}
	s, err := m.cli.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("visualize: list services: %w", err)
	}
	return n.Items, s.Items, nil
}

// Snapshot returns the latest placement read.
func (m *Model) Snapshot() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.snap
}

// Err returns the error of the latest read, nil when it succeeded.
func (m *Model) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// subscriberBuffer is how many changes a subscriber may lag behind before it is dropped: a
// page that cannot keep up reconnects and starts again from a snapshot.
const subscriberBuffer = 64

// Subscribe returns the current snapshot and a channel of the changes after it, in order.
// The channel is closed when the model stops, when the subscriber lags too far behind, or
// after cancel.
func (m *Model) Subscribe() (Snapshot, <-chan Change, func()) {
	ch := make(chan Change, subscriberBuffer)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subs[ch] = struct{}{}
	return m.snap, ch, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if _, ok := m.subs[ch]; ok {
			delete(m.subs, ch)
			close(ch)
		}
	}
}

// broadcast sends c to every subscriber, dropping those whose buffer is full; m.mu is held.
func (m *Model) broadcast(c Change) {
	for ch := range m.subs {
		select {
		case ch <- c:
		default:
			delete(m.subs, ch)
			close(ch)
		}
	}
}

func (m *Model) closeAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ch := range m.subs {
		delete(m.subs, ch)
		close(ch)
	}
}
