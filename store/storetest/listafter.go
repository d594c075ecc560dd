package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/store"
)

// testListAfter checks store.RangeLister: ListAfter gives what List gives,
// less the keys up to after. A store that says, on this instance, that it
// cannot start a listing part-way must say so before calling fn, every
// time.
func testListAfter(t *testing.T, newStore NewStore) {
	// The objects of the List tests, the odd keys, and keys that a start
	// key could be cut or escaped around: a run of underscores, a '/' after
	// "..", bytes above ASCII.
	objects := listObjects()
	maps.Copy(objects, map[string][]byte{
		"u__v.json":     []byte("u"),
		"u_v.json":      []byte("uv"),
		"u_.json":       []byte("u_"),
		"dots../x.json": []byte("d"),
		"dots..":        []byte("dd"),
		"zzz.json":      []byte("z"),
		"ÿ.json":        []byte("y"),
	})
	maps.Copy(objects, oddObjects())

	if !canListAfter(t, newStore(t, objects)) {
		return
	}

	t.Run("SameAsListAfterTheKey", func(t *testing.T) {
		s := newStore(t, objects)
		for _, prefix := range []string{"", "a", "a.json", "a/", "a/y/", "sessions/", "sessions", "u_", "dots..", "dir with space/", "nothing/", "Z"} {
			all := list(t, s, prefix)
			for _, after := range afters(objects, prefix) {
				assert.Equal(t, keysAfter(all, after), listAfter(t, s, prefix, after), "prefix %q, after %q", prefix, after)
			}
		}
	})

	t.Run("EmptyStore", func(t *testing.T) {
		s := newStore(t, map[string][]byte{})
		for _, after := range []string{"", "a", "\xff"} {
			assert.Empty(t, listAfter(t, s, "", after), "after %q", after)
			assert.Empty(t, listAfter(t, s, "dir/", "dir/"+after), "after %q", after)
		}
	})

	t.Run("ManyObjects", func(t *testing.T) {
		// More keys than one page of S3 or GCS (1000), from starts inside
		// the first page, the second, and past the end.
		many := map[string][]byte{}
		for i := range 1100 {
			many[fmt.Sprintf("s/%05d.json", (i*7919)%1100)] = []byte{byte(i)}
		}
		many["top.json"] = []byte("t")
		s := newStore(t, many)
		all := list(t, s, "s/")
		for _, after := range []string{"", "s/", "s/00000.json", "s/00499", "s/00499.json", "s/00999.json", "s/01000", "s/01099.json", "s/1", "t"} {
			got := listAfter(t, s, "s/", after)
			assert.Equal(t, keysAfter(all, after), got, "after %q", after)
		}
		assert.Len(t, listAfter(t, s, "s/", "s/00499.json"), 600)
	})

	t.Run("StopsWhenFnFails", func(t *testing.T) {
		s := newStore(t, objects)
		stop := errors.New("stop here")
		calls := 0
		err := s.(store.RangeLister).ListAfter(context.Background(), "", "a.json", func(store.Object) error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
		assert.Same(t, stop, err, "fn's error is returned unchanged")
		assert.Equal(t, 2, calls, "no call after fn failed")
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t, objects)
		calls := 0
		err := s.(store.RangeLister).ListAfter(cancelled(), "", "a.json", func(store.Object) error { calls++; return nil })
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, calls)
	})

	t.Run("InvalidPrefixRefused", func(t *testing.T) {
		s := newStore(t, objects)
		for _, prefix := range []string{"/abs", "../", "x\x00"} {
			calls := 0
			err := s.(store.RangeLister).ListAfter(context.Background(), prefix, "", func(store.Object) error { calls++; return nil })
			var ke *store.KeyError
			require.ErrorAs(t, err, &ke, "list %q", prefix)
			assert.Zero(t, calls)
		}
	})
}

// canListAfter tells whether s can list after a key. A store that cannot
// must refuse every ListAfter with errors.ErrUnsupported and never call fn.
func canListAfter(t *testing.T, s store.Store) bool {
	t.Helper()
	rl := s.(store.RangeLister)
	calls := 0
	count := func(store.Object) error { calls++; return nil }
	err := rl.ListAfter(context.Background(), "", "", count)
	if !errors.Is(err, errors.ErrUnsupported) {
		require.NoError(t, err, "list after \"\"")
		return true
	}
	t.Run("UnsupportedBeforeFn", func(t *testing.T) {
		for _, c := range [][2]string{{"", "a.json"}, {"sessions/", "sessions/s1.json"}, {"a", ""}} {
			err := rl.ListAfter(context.Background(), c[0], c[1], count)
			assert.ErrorIs(t, err, errors.ErrUnsupported, "prefix %q after %q: one instance says the same every time", c[0], c[1])
		}
		assert.Zero(t, calls, "fn is never called")
	})
	return false
}

// afters returns the start keys worth trying for a listing of prefix: none
// (""), one below and one above every key, every key the listing reports,
// one just after and one just before each of them (a shorter prefix of
// it), and keys that do not start with prefix.
func afters(objects map[string][]byte, prefix string) []string {
	out := []string{"", " ", "\xff", "\xff\xff\xff", prefix, prefix + "\xff"}
	if prefix != "" {
		out = append(out, prefix[:len(prefix)-1], prefix[:len(prefix)-1]+"\xff")
	}
	for _, k := range listed(objects, prefix) {
		out = append(out, k, k+"\x01", k+"_", k[:len(k)-1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// listAfter returns the keys and sizes ListAfter reports, failing the test
// on any error.
func listAfter(t *testing.T, s store.Store, prefix, after string) []sized {
	t.Helper()
	var got []sized
	err := s.(store.RangeLister).ListAfter(context.Background(), prefix, after, func(o store.Object) error {
		got = append(got, sized{o.Key, o.Size})
		return nil
	})
	require.NoError(t, err, "list %q after %q", prefix, after)
	return got
}

// sized is what ListAfter must report of an object as List does.
type sized struct {
	Key  string
	Size int64
}

// keysAfter returns the keys and sizes of the objects greater than after.
func keysAfter(objs []store.Object, after string) []sized {
	var out []sized
	for _, o := range objs {
		if strings.Compare(o.Key, after) > 0 {
			out = append(out, sized{o.Key, o.Size})
		}
	}
	return out
}
