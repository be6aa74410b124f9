package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
)

// Proof is a self-contained inclusion proof: the entry's stored bytes, its
// index, the audit path, and the signed checkpoint it leads to. The
// offline verifier (CheckProof) needs nothing else but a trusted key.
type Proof struct {
	Entry      Entry             `json:"entry"`
	Leaf       []byte            `json:"leaf"` // the stored bytes, base64
	Index      uint64            `json:"index"`
	Hashes     [][]byte          `json:"hashes"`
	Checkpoint Checkpoint        `json:"checkpoint"`
	PublicKey  ed25519.PublicKey `json:"public_key"`
}

// CheckProof verifies p offline: the leaf decodes to the entry shown, the
// audit path leads from the leaf to the checkpoint's root, and the
// checkpoint is signed by trusted (or, when trusted is nil, by the key the
// proof carries; the caller should then compare KeyID with a pinned one).
func CheckProof(p *Proof, trusted ed25519.PublicKey) error {
	key := trusted
	if key == nil {
		key = p.PublicKey
	} else if p.PublicKey != nil && !bytes.Equal(p.PublicKey, trusted) {
		return fmt.Errorf("proof carries key %s, not the trusted key %s", KeyID(p.PublicKey), KeyID(trusted))
	}
	if len(key) != ed25519.PublicKeySize {
		return errors.New("proof has no public key and none was given")
	}
	if err := p.Checkpoint.Verify(key); err != nil {
		return err
	}
	var e Entry
	if err := json.Unmarshal(p.Leaf, &e); err != nil {
		return fmt.Errorf("leaf is not an entry: %w", err)
	}
	if e.Seq != p.Index {
		return fmt.Errorf("leaf says seq %d, proof index %d", e.Seq, p.Index)
	}
	shown, err1 := json.Marshal(p.Entry)
	stored, err2 := json.Marshal(e)
	if err1 != nil || err2 != nil || !bytes.Equal(shown, stored) {
		return errors.New("the entry shown differs from the leaf that is proven")
	}
	if p.Index >= p.Checkpoint.Size {
		return fmt.Errorf("index %d not in a checkpoint of size %d", p.Index, p.Checkpoint.Size)
	}
	if err := VerifyInclusion(p.Index, p.Checkpoint.Size, LeafHash(p.Leaf), p.Hashes, p.Checkpoint.Root); err != nil {
		return fmt.Errorf("inclusion of entry %d: %w", p.Index, err)
	}
	return nil
}
