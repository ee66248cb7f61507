package cron

import (
	"sync"
	"time"
)

// Status is how a run ended.
type Status string

const (
	Running   Status = "running"   // started, not finished yet
	Succeeded Status = "succeeded" // exit code 0
	Failed    Status = "failed"    // non-zero exit code, or the run could not be carried out
	TimedOut  Status = "timed-out" // cancelled by the job's Timeout
	Cancelled Status = "cancelled" // cancelled by shutdown or by a replacing run
	Skipped   Status = "skipped"   // not started: the previous run was still going (Overlap Skip)
)

// Result is one run of a job, as History and events report it.
type Result struct {
	Job       string
	Seq       uint64    // 1 for the job's first run, counting skipped ones
	Scheduled time.Time // when the run was due
	Started   time.Time // zero for a skipped run
	Finished  time.Time
	Duration  time.Duration
	Status    Status
	ExitCode  int
	Stdout    string // the last MaxOutput bytes of the run's stdout
	Stderr    string
	Truncated bool   // output was longer than MaxOutput and its start was dropped
	Err       string // why the run could not be carried out, or was cancelled
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu        sync.Mutex
	max       int
	buf       []byte
	truncated bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 2*b.max || (len(b.buf) > b.max && len(p) > b.max) {
		b.buf = append(b.buf[:0:0], b.buf[len(b.buf)-b.max:]...)
		b.truncated = true
	}
	return len(p), nil
}

func (b *tailBuffer) String() (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) > b.max {
		return string(b.buf[len(b.buf)-b.max:]), true
	}
	return string(b.buf), b.truncated
}

// history is a ring of the last n results of one job.
type history struct {
	n    int
	list []Result
}

func (h *history) add(r Result) {
	h.list = append(h.list, r)
	if len(h.list) > h.n {
		h.list = append(h.list[:0:0], h.list[len(h.list)-h.n:]...)
	}
}
