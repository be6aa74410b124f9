package dispatch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/tsingma/tsingma/internal/govern"
)

// RoutingBuiltin describes the routing model for the model registry. Its
// artefact hash is the SHA-256 of the version and configuration.
func RoutingBuiltin() govern.Builtin {
	cfg, _ := json.Marshal(map[string]any{"road_factor": DefaultRoadFactor, "speed_kmh": DefaultSpeedKMH, "solver": "hgs", "checker": "route.Check"})
	return builtin(RoutingModel, RoutingVersion, cfg, govern.NewSystem{
		Name:      "Vehicle routing with time windows",
		Purpose:   "Plans delivery routes (stop order, ETAs, loads) for the fleet from the twin graph and re-plans after breakdowns; dispatchers review plans before use.",
		Oversight: govern.InTheLoop,
	}, "no training data: an optimisation solver (hybrid genetic search) whose every plan passes an independent feasibility checker (see docs/decisions/routing.md)",
		[]string{"routing job plans"})
}

// InventoryBuiltin describes the inventory model for the model registry.
func InventoryBuiltin() govern.Builtin {
	cfg, _ := json.Marshal(map[string]any{"fill_rate": 0.98, "models": []string{"holt-winters", "croston-sba", "mean"}, "selection": "holdout MAE (28 days)"})
	return builtin(InventoryModel, InventoryVersion, cfg, govern.NewSystem{
		Name:      "Inventory forecasting and reorder suggestions",
		Purpose:   "Forecasts each stock item's demand, sets reorder points and order quantities for a target fill rate, and suggests reorders as alerts for the warehouse team.",
		Oversight: govern.OnTheLoop,
	}, "fitted per item on its own demand history at every evaluation (see docs/decisions/routing.md)",
		[]string{ChannelReorderPoint, ChannelOrderQuantity, ChannelStockoutRisk, ChannelLeadDemand, "reorder alerts"})
}

func builtin(id, version string, cfg []byte, sys govern.NewSystem, lineage string, outputs []string) govern.Builtin {
	h := sha256.Sum256(append([]byte(version+"\n"), cfg...))
	sys.ID, sys.Owner, sys.Stage = id, "tsingma", "operation"
	return govern.Builtin{System: sys, Version: govern.NewVersion{Version: version, Config: cfg, ArtefactHash: hex.EncodeToString(h[:]),
		Lineage: lineage, Outputs: outputs}}
}
