package govern

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/tsingma/tsingma/internal/scoring"
	"github.com/tsingma/tsingma/internal/telemetry"
	"github.com/tsingma/tsingma/internal/twin"
)

// AnomalyBuiltin describes the scoring service's detector as the registry
// records it: system scoring.ModelName, version scoring.ModelVersion, the
// anomaly family with the service's default configuration. The built-in
// model has no separate artefact file: its artefact hash is the SHA-256 of
// the version string and the configuration, so it changes exactly when
// either does.
func AnomalyBuiltin() Builtin {
	cfg, _ := json.Marshal(DefaultAnomalyConfig())
	h := sha256.Sum256(append([]byte(scoring.ModelVersion+"\n"), cfg...))
	return Builtin{
		System: NewSystem{
			ID:      scoring.ModelName,
			Name:    "Streaming anomaly detector",
			Purpose: "Scores every telemetry channel of every twin for unusual values and raises warning alerts for operators to review.",
			Owner:   "tsingma",
			// Alerts go to operators who acknowledge them: human on the loop.
			Oversight: OnTheLoop,
			Stage:     "operation",
			// It watches slopes, tunnels and other safety-critical assets.
			Questionnaire: Questionnaire{SafetyCritical: true},
		},
		Version: NewVersion{
			Version:      scoring.ModelVersion,
			Family:       FamilyAnomaly,
			Config:       cfg,
			ArtefactHash: hex.EncodeToString(h[:]),
			Lineage:      "no training data: an online detector that learns each series as it arrives (see docs/decisions/anomaly.md)",
			Outputs:      []string{"<channel>" + scoring.Suffix + " score series", "warning alerts"},
		},
	}
}

// TwinLister lists twins (*twin.Registry).
type TwinLister interface {
	Query(ctx context.Context, tenant string, q twin.Query) (twin.Page, error)
}

// SeriesStore is the telemetry store as replays read it (*store.Store).
type SeriesStore interface {
	Range(ctx context.Context, k telemetry.Key, mint, maxt int64, fn func(ts int64, v float64) bool) error
	Channels(tenant, twin string) []string
}

// NewStoreSource adapts the twin registry and telemetry store to Source.
// Score series (scoring.Suffix) are not telemetry and are left out.
func NewStoreSource(tw TwinLister, st SeriesStore) Source { return storeSource{tw, st} }

type storeSource struct {
	tw TwinLister
	st SeriesStore
}

func (s storeSource) Series(ctx context.Context, tenant string) ([]telemetry.Key, error) {
	var out []telemetry.Key
	q := twin.Query{Limit: 1000}
	for {
		page, err := s.tw.Query(ctx, tenant, q)
		if err != nil {
			return nil, err
		}
		for _, t := range page.Items {
			for _, ch := range s.st.Channels(tenant, t.ID) {
				if !strings.HasSuffix(ch, scoring.Suffix) {
					out = append(out, telemetry.Key{Tenant: tenant, Twin: t.ID, Channel: ch})
				}
			}
		}
		if page.Next == "" {
			return out, nil
		}
		q.Cursor = page.Next
	}
}

func (s storeSource) Range(ctx context.Context, k telemetry.Key, mint, maxt int64, fn func(ts int64, v float64) bool) error {
	return s.st.Range(ctx, k, mint, maxt, fn)
}
