//go:build unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
)

func session(n int) string {
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = `{"role":"user","content":"hi"}`
	}
	return `{"messages":[` + strings.Join(msgs, ",") + `]}`
}

// TestHostileStore recovers a store full of traps. Each trap gets its own
// report entry, none hangs the scan or leaves it, and the honest session
// beside them is restored as usual.
func TestHostileStore(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret.json": session(0), "secret.json.bak": session(9)})
	deep := `{"messages":[` + strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000) + `]}`
	writeFiles(t, dir, map[string]string{
		"honest.json":         session(0),
		"honest.json.bak":     session(3),
		"fifo.json.bak":       session(3),
		"sock.json.bak":       session(3),
		"dev.json.bak":        session(3),
		"fifobak.json":        session(0),
		"linklive.json.bak":   session(3),
		"linkbak.json":        session(0),
		"deep.json":           deep,
		"deep.json.bak":       session(2),
		"truncated.json":      session(5)[:20],
		"truncated.json.bak":  session(2),
		"dirlive.json.bak":    session(3),
		"with space.json":     session(0),
		"with space.json.bak": session(1),
		"会话 ☃.json":           session(0),
		"会话 ☃.json.bak":       session(1),
		"Case.json":           session(4),
		"case.json":           session(0),
		"case.json.bak":       session(1),
	})
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.json"), 0o644))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifobak.json.bak"), 0o644))
	sock, err := net.Listen("unix", filepath.Join(dir, "sock.json"))
	require.NoError(t, err)
	defer sock.Close()
	haveDevice := syscall.Mknod(filepath.Join(dir, "dev.json"), syscall.S_IFCHR|0o644, 1<<8|3) == nil // like /dev/null
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.json"), filepath.Join(dir, "linklive.json")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.json.bak"), filepath.Join(dir, "linkbak.json.bak")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "dirlive.json"), 0o755))
	outsideBefore := snapshot(t, outside)

	// A FIFO opened for reading would block for ever: bound the run.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut strings.Builder
	code := run(ctx, []string{"recover", "--json", "--restore-orphans", dir}, &out, &errOut)
	require.NoError(t, ctx.Err(), "the run hung")
	assert.Equal(t, exitErrors, code, errOut.String())
	var r recovery.Report
	require.NoError(t, json.Unmarshal([]byte(out.String()), &r), out.String())
	byID := map[string]recovery.Status{}
	for _, st := range r.Details {
		byID[st.SessionID] = st
	}

	for _, id := range []string{"fifo", "sock", "fifobak"} {
		assert.Contains(t, byID[id].Error, "not a regular file", id)
		assert.False(t, byID[id].Restored, id)
	}
	if haveDevice {
		assert.Contains(t, byID["dev"].Error, "not a regular file")
	} else {
		t.Log("could not make a device node here; that case was not run")
	}
	for _, id := range []string{"linklive", "linkbak"} {
		assert.NotEmpty(t, byID[id].Error, id)
		assert.False(t, byID[id].Restored, id)
	}
	assert.Equal(t, outsideBefore, snapshot(t, outside), "nothing outside the store read into or written")

	assert.Equal(t, recovery.Count(1), byID["deep"].LiveMessages, "nested 1,000,000 deep, one message")
	assert.True(t, byID["deep"].Restored, "2 > 1")
	assert.Equal(t, recovery.Count(-1), byID["truncated"].LiveMessages)
	assert.True(t, byID["truncated"].Restored)
	for _, id := range []string{"honest", "with space", "会话 ☃", "case"} {
		assert.True(t, byID[id].Restored, id)
		assert.NoError(t, byID[id].Err, id)
	}
	assert.Equal(t, recovery.NoBackup, byID["Case"].Recommend, "case matters")

	require.Len(t, r.Orphans, 1, "the backup of a directory")
	assert.Equal(t, "dirlive", r.Orphans[0].SessionID)
	assert.False(t, r.Orphans[0].Restored, "a directory is never replaced")
	assert.NotEmpty(t, r.Orphans[0].Error)
	fi, err := os.Stat(filepath.Join(dir, "dirlive.json"))
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
	fi, err = os.Lstat(filepath.Join(dir, "fifo.json"))
	require.NoError(t, err)
	assert.Equal(t, os.ModeNamedPipe, fi.Mode().Type(), "the FIFO is still there, untouched")
}

// TestBadIDsExit2 gives single-session commands ids that could reach
// outside the store or name a non-session.
func TestBadIDsExit2(t *testing.T) {
	dir := sampleCopy(t)
	before := snapshot(t, dir)
	for _, id := range []string{"..", ".", "../x", "a/b", "a\x00b", "_index", ""} {
		for _, args := range [][]string{{"inspect", dir, id}, {"recover", "--session", id, dir}} {
			if id == "" && args[0] == "recover" {
				continue // an empty --session means every session
			}
			code, out, errOut := cli(t, args...)
			assert.Equal(t, exitUsage, code, "%q: %s", id, errOut)
			assert.Empty(t, out)
			assert.Contains(t, errOut, "invalid session id", "%q", id)
		}
	}
	assert.Equal(t, before, snapshot(t, dir))
}

func TestLocationErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for _, tc := range []struct{ location, want string }{
		{filepath.Join(dir, "missing"), "does not exist"},
		{file, "not a directory"},
	} {
		code, _, errOut := cli(t, "scan", tc.location)
		assert.Equal(t, exitUsage, code)
		assert.Contains(t, errOut, tc.want)
		assert.Contains(t, errOut, tc.location)
	}
	// As root, permissions do not stop reads; elsewhere they do.
	unreadable := filepath.Join(dir, "unreadable")
	require.NoError(t, os.Mkdir(unreadable, 0o000))
	if f, err := os.Open(unreadable); err == nil {
		_, rerr := f.ReadDir(1)
		f.Close()
		if !errors.Is(rerr, os.ErrPermission) {
			t.Log("running as a user who can read anything: the unreadable case was not run")
			return
		}
	}
	code, _, errOut := cli(t, "scan", unreadable)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "not readable")
}
