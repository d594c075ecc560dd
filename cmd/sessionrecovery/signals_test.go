//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer that a goroutine may write while a test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The first signal cancels the run, with the signal as the cause, and
// leaves the exit to the run; the second says so on stderr and exits at
// once with 128 + its number.
func TestOnSignalsFirstCancelsSecondExits(t *testing.T) {
	for _, tc := range []struct {
		first, second syscall.Signal
		code          int
		said          string
	}{
		{syscall.SIGINT, syscall.SIGINT, 130, "sessionrecovery: interrupt again: exiting now\n"},
		{syscall.SIGTERM, syscall.SIGTERM, 143, "sessionrecovery: terminated again: exiting now\n"},
		// The exit code is the second signal's; the cause stays the first's.
		{syscall.SIGTERM, syscall.SIGINT, 130, "sessionrecovery: interrupt again: exiting now\n"},
	} {
		t.Run(tc.first.String()+" then "+tc.second.String(), func(t *testing.T) {
			// Unbuffered: a send returns only once onSignals has taken
			// the signal.
			signals := make(chan os.Signal)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			var stderr syncBuffer
			exited := make(chan int, 1)
			returned := make(chan struct{})
			go func() {
				defer close(returned)
				onSignals(signals, cancel, &stderr, func(code int) { exited <- code })
			}()
			guard := time.NewTimer(30 * time.Second) // only against a hang
			defer guard.Stop()

			select {
			case signals <- tc.first:
			case <-guard.C:
				t.Fatal("onSignals never took the first signal")
			}
			select {
			case <-ctx.Done():
			case <-guard.C:
				t.Fatal("the first signal did not cancel the context")
			}
			var in interrupted
			require.True(t, errors.As(context.Cause(ctx), &in), "cause: %v", context.Cause(ctx))
			assert.Equal(t, interrupted{tc.first}, in)
			assert.Equal(t, "interrupted by "+tc.first.String(), context.Cause(ctx).Error())
			// onSignals now waits for a second signal: exit cannot have
			// been called, nor anything said.
			select {
			case code := <-exited:
				t.Fatalf("exit(%d) called on the first signal", code)
			default:
			}
			assert.Empty(t, stderr.String(), "nothing said on the first signal")

			select {
			case signals <- tc.second:
			case <-guard.C:
				t.Fatal("onSignals never took the second signal")
			}
			select {
			case code := <-exited:
				assert.Equal(t, tc.code, code)
			case <-guard.C:
				t.Fatal("the second signal did not call exit")
			}
			<-returned
			assert.Equal(t, tc.said, stderr.String())
			var still interrupted
			require.True(t, errors.As(context.Cause(ctx), &still))
			assert.Equal(t, interrupted{tc.first}, still, "the second signal does not change the cause")
		})
	}
}

// A run whose report cannot be written — stdout a pipe that nobody reads,
// full — does not end on the first SIGINT, which only cancels it; the
// second makes the command exit at once, with 130 and a word on stderr.
func TestSecondSIGINTExitsARunBlockedOnAFullPipe(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the test sees the write blocked in /proc/PID/task/*/wchan, which only Linux has")
	}
	if testing.Short() {
		t.Skip("builds the command and writes 10,000 files")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := buildCLI(ctx, t)

	// Far more report than a pipe holds: some 130 bytes of JSON a session,
	// 650 KB in all, against the 64 KiB of a pipe and the 4 KiB that the
	// report buffers.
	dir := t.TempDir()
	for i := range 5000 {
		name := filepath.Join(dir, fmt.Sprintf("s%05d.json", i))
		require.NoError(t, os.WriteFile(name, []byte(session(1)), 0o644))
		require.NoError(t, os.WriteFile(name+".bak", []byte(session(2)), 0o644))
	}

	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close() // never read
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "recover", "--json", dir)
	cmd.Stdout, cmd.Stderr = w, &stderr
	require.NoError(t, cmd.Start())
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pid := cmd.Process.Pid
	fail := func(format string, a ...any) {
		cmd.Process.Kill()
		<-exited
		t.Fatalf(format+"\nstderr:\n%s", append(a, stderr.String())...)
	}

	// Wait until one of its threads sleeps in a write to the pipe
	// ("pipe_write", or "anon_pipe_write" on newer kernels). The
	// signal handler is installed by then: it is, before any output.
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	blockedBy := time.NewTimer(time.Minute)
	defer blockedBy.Stop()
	for !blockedWriting(pid) {
		select {
		case err := <-exited:
			t.Fatalf("the run ended (%v) before its report filled the pipe\nstderr:\n%s", err, stderr.String())
		case <-blockedBy.C:
			fail("the run never blocked writing its report to the full pipe (wchan: %v)", wchans(pid))
		case <-poll.C:
		}
	}

	// SIGINT, then again once the kernel no longer holds one pending for
	// the process: two SIGINTs sent closer together would be one. Go's
	// runtime may still merge a SIGINT that arrives before it handed the
	// previous one to os/signal, so one more is sent whenever none is
	// pending and the process still runs.
	sent := 0
	exitBy := time.NewTimer(time.Minute)
	defer exitBy.Stop()
	var waitErr error
wait:
	for {
		if !sigintPending(pid) {
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
				fail("send SIGINT: %v", err)
			}
			sent++
		}
		select {
		case waitErr = <-exited:
			break wait
		case <-exitBy.C:
			fail("%d SIGINTs did not end a run blocked on a full pipe", sent)
		case <-poll.C:
		}
	}
	t.Logf("SIGINTs sent: %d", sent)
	var exitErr *exec.ExitError
	require.ErrorAs(t, waitErr, &exitErr, "stderr:\n%s", stderr.String())
	assert.Equal(t, 130, cmd.ProcessState.ExitCode(), "exit code; the state: %v\nstderr:\n%s", cmd.ProcessState, stderr.String())
	assert.GreaterOrEqual(t, sent, 2, "one SIGINT cannot end a blocked run")
	assert.Contains(t, stderr.String(), "sessionrecovery: interrupt again: exiting now\n")
}

// blockedWriting says whether a thread of process pid sleeps in a write
// to a pipe.
func blockedWriting(pid int) bool {
	for _, w := range wchans(pid) {
		if strings.Contains(w, "pipe_write") {
			return true
		}
	}
	return false
}

// wchans lists where the threads of process pid sleep in the kernel.
func wchans(pid int) []string {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var out []string
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/wchan", pid, task.Name()))
		if err == nil {
			out = append(out, string(b))
		}
	}
	return out
}

// sigintPending says whether the kernel holds a SIGINT not yet delivered
// to process pid or one of its threads.
func sigintPending(pid int) bool {
	const bit = 1 << (syscall.SIGINT - 1)
	files := []string{fmt.Sprintf("/proc/%d/status", pid)}
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		files = append(files, fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			name, value, ok := strings.Cut(line, ":")
			if !ok || (name != "SigPnd" && name != "ShdPnd") {
				continue
			}
			mask, err := strconv.ParseUint(strings.TrimSpace(value), 16, 64)
			if err == nil && mask&bit != 0 {
				return true
			}
		}
	}
	return false
}
