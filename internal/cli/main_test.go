package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// TestMain re-executes this test binary as tsingma when TSINGMA_TEST_MAIN
// is set (as Prometheus's -test.main does), so that tests can start the real
// server as a subprocess and kill it.
func TestMain(m *testing.M) {
	if os.Getenv("TSINGMA_TEST_MAIN") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
