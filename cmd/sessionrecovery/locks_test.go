//go:build unix

package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/crashtest"
)

// lockedStore is a store of one shrunk session whose directory another
// user (nobody, when the test runs as root) holds a flock(2) on until the
// test ends: shared, as anyone who may read a directory can take it, or
// exclusive, as a run stopped (SIGSTOP) while it writes holds it.
func lockedStore(t *testing.T, mode string) string {
	t.Helper()
	flockTool, err := exec.LookPath("flock")
	if err != nil {
		t.Skipf("the flock tool is needed to hold a lock from another process: %v", err)
	}
	dir := crashtest.ScratchDir(t, "sessionrecovery-locked-")
	require.NoError(t, os.Chmod(dir, 0o755))
	writeFiles(t, dir, map[string]string{
		"s.json":     `{"messages":[]}`,
		"s.json.bak": `{"messages":[1,2]}`,
	})
	args := []string{flockTool, mode, dir, "-c", "echo locked; exec cat"}
	if os.Geteuid() == 0 {
		if setpriv, err := exec.LookPath("setpriv"); err == nil {
			args = append([]string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}, args...)
		}
	}
	holder := exec.Command(args[0], args[1:]...)
	stdin, err := holder.StdinPipe()
	require.NoError(t, err)
	stdout, err := holder.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, holder.Start())
	t.Cleanup(func() {
		stdin.Close() // cat ends, and the lock with it
		holder.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "the lock holder did not start")
	require.Equal(t, "locked\n", line)
	return dir
}

// A lock another user holds fails the session it blocks, with an error
// that names the lock and its holder, once the lock timeout has passed;
// nothing is changed.
func TestLockHeldByAnotherUserFailsTheSessionNotTheMachine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := buildCLI(ctx, t)
	for mode, held := range map[string]string{"--shared": "shared", "--exclusive": "exclusive"} {
		t.Run(held, func(t *testing.T) {
			dir := lockedStore(t, mode)
			before := snapshot(t, dir)
			code, stdout, stderr := runCLIProcess(ctx, bin, "recover", "--lock-timeout", "10ms", dir)
			assert.Equal(t, exitErrors, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Contains(t, stdout, "timed out waiting for the directory lock")
			assert.Contains(t, stdout, "(flock), "+held, "the holder is named")
			assert.Contains(t, stderr, "waiting for the lock of "+dir)
			assert.Equal(t, before, snapshot(t, dir), "a session whose lock could not be had is left as it was")
		})
	}
}

// SIGINT and SIGTERM end a run that waits for a lock, promptly, with 130
// or 143 and a word on what was not done; nothing is changed.
func TestSignalEndsARunWaitingForALock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := buildCLI(ctx, t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := lockedStore(t, "--shared")
			before := snapshot(t, dir)
			cmd := exec.CommandContext(ctx, bin, "recover", "--lock-timeout", "1h", dir)
			stderr := &watch{needle: "waiting for the lock", seen: make(chan struct{})}
			cmd.Stderr = stderr
			require.NoError(t, cmd.Start())
			select {
			case <-stderr.seen:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the run never said it waits for the lock")
			}
			require.NoError(t, cmd.Process.Signal(sig))
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("%v did not end a run waiting for a lock", sig)
			}
			errText := stderr.String()
			assert.Equal(t, exitSignal+int(sig), cmd.ProcessState.ExitCode(), "stderr:\n%s", errText)
			assert.Contains(t, errText, "not handled")
			assert.Equal(t, before, snapshot(t, dir))
			assert.NoFileExists(t, filepath.Join(dir, "s.json.replaced"))
		})
	}
}

// watch is a writer that keeps what is written and closes seen once it
// holds needle.
type watch struct {
	mu     sync.Mutex
	buf    strings.Builder
	needle string
	seen   chan struct{}
	closed bool
}

func (w *watch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.closed && strings.Contains(w.buf.String(), w.needle) {
		w.closed = true
		close(w.seen)
	}
	return len(p), nil
}

func (w *watch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// When deletions fail (here the directory's lock is held by another
// process), the summary says how many were deleted and how many not: it
// said "deleted, but for 2" with none deleted.
func TestPruneSummaryCountsWhatFailed(t *testing.T) {
	dir := lockedStore(t, "--shared")
	writeFiles(t, dir, map[string]string{"s.json.replaced": session(1), "s.json.replaced.2": session(2)})
	code, out, errOut := cli(t, "prune", "--older-than", "0", "--yes", "--lock-timeout", "0", dir)
	assert.Equal(t, exitErrors, code, errOut)
	assert.Contains(t, out, "2 kept copies older than 0s: 0 deleted, 2 not (errors above)", out)
	assert.FileExists(t, filepath.Join(dir, "s.json.replaced"))
}
