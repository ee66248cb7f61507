// Package image builds, imports, tags, inspects, removes, saves, loads, pushes and pulls
// images through the Engine API.
//
// Long operations (Build, Push, Pull) return an iterator of typed progress events decoded from
// the engine's JSON message stream. An error the engine reports inside the stream (a failing
// RUN step with its output, "manifest unknown", "connection refused") ends the iteration with a
// Go error that wraps a *StreamError; nothing is only printed. Wait drains an iterator and
// returns what it learned (the built image's ID, the pushed digest).
package image
