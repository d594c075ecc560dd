//go:build unix

// Package crashtest runs a child process and kills it with SIGKILL at a
// chosen moment, for the tests that check what a crash leaves behind.
package crashtest

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// ScratchDir returns a fresh directory, removed when the test ends, for the
// stores a crash test's trials work on: tmpfs (/dev/shm) on Linux, where a
// backend's fsyncs cost nothing, else t.TempDir(). A SIGKILL loses nothing
// the kernel holds, so the file system does not change what is checked.
func ScratchDir(t testing.TB, prefix string) string {
	t.Helper()
	if runtime.GOOS == "linux" {
		if dir, err := os.MkdirTemp("/dev/shm", prefix); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// KillAfter starts cmd and sends it SIGKILL once delay has passed, unless
// it has exited by then; it waits for it either way. killed reports
// whether the signal ended the process (it may exit by itself just before
// the signal arrives; its wait status then says so). Otherwise cmd's
// ProcessState holds its exit code.
func KillAfter(cmd *exec.Cmd, delay time.Duration) (killed bool, err error) {
	if err := cmd.Start(); err != nil {
		return false, err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-exited:
	case <-timer.C:
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, nil
}
