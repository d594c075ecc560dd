//go:build unix

// Package crashtest runs a child process and kills it with SIGKILL at a
// chosen moment, for the tests that check what a crash leaves behind.
package crashtest

import (
	"os/exec"
	"syscall"
	"time"
)

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
