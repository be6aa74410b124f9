package govern

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tsingma/tsingma/internal/audit"
)

// CheckPack verifies an evidence pack offline: every proof verifies
// against a checkpoint signed by trusted (or by the key the pack carries
// when trusted is nil), all proofs use one key, every audit entry the
// assessment names is proven, each sign-off matches its proven entry, and
// each evaluation and document matches the entry that recorded it.
func CheckPack(pk *Pack, trusted ed25519.PublicKey) error {
	proven := map[uint64]*audit.Proof{}
	var key ed25519.PublicKey
	for i := range pk.Proofs {
		p := &pk.Proofs[i]
		if key == nil {
			key = p.PublicKey
		} else if !bytes.Equal(key, p.PublicKey) {
			return fmt.Errorf("proof of entry %d uses another key", p.Index)
		}
		if err := audit.CheckProof(p, trusted); err != nil {
			return err
		}
		proven[p.Index] = p
	}
	a := &pk.Assessment
	for _, s := range a.AuditSeqs {
		if proven[s] == nil {
			return fmt.Errorf("assessment %s: audit entry %d is not proven in the pack", a.ID, s)
		}
	}
	for _, so := range a.SignOffs {
		p := proven[so.AuditSeq]
		if p == nil || p.Entry.Kind != "assessment.signed" || p.Entry.Subject != a.ID+"/"+so.Step {
			return fmt.Errorf("sign-off %s of %s has no matching proven entry", so.Step, a.ID)
		}
		var logged SignOff
		if err := json.Unmarshal(p.Entry.Data, &logged); err != nil || logged.By != so.By || logged.Step != so.Step || !logged.At.Equal(so.At) {
			return fmt.Errorf("sign-off %s of %s differs from the logged one", so.Step, a.ID)
		}
	}
	// The creation entry: system, version, questionnaire and preparer.
	var created *audit.Proof
	latest := map[string]*audit.Proof{} // criterion → its last answer entry
	for _, s := range a.AuditSeqs {
		p := proven[s]
		switch p.Entry.Kind {
		case "assessment.created":
			if p.Entry.Subject == a.ID {
				created = p
			}
		case "assessment.answered":
			if c, ok := strings.CutPrefix(p.Entry.Subject, a.ID+"/"); ok {
				if q := latest[c]; q == nil || q.Index < p.Index {
					latest[c] = p
				}
			}
		}
	}
	if created == nil {
		return fmt.Errorf("assessment %s: its creation is not proven", a.ID)
	}
	var logged Assessment
	if err := json.Unmarshal(created.Entry.Data, &logged); err != nil || logged.System != a.System || logged.Version != a.Version ||
		logged.Preparer != a.Preparer || logged.Questionnaire != a.Questionnaire || logged.Gate.Tier != a.Gate.Tier {
		return fmt.Errorf("assessment %s differs from the logged creation", a.ID)
	}
	if len(latest) != len(a.Answers) {
		return fmt.Errorf("assessment %s has %d answers, the log %d", a.ID, len(a.Answers), len(latest))
	}
	for c, ans := range a.Answers {
		p := latest[c]
		if p == nil {
			return fmt.Errorf("answer to %s is not proven", c)
		}
		want, err1 := json.Marshal(ans)
		var got Answer
		err2 := json.Unmarshal(p.Entry.Data, &got)
		have, err3 := json.Marshal(got)
		if err1 != nil || err2 != nil || err3 != nil || !bytes.Equal(want, have) {
			return fmt.Errorf("answer to %s differs from the logged one", c)
		}
	}
	for _, ev := range pk.Evaluations {
		p := proven[ev.AuditSeq]
		if p == nil || p.Entry.Kind != "evaluation.recorded" || p.Entry.Subject != ev.ID {
			return fmt.Errorf("evaluation %s has no matching proven entry", ev.ID)
		}
		var logged Evaluation
		if err := json.Unmarshal(p.Entry.Data, &logged); err != nil || logged.ReportHash != ev.ReportHash || logged.Pass != ev.Pass {
			return fmt.Errorf("evaluation %s differs from the logged one", ev.ID)
		}
		if len(ev.Report) > 0 {
			if _, h := reportID("", ev.Report); h != ev.ReportHash {
				return fmt.Errorf("evaluation %s: the report's hash is not the logged one", ev.ID)
			}
		}
	}
	for _, d := range pk.Documents {
		p := proven[d.AuditSeq]
		if p == nil || p.Entry.Kind != "document.registered" || p.Entry.Subject != d.SHA256 {
			return fmt.Errorf("document %s has no matching proven entry", d.SHA256)
		}
	}
	return nil
}
