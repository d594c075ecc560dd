//go:build unix

package main

import (
	"os"
	"syscall"
)

// maxRSSKB is the peak resident set of the process that exited, in KiB
// (Linux's ru_maxrss unit).
func maxRSSKB(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss)
	}
	return 0
}
