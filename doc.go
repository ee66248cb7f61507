// Package berth is a Go SDK that deploys containers to Docker Engine and Docker Swarm.
//
// Typed, declarative builders describe what should run; berth compiles them to Engine API
// requests, shows the plan, applies it, and watches the cluster until it converges. Helpers
// cover what operators do by hand: data-volume containers, tar backup and restore of volumes,
// a local registry to push to, scheduled jobs and a local multi-node swarm.
//
// The root package holds what every other package shares:
//
//   - [ErrInvalid] and [ValidationError]: every problem found in user input before any I/O is a
//     *ValidationError with the path of the offending field; all of them match
//     errors.Is(err, berth.ErrInvalid) and cerrdefs.IsInvalidArgument(err).
//   - [Problems]: the collector builders use to report every problem at once.
//   - [Connect]: an Engine API client configured from the environment (DOCKER_HOST,
//     DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION) with API version negotiation,
//     failing with [ErrNoEngine] and the address it tried when no engine answers.
//   - [EncodeAuth]: a registry credential encoded as the engine's X-Registry-Auth header.
//   - [LabelPrefix]: the prefix of every label key berth sets or reads.
//
// Only package stack follows the whole pipeline: builder or Compose file → Compile (pure) →
// Plan (reads live state) → Apply → Watch. Package swarm has the builder and the watch for one
// service and writes at once (Create, Update, Scale: no plan); the other packages act directly,
// validating their input before the first write.
//
//	image       build, import, tag, push and pull images with typed progress
//	registry    a local registry container and the registry HTTP API v2
//	volume      volumes, data-volume containers, streaming backup and restore
//	swarm       cluster life cycle, nodes, the Service builder, single services, Watch
//	swarm/dind  a local multi-node swarm of Docker-in-Docker nodes and a registry
//	stack       stacks of services, networks, volumes, configs and secrets; Compose in and out;
//	            compile, plan, apply, watch
//	cron        scheduled jobs as containers, execs or swarm jobs
//
// ARCHITECTURE.md at the repository's root says where each step lives.
package berth
