package cron

import (
	"time"

	"github.com/berthdev/berth"
)

// Option configures a scheduler (New).
type Option func(*config) error

type config struct {
	clock     Clock
	loc       *time.Location
	history   int
	maxOutput int
	grace     time.Duration
	labels    *LabelOptions
}

func defaults() config {
	return config{clock: SystemClock{}, loc: time.Local, history: 20, maxOutput: 64 << 10}
}

// WithClock sets the clock (the system clock by default); tests use a fake one.
func WithClock(c Clock) Option {
	return func(cfg *config) error {
		if c == nil {
			return berth.Invalid("cron/clock", "nil clock")
		}
		cfg.clock = c
		return nil
	}
}

// WithLocation sets the time zone of schedules without CRON_TZ (time.Local by default).
func WithLocation(loc *time.Location) Option {
	return func(cfg *config) error {
		if loc == nil {
			return berth.Invalid("cron/location", "nil location; want time.UTC or a time.LoadLocation result")
		}
		cfg.loc = loc
		return nil
	}
}

// WithHistory sets how many runs per job History keeps (20 by default).
func WithHistory(n int) Option {
	return func(cfg *config) error {
		if n < 1 {
			return berth.Invalid("cron/history", "%d runs; want at least 1", n)
		}
		cfg.history = n
		return nil
	}
}

// WithMaxOutput sets how many bytes of each of stdout and stderr a run keeps: the last ones
// (64 KiB by default).
func WithMaxOutput(bytes int) Option {
	return func(cfg *config) error {
		if bytes < 1 {
			return berth.Invalid("cron/max-output", "%d bytes; want at least 1", bytes)
		}
		cfg.maxOutput = bytes
		return nil
	}
}

// WithShutdownGrace makes Run, when its context ends, wait up to d for runs in progress to
// finish before cancelling them. By default they are cancelled at once. Either way their
// containers are removed before Run returns.
func WithShutdownGrace(d time.Duration) Option {
	return func(cfg *config) error {
		if d < 0 {
			return berth.Invalid("cron/shutdown-grace", "%s is negative", d)
		}
		cfg.grace = d
		return nil
	}
}
