package aferofs_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

// fill writes objects into fsys below root, under the names the store uses.
func fill(t *testing.T, fsys afero.Fs, root string, objects map[string][]byte) {
	t.Helper()
	if root == "" {
		root = "/"
	}
	for key, data := range objects {
		name := filepath.Join(root, filepath.FromSlash(key))
		require.NoError(t, fsys.MkdirAll(filepath.Dir(name), 0o755))
		require.NoError(t, afero.WriteFile(fsys, name, data, 0o644))
	}
}

func TestConformance(t *testing.T) {
	stores := []struct {
		name string
		fsys func(t *testing.T) (afero.Fs, string)
	}{
		{"MemMapFs", func(*testing.T) (afero.Fs, string) { return afero.NewMemMapFs(), "" }},
		{"MemMapFsWithRoot", func(*testing.T) (afero.Fs, string) { return afero.NewMemMapFs(), "/data/sessions" }},
		{"OsFs", func(t *testing.T) (afero.Fs, string) { return afero.NewOsFs(), t.TempDir() }},
	}
	for _, tt := range stores {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, objects map[string][]byte) store.Store {
				fsys, root := tt.fsys(t)
				fill(t, fsys, root, objects)
				return aferofs.New(fsys, root)
			})
		})
	}
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

// snapshot is every name in fsys with its bytes ("<dir>" for directories).
func snapshot(t *testing.T, fsys afero.Fs) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, afero.Walk(fsys, "/", func(name string, fi fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			out[name] = "<dir>"
			return nil
		}
		b, err := afero.ReadFile(fsys, name)
		out[name] = string(b)
		return err
	}))
	return out
}

func TestAbsoluteNamesAreKeys(t *testing.T) {
	fsys := afero.NewMemMapFs()
	require.NoError(t, afero.WriteFile(fsys, "/a.json", []byte("{}"), 0o644))
	for _, root := range []string{"", "/"} {
		s := aferofs.New(fsys, root)
		assert.Equal(t, []store.Object{{Key: "a.json", Size: 2}}, list(t, s, ""), "root %q", root)
		assert.Equal(t, []byte("{}"), storetest.Read(t, s, "a.json"), "root %q", root)
	}
}

func TestRootIsOneDirectory(t *testing.T) {
	fsys := afero.NewMemMapFs()
	fill(t, fsys, "/", map[string][]byte{
		"data/sessions/a.json": []byte("a"),
		"data/other.json":      []byte("other"),
	})
	for _, root := range []string{"/data/sessions", "/data/sessions/", "/data/x/../sessions"} {
		s := aferofs.New(fsys, root)
		assert.Equal(t, []store.Object{{Key: "a.json", Size: 1}}, list(t, s, ""), "root %q", root)
	}
}

func TestMissingRootIsEmpty(t *testing.T) {
	fsys := afero.NewMemMapFs()
	fill(t, fsys, "/", map[string][]byte{"src.json": []byte("src")})
	s := aferofs.New(fsys, "/not/yet")
	assert.Empty(t, list(t, s, ""))

	require.NoError(t, afero.WriteFile(fsys, "/not/yet/src.json", []byte("src"), 0o644))
	require.NoError(t, s.Replace(context.Background(), "dst.json", "src.json"))
	assert.Equal(t, []byte("src"), storetest.Read(t, s, "dst.json"))
}

func TestDirectoryIsNotAnObject(t *testing.T) {
	fsys := afero.NewMemMapFs()
	fill(t, fsys, "/", map[string][]byte{"d.json/inner.json": []byte("x")})
	s := aferofs.New(fsys, "")

	assert.Empty(t, list(t, s, ""), "a directory is not listed, nor entered")
	assert.Equal(t, []store.Object{{Key: "d.json/inner.json", Size: 1}}, list(t, s, "d.json/"))
	_, err := s.Open(context.Background(), "d.json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"d.json"`)
	assert.Contains(t, err.Error(), "not a regular file")

	err = s.Replace(context.Background(), "d.json", "d.json/inner.json")
	require.Error(t, err, "a directory is not replaced by a file")
	assert.Equal(t, []byte("x"), storetest.Read(t, s, "d.json/inner.json"))
}

func TestReplaceBelowAFileKeepsTheFile(t *testing.T) {
	// MemMapFs turns a file into a directory when a file is created below it.
	fsys := afero.NewMemMapFs()
	objects := map[string][]byte{"s.json": []byte("live"), "src.json": []byte("src")}
	fill(t, fsys, "/", objects)
	s := aferofs.New(fsys, "")

	for _, dst := range []string{"s.json/x", "s.json/x/y"} {
		err := s.Replace(context.Background(), dst, "src.json")
		require.Error(t, err, "replace %q", dst)
		assert.Contains(t, err.Error(), "not a directory")
	}
	assert.Equal(t, objects, storetest.Objects(t, s))
}

// A listing reads the top directory only: a chain of 3,000 folders beside a
// session is not entered, and the file at its bottom is not listed.
func TestDeepChainOfFoldersIsNotEntered(t *testing.T) {
	fsys := afero.NewMemMapFs()
	deep := strings.Repeat("d/", 3000) + "bottom.json"
	fill(t, fsys, "/", map[string][]byte{"s.json": []byte("{}"), deep: []byte("{}")})
	s := aferofs.New(fsys, "")

	// The keys listed, cut short so that a failure message stays readable.
	keys := func(prefix string) []string {
		var keys []string
		for _, o := range list(t, s, prefix) {
			keys = append(keys, o.Key[:min(len(o.Key), 20)])
		}
		return keys
	}
	assert.Equal(t, []string{"s.json"}, keys(""))
	assert.Empty(t, keys("d/"), "the first folder of the chain holds no object")
}

func TestConcurrentReplacesFromOneSource(t *testing.T) {
	fsys := afero.NewMemMapFs()
	src := bytes.Repeat([]byte("backup"), 10<<10)
	fill(t, fsys, "/", map[string][]byte{"s.json.bak": src, "s.json": []byte("old")})
	s := aferofs.New(fsys, "")

	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() {
			dst := "s.json"
			if i%2 == 1 {
				dst = fmt.Sprintf("copies/%d.json", i)
			}
			errs[i] = s.Replace(context.Background(), dst, "s.json.bak")
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "replace %d", i)
	}
	objects := storetest.Objects(t, s, "copies/")
	assert.Len(t, objects, 2+25, "no temporary file left behind")
	for key, data := range objects {
		assert.Equal(t, src, data, "object %q", key)
	}
}

func TestBasePathFsEscapeIsRefused(t *testing.T) {
	base := afero.NewMemMapFs()
	fill(t, base, "/", map[string][]byte{
		"data/app/ok.json": []byte("{}"),
		"data/app2/x":      []byte("secret"),
	})
	fsys := afero.NewBasePathFs(base, "/data/app")

	// The pitfall itself: BasePathFs lets "../app2/x" out of its base path.
	leaked, err := afero.ReadFile(fsys, "../app2/x")
	require.NoError(t, err)
	require.Equal(t, "secret", string(leaked))

	before := snapshot(t, base)
	s := aferofs.New(fsys, "")
	ctx := context.Background()
	var ke *store.KeyError
	for _, key := range []string{"../app2/x", "../app2/new.json", "a/../../app2/x"} {
		_, err := s.Open(ctx, key)
		require.ErrorAs(t, err, &ke, "open %q", key)
		require.ErrorAs(t, s.Replace(ctx, key, "ok.json"), &ke, "replace dst %q", key)
		require.ErrorAs(t, s.Replace(ctx, "ok.json", key), &ke, "replace src %q", key)
	}
	require.ErrorAs(t, s.List(ctx, "../app2/", func(store.Object) error { return nil }), &ke)
	assert.Equal(t, before, snapshot(t, base), "nothing touched")
}

func TestReplacePreservesMode(t *testing.T) {
	for _, tt := range []struct {
		name string
		fsys afero.Fs
		root string
	}{
		{"MemMapFs", afero.NewMemMapFs(), "/"},
		{"OsFs", afero.NewOsFs(), t.TempDir()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fill(t, tt.fsys, tt.root, map[string][]byte{"dst.json": []byte("old"), "src.json": []byte("new")})
			require.NoError(t, tt.fsys.Chmod(filepath.Join(tt.root, "dst.json"), 0o600))
			require.NoError(t, tt.fsys.Chmod(filepath.Join(tt.root, "src.json"), 0o640))
			s := aferofs.New(tt.fsys, tt.root)
			ctx := context.Background()
			perm := func(key string) fs.FileMode {
				fi, err := tt.fsys.Stat(filepath.Join(tt.root, key))
				require.NoError(t, err)
				return fi.Mode().Perm()
			}

			require.NoError(t, s.Replace(ctx, "dst.json", "src.json"))
			assert.Equal(t, fs.FileMode(0o600), perm("dst.json"), "dst keeps its permission bits")
			require.NoError(t, s.Replace(ctx, "fresh.json", "src.json"))
			assert.Equal(t, fs.FileMode(0o640), perm("fresh.json"), "a new dst takes src's permission bits")
		})
	}
}

func TestReplaceLeavesNoTempFiles(t *testing.T) {
	objects := map[string][]byte{
		"s.json":     []byte("old"),
		"s.json.bak": bytes.Repeat([]byte("new"), 1<<20),
	}
	tempFiles := func(fsys afero.Fs) []string {
		var found []string
		for name := range snapshot(t, fsys) {
			if strings.Contains(name, ".tmp-") {
				found = append(found, name)
			}
		}
		return found
	}
	ctx := context.Background()

	t.Run("SuccessAndFailure", func(t *testing.T) {
		fsys := afero.NewMemMapFs()
		fill(t, fsys, "/", objects)
		s := aferofs.New(fsys, "")
		require.NoError(t, s.Replace(ctx, "s.json", "s.json.bak"))
		require.NoError(t, s.Replace(ctx, "new/dir/s.json", "s.json.bak"))
		require.ErrorIs(t, s.Replace(ctx, "s.json", "gone.json"), store.ErrNotExist)
		assert.Empty(t, tempFiles(fsys))
	})

	t.Run("CancelledAtEachStep", func(t *testing.T) {
		storetest.ReplaceCancelledAtEachCheck(t, objects, "s.json", "s.json.bak", func(t *testing.T) (store.Store, func() []string) {
			fsys := afero.NewMemMapFs()
			fill(t, fsys, "/", objects)
			return aferofs.New(fsys, ""), func() []string { return tempFiles(fsys) }
		})
	})
}

func TestErrorsNameOperationAndKeys(t *testing.T) {
	fsys := afero.NewMemMapFs()
	fill(t, fsys, "/", map[string][]byte{"a.json": []byte("{}")})
	s := aferofs.New(fsys, "")
	ctx := context.Background()

	err := s.Replace(ctx, "a.json", "a.json.bak")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `aferofs: replace "a.json" from "a.json.bak": `)
	assert.ErrorIs(t, err, store.ErrNotExist)

	_, err = s.Open(ctx, "b.json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `aferofs: open "b.json": `)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestReaderChecksContext(t *testing.T) {
	fsys := afero.NewMemMapFs()
	fill(t, fsys, "/", map[string][]byte{"a.json": bytes.Repeat([]byte("x"), 100)})
	s := aferofs.New(fsys, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rc, err := s.Open(ctx, "a.json")
	require.NoError(t, err)
	defer rc.Close()

	buf := make([]byte, 10)
	_, err = rc.Read(buf)
	require.NoError(t, err)
	cancel()
	_, err = rc.Read(buf)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), `"a.json"`)
}

// shrinkingFs removes files of its directory between two batches of one
// directory read, as an application deleting sessions while a scan lists
// them does.
type shrinkingFs struct {
	afero.Fs
	remove []string
}

func (s *shrinkingFs) Open(name string) (afero.File, error) {
	f, err := s.Fs.Open(name)
	if err != nil {
		return nil, err
	}
	return &shrinkingFile{File: f, fs: s}, nil
}

type shrinkingFile struct {
	afero.File
	fs    *shrinkingFs
	calls int
}

func (f *shrinkingFile) Readdir(n int) ([]fs.FileInfo, error) {
	if f.calls++; f.calls == 2 {
		for _, name := range f.fs.remove {
			f.fs.Fs.Remove(name)
		}
	}
	return f.File.Readdir(n)
}

// afero's MemMapFs reads a directory in batches by position: files removed
// between two batches made it panic while holding the directory's lock,
// and the listing hung for ever in the Close that followed. A listing of a
// store that shrinks meanwhile ends, and reports files that are there.
func TestListingAShrinkingDirectoryEnds(t *testing.T) {
	mem := afero.NewMemMapFs()
	var remove []string
	for i := range 3000 {
		name := fmt.Sprintf("/s%04d.json", i)
		require.NoError(t, afero.WriteFile(mem, name, []byte(`{"messages":[]}`), 0o644))
		if i >= 500 {
			remove = append(remove, name)
		}
	}
	s := aferofs.New(&shrinkingFs{Fs: mem, remove: remove}, "/")
	done := make(chan error, 1)
	var keys []string
	go func() {
		done <- s.List(context.Background(), "", func(o store.Object) error {
			keys = append(keys, o.Key)
			return nil
		})
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the listing of a directory that shrank while it was read never ended")
	}
	assert.True(t, sort.StringsAreSorted(keys))
	assert.GreaterOrEqual(t, len(keys), 500, "the files still there are listed")
}
