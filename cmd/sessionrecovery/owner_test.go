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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/crashtest"
)

// fileOwner is what a restore must keep of a file besides its bytes.
type fileOwner struct {
	UID, GID uint32
	Perm     os.FileMode
}

func ownerOf(t *testing.T, name string) fileOwner {
	t.Helper()
	fi, err := os.Stat(name)
	require.NoError(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	return fileOwner{UID: st.Uid, GID: st.Gid, Perm: fi.Mode().Perm()}
}

// writeOwned writes name with the given owner, group and mode.
func writeOwned(t *testing.T, name, body string, o fileOwner) {
	t.Helper()
	require.NoError(t, os.WriteFile(name, []byte(body), o.Perm))
	require.NoError(t, os.Chown(name, int(o.UID), int(o.GID)))
	require.NoError(t, os.Chmod(name, o.Perm)) // past the umask
}

// ownedStore makes a store directory of nobody's, mode 0700, below a
// directory anyone may enter, holding sessions s0…s(n-1): each live
// document (one message) as live says, each backup (three) nobody's, 0600.
func ownedStore(t *testing.T, n int, live fileOwner) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give the store to nobody")
	}
	scratch := crashtest.ScratchDir(t, "sessionrecovery-owner-")
	require.NoError(t, os.Chmod(scratch, 0o755))
	dir := filepath.Join(scratch, "store")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.Chown(dir, 65534, 65534))
	for i := range n {
		name := filepath.Join(dir, fmt.Sprintf("s%d.json", i))
		writeOwned(t, name, session(1), live)
		writeOwned(t, name+".bak", session(3), fileOwner{65534, 65534, 0o600})
	}
	return dir
}

// Root recovers the store of an application that runs as nobody: the
// restored documents and the kept copies of the replaced ones are still
// nobody's, mode 0600, so that the application can read them.
func TestRootRecoveryKeepsOwnerAndMode(t *testing.T) {
	nobody600 := fileOwner{65534, 65534, 0o600}
	dir := ownedStore(t, 2, nobody600)
	code, out, errOut := cli(t, "recover", dir)
	require.Equal(t, exitOK, code, "%s%s", out, errOut)
	assert.NotContains(t, errOut, "owner", "nothing to warn about")
	for i := range 2 {
		live := filepath.Join(dir, fmt.Sprintf("s%d.json", i))
		b, err := os.ReadFile(live)
		require.NoError(t, err)
		assert.Equal(t, session(3), string(b), "s%d restored", i)
		assert.Equal(t, nobody600, ownerOf(t, live), "s%d.json", i)
		assert.Equal(t, nobody600, ownerOf(t, live+".replaced"), "s%d.json.replaced", i)
	}
}

// Nobody recovers its own store, which holds live documents of another
// user's (1000:1000, mode 0644): it may not give the restored files that
// owner, so they are nobody's, mode still 0644, and the command says so
// once on stderr, however many sessions, naming the owner and the cause.
func TestRecoveryThatMayNotKeepOwnerSaysSoOnce(t *testing.T) {
	other644 := fileOwner{1000, 1000, 0o644}
	const sessions = 3
	dir := ownedStore(t, sessions, other644)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := buildSharedCLI(ctx, t)

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "recover", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	err := cmd.Run()
	if ee := (*exec.ExitError)(nil); err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	require.Equal(t, exitOK, cmd.ProcessState.ExitCode(), "%s%s", stdout.String(), stderr.String())

	for i := range sessions {
		live := filepath.Join(dir, fmt.Sprintf("s%d.json", i))
		b, err := os.ReadFile(live)
		require.NoError(t, err)
		assert.Equal(t, session(3), string(b), "s%d restored", i)
		assert.Equal(t, fileOwner{65534, 65534, 0o644}, ownerOf(t, live), "s%d.json: nobody's, mode kept", i)
		kept, err := os.ReadFile(live + ".replaced")
		require.NoError(t, err)
		assert.Equal(t, session(1), string(kept), "s%d kept", i)
		assert.Equal(t, os.FileMode(0o644), ownerOf(t, live+".replaced").Perm, "s%d.json.replaced", i)
	}
	warning := stderr.String()
	assert.Equal(t, 1, strings.Count(warning, "\n"), "one line on stderr, said once:\n%s", warning)
	assert.True(t, strings.HasPrefix(warning, "sessionrecovery recover: warning: "), "the command's own line:\n%s", warning)
	for _, want := range []string{"owner", dir, "1000:1000", "operation not permitted"} {
		assert.Contains(t, warning, want)
	}
}
