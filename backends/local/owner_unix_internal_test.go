//go:build unix

package local

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/store"
)

// ownerTestStore opens a store of three files of nobody's, mode 0640, that
// logs to the returned buffer, and whose fchown gives err (and counts).
func ownerTestStore(t *testing.T, err error) (s *Store, dir string, logged *bytes.Buffer, chowns *int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give the store's files to another user")
	}
	dir = t.TempDir()
	for _, name := range []string{"a.json", "b.json", "c.json"} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte("old"), 0o640))
		require.NoError(t, os.Chown(p, 65534, 65534))
		require.NoError(t, os.Chmod(p, 0o640))
	}
	logged = &bytes.Buffer{}
	s, oerr := New(dir, WithLogger(slog.New(slog.NewTextHandler(logged, nil))))
	require.NoError(t, oerr)
	t.Cleanup(func() { s.Close() })
	chowns = new(int)
	s.chown = func(f *os.File, uid, gid int) error {
		*chowns++
		return &os.PathError{Op: "chown", Path: f.Name(), Err: err}
	}
	return s, dir, logged, chowns
}

// Where the process may not give a file its owner (EPERM: not root;
// EINVAL: an owner unmapped in its user namespace), the write still
// happens, with the process's owner and the mode kept, and the store says
// so once, naming its directory, the owner and the cause.
func TestOwnerNotPermittedWritesAndSaysSoOnce(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EPERM, syscall.EINVAL} {
		t.Run(errno.Error(), func(t *testing.T) {
			s, dir, logged, chowns := ownerTestStore(t, errno)
			ctx := context.Background()
			for _, key := range []string{"a.json", "b.json", "c.json"} {
				require.NoError(t, s.Write(ctx, key, strings.NewReader("new"), store.WriteOptions{}), key)
				b, err := os.ReadFile(filepath.Join(dir, key))
				require.NoError(t, err)
				assert.Equal(t, "new", string(b), "%s written", key)
				fi, err := os.Stat(filepath.Join(dir, key))
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm(), "%s keeps its mode", key)
				assert.Equal(t, uint32(os.Geteuid()), fi.Sys().(*syscall.Stat_t).Uid, "%s is the process's", key)
			}
			assert.Equal(t, 3, *chowns, "each write tried")
			out := logged.String()
			assert.Equal(t, 1, strings.Count(out, "\n"), "said once:\n%s", out)
			for _, want := range []string{"level=WARN", dir, "owner=65534:65534", errno.Error()} {
				assert.Contains(t, out, want)
			}
		})
	}
}

// Any other failure to give the owner fails the write, which then changes
// nothing and leaves no temporary file; the error names the key and the
// cause.
func TestOwnerFailureFailsTheWrite(t *testing.T) {
	s, dir, logged, _ := ownerTestStore(t, syscall.EIO)
	err := s.Write(context.Background(), "a.json", strings.NewReader("new"), store.WriteOptions{})
	require.ErrorIs(t, err, syscall.EIO)
	assert.Contains(t, err.Error(), `"a.json"`)
	assert.Contains(t, err.Error(), "owner")
	b, rerr := os.ReadFile(filepath.Join(dir, "a.json"))
	require.NoError(t, rerr)
	assert.Equal(t, "old", string(b))
	entries, rerr := os.ReadDir(dir)
	require.NoError(t, rerr)
	assert.Len(t, entries, 3, "no temporary file left")
	assert.Empty(t, logged.String())
}

// A process writing files that are already its own never changes owners,
// so a user saving its own store can never be refused one.
func TestOwnFilesAreNeverChowned(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.json"), []byte("old"), 0o600))
	var logged bytes.Buffer
	s, err := New(dir, WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	require.NoError(t, err)
	defer s.Close()
	s.chown = func(*os.File, int, int) error {
		t.Error("chown called on a file that is already the process's")
		return syscall.EPERM
	}
	ctx := context.Background()
	require.NoError(t, s.Write(ctx, "a.json", strings.NewReader("new"), store.WriteOptions{}))
	require.NoError(t, s.Write(ctx, "b.json", strings.NewReader("new"), store.WriteOptions{PermOf: "a.json"}))
	require.NoError(t, s.Replace(ctx, "c.json", "a.json"))
	assert.Empty(t, logged.String())
}
