package ingest

import (
	"os"
	"syscall"
)

// datasync is fdatasync(2), as the store's WAL syncs.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
