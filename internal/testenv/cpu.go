package testenv

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ProcessCPU returns the CPU time (user + system) the process has used so
// far. On a shared, loaded machine CPU time per unit of work is a steadier
// figure than wall-clock throughput, so benchmarks report both.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BusyCPU starts goroutines that always want the CPU, four for each P,
// so that the scheduler has runnable goroutines waiting (what package
// pace looks at); stop ends them and waits for them.
func BusyCPU() (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
			}
		}()
	}
	return func() {
		done.Store(true)
		wg.Wait()
	}
}
