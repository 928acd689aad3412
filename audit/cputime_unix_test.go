//go:build unix

package audit

import (
	"syscall"
	"time"
)

// processCPUTime returns the user plus system CPU time of the process, so
// benchmarks can report CPU cost next to wall time on a busy machine.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
