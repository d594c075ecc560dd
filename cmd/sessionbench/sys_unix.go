//go:build unix

package main

import (
	"io/fs"
	"os"
	"runtime"
	"syscall"
)

// maxRSS returns a finished process's peak resident set size in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) // bytes there
	}
	return int64(ru.Maxrss) * 1024 // KiB on Linux and the BSDs
}

// inode returns a file's inode number.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// flushWrites makes the system write every dirty page and journal entry
// out (sync(2)), so that a run does not pay for an earlier one's writes.
func flushWrites() { syscall.Sync() }
