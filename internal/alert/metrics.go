package alert

import (
	"fmt"
	"io"
	"sync/atomic"
)

// WriteMetrics appends the engine's counters in Prometheus text format.
func (e *Engine) WriteMetrics(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# HELP tsingma_alert_samples_total Samples examined by the rule engine.\n# TYPE tsingma_alert_samples_total counter\ntsingma_alert_samples_total %d\n", e.stats.samples.Load())
	p("# HELP tsingma_alert_rule_evaluations_total Rule evaluations (a sample against a rule in scope).\n# TYPE tsingma_alert_rule_evaluations_total counter\ntsingma_alert_rule_evaluations_total %d\n", e.stats.evals.Load())
	p("# HELP tsingma_alerts_raised_total Alerts raised (or re-raised while open), by kind of source.\n# TYPE tsingma_alerts_raised_total counter\n")
	p("tsingma_alerts_raised_total{source=\"rule\"} %d\ntsingma_alerts_raised_total{source=\"model\"} %d\n", e.stats.raisedRule.Load(), e.stats.raisedModel.Load())
	p("# HELP tsingma_alerts_cleared_total Alerts cleared, by cause.\n# TYPE tsingma_alerts_cleared_total counter\n")
	for _, by := range []string{ByCondition, ByModel, ByHand, ByRuleDeleted, ByRuleChanged, ByTwinDeleted} {
		var n uint64
		if v, ok := e.stats.cleared.Load(by); ok {
			n = v.(*atomic.Uint64).Load()
		}
		p("tsingma_alerts_cleared_total{by=%q} %d\n", by, n)
	}
	p("# HELP tsingma_alerts_acknowledged_total Alerts acknowledged.\n# TYPE tsingma_alerts_acknowledged_total counter\ntsingma_alerts_acknowledged_total %d\n", e.stats.acked.Load())
	p("# HELP tsingma_alert_signals_refused_total Model signals refused by the admission hook (governance).\n# TYPE tsingma_alert_signals_refused_total counter\ntsingma_alert_signals_refused_total %d\n", e.stats.refused.Load())
	p("# HELP tsingma_alert_persist_errors_total Failed writes of alert changes.\n# TYPE tsingma_alert_persist_errors_total counter\ntsingma_alert_persist_errors_total %d\n", e.stats.persistErr.Load())
	var dropped uint64
	if sub := e.sub.Load(); sub != nil {
		dropped = sub.Dropped()
	}
	p("# HELP tsingma_alert_dropped_batches_total Sample batches the rule engine lost to a full bus buffer.\n# TYPE tsingma_alert_dropped_batches_total counter\ntsingma_alert_dropped_batches_total %d\n", dropped)
	e.mu.Lock()
	open := map[Severity]int{}
	rules := 0
	for _, ts := range e.tenants {
		rules += len(ts.rules)
		for _, a := range ts.byID {
			open[a.Severity]++
		}
	}
	e.mu.Unlock()
	p("# HELP tsingma_alerts_open Open alerts, by severity.\n# TYPE tsingma_alerts_open gauge\n")
	for _, s := range []Severity{Info, Warning, Critical} {
		p("tsingma_alerts_open{severity=%q} %d\n", s, open[s])
	}
	p("# HELP tsingma_alert_rules Rules defined.\n# TYPE tsingma_alert_rules gauge\ntsingma_alert_rules %d\n", rules)
}
