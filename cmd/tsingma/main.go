// Command tsingma is the single binary of the tsingma city-infrastructure AI
// platform. All behaviour lives in internal/cli; main only wires signals.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tsingma/tsingma/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
