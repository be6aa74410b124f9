package cli

import (
	"context"
	"flag"

	"github.com/tsingma/tsingma/internal/eval/trigrs"
)

// runEvalTRIGRS compares the slope-stability model with the staged TRIGRS
// cases and prints per-case differences, then the summary line.
func runEvalTRIGRS(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("tsingma eval trigrs", flag.ContinueOnError)
	dir := fs.String("cases", "../shared/datasets/trigrs", "directory of the staged TRIGRS cases (profiles.csv, cells.csv, cases/, upstream_examples/)")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	rep, err := trigrs.Run(ctx, *dir)
	if err != nil {
		return fail(e, fs.Name(), err)
	}
	rep.Write(e.stdout)
	return 0
}
