package dirlist_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/dirlist"
	"github.com/c0fe5641/sessionrecovery/store"
)

// tree is a fake directory tree built from object keys; reads records every
// directory read, in order.
type tree struct {
	dirs  map[string][]dirlist.Entry
	reads []string
}

func newTree(keys ...string) *tree {
	t := &tree{dirs: map[string][]dirlist.Entry{"": nil}}
	for _, key := range keys {
		dir := path.Dir(key)
		if dir == "." {
			dir = ""
		}
		// Newest first, so that the order read is never the order wanted.
		t.dirs[dir] = append([]dirlist.Entry{{Name: path.Base(key), Size: int64(len(key))}}, t.dirs[dir]...)
	}
	return t
}

func (t *tree) readDir(dir, name string) ([]dirlist.Entry, error) {
	t.reads = append(t.reads, dir)
	entries, ok := t.dirs[dir]
	if !ok {
		return nil, fmt.Errorf("read %q: %w", dir, fs.ErrNotExist)
	}
	var out []dirlist.Entry
	for _, e := range entries {
		if strings.HasPrefix(e.Name, name) {
			out = append(out, e)
		}
	}
	return out, nil
}

func list(t *testing.T, tr *tree, prefix string) []string {
	t.Helper()
	var got []string
	err := dirlist.List(context.Background(), prefix, tr.readDir, func(o store.Object) error {
		assert.Equal(t, int64(len(o.Key)), o.Size, "size of %q", o.Key)
		got = append(got, o.Key)
		return nil
	})
	require.NoError(t, err)
	return got
}

// want is what a listing of keys with prefix must give: the keys with the
// prefix and no '/' after it, sorted byte-wise.
func want(keys []string, prefix string) []string {
	var out []string
	for _, k := range keys {
		if rest, ok := strings.CutPrefix(k, prefix); ok && !strings.Contains(rest, "/") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

var orderKeys = []string{
	"a.json", "a-b.json", "a.json.bak", "a.json-x.json", "a/x", "a/y/z", "a/y-z",
	"a0", "b.json", "sessions/s1.json", "sessions/s2.json", "sessions2/t.json",
	"Z.json", "a!", "ab/c", "a/y.json", "ünï/x", "~",
}

func TestSplit(t *testing.T) {
	tests := []struct{ prefix, dir, name string }{
		{"", "", ""},
		{"ab", "", "ab"},
		{"a/", "a", ""},
		{"a/b", "a", "b"},
		{"a/b/", "a/b", ""},
		{"a/b/c.json", "a/b", "c.json"},
	}
	for _, tt := range tests {
		dir, name := dirlist.Split(tt.prefix)
		assert.Equal(t, tt.dir, dir, "dir of %q", tt.prefix)
		assert.Equal(t, tt.name, name, "name of %q", tt.prefix)
	}
}

func TestListOneLevelInKeyOrder(t *testing.T) {
	prefixes := []string{
		"", "a", "a.json", "a/", "a/y", "a/y/", "a/y/z", "a/y/zz", "sessions",
		"sessions/", "sessions/s", "sessions/s1.json", "b", "nothing", "nothing/",
		"a0/", "ü", "ünï/",
	}
	for _, prefix := range prefixes {
		assert.Equal(t, want(orderKeys, prefix), list(t, newTree(orderKeys...), prefix), "prefix %q", prefix)
	}
	assert.Equal(t, []string{"Z.json", "a!", "a-b.json", "a.json", "a.json-x.json", "a.json.bak", "a0", "b.json", "~"},
		list(t, newTree(orderKeys...), ""))
}

func TestListReadsOneDirectory(t *testing.T) {
	tests := []struct {
		prefix string
		read   string
	}{
		{"", ""},
		{"sessions", ""},
		{"sessions/", "sessions"},
		{"sessions/s", "sessions"},
		{"a/y/", "a/y"},
		{"a/y", "a"},
	}
	for _, tt := range tests {
		tr := newTree(orderKeys...)
		list(t, tr, tt.prefix)
		assert.Equal(t, []string{tt.read}, tr.reads, "prefix %q", tt.prefix)
	}
}

func TestListMissingDirectoryIsEmpty(t *testing.T) {
	assert.Empty(t, list(t, newTree("a.json"), "gone/"))
	assert.Empty(t, list(t, &tree{dirs: map[string][]dirlist.Entry{}}, ""), "a missing top is empty")
}

func TestListReturnsFnErrorUnchanged(t *testing.T) {
	stop := errors.New("stop here")
	var seen []string
	err := dirlist.List(context.Background(), "", newTree(orderKeys...).readDir, func(o store.Object) error {
		seen = append(seen, o.Key)
		if len(seen) == 5 {
			return stop
		}
		return nil
	})
	assert.Same(t, stop, err)
	assert.Equal(t, want(orderKeys, "")[:5], seen, "no call after fn failed")
}

func TestListReturnsReadDirErrorUnchanged(t *testing.T) {
	broken := errors.New("disk on fire")
	err := dirlist.List(context.Background(), "", func(string, string) ([]dirlist.Entry, error) {
		return nil, broken
	}, func(store.Object) error {
		t.Error("fn called after the read failed")
		return nil
	})
	assert.Same(t, broken, err)
}

func TestListChecksContext(t *testing.T) {
	t.Run("CancelledBeforeStart", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		tr := newTree(orderKeys...)
		err := dirlist.List(ctx, "", tr.readDir, func(store.Object) error {
			t.Error("fn called with a cancelled context")
			return nil
		})
		assert.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, tr.reads, "no directory read")
	})

	t.Run("CancelledByFn", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		err := dirlist.List(ctx, "", newTree(orderKeys...).readDir, func(store.Object) error {
			calls++
			if calls == 2 {
				cancel()
			}
			return nil
		})
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 2, calls, "no call after ctx was cancelled")
	})
}
