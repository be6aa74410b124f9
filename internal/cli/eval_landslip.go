package cli

import (
	"context"
	"flag"

	"github.com/tsingma/tsingma/internal/eval/landslip"
)

// runEvalLandslip fits the territory-wide landslip warning on 1984–2005
// and scores 2006–2020.
func runEvalLandslip(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("tsingma eval landslip", flag.ContinueOnError)
	dir := fs.String("data", "../shared/datasets/hk", "Hong Kong dataset directory (weather/, slopes/)")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	rep, err := landslip.Run(ctx, *dir, landslip.DefaultConfig())
	if err != nil {
		return fail(e, fs.Name(), err)
	}
	rep.Write(e.stdout)
	return 0
}
