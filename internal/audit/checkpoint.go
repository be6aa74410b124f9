package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Origin names the log in every checkpoint it signs.
const Origin = "tsingma-audit/v1"

// Checkpoint is a signed statement of the log's size and root hash.
type Checkpoint struct {
	Origin string    `json:"origin"`
	Size   uint64    `json:"size"`
	Root   []byte    `json:"root"` // base64 in JSON
	Time   time.Time `json:"time"`
	KeyID  string    `json:"key_id"`
	Sig    []byte    `json:"sig"`
}

// body is the signed text: one field per line, like a C2SP checkpoint.
func (c *Checkpoint) body() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n%d\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root), c.Time.UnixNano())
}

// Verify checks the checkpoint's signature with pub.
func (c *Checkpoint) Verify(pub ed25519.PublicKey) error {
	if c.Origin != Origin {
		return fmt.Errorf("checkpoint origin %q, want %q", c.Origin, Origin)
	}
	if c.KeyID != KeyID(pub) {
		return fmt.Errorf("checkpoint of size %d signed by key %s, not the trusted key %s", c.Size, c.KeyID, KeyID(pub))
	}
	if !ed25519.Verify(pub, c.body(), c.Sig) {
		return fmt.Errorf("checkpoint of size %d: bad signature", c.Size)
	}
	return nil
}

func sign(priv ed25519.PrivateKey, size uint64, root []byte, at time.Time) Checkpoint {
	c := Checkpoint{Origin: Origin, Size: size, Root: root, Time: at.UTC(), KeyID: KeyID(priv.Public().(ed25519.PublicKey))}
	c.Sig = ed25519.Sign(priv, c.body())
	return c
}

// KeyID is the first 8 bytes of SHA-256 of the public key, in hex.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// Key file names in the log's directory.
const (
	keyFile = "signing.key" // 0600, hex Ed25519 seed
	pubFile = "signing.pub" // hex public key
)

// loadOrCreateKey reads the signing key, or makes one on first start.
func loadOrCreateKey(dir string) (ed25519.PrivateKey, error) {
	p := filepath.Join(dir, keyFile)
	b, err := os.ReadFile(p)
	if err == nil {
		seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("read signing key %s: not a hex Ed25519 seed", p)
		}
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("signing key %s is readable by others (mode %v); chmod 600 it", p, fi.Mode().Perm())
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, logFile)); err == nil {
		if fi, _ := os.Stat(filepath.Join(dir, logFile)); fi != nil && fi.Size() > 0 {
			return nil, fmt.Errorf("signing key %s is missing but the log exists: restore the key (a new one would not match the signed checkpoints)", p)
		}
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := writeFileSync(p, []byte(hex.EncodeToString(priv.Seed())+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	if err := writeFileSync(filepath.Join(dir, pubFile), []byte(hex.EncodeToString(pub)+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("write public key: %w", err)
	}
	return priv, syncDir(dir)
}

// ReadPublicKey reads a hex Ed25519 public key file (signing.pub).
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	return ParsePublicKey(string(b))
}

// ParsePublicKey parses a hex Ed25519 public key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	k, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, errors.New("not a hex Ed25519 public key (64 hex digits)")
	}
	return ed25519.PublicKey(k), nil
}

// ReadCheckpoints reads a checkpoints file (one JSON checkpoint per line,
// as the log writes them, or a single JSON document). A torn last line
// (a crash while writing it) is skipped and reported in torn.
func ReadCheckpoints(path string) (cps []Checkpoint, torn bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	return parseCheckpoints(b)
}

func parseCheckpoints(b []byte) ([]Checkpoint, bool, error) {
	var cps []Checkpoint
	lines := bytes.Split(b, []byte("\n"))
	for i, ln := range lines {
		ln = bytes.TrimSpace(ln)
		if len(ln) == 0 {
			continue
		}
		var c Checkpoint
		if err := json.Unmarshal(ln, &c); err != nil {
			if i == len(lines)-1 {
				return cps, true, nil // torn tail: no newline was written
			}
			return nil, false, fmt.Errorf("checkpoint line %d: %w", i+1, err)
		}
		cps = append(cps, c)
	}
	return cps, false, nil
}

func writeFileSync(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
