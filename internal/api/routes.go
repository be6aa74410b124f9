package api

// apiRoutes is the one table of the API's routes; the OpenAPI document
// must describe each of them (a test checks).
func (s *Server) apiRoutes() []Route {
	r := func(method, pattern, summary string, h handler) Route {
		return Route{method, pattern, summary, s.h(h)}
	}
	return []Route{
		r("GET", "/healthz", "Liveness", s.healthz),
		r("GET", "/readyz", "Readiness", s.readyz),
		r("GET", "/metrics", "Prometheus metrics", s.getMetrics),
		r("GET", "/api/v1/openapi.json", "This OpenAPI document", s.openapi),
		r("GET", "/api/v1/admin/backup", "A backup of the whole platform (tar); admins of the default tenant only", s.getBackup),

		r("GET", "/api/v1/types", "List twin types", s.listTypes),
		r("POST", "/api/v1/types", "Create or change a type", s.putType),
		r("GET", "/api/v1/types/{name}", "Get a type", s.getType),
		r("PUT", "/api/v1/types/{name}", "Create or change a type", s.putType),
		r("DELETE", "/api/v1/types/{name}", "Delete an unused type", s.deleteType),

		r("GET", "/api/v1/twins", "Query twins", s.queryTwins),
		r("POST", "/api/v1/twins", "Create a twin", s.createTwin),
		r("POST", "/api/v1/twins/_bulk", "Bulk upsert twins (NDJSON)", s.bulkTwins),
		r("GET", "/api/v1/twins/{id}", "Get a twin", s.getTwin),
		r("PUT", "/api/v1/twins/{id}", "Create or replace a twin", s.putTwin),
		r("PATCH", "/api/v1/twins/{id}", "JSON merge patch a twin", s.patchTwin),
		r("DELETE", "/api/v1/twins/{id}", "Delete a twin", s.deleteTwin),
		r("GET", "/api/v1/twins/{id}/latest", "Latest value of each channel of a twin", s.getTwinLatest),
		r("GET", "/api/v1/twins/{id}/telemetry/{channel}", "Samples of a channel: raw, aggregated, or CSV", s.getSeries),
		r("DELETE", "/api/v1/twins/{id}/telemetry", "Delete all stored telemetry of a twin", s.deleteTwinTelemetry),
		r("DELETE", "/api/v1/twins/{id}/telemetry/{channel}", "Delete the stored telemetry of a channel and its anomaly scores", s.deleteChannelTelemetry),

		r("POST", "/api/v1/telemetry", "Ingest samples (JSON or NDJSON)", s.postTelemetry),
		r("GET", "/api/v1/latest", "Latest values of many twins", s.getLatest),
		r("GET", "/api/v1/stream", "Live stream of samples and changes (SSE)", s.getStream),

		r("GET", "/api/v1/query", "PromQL instant query", s.promQuery),
		r("POST", "/api/v1/query", "PromQL instant query", s.promQuery),
		r("GET", "/api/v1/query_range", "PromQL range query", s.promQueryRange),
		r("POST", "/api/v1/query_range", "PromQL range query", s.promQueryRange),
		r("GET", "/api/v1/series", "Series matching selectors", s.promSeries),
		r("POST", "/api/v1/series", "Series matching selectors", s.promSeries),
		r("GET", "/api/v1/labels", "Label names", s.promLabels),
		r("POST", "/api/v1/labels", "Label names", s.promLabels),
		r("GET", "/api/v1/label/{name}/values", "Label values", s.promLabelValues),
		r("GET", "/api/v1/status/buildinfo", "Prometheus-compatible build information (Grafana's probe)", s.promBuildInfo),
		r("GET", "/api/v1/metadata", "Metric metadata: every channel is a gauge", s.promMetadata),
	}
}
