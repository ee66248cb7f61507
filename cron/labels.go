package cron

import (
	"context"
	"time"
)

// LabelOptions configures the label watcher (WithLabels).
type LabelOptions struct {
	// Reconcile is the period of the full reconcile beside engine events (30s by default).
	Reconcile time.Duration
}

// WithLabels makes Run schedule jobs declared by labels on containers and services.
func WithLabels(o LabelOptions) Option {
	return func(cfg *config) error {
		if o.Reconcile == 0 {
			o.Reconcile = 30 * time.Second
		}
		cfg.labels = &o
		return nil
	}
}

func (s *Scheduler) watchLabels(ctx context.Context) {}
