//go:build unix

package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// A hard link the file system refuses for this file or this file system
// (no hard links, protected_hardlinks, another device, too many links)
// made nothing, so recovery must copy instead: those errors, and only
// those, wrap errors.ErrUnsupported. A link that failed for want of space,
// of permission, or of a working disk is a failure a copy would share,
// and must be reported as one.
func TestLinkErrorTellsWhenToCopy(t *testing.T) {
	linkErr := func(errno syscall.Errno) error {
		return linkError(&os.LinkError{Op: "linkat", Old: "s.json", New: "s.json.replaced", Err: errno}, "s.json.replaced")
	}
	for _, errno := range []syscall.Errno{syscall.EPERM, syscall.EMLINK, syscall.EXDEV, syscall.ENOTSUP, syscall.EOPNOTSUPP, syscall.ENOSYS} {
		err := linkErr(errno)
		assert.ErrorIs(t, err, errors.ErrUnsupported, "%v", errno)
		assert.ErrorIs(t, err, errno, "the cause is kept")
		assert.Contains(t, err.Error(), errno.Error())
	}
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EROFS, syscall.EACCES, syscall.ENOMEM} {
		err := linkErr(errno)
		assert.NotErrorIs(t, err, errors.ErrUnsupported, "%v is a failure, not a missing feature", errno)
		assert.ErrorIs(t, err, errno, "the cause is kept")
		assert.Contains(t, err.Error(), errno.Error())
	}
	err := linkErr(syscall.EEXIST)
	assert.ErrorIs(t, err, store.ErrChanged)
	assert.NotErrorIs(t, err, errors.ErrUnsupported, "a copy would overwrite dst")
	assert.Contains(t, err.Error(), "s.json.replaced")
	err = linkErr(syscall.ENOENT)
	assert.ErrorIs(t, err, store.ErrNotExist)
	assert.NotErrorIs(t, err, errors.ErrUnsupported)
}

// A write that must not replace an existing file, whose hard link into
// place fails for want of space, fails: it does not fall back to the
// check-then-rename kept for file systems without hard links.
func TestWriteIfNotExistFailsWhenTheLinkFails(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	require.NoError(t, err)
	defer s.Close()
	s.hardLink = func(oldname, newname string) error {
		return &os.LinkError{Op: "linkat", Old: oldname, New: newname, Err: syscall.ENOSPC}
	}

	err = s.Write(context.Background(), "new.json", strings.NewReader("n"), store.WriteOptions{IfNotExist: true})
	require.ErrorIs(t, err, syscall.ENOSPC)
	assert.NotErrorIs(t, err, errors.ErrUnsupported)
	assert.Contains(t, err.Error(), `"new.json"`)
	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, names, "neither new.json nor the temporary file is left")
}

// A restore whose keeping link fails for a reason a copy would share
// (ENOSPC, EIO) is a failed restore: the live document, the backup and
// the directory are as they were, and the status says why.
func TestRecoveryFailsWhenTheKeepingLinkFails(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EIO} {
		t.Run(errno.Error(), func(t *testing.T) {
			dir := t.TempDir()
			short, long := []byte(`{"messages":[1]}`), []byte(`{"messages":[1,2,3]}`)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json"), short, 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json.bak"), long, 0o644))
			s, err := New(dir)
			require.NoError(t, err)
			defer s.Close()
			s.hardLink = func(oldname, newname string) error {
				return &os.LinkError{Op: "linkat", Old: oldname, New: newname, Err: errno}
			}

			st, err := recovery.Recover(context.Background(), s, "s", recovery.Options{})
			require.NoError(t, err)
			require.ErrorIs(t, st.Err, errno)
			assert.False(t, st.Restored)
			assert.Empty(t, st.PreservedKey)
			for name, want := range map[string][]byte{"s.json": short, "s.json.bak": long} {
				got, err := os.ReadFile(filepath.Join(dir, name))
				require.NoError(t, err)
				assert.Equal(t, string(want), string(got), name)
			}
			names, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, names, 2, "no kept copy, no temporary file")
		})
	}
}

// A change made whose directory sync then fails (EIO, EMFILE) is reported
// as made but not durable, never as a failure that changed nothing.
func TestFailedDirectorySyncIsNotDurableNotFailed(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json"), []byte("old"), 0o644))
	s, err := New(dir)
	require.NoError(t, err)
	defer s.Close()
	s.syncDir = func(*os.Root, string) error { return syscall.EIO }
	ctx := context.Background()

	err = s.Write(ctx, "s.json", strings.NewReader("new"), store.WriteOptions{})
	require.ErrorIs(t, err, store.ErrNotDurable)
	assert.ErrorIs(t, err, syscall.EIO)
	b, err := os.ReadFile(filepath.Join(dir, "s.json"))
	require.NoError(t, err)
	assert.Equal(t, "new", string(b), "the write was made")

	err = s.Link(ctx, "s.json.replaced", "s.json", "")
	require.ErrorIs(t, err, store.ErrNotDurable)
	_, err = os.Lstat(filepath.Join(dir, "s.json.replaced"))
	assert.NoError(t, err, "the link was made")

	err = s.Delete(ctx, "s.json.replaced", store.WriteOptions{})
	require.ErrorIs(t, err, store.ErrNotDurable)
	_, err = os.Lstat(filepath.Join(dir, "s.json.replaced"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the delete was made")
}

// On a file system without hard links (FAT, some FUSE ones), writes that
// must not replace an existing file still work, and recovery keeps the
// replaced bytes by a copy.
func TestNoHardLinksAtAll(t *testing.T) {
	dir := t.TempDir()
	short, long := []byte(`{"messages":[1]}`), []byte(`{"messages":[1,2,3]}`)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json"), short, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json.bak"), long, 0o644))
	s, err := New(dir)
	require.NoError(t, err)
	defer s.Close()
	s.hardLink = func(oldname, newname string) error {
		return &os.LinkError{Op: "linkat", Old: oldname, New: newname, Err: syscall.EPERM}
	}
	ctx := context.Background()

	require.NoError(t, s.Write(ctx, "new.json", strings.NewReader("n"), store.WriteOptions{IfNotExist: true}))
	err = s.Write(ctx, "new.json", strings.NewReader("m"), store.WriteOptions{IfNotExist: true})
	require.ErrorIs(t, err, store.ErrChanged, "never over an existing file")
	b, err := os.ReadFile(filepath.Join(dir, "new.json"))
	require.NoError(t, err)
	assert.Equal(t, "n", string(b))

	st, err := recovery.Recover(ctx, s, "s", recovery.Options{})
	require.NoError(t, err)
	require.NoError(t, st.Err)
	assert.True(t, st.Restored)
	kept, err := os.ReadFile(filepath.Join(dir, "s.json.replaced"))
	require.NoError(t, err)
	assert.Equal(t, short, kept)
	fi, err := os.Stat(filepath.Join(dir, "s.json.replaced"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the copy is no more readable than the live document")
}
