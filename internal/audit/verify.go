package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// PublicKey pins the signing key. Nil trusts the directory's
	// signing.pub, which detects edits but not a log rebuilt with a new
	// key: pin the key (or pass Trusted checkpoints) to detect that too.
	PublicKey ed25519.PublicKey
	// Trusted are checkpoints saved elsewhere earlier (exported, witnessed);
	// each must be consistent with the log.
	Trusted []Checkpoint
}

// Report is Verify's finding. OK is false when any Problem was found.
type Report struct {
	OK          bool     `json:"ok"`
	Entries     uint64   `json:"entries"`
	Checkpoints int      `json:"checkpoints"`
	Trusted     int      `json:"trusted_checkpoints"`
	SignedSize  uint64   `json:"signed_size"` // entries covered by the latest checkpoint
	Unsigned    uint64   `json:"unsigned"`    // entries after it (signed at the next checkpoint)
	KeyID       string   `json:"key_id"`
	KeyPinned   bool     `json:"key_pinned"`
	Problems    []string `json:"problems,omitempty"`
	Notes       []string `json:"notes,omitempty"`
}

// Verify checks the log in dir without changing it (the server may be
// running): every record's framing and checksum, every entry's sequence
// number, every saved checkpoint's signature, that the log's Merkle root
// at each checkpoint's size equals the signed root, consistency proofs
// between successive checkpoints, and the Trusted checkpoints.
func Verify(dir string, o VerifyOptions) (*Report, error) {
	rep := &Report{}
	bad := func(format string, args ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...)) }
	f, err := os.Open(filepath.Join(dir, logFile))
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	defer f.Close()
	var t tree
	_, torn, err := scan(f, func(off int64, data []byte) error {
		var e Entry
		if err := json.Unmarshal(data, &e); err != nil {
			bad("entry %d (offset %d) is not valid JSON", t.size(), off)
		} else if e.Seq != t.size() {
			bad("entry at position %d says seq %d: entries were removed, inserted or reordered", t.size(), e.Seq)
		}
		t.append(LeafHash(data))
		return nil
	})
	if err != nil {
		bad("log corrupt after entry %d: %v", t.size(), err)
	}
	if torn {
		// An append being written now, or one a crash interrupted (never
		// acknowledged; the server cuts it at restart). If it hides a
		// signed entry, the checkpoint checks below find that.
		rep.Notes = append(rep.Notes, fmt.Sprintf("the log ends in a partial record after entry %d: an append in progress or interrupted by a crash", t.size()))
	}
	rep.Entries = t.size()

	pub := o.PublicKey
	rep.KeyPinned = pub != nil
	if pub == nil {
		if pub, err = ReadPublicKey(filepath.Join(dir, pubFile)); err != nil {
			bad("no public key: %v", err)
		}
		rep.Notes = append(rep.Notes, "the key was not pinned: a log rebuilt with a new key is detected only by a pinned key or a trusted checkpoint")
	} else if dk, err := ReadPublicKey(filepath.Join(dir, pubFile)); err == nil && !bytes.Equal(dk, pub) {
		bad("the directory's signing key %s is not the pinned key %s: the log was re-signed", KeyID(dk), KeyID(pub))
	}
	if pub != nil {
		rep.KeyID = KeyID(pub)
	}
	cps, tornCP, err := ReadCheckpoints(filepath.Join(dir, checkpointsFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		bad("checkpoints unreadable: %v", err)
	}
	if tornCP {
		rep.Notes = append(rep.Notes, "the last checkpoint line is torn (a crash while writing it); it is ignored")
	}
	rep.Checkpoints = len(cps)
	if len(cps) == 0 && rep.Entries > 0 {
		bad("no checkpoint signs the log")
	}
	check := func(what string, c Checkpoint) bool {
		if pub != nil {
			if err := c.Verify(pub); err != nil {
				bad("%s: %v", what, err)
				return false
			}
		}
		if c.Size > t.size() {
			bad("%s signs %d entries but the log has %d: entries were removed or the tail truncated", what, c.Size, t.size())
			return false
		}
		r, err := t.root(c.Size)
		if err != nil || !bytes.Equal(r, c.Root) {
			bad("%s (size %d): the log's root differs from the signed root: entries before %d were changed", what, c.Size, c.Size)
			return false
		}
		return true
	}
	var prev *Checkpoint
	for i := range cps {
		c := &cps[i]
		if !check(fmt.Sprintf("checkpoint %d", i+1), *c) {
			continue
		}
		if prev != nil {
			if c.Size < prev.Size {
				bad("checkpoint %d (size %d) is smaller than an earlier one (size %d)", i+1, c.Size, prev.Size)
			} else if p, err := t.consistency(prev.Size, c.Size); err != nil {
				bad("consistency %d→%d: %v", prev.Size, c.Size, err)
			} else if err := VerifyConsistency(prev.Size, c.Size, p, prev.Root, c.Root); err != nil {
				bad("checkpoint %d is not consistent with checkpoint %d: %v", i+1, i, err)
			}
		}
		prev = c
	}
	for i, c := range o.Trusted {
		if check(fmt.Sprintf("trusted checkpoint %d", i+1), c) {
			rep.Trusted++
		}
	}
	if prev != nil {
		rep.SignedSize = prev.Size
		rep.Unsigned = t.size() - prev.Size
	}
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}

// ProveOffline builds an inclusion proof of entry seq from the files in
// dir against the latest checkpoint, without opening the log for writing
// (the server may be running). It fails with ErrNotCovered when the entry
// is newer than that checkpoint.
func ProveOffline(dir string, seq uint64) (Proof, error) {
	f, err := os.Open(filepath.Join(dir, logFile))
	if err != nil {
		return Proof{}, fmt.Errorf("open audit log: %w", err)
	}
	defer f.Close()
	var t tree
	var off int64 = -1
	if _, _, err := scan(f, func(o int64, data []byte) error {
		if t.size() == seq {
			off = o
		}
		t.append(LeafHash(data))
		return nil
	}); err != nil {
		return Proof{}, err
	}
	if off < 0 {
		return Proof{}, fmt.Errorf("entry %d: %w (the log has %d)", seq, ErrNotFound, t.size())
	}
	cps, _, err := ReadCheckpoints(filepath.Join(dir, checkpointsFile))
	if err != nil {
		return Proof{}, fmt.Errorf("read checkpoints: %w", err)
	}
	if len(cps) == 0 || cps[len(cps)-1].Size <= seq {
		return Proof{}, fmt.Errorf("entry %d: %w; the server signs one every minute and on shutdown", seq, ErrNotCovered)
	}
	cp := cps[len(cps)-1]
	hs, err := t.inclusion(seq, cp.Size)
	if err != nil {
		return Proof{}, err
	}
	e, data, err := readRecord(f, off)
	if err != nil {
		return Proof{}, err
	}
	pub, err := ReadPublicKey(filepath.Join(dir, pubFile))
	if err != nil {
		return Proof{}, err
	}
	return Proof{Entry: e, Leaf: data, Index: seq, Hashes: hs, Checkpoint: cp, PublicKey: pub}, nil
}
