package image

import (
	"encoding/json"
	"fmt"
	"iter"
	"strings"

	"github.com/berthdev/berth/internal/msgstream"
	"github.com/moby/moby/api/types/jsonstream"
)

// StreamError is an error the engine reported inside a build, pull, push, import or load
// stream. Output holds the last lines of build output before it (a failing RUN step's own
// output).
type StreamError = msgstream.StreamError

// Event is one progress message of a Build, Push, Pull, Import or Load.
type Event struct {
	ID      string // layer or image ID the status is about, when any
	Status  string // "Pushing", "Pull complete", ...
	Stream  string // build output
	Current int64  // bytes done, when the engine reports progress
	Total   int64  // bytes in all, when known
	ImageID string // the built image's ID (build, aux message)
	Digest  string // the pushed manifest's digest (push, aux message)
}

// String renders the event as the Docker CLI prints it in plain mode.
func (e Event) String() string {
	switch {
	case e.Stream != "":
		return strings.TrimRight(e.Stream, "\n")
	case e.ID != "":
		return e.ID + ": " + e.Status
	default:
		return e.Status
	}
}

// Result is what Wait learned from a stream.
type Result struct {
	ImageID string
	Digest  string
	Events  int
}

// Wait consumes events until the end and returns the image ID and digest they carried, or the
// first error as the stream gave it: Build, Push and Pull already name the operation in it
// (e.g. "push 127.0.0.1:5000/echo:1: ...").
func Wait(events iter.Seq2[Event, error]) (Result, error) {
	var r Result
	for ev, err := range events {
		if err != nil {
			return r, err
		}
		r.Events++
		if ev.ImageID != "" {
			r.ImageID = ev.ImageID
		}
		if ev.Digest != "" {
			r.Digest = ev.Digest
		}
	}
	return r, nil
}

// events turns a decoded message stream into typed events, wrapping an error with op.
func events(op string, msgs iter.Seq2[jsonstream.Message, error]) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for m, err := range msgs {
			if err != nil {
				yield(Event{}, fmt.Errorf("%s: %w", op, err))
				return
			}
			if !yield(toEvent(m), nil) {
				return
			}
		}
	}
}

func toEvent(m jsonstream.Message) Event {
	ev := Event{ID: m.ID, Status: m.Status, Stream: m.Stream}
	if m.Progress != nil {
		ev.Current, ev.Total = m.Progress.Current, m.Progress.Total
	}
	if m.Aux != nil {
		var aux struct {
			ID     string `json:"ID"`
			Digest string `json:"Digest"`
		}
		if json.Unmarshal(*m.Aux, &aux) == nil {
			ev.ImageID, ev.Digest = aux.ID, aux.Digest
		}
	}
	return ev
}

// failed returns an iterator that yields only err.
func failed(err error) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) { yield(Event{}, err) }
}
