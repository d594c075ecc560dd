package local_test

import (
	"bytes"
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
type hideKept struct{ linkWriter }

// linkWriter is a local store or a wrapper of one.
type linkWriter interface {
	store.Writer
	store.Linker
}

func (h hideKept) List(ctx context.Context, prefix string, fn func(store.Object) error) error {
	return h.linkWriter.List(ctx, prefix, func(o store.Object) error {
		if strings.Contains(o.Key, ".replaced") {
			return nil
		}
		return fn(o)
	})
}

func TestKeptNameTakenMeanwhileIsNeverOverwritten(t *testing.T) {
	for _, refuseLinks := range []bool{false, true} {
		t.Run(fmt.Sprintf("refuseLinks=%v", refuseLinks), func(t *testing.T) {
			dir, s := shrunkStore(t)
			if refuseLinks {
				s.linkErr = fmt.Errorf("%w: refused", errors.ErrUnsupported)
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json.replaced"), []byte("someone's"), 0o644))

			st := recoverS(t, hideKept{s})
			require.NoError(t, st.Err)
			assert.True(t, st.Restored)
			assert.Equal(t, "s.json.replaced.2", st.PreservedKey, "the next name")
			assert.Equal(t, "someone's", string(read(t, dir, "s.json.replaced")), "not copied over")
			assert.Equal(t, string(shortDoc), string(read(t, dir, "s.json.replaced.2")))
			assert.Equal(t, string(longDoc), string(read(t, dir, "s.json")))
		})
	}
}

// changeOnLink is a store whose Link first does what a second recovery
// run does in between: it keeps the live bytes under ".replaced" and
// restores the backup. Then the link is refused, as protected_hardlinks
// refuses another user's file, so that recovery falls back to a copy.
type changeOnLink struct {
	*spyStore
	dir string
	t   *testing.T
}

func (c changeOnLink) Link(ctx context.Context, dst, src, ifVersion string) error {
	require.NoError(c.t, os.Link(filepath.Join(c.dir, "s.json"), filepath.Join(c.dir, "s.json.replaced")))
	require.NoError(c.t, os.WriteFile(filepath.Join(c.dir, ".tmp"), longDoc, 0o644))
	require.NoError(c.t, os.Rename(filepath.Join(c.dir, ".tmp"), filepath.Join(c.dir, "s.json")))
	return fmt.Errorf("%w: operation not permitted", errors.ErrUnsupported)
}

// The copy made where a link is refused is of the version counted, never
// of what the live document holds by then, and never over a name.
func TestCopyFallbackKeepsOnlyTheVersionCounted(t *testing.T) {
	dir, s := shrunkStore(t)
	st := recoverS(t, hideKept{changeOnLink{s, dir, t}})
	assert.False(t, st.Restored)
	require.Error(t, st.Err)
	assert.ErrorIs(t, st.Err, store.ErrChanged)
	assert.Equal(t, string(shortDoc), string(read(t, dir, "s.json.replaced")), "the original bytes survive")
	assert.Equal(t, string(longDoc), string(read(t, dir, "s.json")))
	names, err := filepath.Glob(filepath.Join(dir, "s.json.replaced*"))
	require.NoError(t, err)
	assert.Len(t, names, 1, "no copy of the backup's bytes kept as if they were the live document's")
}

// landedWrite is a store whose Write does its work and then fails, as a
// write does whose directory sync fails (EIO), or whose answer is lost.
type landedWrite struct {
	*spyStore
	err error
}

func (l landedWrite) Write(ctx context.Context, key string, r io.Reader, opts store.WriteOptions) error {
	if err := l.spyStore.Write(ctx, key, r, opts); err != nil {
		return err
	}
	return l.err
}

// A restore whose new bytes are in place is reported as such, and the
// kept bytes, by then the only name of the old file, are never removed.
func TestRestoreThatLandedKeepsTheReplacedBytes(t *testing.T) {
	for name, failure := range map[string]error{
		"NotDurable": fmt.Errorf("%w: sync directory: %w", store.ErrNotDurable, syscall.EIO),
		"Unknown":    fmt.Errorf("sync directory: %w", syscall.EMFILE),
	} {
		t.Run(name, func(t *testing.T) {
			dir, s := shrunkStore(t)
			st := recoverS(t, landedWrite{s, failure})
			require.Error(t, st.Err)
			assert.Equal(t, "s.json.replaced", st.PreservedKey)
			assert.Equal(t, string(shortDoc), string(read(t, dir, "s.json.replaced")), "the replaced bytes are kept")
			assert.Equal(t, string(longDoc), string(read(t, dir, "s.json")))
			if name == "NotDurable" {
				assert.True(t, st.Restored, "the restore was made")
				assert.Contains(t, st.Error, "durable")
			} else {
				assert.Contains(t, st.Error, "may have been made")
				assert.NotContains(t, st.Error, "nothing was restored")
			}
		})
	}
}

// Leftover kept copies with any numbers never make recovery reuse a name,
// whether the live document is a file or a symbolic link to one.
func TestKeptNamesAreNeverReused(t *testing.T) {
	leftovers := map[string][]byte{
		"s.json.replaced":                     []byte("first"),
		"s.json.replaced.2":                   []byte("second"),
		"s.json.replaced.9223372036854775807": []byte("huge"),
	}
	for _, symlink := range []bool{false, true} {
		t.Run(fmt.Sprintf("symlink=%v", symlink), func(t *testing.T) {
			objects := map[string][]byte{"s.json.bak": longDoc}
			for k, v := range leftovers {
				objects[k] = v
			}
			if symlink {
				objects["target"] = shortDoc
			} else {
				objects["s.json"] = shortDoc
			}
			dir := newDir(t, objects)
			if symlink {
				require.NoError(t, os.Symlink("target", filepath.Join(dir, "s.json")))
			}
			st := recoverS(t, open(t, dir))
			require.NoError(t, st.Err)
			assert.True(t, st.Restored)
			assert.Equal(t, "s.json.replaced.3", st.PreservedKey)
			assert.Equal(t, string(shortDoc), string(read(t, dir, "s.json.replaced.3")))
			for k, v := range leftovers {
				assert.Equal(t, string(v), string(read(t, dir, k)), k)
			}
		})
	}
}

// bigDoc is a session of n messages over recovery's in-memory limit for
// backups (1 MiB), so that a restore reads the backup a second time.
func bigDoc(n int) []byte {
	msg := `"` + strings.Repeat("x", 1000) + `"`
	return []byte(`{"messages":[` + strings.TrimSuffix(strings.Repeat(msg+",", n), ",") + `]}`)
}

// rewriteOnReopen is a store that rewrites the backup in place just
// before recovery opens it the second time.
type rewriteOnReopen struct {
	*spyStore
	dir     string
	rewrite func(path string)
	opens   int
}

func (r *rewriteOnReopen) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if key == "s.json.bak" {
		if r.opens++; r.opens == 2 {
			r.rewrite(filepath.Join(r.dir, key))
		}
	}
	return r.spyStore.Open(ctx, key)
}

// A backup too big to keep in memory is written only if its second read
// gives exactly the bytes counted: never truncated, never other bytes of
// the same size and time.
func TestBigBackupChangedBeforeItsRestoreIsNotWritten(t *testing.T) {
	backup := bigDoc(1500)
	require.Greater(t, len(backup), 1<<20)
	for name, rewrite := range map[string]func(t *testing.T, path string){
		"Truncated": func(t *testing.T, path string) {
			// What shutil.copyfile does: truncate, then write; caught midway.
			require.NoError(t, os.WriteFile(path, backup[:len(backup)/2], 0o644))
		},
		"SameSizeAndTime": func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			require.NoError(t, err)
			other := bytes.ToUpper(backup)
			require.NoError(t, os.WriteFile(path, other, 0o644))
			require.NoError(t, os.Chtimes(path, fi.ModTime(), fi.ModTime()))
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := newDir(t, map[string][]byte{"s.json": shortDoc, "s.json.bak": backup})
			s := &rewriteOnReopen{spyStore: &spyStore{Store: open(t, dir)}, dir: dir, rewrite: func(p string) { rewrite(t, p) }}
			st := recoverS(t, s)
			assert.False(t, st.Restored)
			require.Error(t, st.Err)
			assert.ErrorIs(t, st.Err, store.ErrChanged)
			assert.Equal(t, string(shortDoc), string(read(t, dir, "s.json")), "the live document is left as it was")
			_, err := os.Lstat(filepath.Join(dir, "s.json.replaced"))
			assert.ErrorIs(t, err, os.ErrNotExist, "its link is removed: the live file is still the one linked")
		})
	}
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
