package pace

import (
	"fmt"
	"runtime"
	"syscall"
)

// Lower locks the calling goroutine to its OS thread and lowers that
// thread's CPU priority by nice levels (to at most 19, the lowest). The
// kernel then gives a core to the threads of the work that someone waits
// for whenever they can run, and this thread the time they leave: unlike
// a Pacer, which sees only goroutines waiting for one of the Go
// scheduler's Ps, it also yields when threads that hold Ps wait for a core
// (with one P more than cores, or other processes on the machine). The
// idea is RocksDB's for its compaction threads (Env's
// LowerThreadPoolCPUPriority).
//
// Call it at the start of a goroutine that runs background work to its
// end, and never unlock the thread: Go ends a locked thread when its
// goroutine exits, so no other goroutine ever runs at the lowered
// priority. On Linux, setpriority with PRIO_PROCESS and a thread id sets
// that one thread's nice value. Lowering needs no privilege; an error
// leaves the thread locked at its priority.
func Lower(nice int) error {
	runtime.LockOSThread()
	tid := syscall.Gettid()
	// The system call (unlike the C library's getpriority) returns 20 -
	// nice, so that no valid answer is negative.
	raw, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		return fmt.Errorf("pace: read thread priority: %w", err)
	}
	want := min(20-raw+max(nice, 0), 19)
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, want); err != nil {
		return fmt.Errorf("pace: lower thread priority to nice %d: %w", want, err)
	}
	return nil
}
