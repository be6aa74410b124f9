package slopewatch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/tsingma/tsingma/internal/govern"
)

// Builtin describes the landslide model for the model registry.
func Builtin() govern.Builtin {
	cfg, _ := json.Marshal(map[string]any{
		"physics": "Iverson (2000) transient infiltration, saturated finite depth (TRIGRS-equivalent)", "idw_gauges": 3, "idw_radius_km": 10,
		"rolling_windows": []string{"1h", "3h", "12h", "24h", "72h"}, "forecast": "inverse velocity (Fukuzono, Voight)", "territory_curve": "coefficients.json",
	})
	h := sha256.Sum256(append([]byte(ModelVersion+"\n"), cfg...))
	return govern.Builtin{
		System: govern.NewSystem{ID: ModelName, Owner: "tsingma", Stage: "operation", Name: "Landslide early warning",
			Purpose:   "Gives each registered slope a live risk level (normal, watch, warning, critical) with its reasons from rolling rainfall, the factor of safety and displacement forecasts, and a territory-wide landslip warning; engineers act on the alerts.",
			Oversight: govern.OnTheLoop},
		Version: govern.NewVersion{Version: ModelVersion, Config: cfg, ArtefactHash: hex.EncodeToString(h[:]),
			Lineage: "physics validated against USGS TRIGRS (tsingma eval trigrs); the territory curve fitted on HKO daily rainfall and GEO/CEDD incidents 1984-2005 (tsingma eval landslip)",
			Outputs: []string{"landslide.level", "landslide.fs_min", "risk alerts", "territory warning"}},
	}
}
