package local_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

// newDir writes objects into a fresh directory and returns its path.
func newDir(t *testing.T, objects map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for key, data := range objects {
		name := filepath.Join(dir, filepath.FromSlash(key))
		require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
		require.NoError(t, os.WriteFile(name, data, 0o644))
	}
	return dir
}

func open(t *testing.T, dir string) *local.Store {
	t.Helper()
	s, err := local.New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

func newStore(t *testing.T, objects map[string][]byte) *local.Store {
	return open(t, newDir(t, objects))
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, objects map[string][]byte) store.Store {
		return newStore(t, objects)
	})
}

func list(t *testing.T, s store.Store, prefix string) []store.Object {
	t.Helper()
	var got []store.Object
	require.NoError(t, s.List(context.Background(), prefix, func(o store.Object) error {
		o.ModTime = time.Time{} // keys and sizes are compared here; times in storetest
		got = append(got, o)
		return nil
	}))
	return got
}

// tempFiles returns the names of this package's temporary files below dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	require.NoError(t, filepath.WalkDir(dir, func(name string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			found = append(found, name)
		}
		return err
	}))
	return found
}

func TestNew(t *testing.T) {
	t.Run("Missing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "nowhere")
		_, err := local.New(dir)
		require.Error(t, err)
		assert.ErrorIs(t, err, fs.ErrNotExist)
		assert.Contains(t, err.Error(), dir)
		assert.Contains(t, err.Error(), "does not exist")
	})

	t.Run("RegularFile", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file.json")
		require.NoError(t, os.WriteFile(file, []byte("{}"), 0o644))
		_, err := local.New(file)
		require.Error(t, err)
		assert.Contains(t, err.Error(), file)
		assert.Contains(t, err.Error(), "not a directory")
	})

	t.Run("NotReadable", func(t *testing.T) {
		if runtime.GOOS == "windows" || os.Geteuid() == 0 {
			t.Skip("needs permission bits that bind the current user")
		}
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o311))
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		_, err := local.New(dir)
		require.Error(t, err)
		assert.Contains(t, err.Error(), dir)
		assert.ErrorIs(t, err, fs.ErrPermission)
	})
}

func TestDirectoryIsNotAnObject(t *testing.T) {
	s := newStore(t, map[string][]byte{"d.json/inner.json": []byte("x")})

	assert.Empty(t, list(t, s, ""), "a directory is not listed, nor entered")
	assert.Equal(t, []store.Object{{Key: "d.json/inner.json", Size: 1}}, list(t, s, "d.json/"))
	_, err := s.Open(context.Background(), "d.json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"d.json"`)
	assert.Contains(t, err.Error(), "not a regular file")
}

// Once a bug (issue #11): List walked every directory below the store, so
// a chain of 3,000 nested folders beside one session took 15 s (each level
// looked up again from the root) and listed the file at its bottom. A
// listing reads the top directory only.
func TestDeepChainOfFoldersIsNotEntered(t *testing.T) {
	dir := newDir(t, map[string][]byte{"s.json": []byte("{}")})
	r, err := os.OpenRoot(dir)
	require.NoError(t, err)
	// Level by level through os.Root, as the full path is longer than
	// PATH_MAX.
	for range 3000 {
		require.NoError(t, r.Mkdir("d", 0o755))
		sub, err := r.OpenRoot("d")
		require.NoError(t, err)
		require.NoError(t, r.Close())
		r = sub
	}
	require.NoError(t, r.WriteFile("bottom.json", []byte("{}"), 0o644))
	require.NoError(t, r.Close())

	s := open(t, dir)
	assert.Equal(t, []string{"s.json"}, shortKeys(list(t, s, "")))
	assert.Empty(t, shortKeys(list(t, s, "d")), `"d" is a directory, not an object`)
	assert.Empty(t, shortKeys(list(t, s, "d/")), "the first folder of the chain holds no object")
}

// shortKeys returns the keys of objs, each key of many levels shortened, so
// that a failure message stays readable.
func shortKeys(objs []store.Object) []string {
	var keys []string
	for _, o := range objs {
		key := o.Key
		if n := strings.Count(key, "/"); n > 3 {
			key = fmt.Sprintf("%s…%s (%d levels)", key[:4], key[len(key)-16:], n)
		}
		keys = append(keys, key)
	}
	return keys
}

func TestReaderChecksContext(t *testing.T) {
	s := newStore(t, map[string][]byte{"a.json": bytes.Repeat([]byte("x"), 100)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rc, err := s.Open(ctx, "a.json")
	require.NoError(t, err)
	defer rc.Close()

	buf := make([]byte, 10)
	_, err = io.ReadFull(rc, buf)
	require.NoError(t, err)
	cancel()
	_, err = rc.Read(buf)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), `"a.json"`)
}

func TestReplaceLeavesNoTempFiles(t *testing.T) {
	objects := map[string][]byte{
		"s.json":     []byte("old"),
		"s.json.bak": bytes.Repeat([]byte("new"), 1<<20),
		"d.json/x":   []byte("x"),
	}
	ctx := context.Background()

	t.Run("Success", func(t *testing.T) {
		dir := newDir(t, objects)
		s := open(t, dir)
		require.NoError(t, s.Replace(ctx, "s.json", "s.json.bak"))
		require.NoError(t, s.Replace(ctx, "new/dir/s.json", "s.json.bak"))
		assert.Empty(t, tempFiles(t, dir))
	})

	t.Run("MissingSource", func(t *testing.T) {
		dir := newDir(t, objects)
		s := open(t, dir)
		require.ErrorIs(t, s.Replace(ctx, "s.json", "gone.json"), store.ErrNotExist)
		assert.Empty(t, tempFiles(t, dir))
	})

	t.Run("DestinationIsADirectory", func(t *testing.T) {
		dir := newDir(t, objects)
		s := open(t, dir)
		require.Error(t, s.Replace(ctx, "d.json", "s.json"))
		assert.Empty(t, tempFiles(t, dir))
		assert.Equal(t, []byte("x"), storetest.Read(t, s, "d.json/x"))
	})

	t.Run("CancelledAtEachStep", func(t *testing.T) {
		storetest.ReplaceCancelledAtEachCheck(t, objects, "s.json", "s.json.bak", func(t *testing.T) (store.Store, func() []string) {
			dir := newDir(t, objects)
			return open(t, dir), func() []string { return tempFiles(t, dir) }
		})
	})
}

func TestReplaceErrorNamesKeys(t *testing.T) {
	s := newStore(t, map[string][]byte{"a.json": []byte("{}")})
	err := s.Replace(context.Background(), "a.json", "a.json.bak")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `local: replace "a.json" from "a.json.bak": `)
	assert.ErrorIs(t, err, store.ErrNotExist)

	err = s.Replace(context.Background(), "a.json", "a.json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"a.json"`)
}
