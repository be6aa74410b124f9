package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/tsingma/tsingma/internal/govern"
)

func governanceCommands() []command {
	return []command{
		{"check", "exit non-zero while a live model lacks a current assessment", runGovernanceCheck},
	}
}

func runGovernance(ctx context.Context, e *env, args []string) int {
	return dispatch(ctx, e, "tsingma governance", governanceCommands(), args)
}

func runGovernanceCheck(ctx context.Context, e *env, args []string) int {
	const prog = "tsingma governance check"
	fs := flag.NewFlagSet("governance check", flag.ContinueOnError)
	data := fs.String("data", "./data", "data directory of a stopped server")
	url := fs.String("url", "", "ask a running server instead (e.g. http://127.0.0.1:8080); the token comes from TSINGMA_TOKEN")
	tenant := fs.String("tenant", "default", "tenant (with --data; with --url the token's tenant)")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	var findings []govern.Finding
	if *url != "" {
		var err error
		if findings, err = checkOnline(ctx, *url, e.getenv("TSINGMA_TOKEN")); err != nil {
			return fail(e, prog, err)
		}
	} else {
		r, err := govern.Open(govern.Config{Path: filepath.Join(*data, "govern.db"), ReadOnly: true})
		if errors.Is(err, govern.ErrLocked) {
			return fail(e, prog, fmt.Errorf("%w; or use --url", err))
		}
		if err != nil {
			return fail(e, prog, err)
		}
		defer r.Close()
		if findings, err = r.Check(*tenant); err != nil {
			return fail(e, prog, err)
		}
	}
	for _, f := range findings {
		fmt.Fprintf(e.stdout, "%s %s (%s): %s\n", f.System, f.Version, f.Alias, f.Problem)
	}
	if len(findings) > 0 {
		fmt.Fprintf(e.stderr, "%s: %d live model(s) without a current assessment\n", prog, len(findings))
		return 1
	}
	fmt.Fprintln(e.stdout, "ok: every live model has a current assessment")
	return 0
}

func checkOnline(ctx context.Context, base, token string) ([]govern.Finding, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(base, "/")+"/api/v1/governance/check", nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/governance/check: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var out struct {
		Findings []govern.Finding `json:"findings"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decode check: %w", err)
	}
	return out.Findings, nil
}
