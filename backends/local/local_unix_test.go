//go:build unix

package local_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

func TestSymlinkOutsideRootIsNeverFollowed(t *testing.T) {
	outside := newDir(t, map[string][]byte{"secret.json": []byte(`{"secret":true}`)})
	dir := newDir(t, map[string][]byte{"in.json": []byte("{}")})
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.json"), filepath.Join(dir, "x.json")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "out")))
	s := open(t, dir)
	ctx := context.Background()

	// Where an escaping link leads is never looked at, so the directory link
	// is listed like the file link: size 0, not descended.
	assert.Equal(t, []store.Object{{Key: "in.json", Size: 2}, {Key: "out", Size: 0}, {Key: "x.json", Size: 0}},
		list(t, s, ""))
	assert.Empty(t, list(t, s, "out/"))

	for _, key := range []string{"x.json", "out/secret.json"} {
		_, err := s.Open(ctx, key)
		require.Error(t, err, "open %q", key)
		assert.Contains(t, err.Error(), key)
	}
	require.Error(t, s.Replace(ctx, "in.json", "x.json"))
	require.Error(t, s.Replace(ctx, "out/secret.json", "in.json"))
	require.Error(t, s.Replace(ctx, "out/new.json", "in.json"))

	got, err := os.ReadFile(filepath.Join(outside, "secret.json"))
	require.NoError(t, err)
	assert.Equal(t, `{"secret":true}`, string(got))
	names, err := os.ReadDir(outside)
	require.NoError(t, err)
	assert.Len(t, names, 1, "nothing created outside the root")
	assert.Equal(t, []byte("{}"), storetest.Read(t, s, "in.json"))
}

func TestSymlinkInsideRoot(t *testing.T) {
	dir := newDir(t, map[string][]byte{"real/target.json": []byte("target")})
	require.NoError(t, os.Symlink("real/target.json", filepath.Join(dir, "link.json")))
	require.NoError(t, os.Symlink("real", filepath.Join(dir, "dirlink")))
	require.NoError(t, os.Symlink("nowhere.json", filepath.Join(dir, "dangling.json")))
	s := open(t, dir)

	assert.Equal(t, []store.Object{
		{Key: "dangling.json", Size: 0},
		{Key: "link.json", Size: 6},
	}, list(t, s, ""), "neither a directory nor a link to one is listed")
	assert.Equal(t, []store.Object{{Key: "real/target.json", Size: 6}}, list(t, s, "real/"))
	assert.Empty(t, list(t, s, "dirlink/"), "a directory is never read through a link")
	assert.Empty(t, list(t, s, "link.json/"), "a file is not a directory")
	assert.Equal(t, []byte("target"), storetest.Read(t, s, "link.json"))

	_, err := s.Open(context.Background(), "dangling.json")
	assert.ErrorIs(t, err, store.ErrNotExist)
}

// Open follows symbolic links at the end of a key as os.Root does: one
// after another, ".." taken from where the link's directory really is
// (here "d" is a link to "e/f", so "d/up.json" -> "../x.json" is
// "e/x.json"), never out of the directory, never in a loop.
func TestOpenFollowsLinksAsOsRootDoes(t *testing.T) {
	dir := newDir(t, map[string][]byte{
		"x.json":     []byte("lexical"),
		"e/x.json":   []byte("physical"),
		"e/f/t.json": []byte("target"),
	})
	// In this order: d/up.json is made through the link d.
	for _, l := range [][2]string{
		{"d", "e/f"},
		{"chain.json", "d/t.json"},
		{"two.json", "chain.json"},
		{"d/up.json", "../x.json"},
		{"out.json", "../outside.json"},
		{"abs.json", filepath.Join(dir, "x.json")},
		{"loop.json", "loop2.json"},
		{"loop2.json", "loop.json"},
	} {
		name := filepath.Join(dir, filepath.FromSlash(l[0]))
		require.NoError(t, os.Symlink(l[1], name))
	}
	s := open(t, dir)

	for key, want := range map[string]string{"two.json": "target", "d/up.json": "physical", "d/t.json": "target"} {
		assert.Equal(t, want, string(storetest.Read(t, s, key)), key)
	}
	for _, key := range []string{"out.json", "abs.json", "loop.json"} {
		_, err := s.Open(context.Background(), key)
		require.Error(t, err, key)
		assert.Contains(t, err.Error(), `"`+key+`"`)
		assert.NotErrorIs(t, err, store.ErrNotExist, key)
	}
}

// A FIFO, a socket or a device is listed, with size 0, so that recovery
// reports the session it stands in for; Open refuses it and never blocks.
func TestSpecialFilesListedButNeverOpened(t *testing.T) {
	dir := newDir(t, map[string][]byte{"a.json": []byte("{}")})
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "f.json"), 0o644))
	l, err := net.Listen("unix", filepath.Join(dir, "sock.json"))
	require.NoError(t, err)
	defer l.Close()
	s := open(t, dir)

	assert.Equal(t, []store.Object{{Key: "a.json", Size: 2}, {Key: "f.json"}, {Key: "sock.json"}}, list(t, s, ""))
	_, err = s.Open(context.Background(), "sock.json")
	assert.ErrorContains(t, err, "not a regular file")

	done := make(chan error, 1)
	go func() {
		_, err := s.Open(context.Background(), "f.json")
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), `"f.json"`)
		assert.Contains(t, err.Error(), "not a regular file")
	case <-time.After(10 * time.Second):
		t.Fatal("Open blocked on a FIFO")
	}
}

func TestOpenThroughFileIsErrNotExist(t *testing.T) {
	s := newStore(t, map[string][]byte{"a.json": []byte("{}")})
	_, err := s.Open(context.Background(), "a.json/x")
	assert.ErrorIs(t, err, store.ErrNotExist)
}

func TestReplacePermissions(t *testing.T) {
	dir := newDir(t, map[string][]byte{"dst.json": []byte("old"), "src.json": []byte("new")})
	require.NoError(t, os.Chmod(filepath.Join(dir, "dst.json"), 0o600))
	require.NoError(t, os.Chmod(filepath.Join(dir, "src.json"), 0o640))
	s := open(t, dir)
	ctx := context.Background()

	mode := func(key string) fs.FileMode {
		fi, err := os.Stat(filepath.Join(dir, key))
		require.NoError(t, err)
		return fi.Mode()
	}
	require.NoError(t, s.Replace(ctx, "dst.json", "src.json"))
	assert.Equal(t, fs.FileMode(0o600), mode("dst.json"), "dst keeps its permission bits")
	require.NoError(t, s.Replace(ctx, "fresh.json", "src.json"))
	assert.Equal(t, fs.FileMode(0o640), mode("fresh.json"), "a new dst takes src's permission bits")
}

func TestLinkIsAHardLinkOfRegularFilesOnly(t *testing.T) {
	dir := newDir(t, map[string][]byte{"s.json": []byte("s"), "sub/t.json": []byte("t")})
	require.NoError(t, os.Symlink("s.json", filepath.Join(dir, "l.json")))
	s := open(t, dir)
	ctx := context.Background()

	require.NoError(t, s.Link(ctx, "s.json.kept", "s.json", ""))
	a, err := os.Stat(filepath.Join(dir, "s.json"))
	require.NoError(t, err)
	b, err := os.Stat(filepath.Join(dir, "s.json.kept"))
	require.NoError(t, err)
	assert.True(t, os.SameFile(a, b), "no bytes copied: one file, two names")

	for _, c := range []struct{ dst, src string }{
		{"l.json.kept", "l.json"},     // a link would keep the link, not the bytes
		{"t.json.kept", "sub/t.json"}, // another directory
	} {
		err := s.Link(ctx, c.dst, c.src, "")
		require.ErrorIs(t, err, errors.ErrUnsupported, "%s", c.src)
		assert.Contains(t, err.Error(), c.src)
		_, err = os.Lstat(filepath.Join(dir, c.dst))
		assert.ErrorIs(t, err, fs.ErrNotExist, "nothing made for %s", c.src)
	}
}

// A live document that is a symbolic link cannot be kept by a hard link (it
// would keep the link, whose target is not ours to keep); recovery falls
// back to copying its bytes.
func TestRecoveryKeepsSymlinkedLiveDocumentByCopy(t *testing.T) {
	short, long := []byte(`{"messages":[1]}`), []byte(`{"messages":[1,2,3]}`)
	dir := newDir(t, map[string][]byte{"real/target": short, "s.json.bak": long})
	require.NoError(t, os.Symlink("real/target", filepath.Join(dir, "s.json")))
	s := open(t, dir)

	st, err := recovery.Recover(context.Background(), s, "s", recovery.Options{})
	require.NoError(t, err)
	require.NoError(t, st.Err)
	assert.True(t, st.Restored)
	assert.Equal(t, "s.json.replaced", st.PreservedKey)

	for name, want := range map[string][]byte{"s.json": long, "s.json.replaced": short, "real/target": short, "s.json.bak": long} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.True(t, fi.Mode().IsRegular(), "%s is a regular file", name)
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), name)
	}
}
