//go:build darwin || freebsd || netbsd

package local

import "syscall"

// statusChange is st's status change time, in nanoseconds.
func statusChange(st *syscall.Stat_t) int64 { return st.Ctimespec.Nano() }
