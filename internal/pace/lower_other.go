//go:build !linux

package pace

import "runtime"

// Lower locks the calling goroutine to its OS thread. Lowering the
// thread's priority is implemented on Linux only (lower_linux.go), where
// tsingma is deployed; elsewhere the thread keeps the process's priority.
func Lower(nice int) error {
	runtime.LockOSThread()
	return nil
}
