package dirlist_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
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
		t.add(key, dirlist.Entry{Name: path.Base(key), Kind: dirlist.File, Size: int64(len(key))})
	}
	return t
}

// add puts e in the directory of key, creating the directories above it.
func (t *tree) add(key string, e dirlist.Entry) {
	dir := path.Dir(key)
	if dir == "." {
		dir = ""
	}
	if _, ok := t.dirs[dir]; !ok {
		t.add(dir, dirlist.Entry{Name: path.Base(dir), Kind: dirlist.Dir})
		t.dirs[dir] = nil
	}
	// Newest first, so that the order read is never the order wanted.
	t.dirs[dir] = append([]dirlist.Entry{e}, t.dirs[dir]...)
}

func (t *tree) readDir(dir string) ([]dirlist.Entry, error) {
	t.reads = append(t.reads, dir)
	entries, ok := t.dirs[dir]
	if !ok {
		return nil, fmt.Errorf("read %q: %w", dir, fs.ErrNotExist)
	}
	return slices.Clone(entries), nil
}

func walk(t *testing.T, tr *tree, prefix string) []store.Object {
	t.Helper()
	var got []store.Object
	err := dirlist.Walk(context.Background(), prefix, tr.readDir, func(o store.Object) error {
		got = append(got, o)
		return nil
	})
	require.NoError(t, err)
	return got
}

func keysOf(objs []store.Object) []string {
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

// want is what a listing of keys with prefix must give: the keys with the
// prefix, sorted byte-wise.
func want(keys []string, prefix string) []string {
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
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

func TestWalkOrdersByFullKey(t *testing.T) {
	tr := newTree(orderKeys...)
	got := walk(t, tr, "")
	assert.Equal(t, want(orderKeys, ""), keysOf(got))
	for _, o := range got {
		assert.Equal(t, int64(len(o.Key)), o.Size, "size of %q", o.Key)
	}
}

func TestWalkPrefix(t *testing.T) {
	prefixes := []string{
		"", "a", "a.json", "a/", "a/y", "a/y/", "a/y/z", "a/y/zz", "sessions",
		"sessions/", "sessions/s", "sessions/s1.json", "b", "nothing", "nothing/",
		"a0/", "ü",
	}
	for _, prefix := range prefixes {
		assert.Equal(t, want(orderKeys, prefix), keysOf(walk(t, newTree(orderKeys...), prefix)), "prefix %q", prefix)
	}
}

func TestWalkReadsOnlyDirectoriesThatCanMatch(t *testing.T) {
	tests := []struct {
		prefix string
		reads  []string
	}{
		{"sessions/s", []string{"", "sessions"}},
		{"sessions", []string{"", "sessions", "sessions2"}},
		{"a/y/", []string{"", "a", "a/y"}},
		{"a/y", []string{"", "a", "a/y"}},
		{"a/x", []string{"", "a"}},
		{"b.json", []string{""}},
		{"", []string{"", "a", "a/y", "ab", "sessions", "sessions2", "ünï"}},
	}
	for _, tt := range tests {
		tr := newTree(orderKeys...)
		walk(t, tr, tt.prefix)
		assert.Equal(t, tt.reads, tr.reads, "prefix %q", tt.prefix)
	}
}

func TestWalkStreams(t *testing.T) {
	tr := newTree("a/x", "b/y")
	err := dirlist.Walk(context.Background(), "", tr.readDir, func(o store.Object) error {
		if o.Key == "a/x" {
			assert.NotContains(t, tr.reads, "b", `"b" is read after "a/x" is reported`)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"", "a", "b"}, tr.reads)
}

func TestWalkSkipsSkipEntries(t *testing.T) {
	tr := newTree("a.json", "d/x")
	tr.add("fifo.json", dirlist.Entry{Name: "fifo.json", Kind: dirlist.Skip})
	tr.add("link", dirlist.Entry{Name: "link", Kind: dirlist.Skip})
	tr.dirs["link"] = []dirlist.Entry{{Name: "hidden", Kind: dirlist.File}}
	assert.Equal(t, []string{"a.json", "d/x"}, keysOf(walk(t, tr, "")))
	assert.NotContains(t, tr.reads, "link", "a Skip entry is never descended")
}

func TestWalkMissingDirectoryIsEmpty(t *testing.T) {
	tr := newTree("a.json", "gone/x", "z.json")
	delete(tr.dirs, "gone")
	assert.Equal(t, []string{"a.json", "z.json"}, keysOf(walk(t, tr, "")))

	assert.Empty(t, walk(t, &tree{dirs: map[string][]dirlist.Entry{}}, ""), "a missing top is empty")
}

func TestWalkReturnsFnErrorUnchanged(t *testing.T) {
	stop := errors.New("stop here")
	var seen []string
	err := dirlist.Walk(context.Background(), "", newTree(orderKeys...).readDir, func(o store.Object) error {
		seen = append(seen, o.Key)
		if len(seen) == 5 {
			return stop
		}
		return nil
	})
	assert.Same(t, stop, err)
	assert.Equal(t, want(orderKeys, "")[:5], seen, "no call after fn failed")
}

func TestWalkReturnsReadDirErrorUnchanged(t *testing.T) {
	broken := errors.New("disk on fire")
	tr := newTree("a/x", "b/y")
	var seen []string
	err := dirlist.Walk(context.Background(), "", func(dir string) ([]dirlist.Entry, error) {
		if dir == "b" {
			return nil, broken
		}
		return tr.readDir(dir)
	}, func(o store.Object) error {
		seen = append(seen, o.Key)
		return nil
	})
	assert.Same(t, broken, err)
	assert.Equal(t, []string{"a/x"}, seen)
}

func TestWalkChecksContext(t *testing.T) {
	t.Run("CancelledBeforeStart", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		tr := newTree(orderKeys...)
		err := dirlist.Walk(ctx, "", tr.readDir, func(store.Object) error {
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
		err := dirlist.Walk(ctx, "", newTree(orderKeys...).readDir, func(store.Object) error {
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

// TestWalkRandomTrees compares Walk with sorting every key, over random trees
// of names made from the characters around '/' in byte order.
func TestWalkRandomTrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "-./0a"
	name := func() string {
		for {
			b := make([]byte, 1+rng.IntN(3))
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			if s := string(b); s != "." && s != ".." && !strings.Contains(s, "/") {
				return s
			}
		}
	}
	for round := range 200 {
		// Build a tree of distinct paths where no file is also a directory.
		tr := newTree()
		isDir := map[string]bool{"": true}
		isFile := map[string]bool{}
		var keys []string
		for range 1 + rng.IntN(30) {
			parts := make([]string, 1+rng.IntN(3))
			for i := range parts {
				parts[i] = name()
			}
			key := strings.Join(parts, "/")
			ok := !isDir[key] && !isFile[key]
			for i := 1; i < len(parts); i++ {
				ok = ok && !isFile[strings.Join(parts[:i], "/")]
			}
			if !ok {
				continue
			}
			for i := 1; i < len(parts); i++ {
				isDir[strings.Join(parts[:i], "/")] = true
			}
			isFile[key] = true
			keys = append(keys, key)
			tr.add(key, dirlist.Entry{Name: path.Base(key), Kind: dirlist.File})
		}
		prefixes := []string{""}
		for _, k := range keys {
			prefixes = append(prefixes, k[:rng.IntN(len(k)+1)])
		}
		for _, prefix := range prefixes {
			require.Equal(t, want(keys, prefix), keysOf(walk(t, tr, prefix)), "round %d, prefix %q, keys %q", round, prefix, keys)
		}
	}
}
