package cli

import (
	"context"
	"flag"

	"github.com/tsingma/tsingma/internal/eval/inventory"
)

// runEvalInventory simulates a year of demand under tsingma's reorder
// policy and a naive fixed reorder point, and prints the comparison.
func runEvalInventory(_ context.Context, e *env, args []string) int {
	const prog = "tsingma eval inventory"
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	seed := fs.Uint64("seed", 1, "random seed of the simulated demand")
	items := fs.Int("items", 120, "number of items")
	fill := fs.Float64("fill-rate", 0.98, "tsingma's target fill rate, in (0, 1)")
	cycle := fs.Float64("cycle-service", 0.9, "floor on tsingma's probability of no stock-out per order cycle, in [0, 1), beside the fill-rate target; 0: fill rate only")
	rule := fs.String("order-rule", string(inventory.OrderEOQ), "tsingma's order sizing: eoq (EOQ at the naive cover's order count) or cover (7 days of forecast, the naive's cycle)")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if _, err := inventory.Run(inventory.Config{Seed: *seed, Items: *items, FillRate: *fill, OrderRule: inventory.OrderRule(*rule), CycleService: *cycle}, e.stdout); err != nil {
		return fail(e, prog, err)
	}
	return 0
}
