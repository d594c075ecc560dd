//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/crashtest"
)

// Once a bug (issue #11): a scan walked every folder of the store, so one
// the user may not read, such as the root-owned 0700 lost+found at the top
// of a mounted file system, failed the whole run of a user who owns the
// sessions: "0 sessions scanned", nothing restored. Sessions live at the
// top; a scan reads the top directory only, and the folder does not matter.
func TestUnreadableFolderDoesNotStopTheOwnersRun(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to make a folder nobody may read and to run the command as nobody")
	}
	const nobody = 65534
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := buildSharedCLI(ctx, t)

	scratch := crashtest.ScratchDir(t, "sessionrecovery-otheruser-")
	require.NoError(t, os.Chmod(scratch, 0o755))
	dir := filepath.Join(scratch, "store")
	require.NoError(t, os.Mkdir(dir, 0o755))
	for name, body := range map[string]string{"s.json": session(1), "s.json.bak": session(3)} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
		require.NoError(t, os.Chown(filepath.Join(dir, name), nobody, nobody))
	}
	require.NoError(t, os.Chown(dir, nobody, nobody))
	lostFound := filepath.Join(dir, "lost+found")
	require.NoError(t, os.Mkdir(lostFound, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(lostFound, "#1234.json"), []byte(session(1)), 0o600))

	cmd := exec.CommandContext(ctx, bin, "recover", "--json", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.Output()
	var stderr []byte
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "recover as nobody: %s%s", out, stderr)
	var report struct {
		Restored int `json:"restored"`
		Scanned  int `json:"scanned"`
	}
	require.NoError(t, json.Unmarshal(out, &report), "%s", out)
	assert.Equal(t, 1, report.Scanned, "the session beside lost+found is scanned")
	assert.Equal(t, 1, report.Restored)
	b, err := os.ReadFile(filepath.Join(dir, "s.json"))
	require.NoError(t, err)
	assert.Equal(t, session(3), string(b), "restored from its backup")
	b, err = os.ReadFile(filepath.Join(lostFound, "#1234.json"))
	require.NoError(t, err)
	assert.Equal(t, session(1), string(b), "lost+found is left alone")
}
