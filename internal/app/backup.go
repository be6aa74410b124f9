package app

import (
	"context"
	"fmt"

	"github.com/tsingma/tsingma/internal/backup"
)

// Backup writes the platform's state to sink, component by component, in
// the data directory's layout: extracted into an empty directory, it is
// a data directory that `tsingma serve --data` opens. Each component's
// part is consistent on its own, taken at its own moment (as after a
// crash at that moment, component by component): the telemetry store's
// holds every sample acknowledged before the backup began.
func (a *App) Backup(ctx context.Context, sink backup.Sink) error {
	type part struct {
		name string
		add  func() error
	}
	parts := []part{
		{"tokens", func() error { return a.Tokens.Backup(sink, "auth.db") }},
		{"twins", func() error { return a.Twins.Backup(sink, "twins.db") }},
		{"model registry", func() error { return a.Govern.Backup(sink, "govern.db") }},
		{"alerts", func() error { return a.Alerts.Backup(sink, "alerts.db") }},
		{"routing jobs", func() error { return a.Routing.Backup(sink, "routing.db") }},
		{"telemetry", func() error { return a.Store.Backup(ctx, sink, "telemetry") }},
	}
	if a.Scoring != nil {
		parts = append(parts, part{"anomaly scoring", func() error { return a.Scoring.Backup(sink, "anomaly") }})
	}
	if a.Drift != nil {
		parts = append(parts, part{"drift baselines", func() error { return a.Drift.Backup(sink, "drift") }})
	}
	// The audit log last: the changes the parts above hold were recorded
	// in it by then (twin and rule changes reach it through the bus a
	// moment after they are committed).
	parts = append(parts, part{"audit log", func() error { return a.Audit.Backup(sink, "audit") }})
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.add(); err != nil {
			return fmt.Errorf("back up the %s: %w", p.name, err)
		}
	}
	return nil
}
