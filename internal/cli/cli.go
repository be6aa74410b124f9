// Package cli implements the tsingma command line: one file per subcommand.
// It parses flags and prints; the work is done by the packages it calls.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// env is what every subcommand gets: its output streams and the process
// environment, injected so that tests can run commands in-process.
type env struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

// Main runs the tsingma command line with args (without the program name)
// and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return dispatch(ctx, e, "tsingma", topCommands(), args)
}

func topCommands() []command {
	return []command{
		{"serve", "run the platform: HTTP API, MQTT broker, storage", runServe},
		{"demo", "run the platform with the live Hong Kong scenario", runDemo},
		{"sim", "drive a running server with the Hong Kong scenario (HTTP and MQTT)", runSim},
		{"bench", "measure speed against peers (ingest, anomaly, landslide, vrptw)", runBench},
		{"eval", "measure accuracy on public benchmarks (nab, trigrs, landslip, vrptw, inventory)", runEval},
		{"audit", "verify the audit log, prove entries, check proofs, export evidence packs", runAudit},
		{"governance", "model governance checks (check)", runGovernance},
		{"token", "access tokens: create, list, revoke", runToken},
		{"backup", "take a backup of a running platform into a file", runBackup},
		{"restore", "extract a backup into an empty data directory", runRestore},
		{"version", "print the version", runVersion},
	}
}

func evalCommands() []command {
	return []command{
		{"nab", "score anomaly detectors on the Numenta Anomaly Benchmark", runEvalNAB},
		{"trigrs", "compare the slope-stability model with USGS TRIGRS outputs", runEvalTRIGRS},
		{"landslip", "fit and score the territory-wide landslip warning on HK records", runEvalLandslip},
		{"vrptw", "solve VRPTW instances and compare with best-known solutions", runEvalVRPTW},
		{"inventory", "simulate a year of demand under tsingma's reorder policy and a naive one", runEvalInventory},
	}
}

func benchCommands() []command {
	return []command{
		{"ingest", "telemetry ingest: direct, HTTP JSON/NDJSON, MQTT QoS 1, with peers", runBenchIngest},
		{"anomaly", "anomaly detector throughput and state size", runBenchAnomaly},
		{"landslide", "factor-of-safety updates for 60,000 slopes", runBenchLandslide},
		{"vrptw", "VRPTW solver iterations per second and anytime profile", runBenchVRPTW},
	}
}

func runEval(ctx context.Context, e *env, args []string) int {
	return dispatch(ctx, e, "tsingma eval", evalCommands(), args)
}

func runBench(ctx context.Context, e *env, args []string) int {
	return dispatch(ctx, e, "tsingma bench", benchCommands(), args)
}

func dispatch(ctx context.Context, e *env, prog string, cmds []command, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr, prog, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "%s: unknown command %q\n", prog, args[0])
	usage(e.stderr, prog, cmds)
	return 2
}

func usage(w io.Writer, prog string, cmds []command) {
	fmt.Fprintf(w, "usage: %s <command> [flags]\n\ncommands:\n", prog)
	sorted := append([]command(nil), cmds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for its flags.\n", prog)
}

// parseFlags parses fs and maps -h to exit 0 and bad flags to exit 2.
// ok is false when the caller should return code.
func parseFlags(fs *flag.FlagSet, e *env, args []string) (code int, ok bool) {
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "%s: unexpected arguments: %s\n", fs.Name(), strings.Join(fs.Args(), " "))
		return 2, false
	}
	return 0, true
}

// fail prints err as "prog: err" and returns exit code 1.
func fail(e *env, prog string, err error) int {
	fmt.Fprintf(e.stderr, "%s: %v\n", prog, err)
	return 1
}

// version is set by the build with -ldflags "-X ...". It is a constant
// otherwise, so it is not mutable state in practice.
const version = "0.1.0-dev"

func runVersion(_ context.Context, e *env, args []string) int {
	if code, ok := parseFlags(flag.NewFlagSet("version", flag.ContinueOnError), e, args); !ok {
		return code
	}
	fmt.Fprintln(e.stdout, "tsingma", version)
	return 0
}
