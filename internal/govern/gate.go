package govern

import "time"

// Questionnaire is the risk-gating questionnaire.
type Questionnaire struct {
	AffectsPeople       bool `json:"affects_people"`        // outputs affect individuals (safety, access, treatment)
	PersonalData        bool `json:"personal_data"`         // processes personal data
	AutomatedDecision   bool `json:"automated_decision"`    // acts without a human deciding
	SafetyCritical      bool `json:"safety_critical"`       // monitors or controls a safety-critical asset
	CustomerFacingGenAI bool `json:"customer_facing_genai"` // generative AI facing customers or the public
	ThirdPartyModel     bool `json:"third_party_model"`     // model or service from a vendor
}

// Risk tiers.
const (
	TierLow    = "low"
	TierMedium = "medium"
	TierHigh   = "high"
)

// Evaluation kinds a tier can require.
const (
	EvalBacktest   = "backtest"   // replay over recorded telemetry
	EvalComparison = "comparison" // champion-challenger report
	EvalShadow     = "shadow"     // a shadow trial on the live stream
)

// Sign-off steps.
const (
	StepPreparer = "preparer"
	StepReviewer = "reviewer"
	StepApprover = "approver"
)

// Gate is what the questionnaire sets.
type Gate struct {
	Tier           string   `json:"tier"`
	Reasons        []string `json:"reasons"`
	Evaluations    []string `json:"evaluations"` // required before promotion
	SignOffs       []string `json:"sign_offs"`   // the chain, in order
	ReviewInterval int      `json:"review_interval_days"`
}

// Interval is the review interval as a duration.
func (g Gate) Interval() time.Duration { return time.Duration(g.ReviewInterval) * 24 * time.Hour }

// Assess applies the risk-gating rules:
//   - high: safety-critical asset, customer-facing generative AI, or an
//     automated decision that affects people; needs a backtest, a
//     champion-challenger comparison and a shadow trial, the full sign-off
//     chain, and review every 180 days;
//   - medium: affects people, personal data, automated decision, or a
//     third-party model; backtest and comparison, full chain, 365 days;
//   - low: none of these; backtest, preparer and approver, 730 days.
func (q Questionnaire) Assess() Gate {
	var high, medium []string
	if q.SafetyCritical {
		high = append(high, "monitors or controls a safety-critical asset")
	}
	if q.CustomerFacingGenAI {
		high = append(high, "customer-facing generative AI")
	}
	if q.AutomatedDecision && q.AffectsPeople {
		high = append(high, "automated decision that affects people")
	}
	if q.AffectsPeople {
		medium = append(medium, "affects people")
	}
	if q.PersonalData {
		medium = append(medium, "processes personal data")
	}
	if q.AutomatedDecision {
		medium = append(medium, "decides without a human")
	}
	if q.ThirdPartyModel {
		medium = append(medium, "third-party model")
	}
	switch {
	case len(high) > 0:
		return Gate{Tier: TierHigh, Reasons: append(high, medium...), Evaluations: []string{EvalBacktest, EvalComparison, EvalShadow},
			SignOffs: []string{StepPreparer, StepReviewer, StepApprover}, ReviewInterval: 180}
	case len(medium) > 0:
		return Gate{Tier: TierMedium, Reasons: medium, Evaluations: []string{EvalBacktest, EvalComparison},
			SignOffs: []string{StepPreparer, StepReviewer, StepApprover}, ReviewInterval: 365}
	}
	return Gate{Tier: TierLow, Reasons: []string{"none of the risk questions applies"}, Evaluations: []string{EvalBacktest},
		SignOffs: []string{StepPreparer, StepApprover}, ReviewInterval: 730}
}
