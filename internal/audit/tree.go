package audit

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

var hasher = rfc6962.DefaultHasher

// LeafHash is the RFC 6962 leaf hash of an entry's stored bytes:
// SHA-256(0x00 || data).
func LeafHash(data []byte) []byte { return hasher.HashLeaf(data) }

// tree keeps every perfect subtree's hash in memory (2n hashes for n
// leaves), so roots and proofs of any size up to n take O(log n). Not safe
// for concurrent use: Log guards it.
type tree struct {
	levels [][][]byte // levels[l][i] covers leaves [i<<l, (i+1)<<l)
}

func (t *tree) size() uint64 {
	if len(t.levels) == 0 {
		return 0
	}
	return uint64(len(t.levels[0]))
}

func (t *tree) append(leafHash []byte) {
	if len(t.levels) == 0 {
		t.levels = append(t.levels, nil)
	}
	t.levels[0] = append(t.levels[0], leafHash)
	for l := 0; len(t.levels[l])%2 == 0; l++ {
		n := len(t.levels[l])
		h := hasher.HashChildren(t.levels[l][n-2], t.levels[l][n-1])
		if l+1 == len(t.levels) {
			t.levels = append(t.levels, nil)
		}
		t.levels[l+1] = append(t.levels[l+1], h)
	}
}

// node returns a perfect subtree's hash.
func (t *tree) node(level uint, index uint64) ([]byte, error) {
	if int(level) >= len(t.levels) || index >= uint64(len(t.levels[level])) {
		return nil, fmt.Errorf("node %d/%d not in a tree of %d leaves", level, index, t.size())
	}
	return t.levels[level][index], nil
}

// root returns the RFC 6962 root of the first size leaves.
func (t *tree) root(size uint64) ([]byte, error) {
	if size > t.size() {
		return nil, fmt.Errorf("root of %d leaves: the tree has %d", size, t.size())
	}
	if size == 0 {
		return hasher.EmptyRoot(), nil
	}
	// Perfect subtrees from the left, by the set bits of size, folded from
	// the right.
	var hashes [][]byte
	var begin uint64
	for l := 63; l >= 0; l-- {
		if size&(1<<uint(l)) == 0 {
			continue
		}
		h, err := t.node(uint(l), begin>>uint(l))
		if err != nil {
			return nil, err
		}
		hashes = append(hashes, h)
		begin += 1 << uint(l)
	}
	r := hashes[len(hashes)-1]
	for i := len(hashes) - 2; i >= 0; i-- {
		r = hasher.HashChildren(hashes[i], r)
	}
	return r, nil
}

func (t *tree) fetch(n proof.Nodes) ([][]byte, error) {
	hs := make([][]byte, len(n.IDs))
	for i, id := range n.IDs {
		h, err := t.node(id.Level, id.Index)
		if err != nil {
			return nil, err
		}
		hs[i] = h
	}
	return n.Rehash(hs, hasher.HashChildren)
}

// inclusion returns the inclusion proof of leaf index in the tree of size.
func (t *tree) inclusion(index, size uint64) ([][]byte, error) {
	if size > t.size() {
		return nil, errors.New("proof beyond the tree")
	}
	n, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return t.fetch(n)
}

// consistency returns the consistency proof between two sizes.
func (t *tree) consistency(size1, size2 uint64) ([][]byte, error) {
	if size2 > t.size() {
		return nil, errors.New("proof beyond the tree")
	}
	n, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err
	}
	return t.fetch(n)
}

// VerifyInclusion checks that leafHash is at index in the tree of size
// with the given root.
func VerifyInclusion(index, size uint64, leafHash []byte, p [][]byte, root []byte) error {
	return proof.VerifyInclusion(hasher, index, size, leafHash, p, root)
}

// VerifyConsistency checks that the tree of size2 with root2 extends the
// tree of size1 with root1.
func VerifyConsistency(size1, size2 uint64, p [][]byte, root1, root2 []byte) error {
	return proof.VerifyConsistency(hasher, size1, size2, p, root1, root2)
}

// DocumentHash is the SHA-256 of a document, as evidence refers to it.
func DocumentHash(b []byte) [32]byte { return sha256.Sum256(b) }
