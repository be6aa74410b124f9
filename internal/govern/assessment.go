package govern

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tsingma/tsingma/internal/audit"
	"github.com/tsingma/tsingma/internal/auth"
)

// Assessment states.
const (
	StateDraft    = "draft"            // answers being written
	StateInReview = "in-review"        // the preparer signed; waiting for the rest of the chain
	StateApproved = "approved"         // every step signed; current until ReviewDue
	StateReassess = "reassessment-due" // expired, or invalidated by a material change
)

// Evidence kinds.
const (
	EvidenceEvaluation = "evaluation"  // Ref: an evaluation id (backtest, comparison, shadow)
	EvidenceAuditProof = "audit-proof" // Ref: an audit entry's sequence number
	EvidenceDocument   = "document"    // Ref: a registered document's SHA-256
)

// Evidence is a reference to a platform measurement; Detail is what the
// platform found when it was attached (never typed by the user).
type Evidence struct {
	Kind   string `json:"kind"`
	Ref    string `json:"ref"`
	Detail string `json:"detail,omitempty"`
}

// Answer is the answer to one criterion.
type Answer struct {
	Text     string     `json:"text"`
	Evidence []Evidence `json:"evidence,omitempty"`
	By       string     `json:"by"`
	At       time.Time  `json:"at"`
}

// SignOff is one step of the chain.
type SignOff struct {
	Step     string    `json:"step"`
	By       string    `json:"by"`
	Role     string    `json:"role"`
	Comment  string    `json:"comment,omitempty"`
	At       time.Time `json:"at"`
	AuditSeq uint64    `json:"audit_seq"`
}

// Assessment is an AI Application Impact Assessment of one model version.
type Assessment struct {
	ID            string            `json:"id"`
	System        string            `json:"system"`
	Version       string            `json:"version"`
	Catalogue     string            `json:"catalogue"` // catalogue version answered
	Questionnaire Questionnaire     `json:"questionnaire"`
	Gate          Gate              `json:"gate"`
	Answers       map[string]Answer `json:"answers"`
	SignOffs      []SignOff         `json:"sign_offs"`
	State         string            `json:"state"`
	Invalidated   string            `json:"invalidated,omitempty"`
	Preparer      string            `json:"preparer"`
	Created       time.Time         `json:"created"`
	ReviewDue     time.Time         `json:"review_due,omitzero"`
	AuditSeqs     []uint64          `json:"audit_seqs"` // every event of this assessment
}

// current reports whether a is approved and not yet due at now.
func (a *Assessment) current(now time.Time) bool {
	return a.State == StateApproved && now.Before(a.ReviewDue)
}

// view returns a with an expired approval shown as re-assessment due.
func (a Assessment) view(now time.Time) Assessment {
	if a.State == StateApproved && !now.Before(a.ReviewDue) {
		a.State = StateReassess
		a.Invalidated = "review date passed"
	}
	return a
}

// Document is a registered document: only its hash and name are kept.
type Document struct {
	SHA256   string    `json:"sha256"`
	Name     string    `json:"name"`
	Size     int64     `json:"size"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	AuditSeq uint64    `json:"audit_seq"`
}

// RegisterDocument hashes a document's bytes (the platform measures; the
// caller does not type the hash) and records it for use as evidence.
func (r *Registry) RegisterDocument(ctx context.Context, p auth.Principal, tenant, name string, body []byte) (Document, error) {
	if err := checkText("name", name, 200, true); err != nil {
		return Document{}, err
	}
	h := sha256.Sum256(body)
	d := Document{SHA256: hex.EncodeToString(h[:]), Name: name, Size: int64(len(body)), By: actorName(p), At: r.now()}
	err := r.update(func(tx *bolt.Tx) error {
		if old, err := get[Document](tx, bDocuments, tenant, d.SHA256); err == nil {
			d = *old
			return nil
		}
		var err error
		if d.AuditSeq, err = r.record(ctx, tenant, "document.registered", p, d.SHA256, d); err != nil {
			return err
		}
		return put(tx, bDocuments, tenant, d.SHA256, &d)
	})
	return d, err
}

// NewAssessment starts an assessment of a registered version; the caller
// is its preparer. The questionnaire may differ from the system's (a
// re-assessment after a change of use); the system's gate is raised to it.
func (r *Registry) NewAssessment(ctx context.Context, p auth.Principal, tenant, system, version string, q Questionnaire) (Assessment, error) {
	if p.Role != auth.ModelOwner && p.Role != auth.Admin {
		return Assessment{}, fmt.Errorf("%w: preparing an assessment needs the model-owner role", ErrForbidden)
	}
	var a Assessment
	err := r.update(func(tx *bolt.Tx) error {
		s, err := get[System](tx, bSystems, tenant, system)
		if err != nil {
			return fmt.Errorf("system %q: %w", system, err)
		}
		if _, ok := s.Version(version); !ok {
			return fmt.Errorf("version %q of %s: %w", version, system, ErrNotFound)
		}
		n := tx.Bucket(bAssessments).Sequence() + 1
		if err := tx.Bucket(bAssessments).SetSequence(n); err != nil {
			return err
		}
		a = Assessment{ID: "aia-" + strconv.FormatUint(n, 10), System: system, Version: version, Catalogue: r.cat.Version,
			Questionnaire: q, Gate: q.Assess(), Answers: map[string]Answer{}, State: StateDraft, Preparer: actorName(p), Created: r.now()}
		if tierRank(s.Gate.Tier) > tierRank(a.Gate.Tier) {
			return invalid("the questionnaire gives tier %s but the system is registered as %s; answer it as the system is used", a.Gate.Tier, s.Gate.Tier)
		}
		seq, err := r.record(ctx, tenant, "assessment.created", p, a.ID, a)
		if err != nil {
			return err
		}
		a.AuditSeqs = append(a.AuditSeqs, seq)
		return put(tx, bAssessments, tenant, a.ID, &a)
	})
	return a, err
}

func tierRank(t string) int { return slices.Index([]string{TierLow, TierMedium, TierHigh}, t) }

// GetAssessment returns an assessment as of now.
func (r *Registry) GetAssessment(tenant, id string) (Assessment, error) {
	var a *Assessment
	err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		a, err = get[Assessment](tx, bAssessments, tenant, id)
		return err
	})
	if err != nil {
		return Assessment{}, fmt.Errorf("assessment %q: %w", id, err)
	}
	return a.view(r.now()), nil
}

// Assessments lists a tenant's assessments (of one system if system is
// not empty), oldest first.
func (r *Registry) Assessments(tenant, system string) ([]Assessment, error) {
	var all []Assessment
	err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		all, err = list[Assessment](tx, bAssessments, tenant)
		return err
	})
	now := r.now()
	out := all[:0]
	for _, a := range all {
		if system == "" || a.System == system {
			out = append(out, a.view(now))
		}
	}
	slices.SortFunc(out, func(x, y Assessment) int { return x.Created.Compare(y.Created) })
	return out, err
}

// Answer records the answer to one criterion. Evidence must resolve to a
// platform measurement of this tenant (an evaluation of this system, an
// audit entry the log can prove, a registered document). Only the
// preparer answers, and only while the assessment is a draft.
func (r *Registry) Answer(ctx context.Context, p auth.Principal, tenant, id, criterion, text string, evidence []Evidence) (Assessment, error) {
	k, ok := r.cat.Criterion(criterion)
	if !ok {
		return Assessment{}, invalid("criterion %q is not in catalogue %s", criterion, r.cat.Version)
	}
	if err := checkText("text", text, 8000, true); err != nil {
		return Assessment{}, err
	}
	if len(evidence) > 50 {
		return Assessment{}, invalid("at most 50 evidence items")
	}
	if k.Evidence && len(evidence) == 0 {
		return Assessment{}, invalid("criterion %s needs evidence: an evaluation, an audit proof or a document hash", criterion)
	}
	var a *Assessment
	err := r.update(func(tx *bolt.Tx) error {
		var err error
		if a, err = get[Assessment](tx, bAssessments, tenant, id); err != nil {
			return fmt.Errorf("assessment %q: %w", id, err)
		}
		if a.State != StateDraft {
			return fmt.Errorf("%w: assessment %s is %s; answers are fixed once the preparer signs", ErrState, id, a.State)
		}
		if actorName(p) != a.Preparer {
			return fmt.Errorf("%w: only the preparer (%s) answers", ErrForbidden, a.Preparer)
		}
		for i := range evidence {
			if err := r.resolve(tx, tenant, a.System, &evidence[i]); err != nil {
				return err
			}
		}
		ans := Answer{Text: text, Evidence: evidence, By: actorName(p), At: r.now()}
		seq, err := r.record(ctx, tenant, "assessment.answered", p, a.ID+"/"+criterion, ans)
		if err != nil {
			return err
		}
		a.Answers[criterion] = ans
		a.AuditSeqs = append(a.AuditSeqs, seq)
		return put(tx, bAssessments, tenant, a.ID, a)
	})
	if err != nil {
		return Assessment{}, err
	}
	return *a, nil
}

// resolve checks that evidence refers to a platform measurement and fills
// in what was found.
func (r *Registry) resolve(tx *bolt.Tx, tenant, system string, e *Evidence) error {
	switch e.Kind {
	case EvidenceEvaluation:
		ev, err := get[Evaluation](tx, bEvaluations, tenant, e.Ref)
		if err != nil || ev.System != system {
			return invalid("evidence: no evaluation %q of system %s", e.Ref, system)
		}
		e.Detail = fmt.Sprintf("%s of %s: pass=%v, report sha256 %s", ev.Kind, ev.Version, ev.Pass, ev.ReportHash)
	case EvidenceAuditProof:
		seq, err := strconv.ParseUint(e.Ref, 10, 64)
		if err != nil {
			return invalid("evidence: audit-proof ref must be an entry's sequence number")
		}
		pr, err := r.cfg.Audit.Prove(seq)
		if err != nil {
			return invalid("evidence: audit entry %d: %v", seq, err)
		}
		if err := audit.CheckProof(&pr, nil); err != nil {
			return fmt.Errorf("evidence: audit entry %d does not verify: %w", seq, err)
		}
		if pr.Entry.Tenant != tenant {
			return invalid("evidence: no audit entry %d in this tenant", seq)
		}
		e.Detail = fmt.Sprintf("%s %s, included in checkpoint of size %d", pr.Entry.Kind, pr.Entry.Subject, pr.Checkpoint.Size)
	case EvidenceDocument:
		d, err := get[Document](tx, bDocuments, tenant, e.Ref)
		if err != nil {
			return invalid("evidence: no registered document with sha256 %q; register it first", e.Ref)
		}
		e.Detail = fmt.Sprintf("document %q, %d bytes", d.Name, d.Size)
	default:
		return invalid("evidence kind must be %s, %s or %s", EvidenceEvaluation, EvidenceAuditProof, EvidenceDocument)
	}
	return nil
}

// SignOff signs the next step of an assessment's chain. The preparer step
// needs every criterion answered and is signed by the preparer; the
// reviewer step needs the reviewer role, the approver step the approver
// role (admin may take either), and neither may be the preparer.
func (r *Registry) SignOff(ctx context.Context, p auth.Principal, tenant, id, step, comment string) (Assessment, error) {
	if err := checkText("comment", comment, 4000, false); err != nil {
		return Assessment{}, err
	}
	var a *Assessment
	err := r.update(func(tx *bolt.Tx) error {
		var err error
		if a, err = get[Assessment](tx, bAssessments, tenant, id); err != nil {
			return fmt.Errorf("assessment %q: %w", id, err)
		}
		if a.State == StateApproved || a.State == StateReassess {
			return fmt.Errorf("%w: assessment %s is %s", ErrState, id, a.State)
		}
		next := a.Gate.SignOffs[len(a.SignOffs)]
		if step != next {
			return fmt.Errorf("%w: the next sign-off of %s is %s, not %q", ErrState, id, next, step)
		}
		who := actorName(p)
		switch step {
		case StepPreparer:
			if who != a.Preparer {
				return fmt.Errorf("%w: only the preparer (%s) signs as preparer", ErrForbidden, a.Preparer)
			}
			var missing []string
			for _, pr := range r.cat.Principles {
				for _, k := range pr.Criteria {
					if _, ok := a.Answers[k.ID]; !ok {
						missing = append(missing, k.ID)
					}
				}
			}
			if len(missing) > 0 {
				return fmt.Errorf("%w: unanswered criteria: %v", ErrState, missing)
			}
		case StepReviewer, StepApprover:
			want := auth.Reviewer
			if step == StepApprover {
				want = auth.Approver
			}
			if p.Role != want && p.Role != auth.Admin {
				return fmt.Errorf("%w: the %s step needs the %s role", ErrForbidden, step, want)
			}
			if who == a.Preparer {
				return fmt.Errorf("%w: the preparer cannot sign as %s", ErrForbidden, step)
			}
			for _, s := range a.SignOffs {
				if s.By == who {
					return fmt.Errorf("%w: %s already signed as %s", ErrForbidden, who, s.Step)
				}
			}
		}
		so := SignOff{Step: step, By: who, Role: string(p.Role), Comment: comment, At: r.now()}
		if so.AuditSeq, err = r.record(ctx, tenant, "assessment.signed", p, a.ID+"/"+step, so); err != nil {
			return err
		}
		a.SignOffs = append(a.SignOffs, so)
		a.AuditSeqs = append(a.AuditSeqs, so.AuditSeq)
		a.State = StateInReview
		if len(a.SignOffs) == len(a.Gate.SignOffs) {
			a.State = StateApproved
			a.ReviewDue = so.At.Add(a.Gate.Interval())
		}
		return put(tx, bAssessments, tenant, a.ID, a)
	})
	if err != nil {
		return Assessment{}, err
	}
	return *a, nil
}

// Finding is one problem `governance check` reports.
type Finding struct {
	System  string `json:"system"`
	Alias   string `json:"alias"`
	Version string `json:"version"`
	Problem string `json:"problem"`
}

// Check lists every live model (a champion) without a current assessment.
func (r *Registry) Check(tenant string) ([]Finding, error) {
	ss, err := r.Systems(tenant)
	if err != nil {
		return nil, err
	}
	as, err := r.Assessments(tenant, "")
	if err != nil {
		return nil, err
	}
	now := r.now()
	var out []Finding
	for _, s := range ss {
		v, ok := s.Aliases[Champion]
		if !ok {
			continue
		}
		if a := latestFor(as, s.ID, v); a == nil {
			out = append(out, Finding{s.ID, Champion, v, "no assessment"})
		} else if !a.current(now) {
			why := a.State
			if a.Invalidated != "" {
				why += " (" + a.Invalidated + ")"
			}
			out = append(out, Finding{s.ID, Champion, v, "assessment " + a.ID + " is " + why})
		}
	}
	return out, nil
}

// latestFor returns the newest assessment of a version, preferring a
// current one.
func latestFor(as []Assessment, system, version string) *Assessment {
	var last *Assessment
	for i := range as {
		a := &as[i]
		if a.System != system || a.Version != version {
			continue
		}
		if a.State == StateApproved {
			last = a
		} else if last == nil || last.State != StateApproved {
			last = a
		}
	}
	return last
}

// Promote makes version the champion if the gate allows: a current
// assessment of the version with every sign-off of its chain, and a
// passing evaluation of every kind its tier requires (at least a
// backtest). Otherwise it returns a *RefusedError listing every reason;
// nothing changes, and the refusal itself is logged.
func (r *Registry) Promote(ctx context.Context, p auth.Principal, tenant, system, version, reason string) (Transition, error) {
	if err := checkText("reason", reason, 2000, true); err != nil {
		return Transition{}, err
	}
	var t Transition
	var refusal *RefusedError
	err := r.update(func(tx *bolt.Tx) error {
		s, err := get[System](tx, bSystems, tenant, system)
		if err != nil {
			return fmt.Errorf("system %q: %w", system, err)
		}
		reasons := r.gate(tx, tenant, s, version)
		if len(reasons) > 0 {
			refusal = &RefusedError{System: system, Version: version, Reasons: reasons}
			seq, err := r.record(ctx, tenant, "model.promotion-refused", p, system+"/"+version, map[string]any{"reasons": reasons, "reason": reason})
			if err != nil {
				return err
			}
			refusal.AuditSeq = seq
			return nil // commit nothing but the (already durable) log entry
		}
		t, err = r.move(ctx, tx, p, tenant, s, Champion, version, reason)
		return err
	})
	if err != nil {
		return Transition{}, err
	}
	if refusal != nil {
		return Transition{}, refusal
	}
	return t, nil
}

func (r *Registry) gate(tx *bolt.Tx, tenant string, s *System, version string) []string {
	if _, ok := s.Version(version); !ok {
		return []string{fmt.Sprintf("version %q is not registered", version)}
	}
	var reasons []string
	if s.Aliases[Champion] == version {
		reasons = append(reasons, "it is already the champion")
	}
	as, _ := list[Assessment](tx, bAssessments, tenant)
	now := r.now()
	for i := range as {
		as[i] = as[i].view(now)
	}
	a := latestFor(as, s.ID, version)
	gate := s.Gate
	switch {
	case a == nil:
		reasons = append(reasons, "no assessment of this version")
	case !a.current(now):
		missing := a.Gate.SignOffs[len(a.SignOffs):]
		if len(missing) > 0 && a.State != StateReassess {
			reasons = append(reasons, fmt.Sprintf("assessment %s is %s: missing sign-off: %v", a.ID, a.State, missing))
		} else {
			reasons = append(reasons, fmt.Sprintf("assessment %s is not current: %s %s", a.ID, a.State, a.Invalidated))
		}
		if tierRank(a.Gate.Tier) > tierRank(gate.Tier) {
			gate = a.Gate
		}
	default:
		if tierRank(a.Gate.Tier) > tierRank(gate.Tier) {
			gate = a.Gate
		}
	}
	evs, _ := list[Evaluation](tx, bEvaluations, tenant)
	required := gate.Evaluations
	if !slices.Contains(required, EvalBacktest) {
		required = append([]string{EvalBacktest}, required...)
	}
	for _, kind := range required {
		var latest *Evaluation
		for i := range evs {
			e := &evs[i]
			if e.System == s.ID && e.Version == version && e.Kind == kind && (latest == nil || e.Created.After(latest.Created) || (e.Created.Equal(latest.Created) && e.Pass)) {
				latest = e
			}
		}
		switch {
		case latest == nil:
			reasons = append(reasons, fmt.Sprintf("no %s of this version (required for tier %s)", kind, gate.Tier))
		case !latest.Pass:
			reasons = append(reasons, fmt.Sprintf("the latest %s (%s) failed: %s", kind, latest.ID, latest.Summary))
		}
	}
	return reasons
}

// Rollback makes the previous champion champion again, in one call. It
// is the emergency path: it does not pass the gate, and it is logged.
func (r *Registry) Rollback(ctx context.Context, p auth.Principal, tenant, system, reason string) (Transition, error) {
	if err := checkText("reason", reason, 2000, true); err != nil {
		return Transition{}, err
	}
	var t Transition
	err := r.update(func(tx *bolt.Tx) error {
		s, err := get[System](tx, bSystems, tenant, system)
		if err != nil {
			return fmt.Errorf("system %q: %w", system, err)
		}
		prev := ""
		for i := len(s.Transitions) - 1; i >= 0; i-- {
			if tr := s.Transitions[i]; tr.Alias == Champion {
				prev = tr.From
				break
			}
		}
		if prev == "" {
			return fmt.Errorf("%w: %s has no previous champion", ErrState, system)
		}
		t, err = r.move(ctx, tx, p, tenant, s, Champion, prev, "rollback: "+reason)
		return err
	})
	return t, err
}

// Pack is an evidence pack: an assessment, the evaluations and documents
// it cites, and inclusion proofs of every audit entry behind it, checked
// offline by audit.CheckProof (tsingma audit check-proof).
type Pack struct {
	Assessment  Assessment    `json:"assessment"`
	Evaluations []Evaluation  `json:"evaluations"`
	Documents   []Document    `json:"documents"`
	Proofs      []audit.Proof `json:"proofs"`
}

// EvidencePack builds the pack of an assessment.
func (r *Registry) EvidencePack(tenant, id string) (Pack, error) {
	a, err := r.GetAssessment(tenant, id)
	if err != nil {
		return Pack{}, err
	}
	pk := Pack{Assessment: a}
	seqs := slices.Clone(a.AuditSeqs)
	err = r.db.View(func(tx *bolt.Tx) error {
		for _, ans := range a.Answers {
			for _, e := range ans.Evidence {
				switch e.Kind {
				case EvidenceEvaluation:
					if ev, err := get[Evaluation](tx, bEvaluations, tenant, e.Ref); err == nil {
						pk.Evaluations = append(pk.Evaluations, *ev)
						seqs = append(seqs, ev.AuditSeq)
					}
				case EvidenceDocument:
					if d, err := get[Document](tx, bDocuments, tenant, e.Ref); err == nil {
						pk.Documents = append(pk.Documents, *d)
						seqs = append(seqs, d.AuditSeq)
					}
				case EvidenceAuditProof:
					if n, err := strconv.ParseUint(e.Ref, 10, 64); err == nil {
						seqs = append(seqs, n)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return Pack{}, err
	}
	slices.SortFunc(pk.Evaluations, func(x, y Evaluation) int { return strings.Compare(x.ID, y.ID) })
	pk.Evaluations = slices.CompactFunc(pk.Evaluations, func(x, y Evaluation) bool { return x.ID == y.ID })
	slices.SortFunc(pk.Documents, func(x, y Document) int { return strings.Compare(x.SHA256, y.SHA256) })
	pk.Documents = slices.CompactFunc(pk.Documents, func(x, y Document) bool { return x.SHA256 == y.SHA256 })
	slices.Sort(seqs)
	for _, s := range slices.Compact(seqs) {
		pr, err := r.cfg.Audit.Prove(s)
		if err != nil {
			return Pack{}, fmt.Errorf("prove audit entry %d: %w", s, err)
		}
		pk.Proofs = append(pk.Proofs, pr)
	}
	return pk, nil
}
