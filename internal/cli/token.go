package cli

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/tsingma/tsingma/internal/audit"
	"github.com/tsingma/tsingma/internal/auth"
)

func tokenCommands() []command {
	return []command{
		{"create", "create an access token and print its secret once", runTokenCreate},
		{"list", "list access tokens (never their secrets)", runTokenList},
		{"revoke", "revoke an access token", runTokenRevoke},
	}
}

func runToken(ctx context.Context, e *env, args []string) int {
	return dispatch(ctx, e, "tsingma token", tokenCommands(), args)
}

const tokenDataHelp = "data directory (the server must be stopped; while it runs use the /api/v1/tokens API)"

// openTokens opens the token store with the audit log it records to.
func openTokens(data string) (*auth.Store, func(), error) {
	l, err := audit.Open(audit.Config{Dir: filepath.Join(data, "audit"), CheckpointEvery: -1})
	if err != nil {
		return nil, nil, err
	}
	s, err := auth.Open(auth.Config{Path: filepath.Join(data, "auth.db"), Audit: l})
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	return s, func() { s.Close(); l.Close() }, nil
}

func runTokenCreate(_ context.Context, e *env, args []string) int {
	const prog = "tsingma token create"
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	data := fs.String("data", "./data", tokenDataHelp)
	name := fs.String("name", "", "who or what holds the token (required)")
	role := fs.String("role", "", fmt.Sprintf("one of %v (required)", auth.Roles))
	tenant := fs.String("tenant", "default", "the tenant it acts in")
	ttl := fs.Duration("ttl", 0, "expiry, e.g. 720h; 0 never expires")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if *name == "" || *role == "" {
		fmt.Fprintf(e.stderr, "%s: --name and --role are required\n", prog)
		return 2
	}
	s, done, err := openTokens(*data)
	if err != nil {
		return fail(e, prog, err)
	}
	defer done()
	t, secret, err := s.Create(context.Background(), "cli", auth.NewToken{Name: *name, Role: auth.Role(*role), Tenant: *tenant, TTL: *ttl})
	if err != nil {
		return fail(e, prog, err)
	}
	fmt.Fprintf(e.stderr, "created token %s for %s (%s in %s); the secret below is shown once:\n", t.ID, t.Name, t.Role, t.Tenant)
	fmt.Fprintln(e.stdout, secret)
	return 0
}

func runTokenList(_ context.Context, e *env, args []string) int {
	const prog = "tsingma token list"
	fs := flag.NewFlagSet("token list", flag.ContinueOnError)
	data := fs.String("data", "./data", tokenDataHelp)
	tenant := fs.String("tenant", "", "only this tenant's tokens")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	s, done, err := openTokens(*data)
	if err != nil {
		return fail(e, prog, err)
	}
	defer done()
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tROLE\tTENANT\tCREATED\tEXPIRES\tREVOKED")
	for _, t := range s.List(*tenant) {
		exp, rev := "-", "-"
		if !t.Expires.IsZero() {
			exp = t.Expires.Format("2006-01-02T15:04Z")
		}
		if !t.Revoked.IsZero() {
			rev = t.Revoked.Format("2006-01-02T15:04Z")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.Tenant, t.Created.Format("2006-01-02T15:04Z"), exp, rev)
	}
	w.Flush()
	return 0
}

func runTokenRevoke(_ context.Context, e *env, args []string) int {
	const prog = "tsingma token revoke"
	fs := flag.NewFlagSet("token revoke", flag.ContinueOnError)
	data := fs.String("data", "./data", tokenDataHelp)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: tsingma token revoke [flags] ID\n\nflags:\n")
		fs.PrintDefaults()
	}
	pos, code, ok := parseArgs(fs, e, args, 1, "one token id (see tsingma token list)")
	if !ok {
		return code
	}
	s, done, err := openTokens(*data)
	if err != nil {
		return fail(e, prog, err)
	}
	defer done()
	t, err := s.Revoke(context.Background(), "cli", "", pos[0])
	if err != nil {
		return fail(e, prog, err)
	}
	fmt.Fprintf(e.stdout, "revoked %s (%s, %s in %s) at %s\n", t.ID, t.Name, t.Role, t.Tenant, t.Revoked.Format("2006-01-02T15:04:05Z"))
	return 0
}
