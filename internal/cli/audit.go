package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tsingma/tsingma/internal/audit"
	"github.com/tsingma/tsingma/internal/govern"
)

func auditCommands() []command {
	return []command{
		{"verify", "check the whole audit log against its signed checkpoints", runAuditVerify},
		{"prove", "print an inclusion proof of one audit entry", runAuditProve},
		{"check-proof", "verify a proof or an evidence pack offline", runAuditCheckProof},
		{"export", "export an assessment's evidence pack with audit proofs", runAuditExport},
	}
}

func runAudit(ctx context.Context, e *env, args []string) int {
	return dispatch(ctx, e, "tsingma audit", auditCommands(), args)
}

// parseArgs parses flags and wants exactly n positional arguments
// (flags may come before or after them).
func parseArgs(fs *flag.FlagSet, e *env, args []string, n int, what string) ([]string, int, bool) {
	fs.SetOutput(e.stderr)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != n {
		fmt.Fprintf(e.stderr, "%s: want %s\n", fs.Name(), what)
		fs.Usage()
		return nil, 2, false
	}
	return pos, 0, true
}

// keyFlag reads a pinned public key: a file holding hex, or hex itself.
func readKey(s string) (ed25519.PublicKey, error) {
	if s == "" {
		return nil, nil
	}
	if k, err := audit.ParsePublicKey(s); err == nil {
		return k, nil
	}
	return audit.ReadPublicKey(s)
}

func auditDir(data string) string { return filepath.Join(data, "audit") }

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func runAuditVerify(_ context.Context, e *env, args []string) int {
	const prog = "tsingma audit verify"
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	data := fs.String("data", "./data", "data directory of the server")
	key := fs.String("key", "", "pinned public key: hex, or a file holding it (a copy of <data>/audit/signing.pub kept elsewhere)")
	var trusted multiFlag
	fs.Var(&trusted, "checkpoint", "a checkpoint saved earlier (JSON, as GET /api/v1/audit/checkpoint or the checkpoints file gives); repeatable")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	pub, err := readKey(*key)
	if err != nil {
		return fail(e, prog, fmt.Errorf("--key: %w", err))
	}
	o := audit.VerifyOptions{PublicKey: pub}
	for _, f := range trusted {
		cps, err := readCheckpointFile(f)
		if err != nil {
			return fail(e, prog, fmt.Errorf("--checkpoint %s: %w", f, err))
		}
		o.Trusted = append(o.Trusted, cps...)
	}
	rep, err := audit.Verify(auditDir(*data), o)
	if err != nil {
		return fail(e, prog, err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(e.stdout, string(b))
	} else {
		fmt.Fprintf(e.stdout, "entries %d, checkpoints %d (latest signs %d, %d newer entries await the next), trusted checkpoints %d, key %s (pinned: %v)\n",
			rep.Entries, rep.Checkpoints, rep.SignedSize, rep.Unsigned, rep.Trusted, rep.KeyID, rep.KeyPinned)
		for _, n := range rep.Notes {
			fmt.Fprintln(e.stdout, "note:", n)
		}
		for _, p := range rep.Problems {
			fmt.Fprintln(e.stdout, "PROBLEM:", p)
		}
	}
	if !rep.OK {
		fmt.Fprintf(e.stderr, "%s: the audit log does not verify (%d problems)\n", prog, len(rep.Problems))
		return 1
	}
	fmt.Fprintln(e.stdout, "ok")
	return 0
}

// readCheckpointFile reads a checkpoint: the API's {"checkpoint": ...}, a
// bare checkpoint, or a checkpoints file.
func readCheckpointFile(path string) ([]audit.Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var wrapped struct {
		Checkpoint *audit.Checkpoint `json:"checkpoint"`
	}
	if json.Unmarshal(b, &wrapped) == nil && wrapped.Checkpoint != nil {
		return []audit.Checkpoint{*wrapped.Checkpoint}, nil
	}
	cps, _, err := audit.ReadCheckpoints(path)
	if err != nil {
		return nil, err
	}
	if len(cps) == 0 {
		return nil, errors.New("no checkpoint in the file")
	}
	return cps, nil
}

func runAuditProve(_ context.Context, e *env, args []string) int {
	const prog = "tsingma audit prove"
	fs := flag.NewFlagSet("audit prove", flag.ContinueOnError)
	data := fs.String("data", "./data", "data directory of the server")
	out := fs.String("o", "", "write the proof to this file (default: standard output)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: tsingma audit prove [flags] SEQ\n\nPrints an inclusion proof of audit entry SEQ against the latest signed checkpoint,\nfor tsingma audit check-proof. Works while the server runs (the entry must be\ncovered by a checkpoint: they are signed every minute and on shutdown).\n\nflags:\n")
		fs.PrintDefaults()
	}
	pos, code, ok := parseArgs(fs, e, args, 1, "one audit entry sequence number")
	if !ok {
		return code
	}
	seq, err := strconv.ParseUint(pos[0], 10, 64)
	if err != nil {
		return fail(e, prog, fmt.Errorf("%q is not an entry's sequence number", pos[0]))
	}
	p, err := audit.ProveOffline(auditDir(*data), seq)
	if err != nil {
		return fail(e, prog, err)
	}
	return writeOut(e, prog, *out, p)
}

func writeOut(e *env, prog, path string, v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fail(e, prog, err)
	}
	b = append(b, '\n')
	if path == "" {
		e.stdout.Write(b)
		return 0
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fail(e, prog, err)
	}
	fmt.Fprintf(e.stderr, "wrote %s\n", path)
	return 0
}

func runAuditCheckProof(_ context.Context, e *env, args []string) int {
	const prog = "tsingma audit check-proof"
	fs := flag.NewFlagSet("audit check-proof", flag.ContinueOnError)
	key := fs.String("key", "", "pinned public key: hex, or a file holding it; without it the key in the proof is used and its id printed for you to compare")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: tsingma audit check-proof [flags] FILE\n\nVerifies, offline, an inclusion proof (tsingma audit prove) or an evidence pack\n(tsingma audit export). Exit 0 when it verifies.\n\nflags:\n")
		fs.PrintDefaults()
	}
	pos, code, ok := parseArgs(fs, e, args, 1, "one proof or evidence pack file")
	if !ok {
		return code
	}
	pub, err := readKey(*key)
	if err != nil {
		return fail(e, prog, fmt.Errorf("--key: %w", err))
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		return fail(e, prog, err)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return fail(e, prog, fmt.Errorf("%s: not JSON: %w", pos[0], err))
	}
	if _, isPack := probe["assessment"]; isPack {
		var pk govern.Pack
		if err := json.Unmarshal(b, &pk); err != nil {
			return fail(e, prog, fmt.Errorf("%s: not an evidence pack: %w", pos[0], err))
		}
		if len(pk.Proofs) == 0 {
			return fail(e, prog, errors.New("the pack holds no proofs"))
		}
		if err := govern.CheckPack(&pk, pub); err != nil {
			return fail(e, prog, err)
		}
		cp := pk.Proofs[0].Checkpoint
		fmt.Fprintf(e.stdout, "ok: assessment %s of %s %s (%s), %d audit entries proven, %d evaluations, %d documents; key %s (pinned: %v)\n",
			pk.Assessment.ID, pk.Assessment.System, pk.Assessment.Version, pk.Assessment.State, len(pk.Proofs), len(pk.Evaluations), len(pk.Documents), cp.KeyID, pub != nil)
		return 0
	}
	var p audit.Proof
	if err := json.Unmarshal(b, &p); err != nil {
		return fail(e, prog, fmt.Errorf("%s: not a proof: %w", pos[0], err))
	}
	if err := audit.CheckProof(&p, pub); err != nil {
		return fail(e, prog, err)
	}
	fmt.Fprintf(e.stdout, "ok: entry %d (%s %s, %s) is in the log of size %d, checkpoint signed %s by key %s (pinned: %v)\n",
		p.Index, p.Entry.Kind, p.Entry.Subject, p.Entry.Time.Format("2006-01-02T15:04:05Z07:00"), p.Checkpoint.Size, p.Checkpoint.Time.Format("2006-01-02T15:04:05Z07:00"), p.Checkpoint.KeyID, pub != nil)
	return 0
}

func runAuditExport(_ context.Context, e *env, args []string) int {
	const prog = "tsingma audit export"
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	data := fs.String("data", "./data", "data directory (the server must be stopped; while it runs use GET /api/v1/governance/assessments/{id}/pack)")
	id := fs.String("assessment", "", "assessment id (aia-N); required")
	tenant := fs.String("tenant", "default", "tenant")
	out := fs.String("o", "", "write the pack to this file (default: standard output)")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if *id == "" {
		fmt.Fprintf(e.stderr, "%s: --assessment is required\n", prog)
		return 2
	}
	l, err := audit.Open(audit.Config{Dir: auditDir(*data), CheckpointEvery: -1})
	if err != nil {
		return fail(e, prog, err)
	}
	defer l.Close()
	r, err := govern.Open(govern.Config{Path: filepath.Join(*data, "govern.db"), Audit: l})
	if err != nil {
		return fail(e, prog, err)
	}
	defer r.Close()
	pk, err := r.EvidencePack(*tenant, *id)
	if err != nil {
		return fail(e, prog, err)
	}
	return writeOut(e, prog, *out, pk)
}
