// Package ingress is a reverse proxy that brings traffic from outside the swarm to its
// services, the role dockercloud/haproxy plays in front of a stack (and Traefik after it),
// without failing requests during a rolling update.
//
// It runs as a global service on the managers with a host-mode port (see Stack and
// stack.yml; no routing mesh needed), reads the engine through the manager's socket and
// reaches the tasks of the services it routes at their addresses on an overlay network they
// share with it. Run is the whole program; Server is the proxy alone (an http.Handler fed
// with Snapshots), for tests and other front ends.
//
// # Discovery
//
// Services are read again on every service or network event of the engine, never on a timer;
// the tasks of the routed services are read every Options.TaskInterval (500ms) besides, since
// the engine sends no task events. A task is in the pool while its desired state and its state
// are both running: when swarm decides to stop a task (desired state shutdown), the next read
// takes it out, before its container gets the stop signal in most cases, and the requests it
// already has finish. A new task joins once its first health check passes.
//
// # Labels
//
// Routing is set on the backend service (service labels, `deploy.labels` in Compose):
//
//	berth.ingress.port=8080                 the tasks' port (required, or SERVICE_PORTS)
//	berth.ingress.host=example.com,*.ex.org  Host header names, *.NAME for sub-domains (default: any host)
//	berth.ingress.path=/api                 path prefix, at a segment boundary (default /)
//	berth.ingress.balance=leastconn         roundrobin (default) or leastconn
//	berth.ingress.health.path=/healthz      HTTP check, 2xx or 3xx (default: a TCP connect)
//	berth.ingress.health.interval=2s        100ms to 1h (default 2s)
//	berth.ingress.enable=false              ignore the service
//
// Several routes on one service are routers in Traefik's style, each with a rule of Host and
// PathPrefix terms joined by && (see ParseRule) and an optional port of its own:
//
//	berth.ingress.http.routers.api.rule=Host(`api.example.com`) && PathPrefix(`/v1`)
//	berth.ingress.http.routers.api.port=9000
//
// The chapter's dockercloud/haproxy convention works too, from the environment of the
// service's containers: SERVICE_PORTS=80 (the first port is used) and
// VIRTUAL_HOST=[http://]HOST[:PORT][/PATH],... (see ParseVirtualHost). Labels win over the
// environment.
//
// A bad label is never fatal: the service (or only its bad router) is left out, and the
// problem, a *berth.ValidationError naming the label, the value and what is accepted, is
// logged once and listed on the stats page and in the berth_ingress_label_problems gauge.
//
// # Requests
//
// The most specific route wins: exact hosts before *.NAME before any host, then the longest
// path prefix. The request goes to a healthy task of the route, by round robin or least
// connections, with the client's Host header and X-Forwarded-For/-Host/-Proto. A request
// without a body is retried on another task when a connection is refused (or cannot be made),
// and, for GET, HEAD, OPTIONS and TRACE, after any failure before the answer's header; when no
// task is healthy it waits for one up to Options.RetryTimeout, then answers 503. Updates of
// the table are atomic swaps: no listener or connection is touched by a reload.
//
// # Stats
//
// The admin address serves a stats page (routes, tasks, health, requests, errors, mean
// latency, problems) at /, Prometheus metrics at /metrics (requests, errors and latency per
// route and per task: berth_ingress_requests_total, berth_ingress_request_duration_seconds,
// berth_ingress_errors_total, berth_ingress_task_requests_total,
// berth_ingress_task_duration_seconds, berth_ingress_task_errors_total, berth_ingress_tasks)
// and /healthz.
package ingress
