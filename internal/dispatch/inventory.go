package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tsingma/tsingma/internal/alert"
	"github.com/tsingma/tsingma/internal/stock"
	"github.com/tsingma/tsingma/internal/store"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// InventoryModel and InventoryVersion identify the inventory model in
// alerts and series.
const (
	InventoryModel   = "inventory"
	InventoryVersion = "tsingma-inventory/1.0"
)

// Series written on each stock item at every evaluation.
const (
	ChannelReorderPoint  = "stock.reorder_point"
	ChannelOrderQuantity = "stock.order_quantity"
	ChannelStockoutRisk  = "stock.stockout_risk"
	ChannelLeadDemand    = "stock.lead_time_demand"
)

// Series is what the monitor needs of the telemetry store (*store.Store).
type Series interface {
	Range(ctx context.Context, k telemetry.Key, mint, maxt int64, fn func(ts int64, v float64) bool) error
	Append(ctx context.Context, samples []telemetry.Sample) ([]telemetry.Status, error)
}

// Alerts is what the monitor needs of the alert engine (*alert.Engine).
type Alerts interface {
	Raise(ctx context.Context, s alert.Signal) (alert.Alert, error)
	Clear(ctx context.Context, s alert.Signal) (alert.Alert, bool, error)
}

// TenantLister lists tenants (*twin.Registry).
type TenantLister interface{ Tenants() []string }

// MonitorConfig configures the inventory monitor.
type MonitorConfig struct {
	Twins   Twins
	Tenants TenantLister
	Store   Series
	Alerts  Alerts // nil: no alerts
	Logger  *slog.Logger
	// Interval between evaluations (default 1 min: the demo warehouse,
	// 24 items with a year of history, takes about 25 ms (BenchmarkEvaluateWarehouse),
	// and the demo runs simulated time fast).
	Interval time.Duration
	// FillRate is the target share of demand served from stock (default 0.98).
	FillRate float64
	// HistoryDays of demand read per item (default 365).
	HistoryDays int
	Now         func() time.Time
}

// ItemView is one stock item's forecast and suggestion.
type ItemView struct {
	ID    string  `json:"id"`
	SKU   string  `json:"sku,omitempty"`
	Level float64 `json:"level"`
	// LevelAt is the time of the latest stock level sample.
	LevelAt   time.Time `json:"level_at,omitzero"`
	HistoryN  int       `json:"history_days"`
	Method    string    `json:"method,omitempty"`
	LeadTimeD int       `json:"lead_time_days"`
	// Forecast is the expected daily demand for the coming days.
	Forecast      []float64 `json:"forecast,omitempty"`
	HoldoutMAE    float64   `json:"holdout_mae,omitempty"`
	ReorderPoint  float64   `json:"reorder_point"`
	SafetyStock   float64   `json:"safety_stock"`
	OrderQuantity float64   `json:"order_quantity"`
	StockoutRisk  float64   `json:"stockout_risk"`
	// Reorder is true when the level is at or below the reorder point;
	// Order is then the suggested quantity.
	Reorder bool    `json:"reorder"`
	Order   float64 `json:"order"`
	Status  string  `json:"status"` // "ok", "reorder", "no-history"
	Detail  string  `json:"detail,omitempty"`
}

// WarehouseView is the latest evaluation of one warehouse.
type WarehouseView struct {
	Warehouse string     `json:"warehouse"`
	At        time.Time  `json:"at"`
	Model     string     `json:"model"`
	FillRate  float64    `json:"target_fill_rate"`
	Items     []ItemView `json:"items"`
}

// Monitor evaluates every warehouse's stock items on a cadence.
type Monitor struct {
	cfg    MonitorConfig
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu       sync.Mutex
	views    map[string]*WarehouseView // tenant/warehouse
	alerting map[string]bool           // tenant/item → raised

	evals, raised atomic.Int64
}

// NewMonitor validates cfg. Start runs it; Close stops it.
func NewMonitor(cfg MonitorConfig) (*Monitor, error) {
	if cfg.Twins == nil || cfg.Store == nil || cfg.Tenants == nil {
		return nil, errors.New("dispatch: MonitorConfig needs Twins, Tenants and Store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.FillRate <= 0 || cfg.FillRate >= 1 {
		cfg.FillRate = 0.98
	}
	if cfg.HistoryDays <= 0 {
		cfg.HistoryDays = 365
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Monitor{cfg: cfg, log: cfg.Logger.With("component", "inventory"), views: map[string]*WarehouseView{}, alerting: map[string]bool{}}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// Start evaluates every tenant now and then every Interval, in one owned
// goroutine.
func (m *Monitor) Start() {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(m.cfg.Interval)
		defer t.Stop()
		for {
			for _, tn := range m.cfg.Tenants.Tenants() {
				if err := m.EvaluateTenant(m.ctx, tn); err != nil && m.ctx.Err() == nil {
					m.log.Warn("inventory evaluation", "tenant", tn, "err", err)
				}
			}
			select {
			case <-m.ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the monitor and waits. Idempotent.
func (m *Monitor) Close() error {
	m.once.Do(func() {
		m.cancel()
		m.wg.Wait()
	})
	return nil
}

// EvaluateTenant evaluates every warehouse of a tenant.
func (m *Monitor) EvaluateTenant(ctx context.Context, tenant string) error {
	q := twin.Query{Type: "warehouse", Limit: twin.MaxLimit, Sort: "id"}
	for {
		pg, err := m.cfg.Twins.Query(ctx, tenant, q)
		if err != nil {
			return fmt.Errorf("list warehouses: %w", err)
		}
		for _, w := range pg.Items {
			if _, err := m.Evaluate(ctx, tenant, w.ID); err != nil {
				return err
			}
		}
		if pg.Next == "" {
			return nil
		}
		q.Cursor = pg.Next
	}
}

// Warehouse returns a warehouse's evaluation: the monitor's latest when it
// is younger than a minute, else a fresh one computed without writing
// series or alerts (a read has no side effects).
func (m *Monitor) Warehouse(ctx context.Context, tenant, id string) (*WarehouseView, error) {
	m.mu.Lock()
	v := m.views[tenant+"\x00"+id]
	m.mu.Unlock()
	if v != nil && m.cfg.Now().Sub(v.At) < time.Minute {
		return v, nil
	}
	return m.evaluate(ctx, tenant, id, false)
}

// Evaluate forecasts every stock item stored at the warehouse (relation
// storedAt) from its daily demand series, writes the stock.* series on the
// item, and raises (or clears) a reorder alert on its stockLevel channel
// when the latest level is at or below (or back above) the reorder point.
func (m *Monitor) Evaluate(ctx context.Context, tenant, warehouse string) (*WarehouseView, error) {
	return m.evaluate(ctx, tenant, warehouse, true)
}

func (m *Monitor) evaluate(ctx context.Context, tenant, warehouse string, write bool) (*WarehouseView, error) {
	wt, err := m.cfg.Twins.Get(ctx, tenant, warehouse)
	if err != nil {
		return nil, fmt.Errorf("warehouse %s: %w", warehouse, err)
	}
	if wt.Type != "warehouse" {
		return nil, fmt.Errorf("%w: twin %s is a %s, not a warehouse", twin.ErrNotFound, warehouse, wt.Type)
	}
	items, err := related(ctx, m.cfg.Twins, tenant, warehouse, "storedAt", "stock-item")
	if err != nil {
		return nil, err
	}
	now := m.cfg.Now()
	view := &WarehouseView{Warehouse: warehouse, At: now.UTC(), Model: InventoryVersion, FillRate: m.cfg.FillRate, Items: []ItemView{}}
	var out []telemetry.Sample
	for _, it := range items {
		iv, err := m.item(ctx, tenant, it, now)
		if err != nil {
			return nil, err
		}
		view.Items = append(view.Items, iv)
		if iv.Status == "no-history" || !write {
			continue
		}
		ts := now.UnixMilli()
		for ch, v := range map[string]float64{ChannelReorderPoint: iv.ReorderPoint, ChannelOrderQuantity: iv.OrderQuantity,
			ChannelStockoutRisk: iv.StockoutRisk, ChannelLeadDemand: leadDemand(iv)} {
			out = append(out, telemetry.Sample{Tenant: tenant, Twin: it.ID, Type: it.Type, Channel: ch, TS: ts, Value: v})
		}
		m.signal(ctx, tenant, it.ID, iv, now)
	}
	if !write {
		return view, nil
	}
	if len(out) > 0 {
		if _, err := m.cfg.Store.Append(ctx, out); err != nil {
			return nil, fmt.Errorf("store inventory series: %w", err)
		}
	}
	m.evals.Add(1)
	m.mu.Lock()
	m.views[tenant+"\x00"+warehouse] = view
	m.mu.Unlock()
	return view, nil
}

func leadDemand(iv ItemView) float64 {
	s := 0.0
	for k := 0; k < iv.LeadTimeD && k < len(iv.Forecast); k++ {
		s += iv.Forecast[k]
	}
	return round(s, 2)
}

// item evaluates one stock item.
func (m *Monitor) item(ctx context.Context, tenant string, it twin.Twin, now time.Time) (ItemView, error) {
	iv := ItemView{ID: it.ID, Status: "no-history"}
	iv.SKU, _ = it.Properties["sku"].(string)
	lead := 2.0
	if v, ok := number(it.Properties["leadTime"]); ok && v > 0 {
		lead = v
	}
	iv.LeadTimeD = max(1, int(math.Ceil(lead)))
	maxt := now.UnixMilli()
	mint := now.Add(-time.Duration(m.cfg.HistoryDays) * 24 * time.Hour).UnixMilli()
	var hist []float64
	err := m.cfg.Store.Range(ctx, telemetry.Key{Tenant: tenant, Twin: it.ID, Channel: "demand"}, mint, maxt, func(_ int64, v float64) bool {
		hist = append(hist, v)
		return true
	})
	if err != nil && !isNoSeries(err) {
		return iv, fmt.Errorf("read demand of %s: %w", it.ID, err)
	}
	level, levelTS, okLevel := 0.0, int64(0), false
	err = m.cfg.Store.Range(ctx, telemetry.Key{Tenant: tenant, Twin: it.ID, Channel: "stockLevel"}, mint, maxt, func(ts int64, v float64) bool {
		level, levelTS, okLevel = v, ts, true
		return true
	})
	if err != nil && !isNoSeries(err) {
		return iv, fmt.Errorf("read stock level of %s: %w", it.ID, err)
	}
	iv.Level, iv.HistoryN = level, len(hist)
	if okLevel {
		iv.LevelAt = time.UnixMilli(levelTS).UTC()
	}
	if !okLevel || len(hist) < 3 {
		iv.Detail = fmt.Sprintf("needs a stock level and at least 3 days of demand (has %d)", len(hist))
		return iv, nil
	}
	horizon := iv.LeadTimeD + 7
	f, err := stock.ForecastDemand(hist, horizon)
	if errors.Is(err, stock.ErrShortHistory) {
		f = meanForecast(hist, horizon)
		iv.Detail = fmt.Sprintf("%d days of history: a mean forecast until %d days allow model selection", len(hist), stock.MinHistory)
	} else if err != nil {
		return iv, fmt.Errorf("forecast %s: %w", it.ID, err)
	}
	d, err := stock.Policy{LeadTime: iv.LeadTimeD, FillRate: m.cfg.FillRate}.Decide(f, level)
	if err != nil {
		return iv, fmt.Errorf("reorder policy %s: %w", it.ID, err)
	}
	iv.Method, iv.HoldoutMAE = string(f.Method), round(f.HoldoutMAE, 3)
	for _, x := range f.Mean {
		iv.Forecast = append(iv.Forecast, round(x, 2))
	}
	iv.ReorderPoint, iv.SafetyStock, iv.OrderQuantity = round(d.ReorderPoint, 1), round(d.SafetyStock, 1), round(d.OrderQuantity, 1)
	iv.StockoutRisk = round(d.StockoutRisk, 4)
	iv.Status = "ok"
	if level <= d.ReorderPoint {
		iv.Reorder, iv.Order, iv.Status = true, round(math.Max(d.Order, d.OrderQuantity), 1), "reorder"
	}
	return iv, nil
}

// meanForecast is the short-history fallback: the mean with the sample
// deviation as one-day error.
func meanForecast(h []float64, horizon int) stock.Forecast {
	mu := 0.0
	for _, x := range h {
		mu += x
	}
	mu /= float64(len(h))
	ss := 0.0
	res := make([]float64, len(h))
	for i, x := range h {
		res[i] = x - mu
		ss += res[i] * res[i]
	}
	f := stock.Forecast{Method: "mean", Sigma: math.Sqrt(ss / float64(len(h)-1)), Residuals: res}
	for range horizon {
		f.Mean = append(f.Mean, mu)
	}
	return f
}

func (m *Monitor) signal(ctx context.Context, tenant, id string, iv ItemView, now time.Time) {
	if m.cfg.Alerts == nil {
		return
	}
	k := tenant + "\x00" + id
	m.mu.Lock()
	was, known := m.alerting[k]
	m.mu.Unlock()
	sig := alert.Signal{Tenant: tenant, Source: "model:" + InventoryModel, ModelVersion: InventoryVersion, Twin: id,
		Channel: "stockLevel", Key: "reorder", Severity: alert.Warning, At: now}
	if iv.Reorder {
		risk := iv.StockoutRisk
		sig.Value = &risk
		sig.Reason = fmt.Sprintf("stock %.0f is at or below the reorder point %.1f (forecast %s, lead time %d d, target fill rate %.2f): order %.0f; stock-out risk over the lead time %.1f%%",
			iv.Level, iv.ReorderPoint, iv.Method, iv.LeadTimeD, m.cfg.FillRate, iv.Order, 100*iv.StockoutRisk)
		sig.Evidence = []alert.Evidence{{Twin: id, Channel: "stockLevel", TS: iv.LevelAt.UnixMilli(), Value: iv.Level}}
		sig.Details = map[string]any{"reorder_point": iv.ReorderPoint, "order_quantity": iv.Order, "stockout_risk": iv.StockoutRisk,
			"method": iv.Method, "lead_time_days": iv.LeadTimeD, "model": InventoryModel, "version": InventoryVersion}
		if was {
			return
		}
		if _, err := m.cfg.Alerts.Raise(ctx, sig); err != nil {
			m.log.Warn("raise reorder alert", "item", id, "err", err)
			return
		}
		m.raised.Add(1)
		m.mu.Lock()
		m.alerting[k] = true
		m.mu.Unlock()
		return
	}
	if known && !was {
		return
	}
	sig.Reason = fmt.Sprintf("restocked: %.0f is above the reorder point %.1f", iv.Level, iv.ReorderPoint)
	if _, _, err := m.cfg.Alerts.Clear(ctx, sig); err != nil {
		m.log.Warn("clear reorder alert", "item", id, "err", err)
		return
	}
	m.mu.Lock()
	m.alerting[k] = false
	m.mu.Unlock()
}

// WriteMetrics writes the monitor's Prometheus metrics.
func (m *Monitor) WriteMetrics(w io.Writer) {
	fmt.Fprintf(w, "# HELP tsingma_inventory_evaluations_total Warehouse evaluations by the inventory model.\n# TYPE tsingma_inventory_evaluations_total counter\ntsingma_inventory_evaluations_total %d\n", m.evals.Load())
	fmt.Fprintf(w, "# HELP tsingma_inventory_reorder_alerts_total Reorder alerts raised.\n# TYPE tsingma_inventory_reorder_alerts_total counter\ntsingma_inventory_reorder_alerts_total %d\n", m.raised.Load())
}

func isNoSeries(err error) bool { return errors.Is(err, store.ErrNoSeries) }
