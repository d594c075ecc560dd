//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/crashtest"
)

// Three `recover` processes at once on one store of shrunk sessions must
// lose nothing: every original live document is afterwards live or kept
// (.replaced*), byte for byte. Once where hard links work, and once where
// they are refused (root-owned files recovered by nobody under
// fs.protected_hardlinks=1), so that the copy fallback runs.
func TestConcurrentRunsLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("three processes on 2,000 sessions, several trials")
	}
	const (
		sessions = 2000
		runs     = 3
		trials   = 3
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := buildSharedCLI(ctx, t)

	modes := []struct {
		name string
		cred *syscall.Credential // nil: as this process
		skip string
	}{
		{name: "HardLinks"},
		{name: "NoHardLinks", cred: &syscall.Credential{Uid: 65534, Gid: 65534}, skip: noLinksSkip()},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			if mode.skip != "" {
				t.Skip(mode.skip)
			}
			for trial := range trials {
				dir := concurrentStore(t, sessions, trial)
				outputs := make([]bytes.Buffer, runs)
				cmds := make([]*exec.Cmd, runs)
				for i := range cmds {
					cmds[i] = exec.CommandContext(ctx, bin, "recover", dir)
					cmds[i].Stdout, cmds[i].Stderr = &outputs[i], &outputs[i]
					if mode.cred != nil {
						cmds[i].SysProcAttr = &syscall.SysProcAttr{Credential: mode.cred}
					}
				}
				for _, c := range cmds {
					require.NoError(t, c.Start())
				}
				for i, c := range cmds {
					err := c.Wait()
					if ee := (*exec.ExitError)(nil); err != nil && !errors.As(err, &ee) {
						t.Fatalf("run %d: %v", i, err)
					}
					if code := c.ProcessState.ExitCode(); code != 0 && code != 1 {
						t.Fatalf("run %d exited %d (signal or usage error):\n%s", i, code, outputs[i].String())
					}
				}
				lost := lostOriginals(t, dir, sessions, trial)
				if mode.cred != nil {
					require.Positive(t, keptCopies(t, dir, mode.cred.Uid), "links refused, so the kept files are copies, made by nobody")
				}
				require.Empty(t, lost, "trial %d: original live documents found nowhere (first outputs):\n%s", trial, head(outputs[0].String(), 2000))
				t.Logf("concurrent runs: trial %d: %d sessions, %d runs at once, 0 originals lost", trial, sessions, runs)
			}
		})
	}
}

// noLinksSkip says why hard links cannot be refused here, or "".
func noLinksSkip() string {
	if os.Geteuid() != 0 {
		return "needs root, to run the command as nobody on root-owned files"
	}
	b, err := os.ReadFile("/proc/sys/fs/protected_hardlinks")
	if err != nil || strings.TrimSpace(string(b)) != "1" {
		return "needs fs.protected_hardlinks=1, so that nobody may not link root-owned files"
	}
	return ""
}

// buildSharedCLI builds the command where any user may run it.
func buildSharedCLI(ctx context.Context, t *testing.T) string {
	t.Helper()
	dir := crashtest.ScratchDir(t, "sessionrecovery-bin-")
	require.NoError(t, os.Chmod(dir, 0o755))
	bin := buildCLI(ctx, t)
	shared := filepath.Join(dir, "sessionrecovery")
	b, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(shared, b, 0o755))
	return shared
}

func concurrentLive(i, trial int) []byte {
	return fmt.Appendf(nil, `{"id":"s%d","trial":%d,"messages":[1]}`, i, trial)
}

func concurrentBackup(i, trial int) []byte {
	return fmt.Appendf(nil, `{"id":"s%d","trial":%d,"messages":[1,2,3]}`, i, trial)
}

// concurrentStore writes a store of shrunk sessions, files owned by this
// process's user (root when the test can switch users) with mode 0644, in
// a directory anyone may write.
func concurrentStore(t *testing.T, sessions, trial int) string {
	t.Helper()
	scratch := crashtest.ScratchDir(t, "sessionrecovery-concurrent-")
	require.NoError(t, os.Chmod(scratch, 0o755))
	dir := filepath.Join(scratch, "store")
	require.NoError(t, os.Mkdir(dir, 0o777))
	require.NoError(t, os.Chmod(dir, 0o777)) // past the umask
	for i := range sessions {
		name := filepath.Join(dir, fmt.Sprintf("s%d.json", i))
		require.NoError(t, os.WriteFile(name, concurrentLive(i, trial), 0o644))
		require.NoError(t, os.WriteFile(name+".bak", concurrentBackup(i, trial), 0o644))
	}
	return dir
}

// lostOriginals names the sessions whose original live bytes are neither
// live nor under a kept name, or whose live bytes are neither the original
// nor the backup.
func lostOriginals(t *testing.T, dir string, sessions, trial int) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	kept := map[string][][]byte{}
	for _, e := range entries {
		live, _, ok := strings.Cut(e.Name(), ".replaced")
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		kept[live] = append(kept[live], b)
	}
	var lost []string
	for i := range sessions {
		name := fmt.Sprintf("s%d.json", i)
		original := concurrentLive(i, trial)
		live, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		if !bytes.Equal(live, original) && !bytes.Equal(live, concurrentBackup(i, trial)) {
			lost = append(lost, fmt.Sprintf("%s: live holds %q", name, head(string(live), 80)))
			continue
		}
		found := bytes.Equal(live, original)
		for _, b := range kept[name] {
			found = found || bytes.Equal(b, original)
		}
		if !found {
			lost = append(lost, name)
		}
	}
	return lost
}

// keptCopies counts the kept files that uid owns: copies it made, where a
// link would have kept the original owner.
func keptCopies(t *testing.T, dir string, uid uint32) int {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.replaced*"))
	require.NoError(t, err)
	n := 0
	for _, name := range names {
		fi, err := os.Stat(name)
		require.NoError(t, err)
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == uid {
			n++
		}
	}
	return n
}

func head(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
