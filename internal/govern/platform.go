package govern

import (
	"github.com/tsingma/tsingma/internal/audit"
	"github.com/tsingma/tsingma/internal/auth"
)

// Platform bundles what the governance, audit and token API routes use.
// The composition root builds it; the API reaches it through a small
// interface of its own.
type Platform struct {
	Registry *Registry
	Shadows  *Shadows
	Source   Source
	Audit    *audit.Log
	Tokens   *auth.Store
	// Drift measures live models' score drift; nil when not running.
	Drift *DriftMonitor
}

// GovernRegistry returns the registry.
func (p *Platform) GovernRegistry() *Registry { return p.Registry }

// GovernShadows returns the shadow trials.
func (p *Platform) GovernShadows() *Shadows { return p.Shadows }

// GovernSource returns recorded telemetry for replays.
func (p *Platform) GovernSource() Source { return p.Source }

// AuditLog returns the audit log.
func (p *Platform) AuditLog() *audit.Log { return p.Audit }

// TokenStore returns the token store.
func (p *Platform) TokenStore() *auth.Store { return p.Tokens }

// GovernDrift returns the drift monitor (nil when not running).
func (p *Platform) GovernDrift() *DriftMonitor { return p.Drift }
