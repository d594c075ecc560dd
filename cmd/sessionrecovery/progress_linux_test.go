package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the side a test reads, and the
// terminal a command writes to.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	require.NoError(t, unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// onTerminal runs the built command with its stderr on a terminal, and
// returns what the terminal received.
func onTerminal(ctx context.Context, t *testing.T, bin string, args ...string) string {
	t.Helper()
	master, tty := openPTY(t)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	require.NoError(t, cmd.Start())
	read := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(master) // ends with EIO once no one has the terminal open
		read <- b
	}()
	err := cmd.Wait()
	if ee := (*exec.ExitError)(nil); err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	tty.Close()
	select {
	case b := <-read:
		return string(b)
	case <-time.After(30 * time.Second):
		t.Fatal("the terminal was never closed")
		return ""
	}
}

// On a terminal the running count shows in table mode too, with its rate
// and elapsed time; --no-progress and -q turn it off.
func TestProgressShowsOnATerminal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := buildCLI(ctx, t)
	store := func() string {
		dir := t.TempDir()
		for i := range 50 {
			name := filepath.Join(dir, "s"+strconv.Itoa(i)+".json")
			require.NoError(t, os.WriteFile(name, []byte(session(1)), 0o644))
			require.NoError(t, os.WriteFile(name+".bak", []byte(session(2)), 0o644))
		}
		return dir
	}
	seen := onTerminal(ctx, t, bin, "recover", store())
	assert.Contains(t, seen, "sessions handled")
	assert.Contains(t, seen, "elapsed")
	assert.Contains(t, seen, "/s", "the rate")

	for _, off := range []string{"--no-progress", "-q", "--quiet"} {
		seen := onTerminal(ctx, t, bin, "recover", off, store())
		assert.NotContains(t, seen, "sessions handled", off)
	}
}

// Only a terminal gets the progress line: /dev/null is a character device
// too, and a log file must not fill with carriage returns.
func TestProgressOnlyOnATerminal(t *testing.T) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer devNull.Close()
	assert.False(t, newProgress(devNull, false, true).on, os.DevNull)
	_, tty := openPTY(t)
	assert.True(t, newProgress(tty, false, true).on, "a terminal")
	assert.False(t, newProgress(tty, false, false).on, "a terminal, progress turned off")
}
