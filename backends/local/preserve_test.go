package local_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// How recovery keeps the live document on a local store: by a hard link at
// the version it read, by a copy where linking is refused, and never as a
// second name for a live file it did not replace.

var (
	shortDoc = []byte(`{"messages":[1]}`)
	longDoc  = []byte(`{"messages":[1,2,3]}`)
)

// spyStore is a real local store whose Link and Write can be made to fail
// instead of acting, and which records the versions Link is asked for.
type spyStore struct {
	*local.Store
	linkErr, writeErr error
	linkVersions      []string
}

func (s *spyStore) Link(ctx context.Context, dst, src, ifVersion string) error {
	s.linkVersions = append(s.linkVersions, ifVersion)
	if s.linkErr != nil {
		return s.linkErr
	}
	return s.Store.Link(ctx, dst, src, ifVersion)
}

func (s *spyStore) Write(ctx context.Context, key string, r io.Reader, opts store.WriteOptions) error {
	if s.writeErr != nil {
		return s.writeErr
	}
	return s.Store.Write(ctx, key, r, opts)
}

func shrunkStore(t *testing.T) (dir string, s *spyStore) {
	dir = newDir(t, map[string][]byte{"s.json": shortDoc, "s.json.bak": longDoc})
	return dir, &spyStore{Store: open(t, dir)}
}

func stat(t *testing.T, dir, name string) os.FileInfo {
	t.Helper()
	fi, err := os.Lstat(filepath.Join(dir, name))
	require.NoError(t, err)
	return fi
}

func recoverS(t *testing.T, s store.Store) recovery.Status {
	t.Helper()
	st, err := recovery.Recover(context.Background(), s, "s", recovery.Options{})
	require.NoError(t, err)
	return st
}

func TestRestoreKeepsLiveFileByHardLink(t *testing.T) {
	dir, s := shrunkStore(t)
	before := stat(t, dir, "s.json")

	st := recoverS(t, s)
	require.NoError(t, st.Err)
	require.True(t, st.Restored)
	assert.True(t, os.SameFile(before, stat(t, dir, "s.json.replaced")), "the replaced file itself is kept, not a copy")
	require.Len(t, s.linkVersions, 1)
	assert.NotEmpty(t, s.linkVersions[0], "linked only at the version read")
	assert.Equal(t, string(longDoc), string(read(t, dir, "s.json")))
}

func TestRestoreCopiesWhereLinkIsRefused(t *testing.T) {
	dir, s := shrunkStore(t)
	before := stat(t, dir, "s.json")
	s.linkErr = &os.LinkError{Op: "link", Old: "s.json", New: "s.json.replaced", Err: syscall.EPERM}
	s.linkErr = fmt.Errorf("%w: %w", errors.ErrUnsupported, s.linkErr)

	st := recoverS(t, s)
	require.NoError(t, st.Err)
	require.True(t, st.Restored)
	kept := stat(t, dir, "s.json.replaced")
	assert.False(t, os.SameFile(before, kept), "a copy")
	assert.Equal(t, string(shortDoc), string(read(t, dir, "s.json.replaced")))
}

// hideKept lists the store without its ".replaced" names: as if one
// appeared after the listing.
type hideKept struct{ *spyStore }

func (h hideKept) List(ctx context.Context, prefix string, fn func(store.Object) error) error {
	return h.spyStore.List(ctx, prefix, func(o store.Object) error {
		if strings.Contains(o.Key, ".replaced") {
			return nil
		}
		return fn(o)
	})
}

func TestKeptNameTakenMeanwhileIsNeverOverwritten(t *testing.T) {
	dir, s := shrunkStore(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json.replaced"), []byte("someone's"), 0o644))

	st := recoverS(t, hideKept{s})
	require.Error(t, st.Err)
	assert.ErrorIs(t, st.Err, store.ErrChanged)
	assert.Contains(t, st.Error, "s.json.replaced")
	assert.False(t, st.Restored)
	assert.Equal(t, "someone's", string(read(t, dir, "s.json.replaced")), "not copied over instead")
	assert.Equal(t, string(shortDoc), string(read(t, dir, "s.json")))
}

func TestFailedRestoreRemovesTheLink(t *testing.T) {
	dir, s := shrunkStore(t)
	s.writeErr = fmt.Errorf("%w: saved meanwhile", store.ErrChanged)

	st := recoverS(t, s)
	require.Error(t, st.Err)
	assert.False(t, st.Restored)
	assert.Empty(t, st.PreservedKey)
	_, err := os.Lstat(filepath.Join(dir, "s.json.replaced"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no second name for the live file is left behind")
	assert.Equal(t, string(shortDoc), string(read(t, dir, "s.json")))
	assert.Equal(t, string(longDoc), string(read(t, dir, "s.json.bak")))
}

func TestLinkRefusesFileChangedInPlace(t *testing.T) {
	dir := newDir(t, map[string][]byte{"s.json": shortDoc})
	s := open(t, dir)
	ctx := context.Background()
	rc, err := s.Open(ctx, "s.json")
	require.NoError(t, err)
	v := store.Version(rc)
	require.NoError(t, rc.Close())
	// Same inode, new bytes: what an in-place save does.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json"), longDoc, 0o644))

	err = s.Link(ctx, "s.json.replaced", "s.json", v)
	require.ErrorIs(t, err, store.ErrChanged)
	_, err = os.Lstat(filepath.Join(dir, "s.json.replaced"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return b
}
