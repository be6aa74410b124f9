// Package twin is the digital-twin registry: asset types, twins (assets and
// sensors) with validated properties, geometry, labels and relationships,
// all scoped by tenant, persisted in a bbolt file and indexed in memory
// (by type, by relationship in both directions, and spatially with an
// R-tree) for queries.
//
// A [Registry] is opened with [Open] and closed with [Registry.Close]; the
// caller that opens it closes it. All methods are safe for concurrent use.
// Writes are committed (fsync) before they return; concurrent writers share
// one bbolt transaction and one fsync (group commit, see [Registry.Put]).
// Reads never touch the disk: they are served from memory under a RWMutex,
// and [Registry.Channel], the telemetry validation hot path, does not
// allocate.
//
// Values returned by the registry are deep copies: callers may modify them.
//
// The package imports no transport (api, broker, app, cli): those call it.
package twin
