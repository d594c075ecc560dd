package testserver

import (
	"os/exec"
	"syscall"
)

// configureAzurite puts Azurite in its own process group, so that stopping
// it stops anything it starts, and has the kernel stop it if this process
// dies without running Main's cleanup.
func configureAzurite(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// signalAzurite sends SIGTERM, or SIGKILL if kill, to Azurite's process
// group.
func signalAzurite(cmd *exec.Cmd, kill bool) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	return syscall.Kill(-cmd.Process.Pid, sig)
}
