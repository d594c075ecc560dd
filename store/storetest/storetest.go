// Package storetest is the conformance suite every store.Store must pass.
//
// A backend runs it from its own _test.go file:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, objects map[string][]byte) store.Store {
//			// make a fresh, empty store holding exactly objects
//		})
//	}
//
// Each promised behaviour of the store.Store contract is one subtest.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/store"
)

// NewStore makes a fresh store that holds exactly the given objects (keys
// are valid store keys). It is called once per subtest; cleanup belongs to t.
type NewStore func(t *testing.T, objects map[string][]byte) store.Store

// Run runs every conformance subtest against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	t.Run("Open", func(t *testing.T) { testOpen(t, newStore) })
	t.Run("List", func(t *testing.T) { testList(t, newStore) })
	t.Run("Replace", func(t *testing.T) { testReplace(t, newStore) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, newStore) })
	if _, ok := newStore(t, map[string][]byte{}).(store.Writer); ok {
		t.Run("Write", func(t *testing.T) { testWrite(t, newStore) })
	}
	if _, ok := newStore(t, map[string][]byte{}).(store.Linker); ok {
		t.Run("Link", func(t *testing.T) { testLink(t, newStore) })
	}
	if _, ok := newStore(t, map[string][]byte{}).(store.RangeLister); ok {
		t.Run("ListAfter", func(t *testing.T) { testListAfter(t, newStore) })
	}
}

// CancelAfter returns a context whose Err reports context.Canceled once it
// has been asked more than n times (its Done channel never closes): with
// n = 0, 1, 2, … it cancels an operation at each of its context checks in
// turn, for a backend's tests of what a cancelled operation leaves behind.
func CancelAfter(n int64) context.Context {
	c := &cancelAfter{Context: context.Background()}
	c.n.Store(n)
	return c
}

type cancelAfter struct {
	context.Context
	n atomic.Int64
}

func (c *cancelAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// ReplaceCancelledAtEachCheck replaces dst from src on fresh stores made by
// open, each holding objects, with CancelAfter(0), CancelAfter(1), … until
// a Replace succeeds, which must be after the copy began (its fourth
// check). Every cancelled Replace must fail with context.Canceled and leave
// the store exactly as it was; leftovers, which open returns with each
// store, lists the temporary files the store can see and must be empty
// after every attempt.
func ReplaceCancelledAtEachCheck(t *testing.T, objects map[string][]byte, dst, src string, open func(t *testing.T) (s store.Store, leftovers func() []string)) {
	t.Helper()
	for n := int64(0); ; n++ {
		require.Less(t, n, int64(100), "Replace never succeeded")
		s, leftovers := open(t)
		err := s.Replace(CancelAfter(n), dst, src)
		assert.Empty(t, leftovers(), "after %d context checks", n)
		if err == nil {
			assert.Greater(t, n, int64(3), "the copy was cancelled mid-way")
			assert.Equal(t, objects[src], Read(t, s, dst))
			return
		}
		require.ErrorIs(t, err, context.Canceled, "after %d context checks", n)
		assert.Equal(t, objects, Objects(t, s, dirsOf(objects)...), "after %d context checks", n)
	}
}

// Read returns the whole object at key, failing the test on any error.
func Read(t *testing.T, s store.Store, key string) []byte {
	t.Helper()
	b, err := readAll(context.Background(), s, key)
	require.NoError(t, err, "read %q", key)
	return b
}

// Objects lists the store's top level, and the objects directly below each
// of dirs (prefixes that end in '/', such as "dir/"), and reads every object
// listed, failing the test on any error. It is the store's state in those
// places, for comparing before and after: List reports one level only, so
// a test that keeps objects below the top names their directories.
func Objects(t *testing.T, s store.Store, dirs ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, prefix := range append([]string{""}, dirs...) {
		require.True(t, prefix == "" || strings.HasSuffix(prefix, "/"), "Objects: %q is not a directory prefix", prefix)
		for _, o := range list(t, s, prefix) {
			out[o.Key] = Read(t, s, o.Key)
		}
	}
	return out
}

func readAll(ctx context.Context, s store.Store, key string) ([]byte, error) {
	rc, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return b, err
}

func list(t *testing.T, s store.Store, prefix string) []store.Object {
	t.Helper()
	var got []store.Object
	err := s.List(context.Background(), prefix, func(o store.Object) error {
		got = append(got, o)
		return nil
	})
	require.NoError(t, err, "list %q", prefix)
	return got
}

func keysOf(objs []store.Object) []string {
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

// listed returns the keys of m that a List of prefix reports, sorted: those
// that start with prefix and hold no '/' after it.
func listed(m map[string][]byte, prefix string) []string {
	var keys []string
	for k := range m {
		if rest, ok := strings.CutPrefix(k, prefix); ok && !strings.Contains(rest, "/") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// dirsOf returns the directory prefixes ("a/", "a/b/") of the keys of m,
// sorted, for Objects.
func dirsOf(m map[string][]byte) []string {
	seen := map[string]bool{}
	for k := range m {
		for i := range len(k) {
			if k[i] == '/' {
				seen[k[:i+1]] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// big returns n deterministic bytes that differ for each seed.
func big(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%251)
	}
	return b
}

func testOpen(t *testing.T, newStore NewStore) {
	objects := map[string][]byte{
		"a.json":       []byte(`{"messages":[]}`),
		"empty":        {},
		"binary":       {0, 1, 2, 0xff, 0xfe, '\n', '\r'},
		"dir/sub/deep": []byte("deep"),
		"large":        big(3<<20+17, 7),
	}

	t.Run("ReadsExactBytes", func(t *testing.T) {
		s := newStore(t, objects)
		for key, want := range objects {
			assert.Equal(t, want, Read(t, s, key), "object %q", key)
		}
	})

	t.Run("MissingIsErrNotExist", func(t *testing.T) {
		s := newStore(t, objects)
		for _, key := range []string{"missing.json", "dir/missing", "a.jso", "a.json.bak", "nodir/x"} {
			_, err := s.Open(context.Background(), key)
			require.Error(t, err, "open %q", key)
			assert.ErrorIs(t, err, store.ErrNotExist, "open %q", key)
			assert.Contains(t, err.Error(), key, "the error names the key")
		}
	})

	t.Run("DirectoryIsNotAnObject", func(t *testing.T) {
		s := newStore(t, objects)
		_, err := s.Open(context.Background(), "dir")
		require.Error(t, err, `"dir" only prefixes other keys`)
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t, objects)
		_, err := readAll(cancelled(), s, "a.json")
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func testList(t *testing.T, newStore NewStore) {
	objects := listObjects()

	t.Run("ModTime", func(t *testing.T) {
		// The store's clock and ours may differ by a little; a listed
		// time far from when the objects were written is wrong.
		before := time.Now().Add(-time.Hour)
		s := newStore(t, objects)
		after := time.Now().Add(time.Hour)
		for _, o := range list(t, s, "") {
			if o.ModTime.IsZero() {
				continue // the store does not say
			}
			assert.True(t, o.ModTime.After(before) && o.ModTime.Before(after),
				"%q was written between %v and %v, not at %v", o.Key, before, after, o.ModTime)
		}
	})

	t.Run("TopLevelInKeyOrder", func(t *testing.T) {
		s := newStore(t, objects)
		got := list(t, s, "")
		assert.Equal(t, []string{"Z.json", "a-b.json", "a.json", "a.json-x.json", "a.json.bak", "a0", "b.json"}, keysOf(got))
		for _, o := range got {
			assert.Equal(t, int64(len(objects[o.Key])), o.Size, "size of %q", o.Key)
		}
	})

	t.Run("OneLevelOnly", func(t *testing.T) {
		// Below the top, objects are listed only by the prefix of their
		// own directory; a "directory" is never an object itself.
		s := newStore(t, objects)
		assert.Equal(t, []string{"a-b.json", "a.json", "a.json-x.json", "a.json.bak", "a0"}, keysOf(list(t, s, "a")),
			`"a" lists top-level keys only, not "a/x"`)
		assert.Equal(t, []string{"a/x"}, keysOf(list(t, s, "a/")), `"a/" lists a's direct children, not "a/y/z"`)
		assert.Equal(t, []string{"a/y/z"}, keysOf(list(t, s, "a/y/")))
		assert.Empty(t, list(t, s, "a/y"), `"a/y" is a directory, not an object`)
		assert.Empty(t, list(t, s, "sessions"), "directories whose names start with the prefix are not entered")
		assert.Equal(t, []string{"sessions/s1.json", "sessions/s2.json"}, keysOf(list(t, s, "sessions/")))
		assert.Equal(t, []string{"sessions/s1.json", "sessions/s2.json"}, keysOf(list(t, s, "sessions/s")))
	})

	t.Run("Prefix", func(t *testing.T) {
		s := newStore(t, objects)
		for _, prefix := range []string{"", "a", "a.json", "a/", "a/y/", "a/y/z", "sessions/", "sessions", "sessions/s", "sessions2/", "b.json", "nothing", "Z"} {
			assert.Equal(t, listed(objects, prefix), keysOf(list(t, s, prefix)), "prefix %q", prefix)
		}
	})

	t.Run("MissingDirectoryIsEmpty", func(t *testing.T) {
		s := newStore(t, objects)
		for _, prefix := range []string{"nothing/", "nothing/x", "a/nothing/", "a/y/z/", "a.json/", "a.json/x"} {
			assert.Empty(t, list(t, s, prefix), "prefix %q", prefix)
		}
	})

	t.Run("EmptyStore", func(t *testing.T) {
		s := newStore(t, map[string][]byte{})
		assert.Empty(t, list(t, s, ""))
		assert.Empty(t, list(t, s, "dir/"))
	})

	t.Run("StopsWhenFnFails", func(t *testing.T) {
		s := newStore(t, objects)
		stop := errors.New("stop here")
		calls := 0
		err := s.List(context.Background(), "", func(store.Object) error {
			calls++
			if calls == 3 {
				return stop
			}
			return nil
		})
		assert.Same(t, stop, err, "fn's error is returned unchanged")
		assert.Equal(t, 3, calls, "no call after fn failed")
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t, objects)
		calls := 0
		err := s.List(cancelled(), "", func(store.Object) error { calls++; return nil })
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, calls)
	})

	t.Run("ManyObjects", func(t *testing.T) {
		// More keys than one page of S3 or GCS (1000).
		many := map[string][]byte{}
		for i := range 1100 {
			many[fmt.Sprintf("s/%05d.json", (i*7919)%1100)] = []byte{byte(i)}
		}
		s := newStore(t, many)
		assert.Equal(t, listed(many, "s/"), keysOf(list(t, s, "s/")))
		assert.Len(t, listed(many, "s/"), 1100)
	})
}

func testReplace(t *testing.T, newStore NewStore) {
	oldLive := []byte(`{"messages":[]}`)
	backup := []byte(`{"messages":[{"role":"user"},{"role":"assistant"}]}`)
	objects := func() map[string][]byte {
		return map[string][]byte{
			"s.json":     bytes.Clone(oldLive),
			"s.json.bak": bytes.Clone(backup),
			"dir/t.json": []byte("t"),
		}
	}

	t.Run("OverwritesDstAndKeepsSrc", func(t *testing.T) {
		s := newStore(t, objects())
		require.NoError(t, s.Replace(context.Background(), "s.json", "s.json.bak"))
		assert.Equal(t, backup, Read(t, s, "s.json"))
		assert.Equal(t, backup, Read(t, s, "s.json.bak"))
		assert.Equal(t, []string{"s.json", "s.json.bak"}, keysOf(list(t, s, "")),
			"no temporary object is left behind")
		assert.Equal(t, []string{"dir/t.json"}, keysOf(list(t, s, "dir/")))
	})

	t.Run("CreatesDst", func(t *testing.T) {
		s := newStore(t, objects())
		require.NoError(t, s.Replace(context.Background(), "s.json.replaced", "s.json"))
		require.NoError(t, s.Replace(context.Background(), "new/dir/copy.json", "s.json"))
		assert.Equal(t, oldLive, Read(t, s, "s.json.replaced"))
		assert.Equal(t, oldLive, Read(t, s, "new/dir/copy.json"))
		assert.Equal(t, oldLive, Read(t, s, "s.json"))
	})

	t.Run("LargeObject", func(t *testing.T) {
		objs := objects()
		objs["large"] = big(5<<20+3, 11)
		s := newStore(t, objs)
		require.NoError(t, s.Replace(context.Background(), "s.json", "large"))
		assert.Equal(t, objs["large"], Read(t, s, "s.json"))
	})

	t.Run("MissingSrcIsErrNotExistAndKeepsDst", func(t *testing.T) {
		s := newStore(t, objects())
		err := s.Replace(context.Background(), "s.json", "gone.json.bak")
		require.Error(t, err)
		assert.ErrorIs(t, err, store.ErrNotExist)
		assert.Contains(t, err.Error(), "gone.json.bak")
		assert.Equal(t, objects(), Objects(t, s, "dir/"))
	})

	t.Run("SameKeyRefused", func(t *testing.T) {
		s := newStore(t, objects())
		require.Error(t, s.Replace(context.Background(), "s.json", "s.json"))
		assert.Equal(t, objects(), Objects(t, s, "dir/"))
	})

	t.Run("CancelledContextLeavesDst", func(t *testing.T) {
		s := newStore(t, objects())
		err := s.Replace(cancelled(), "s.json", "s.json.bak")
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, objects(), Objects(t, s, "dir/"), "nothing changed, nothing left behind")
	})

	t.Run("ReadersSeeOldOrNew", func(t *testing.T) {
		// Two large, different sources replaced back and forth over one
		// destination while readers read it: every read is one whole source.
		objs := map[string][]byte{"a": big(1<<20, 1), "b": big(1<<20, 2)}
		objs["dst"] = objs["a"]
		s := newStore(t, objs)
		const rounds = 20
		var wg sync.WaitGroup
		done := make(chan struct{})
		var reads, bad int
		var mu sync.Mutex
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					b, err := readAll(context.Background(), s, "dst")
					mu.Lock()
					reads++
					if err != nil || (!bytes.Equal(b, objs["a"]) && !bytes.Equal(b, objs["b"])) {
						bad++
					}
					mu.Unlock()
				}
			}()
		}
		for i := range rounds {
			src := "a"
			if i%2 == 0 {
				src = "b"
			}
			require.NoError(t, s.Replace(context.Background(), "dst", src))
		}
		close(done)
		wg.Wait()
		assert.Zero(t, bad, "%d of %d reads saw a mix, a partial object or an error", bad, reads)
		assert.Equal(t, objs["a"], Read(t, s, "dst"))
	})

	t.Run("ConcurrentReplaces", func(t *testing.T) {
		// Many replaces at once, from one source and into one destination:
		// none fails and the destination ends whole.
		objs := objects()
		for i := range 8 {
			objs[fmt.Sprintf("src%d", i)] = big(64<<10, byte(i))
		}
		s := newStore(t, objs)
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := range 8 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				errs <- s.Replace(context.Background(), "dst", fmt.Sprintf("src%d", i))
			}()
			go func() {
				defer wg.Done()
				errs <- s.Replace(context.Background(), fmt.Sprintf("copy%d", i), "s.json.bak")
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		got := Read(t, s, "dst")
		whole := false
		for i := range 8 {
			whole = whole || bytes.Equal(got, objs[fmt.Sprintf("src%d", i)])
		}
		assert.True(t, whole, "dst holds one whole source")
		for i := range 8 {
			assert.Equal(t, backup, Read(t, s, fmt.Sprintf("copy%d", i)))
		}
		assert.Equal(t, backup, Read(t, s, "s.json.bak"))
	})
}

func testKeys(t *testing.T, newStore NewStore) {
	t.Run("InvalidRefused", func(t *testing.T) {
		s := newStore(t, map[string][]byte{"ok.json": []byte("{}")})
		bad := []string{"", "/abs.json", "../up.json", "a/../b", "./a", "a/./b", "a//b", "nul\x00.json", "..", "."}
		for _, key := range bad {
			_, err := s.Open(context.Background(), key)
			var ke *store.KeyError
			require.ErrorAs(t, err, &ke, "open %q", key)
			assert.Equal(t, key, ke.Key)

			err = s.Replace(context.Background(), key, "ok.json")
			require.ErrorAs(t, err, &ke, "replace dst %q", key)
			err = s.Replace(context.Background(), "ok.json", key)
			require.ErrorAs(t, err, &ke, "replace src %q", key)
		}
		for _, prefix := range []string{"/abs", "../", "a/../", "x\x00"} {
			err := s.List(context.Background(), prefix, func(store.Object) error { return nil })
			var ke *store.KeyError
			require.ErrorAs(t, err, &ke, "list %q", prefix)
		}
		assert.Equal(t, map[string][]byte{"ok.json": []byte("{}")}, Objects(t, s))
	})

	t.Run("OddCharacters", func(t *testing.T) { testOddKeys(t, newStore) })
}

// oddKeys are valid keys whose characters URL paths, query strings or
// copy-source headers escape or read specially: a space (a '+' in a query
// string), '+' (a space in one), '%' and text that looks escaped already,
// '?' and '#' (which end a path), '=' and '&' (query syntax), other
// reserved characters, non-ASCII letters, and dots in odd places.
var oddKeys = []string{
	"with space.json",
	"a+b.json",
	"a b.json", // beside "a+b.json": a '+' read as a space would name the other
	"100%.json",
	"q?x.json",
	"h#x.json",
	"séance ✓.json",
	"k=v.json",
	"amp&semi;colon:at@dollar$comma,.json",
	"percent%20#hash?q+",
	"slash%2Fescaped.json",
	"x__0x41__.json",
	"ünïcødé-会话.json",
	"emoji-😀.json",
	"dir with space/a+b c=d.json",
	".hidden.json",
	"Case.json",
	"case.json",
	"trailing.",
	"..double.json",
	"a..b",
}

// oddObjects returns one object per odd key, each with different bytes,
// and a plain one, "plain.json".
func oddObjects() map[string][]byte {
	objects := map[string][]byte{"plain.json": []byte(`{"plain":true}`)}
	for i, key := range oddKeys {
		objects[key] = fmt.Appendf(nil, `{"key":%q,"n":%d}`, key, i)
	}
	return objects
}

// testOddKeys checks that every operation the store offers reaches the
// object an odd key names, and no other: after each subtest the whole
// store is compared with what it must hold, so that an operation that
// wrote to a differently escaped key shows up too.
func testOddKeys(t *testing.T, newStore NewStore) {
	ctx := context.Background()

	t.Run("ListAndOpen", func(t *testing.T) {
		objects := oddObjects()
		s := newStore(t, objects)
		got := list(t, s, "")
		assert.Equal(t, listed(objects, ""), keysOf(got))
		for _, o := range got {
			assert.Equal(t, int64(len(objects[o.Key])), o.Size, "size of %q", o.Key)
		}
		for key, want := range objects {
			assert.Equal(t, want, Read(t, s, key), "object %q", key)
			// Each key as a prefix: itself and the keys that extend it.
			assert.Equal(t, listed(objects, key), keysOf(list(t, s, key)), "prefix %q", key)
		}
		assert.Equal(t, []string{"dir with space/a+b c=d.json"}, keysOf(list(t, s, "dir with space/")))
		for _, key := range []string{"with+space.json", "with%20space.json", "a%20b.json", "a%2Bb.json", "slash/escaped.json", "q", "h"} {
			_, err := s.Open(ctx, key)
			assert.ErrorIs(t, err, store.ErrNotExist, "open %q: a differently escaped key is another key", key)
		}
	})

	t.Run("Replace", func(t *testing.T) {
		objects := oddObjects()
		s := newStore(t, objects)
		want := maps.Clone(objects)
		// From each odd key to a plain one, and back from a plain key to
		// each odd one.
		for _, key := range oddKeys {
			require.NoError(t, s.Replace(ctx, "copy.json", key), "replace copy.json from %q", key)
			assert.Equal(t, objects[key], Read(t, s, "copy.json"), "copy.json from %q", key)
		}
		want["copy.json"] = objects[oddKeys[len(oddKeys)-1]]
		// Between odd keys, one onto the next.
		for i := range len(oddKeys) - 1 {
			dst, src := oddKeys[i], oddKeys[i+1]
			require.NoError(t, s.Replace(ctx, dst, src), "replace %q from %q", dst, src)
			want[dst] = want[src]
		}
		// Onto new odd keys, and from the plain key onto existing ones.
		for _, key := range oddKeys {
			require.NoError(t, s.Replace(ctx, "new "+key, key), "replace %q from %q", "new "+key, key)
			want["new "+key] = want[key]
			require.NoError(t, s.Replace(ctx, key, "plain.json"), "replace %q from plain.json", key)
			want[key] = objects["plain.json"]
		}
		assert.Equal(t, want, Objects(t, s, dirsOf(want)...))
	})

	t.Run("Write", func(t *testing.T) {
		objects := oddObjects()
		w, ok := newStore(t, objects).(store.Writer)
		if !ok {
			t.Skip("the store cannot write")
		}
		want := maps.Clone(objects)
		for i, key := range oddKeys {
			body := fmt.Appendf(nil, `{"rewritten":%d}`, i)
			err := w.Write(ctx, key, bytes.NewReader([]byte("not over an existing object")), store.WriteOptions{IfNotExist: true})
			require.ErrorIs(t, err, store.ErrChanged, "write %q if it does not exist", key)
			if v := version(t, w, key); v != "" {
				require.NoError(t, w.Write(ctx, key, bytes.NewReader(body), store.WriteOptions{IfVersion: v}), "write %q over version %q", key, v)
			} else {
				require.NoError(t, w.Write(ctx, key, bytes.NewReader(body), store.WriteOptions{}), "write %q", key)
			}
			want[key] = body
			created := "w/" + key
			require.NoError(t, w.Write(ctx, created, bytes.NewReader(body), store.WriteOptions{IfNotExist: true}), "create %q", created)
			want[created] = body
		}
		assert.Equal(t, want, Objects(t, w, dirsOf(want)...))
	})

	t.Run("Delete", func(t *testing.T) {
		objects := oddObjects()
		w, ok := newStore(t, objects).(store.Writer)
		if !ok {
			t.Skip("the store cannot delete")
		}
		want := maps.Clone(objects)
		for _, key := range oddKeys {
			require.NoError(t, w.Delete(ctx, key, store.WriteOptions{}), "delete %q", key)
			delete(want, key)
			_, err := w.Open(ctx, key)
			require.ErrorIs(t, err, store.ErrNotExist, "open %q after its delete", key)
			assert.ErrorIs(t, w.Delete(ctx, key, store.WriteOptions{}), store.ErrNotExist, "delete %q again", key)
		}
		assert.Equal(t, want, Objects(t, w, dirsOf(want)...))
	})

	t.Run("Link", func(t *testing.T) {
		objects := oddObjects()
		l, ok := newStore(t, objects).(store.Linker)
		if !ok {
			t.Skip("the store cannot link")
		}
		want := maps.Clone(objects)
		for _, key := range oddKeys {
			require.NoError(t, l.Link(ctx, key+".kept", key, ""), "link %q to %q", key+".kept", key)
			want[key+".kept"] = objects[key]
			require.NoError(t, l.Link(ctx, key+".at-version", key, version(t, l, key)), "link %q to %q at its version", key+".at-version", key)
			want[key+".at-version"] = objects[key]
			require.ErrorIs(t, l.Link(ctx, key, key+".kept", ""), store.ErrChanged, "link over %q", key)
		}
		assert.Equal(t, want, Objects(t, l, dirsOf(want)...))
	})
}

// version opens key and returns the version its reader reports.
func version(t *testing.T, s store.Store, key string) string {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	require.NoError(t, err)
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	require.NoError(t, err)
	return store.Version(rc)
}

// knownVersion is version, for a subtest about versions: it skips the
// subtest on a store that reports none.
func knownVersion(t *testing.T, s store.Store, key string) string {
	t.Helper()
	v := version(t, s, key)
	if v == "" {
		t.Skip("this store reports no versions")
	}
	return v
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("source failed midway")
	}
	n := min(len(p), f.n)
	for i := range n {
		p[i] = 'x'
	}
	f.n -= n
	return n, nil
}

func testWrite(t *testing.T, newStore NewStore) {
	old := []byte(`{"messages":[]}`)
	objects := func() map[string][]byte { return map[string][]byte{"s.json": bytes.Clone(old)} }
	writer := func(t *testing.T) store.Writer {
		return newStore(t, objects()).(store.Writer)
	}
	ctx := context.Background()

	t.Run("CreatesAndOverwrites", func(t *testing.T) {
		s := writer(t)
		require.NoError(t, s.Write(ctx, "new/n.json", bytes.NewReader([]byte("new")), store.WriteOptions{}))
		require.NoError(t, s.Write(ctx, "s.json", bytes.NewReader(big(2<<20, 3)), store.WriteOptions{}))
		assert.Equal(t, []byte("new"), Read(t, s, "new/n.json"))
		assert.Equal(t, big(2<<20, 3), Read(t, s, "s.json"))
		assert.Equal(t, []string{"s.json"}, keysOf(list(t, s, "")), "nothing else left behind")
		assert.Equal(t, []string{"new/n.json"}, keysOf(list(t, s, "new/")), "nothing else left behind")
	})

	t.Run("IfNotExist", func(t *testing.T) {
		s := writer(t)
		err := s.Write(ctx, "s.json", bytes.NewReader([]byte("other")), store.WriteOptions{IfNotExist: true})
		require.ErrorIs(t, err, store.ErrChanged)
		assert.Contains(t, err.Error(), "s.json")
		assert.Equal(t, old, Read(t, s, "s.json"))
		require.NoError(t, s.Write(ctx, "t.json", bytes.NewReader([]byte("t")), store.WriteOptions{IfNotExist: true}))
		assert.Equal(t, []byte("t"), Read(t, s, "t.json"))
	})

	t.Run("IfVersion", func(t *testing.T) {
		s := writer(t)
		v1 := knownVersion(t, s, "s.json")
		require.NoError(t, s.Write(ctx, "s.json", bytes.NewReader([]byte("second")), store.WriteOptions{IfVersion: v1}))
		v2 := version(t, s, "s.json")
		assert.NotEqual(t, v1, v2, "a write makes a new version")
		err := s.Write(ctx, "s.json", bytes.NewReader([]byte("stale")), store.WriteOptions{IfVersion: v1})
		require.ErrorIs(t, err, store.ErrChanged, "a write conditioned on a stale version is refused")
		assert.Equal(t, []byte("second"), Read(t, s, "s.json"))
	})

	t.Run("IfVersionOfMissingObject", func(t *testing.T) {
		s := writer(t)
		v := knownVersion(t, s, "s.json")
		err := s.Write(ctx, "gone.json", bytes.NewReader([]byte("x")), store.WriteOptions{IfVersion: v})
		require.Error(t, err)
		assert.True(t, errors.Is(err, store.ErrChanged) || errors.Is(err, store.ErrNotExist), "%v", err)
		_, err = s.Open(ctx, "gone.json")
		assert.ErrorIs(t, err, store.ErrNotExist, "nothing written")
	})

	t.Run("ReplaceMakesNewVersion", func(t *testing.T) {
		objs := objects()
		objs["other.json"] = []byte(`{"messages":[1]}`)
		s := newStore(t, objs).(store.Writer)
		v1 := knownVersion(t, s, "s.json")
		require.NoError(t, s.Replace(ctx, "s.json", "other.json"))
		err := s.Write(ctx, "s.json", bytes.NewReader([]byte("stale")), store.WriteOptions{IfVersion: v1})
		require.ErrorIs(t, err, store.ErrChanged)
		assert.Equal(t, objs["other.json"], Read(t, s, "s.json"))
	})

	t.Run("FailingSourceLeavesObject", func(t *testing.T) {
		s := writer(t)
		err := s.Write(ctx, "s.json", &failingReader{n: 1 << 20}, store.WriteOptions{})
		require.Error(t, err)
		got := Read(t, s, "s.json")
		assert.True(t, bytes.Equal(old, got), "the object keeps its bytes, not %d bytes of a failed write", len(got))
		assert.Equal(t, []string{"s.json"}, keysOf(list(t, s, "")), "nothing left behind")
	})

	t.Run("CancelledContextLeavesObject", func(t *testing.T) {
		s := writer(t)
		err := s.Write(cancelled(), "s.json", bytes.NewReader([]byte("new")), store.WriteOptions{})
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, objects(), Objects(t, s, "dir/"))
	})

	t.Run("InvalidKeyRefused", func(t *testing.T) {
		s := writer(t)
		var ke *store.KeyError
		require.ErrorAs(t, s.Write(ctx, "../x", bytes.NewReader(nil), store.WriteOptions{}), &ke)
		require.ErrorAs(t, s.Delete(ctx, "../x", store.WriteOptions{}), &ke)
	})

	t.Run("Delete", func(t *testing.T) {
		objs := objects()
		objs["dir/t.json"] = []byte("t")
		s := newStore(t, objs).(store.Writer)
		require.NoError(t, s.Delete(ctx, "s.json", store.WriteOptions{}))
		_, err := s.Open(ctx, "s.json")
		assert.ErrorIs(t, err, store.ErrNotExist)
		err = s.Delete(ctx, "s.json", store.WriteOptions{})
		assert.ErrorIs(t, err, store.ErrNotExist, "deleting a missing key")
		assert.Contains(t, err.Error(), "s.json")
		assert.Equal(t, map[string][]byte{"dir/t.json": []byte("t")}, Objects(t, s, "dir/"))
		assert.Error(t, s.Delete(cancelled(), "dir/t.json", store.WriteOptions{}))
		assert.Equal(t, []byte("t"), Read(t, s, "dir/t.json"), "a cancelled delete deletes nothing")
	})

	t.Run("DeleteIfVersion", func(t *testing.T) {
		s := writer(t)
		v := knownVersion(t, s, "s.json")
		err := s.Delete(ctx, "s.json", store.WriteOptions{IfVersion: v})
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skip("this store does not delete conditionally")
		}
		require.NoError(t, err)
		require.NoError(t, s.Write(ctx, "s.json", bytes.NewReader([]byte("new")), store.WriteOptions{}))
		err = s.Delete(ctx, "s.json", store.WriteOptions{IfVersion: v})
		require.ErrorIs(t, err, store.ErrChanged)
		assert.Equal(t, []byte("new"), Read(t, s, "s.json"))
	})
}

func testLink(t *testing.T, newStore NewStore) {
	old := []byte(`{"messages":[1]}`)
	objects := func() map[string][]byte {
		return map[string][]byte{"s.json": bytes.Clone(old), "dir/d.json": []byte("d")}
	}
	linker := func(t *testing.T) store.Linker {
		return newStore(t, objects()).(store.Linker)
	}
	ctx := context.Background()

	t.Run("KeepsBytesThroughAReplace", func(t *testing.T) {
		s := linker(t)
		require.NoError(t, s.Link(ctx, "s.json.kept", "s.json", ""))
		assert.Equal(t, old, Read(t, s, "s.json.kept"))
		require.NoError(t, s.Link(ctx, "dir/d.json.kept", "dir/d.json", ""))
		if w, ok := s.(store.Writer); ok {
			require.NoError(t, w.Write(ctx, "s.json", bytes.NewReader([]byte("new")), store.WriteOptions{}))
		}
		require.NoError(t, s.Replace(ctx, "dir/d.json", "s.json"))
		assert.Equal(t, old, Read(t, s, "s.json.kept"), "a write over the source leaves the link's bytes")
		assert.Equal(t, []byte("d"), Read(t, s, "dir/d.json.kept"), "a replace of the source leaves the link's bytes")
		assert.Equal(t, []string{"s.json", "s.json.kept"}, keysOf(list(t, s, "")))
		assert.Equal(t, []string{"dir/d.json", "dir/d.json.kept"}, keysOf(list(t, s, "dir/")))
	})

	t.Run("IfVersion", func(t *testing.T) {
		s := linker(t)
		v := knownVersion(t, s, "s.json")
		require.NoError(t, s.Link(ctx, "a", "s.json", v))
		assert.Equal(t, old, Read(t, s, "a"))
		w, ok := s.(store.Writer)
		if !ok {
			t.Skip("cannot change the source to test a stale version")
		}
		require.NoError(t, w.Write(ctx, "s.json", bytes.NewReader([]byte("new")), store.WriteOptions{}))
		err := s.Link(ctx, "b", "s.json", v)
		require.ErrorIs(t, err, store.ErrChanged)
		assert.Contains(t, err.Error(), "s.json")
		_, err = s.Open(ctx, "b")
		assert.ErrorIs(t, err, store.ErrNotExist, "nothing linked")
	})

	t.Run("NeverReplacesDst", func(t *testing.T) {
		s := linker(t)
		require.NoError(t, s.Replace(ctx, "taken", "dir/d.json"))
		err := s.Link(ctx, "taken", "s.json", "")
		require.ErrorIs(t, err, store.ErrChanged)
		assert.Contains(t, err.Error(), "taken")
		assert.Equal(t, []byte("d"), Read(t, s, "taken"))
	})

	t.Run("MissingSrcIsErrNotExist", func(t *testing.T) {
		s := linker(t)
		err := s.Link(ctx, "x", "gone.json", "")
		require.ErrorIs(t, err, store.ErrNotExist)
		assert.Contains(t, err.Error(), "gone.json")
		assert.Equal(t, objects(), Objects(t, s, "dir/"))
	})

	t.Run("RefusedChangesNothing", func(t *testing.T) {
		s := linker(t)
		var ke *store.KeyError
		require.ErrorAs(t, s.Link(ctx, "../x", "s.json", ""), &ke)
		require.ErrorAs(t, s.Link(ctx, "x", "/s.json", ""), &ke)
		assert.ErrorIs(t, s.Link(cancelled(), "x", "s.json", ""), context.Canceled)
		assert.Equal(t, objects(), Objects(t, s, "dir/"))
	})
}

// listObjects are the objects of the List tests: keys chosen so that
// per-directory order and byte-wise key order differ ('-' < '.' < '/' <
// '0', so "a-b.json" < "a.json" < "a/x" < "a0"), and so that objects
// below the top sit beside and among the top's.
func listObjects() map[string][]byte {
	return map[string][]byte{
		"a.json":           []byte("1"),
		"a-b.json":         []byte("22"),
		"a.json.bak":       []byte("333"),
		"a.json-x.json":    []byte("4444"),
		"a/x":              []byte("55555"),
		"a/y/z":            []byte("666666"),
		"a0":               []byte("7777777"),
		"b.json":           {},
		"sessions/s1.json": []byte("s1"),
		"sessions/s2.json": []byte("s2"),
		"sessions2/t.json": []byte("t"),
		"Z.json":           []byte("upper"),
	}
}
