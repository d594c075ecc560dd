//go:build !linux

package testserver

import (
	"os"
	"os/exec"
)

// configureAzurite has nothing to set outside Linux.
func configureAzurite(*exec.Cmd) {}

// signalAzurite asks Azurite to stop, or kills it if kill.
func signalAzurite(cmd *exec.Cmd, kill bool) error {
	if kill {
		return cmd.Process.Kill()
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		return cmd.Process.Kill() // Windows cannot send os.Interrupt
	}
	return nil
}
