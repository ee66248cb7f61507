// Package visualize is the swarm visualizer: a page that shows which node runs which task,
// live, read-only and safe to leave open.
//
// It has two parts:
//
//   - a placement model (Model, Snapshot): nodes (hostname, role, availability, status,
//     leader, engine version, platform, CPUs, memory, node and engine labels), services
//     (stack, image, mode, replicas wanted and running, update state) and tasks (slot, node,
//     desired and current state, error, exit code, since when). One Model reads the engine
//     for every page that watches it: it follows the node and service events and lists the
//     tasks every second (the engine has no task events), and publishes what changed as a
//     Change (Diff of two snapshots).
//   - an http.Handler (Handler): the page, rendered on the server with html/template (every
//     string escaped) with a small script and style embedded in the binary (no CDN), the
//     snapshot as JSON, and the changes as Server-Sent Events that the page applies.
//
// Browsers never talk to the engine: the handler answers GET and HEAD of its own paths only
// and forwards nothing. Environment values, secret and config data and command lines never
// enter the model, so they cannot leave the server. Serve listens on 127.0.0.1 by default,
// and refuses a non-loopback address without a token or basic auth unless told Insecure.
//
// To run it on a swarm as the chapter runs its visualizer, build examples/visualizer into a
// FROM scratch image and deploy Stack (or examples/visualizer/visualizer.yml): global, on the
// managers, with the engine socket mounted read-only and a host-mode port.
package visualize
