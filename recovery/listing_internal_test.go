package recovery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/store"
)

// ranged makes any store a remote store.RangeLister whose ListAfter is a
// List that passes over the keys up to after: the test double of a bucket
// that starts its listings part-way. It counts the listings, and can
// fail, refuse or hold them.
type ranged struct {
	store.Store
	calls    atomic.Int64
	inFlight atomic.Int64
	// fail, if set, may fail a listing after after at its i-th object
	// (from 0).
	fail func(after string, i int, key string) error
	// refuse, if set, makes the listings after after refuse with
	// errors.ErrUnsupported.
	refuse func(after string) bool
	// block, if set, makes the listings after after wait for their
	// context to end; each tells blocked as it starts waiting.
	block   func(after string) bool
	blocked chan string
}

func (r *ranged) Remote() bool { return true }

func (r *ranged) ListAfter(ctx context.Context, prefix, after string, fn func(store.Object) error) error {
	r.calls.Add(1)
	r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	if r.refuse != nil && r.refuse(after) {
		return fmt.Errorf("ranged: list after %q: %w", after, errors.ErrUnsupported)
	}
	if r.block != nil && r.block(after) {
		r.blocked <- after
		<-ctx.Done()
		return ctx.Err()
	}
	i := 0
	return r.Store.List(ctx, prefix, func(o store.Object) error {
		if o.Key <= after {
			return nil
		}
		if r.fail != nil {
			if err := r.fail(after, i, o.Key); err != nil {
				return err
			}
		}
		i++
		return fn(o)
	})
}

var (
	_ store.RangeLister = (*ranged)(nil)
	_ store.Remote      = (*ranged)(nil)
)

// keySeq is a store of n empty objects whose keys key(0), key(1), … are in
// increasing order, made as they are listed: a million of them hold no
// memory. It has no '/' in its keys, and can only list.
type keySeq struct {
	n   int
	key func(i int) string
}

func (k keySeq) List(ctx context.Context, prefix string, fn func(store.Object) error) error {
	return k.from(ctx, prefix, 0, fn)
}

func (k keySeq) from(ctx context.Context, prefix string, i int, fn func(store.Object) error) error {
	for ; i < k.n; i++ {
		if i%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		key := k.key(i)
		if !strings.HasPrefix(key, prefix) {
			if key > prefix {
				return nil
			}
			continue
		}
		if err := fn(store.Object{Key: key}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (k keySeq) Open(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.ErrUnsupported
}

func (k keySeq) Replace(context.Context, string, string) error { return errors.ErrUnsupported }

// seqLister is keySeq as a remote RangeLister that starts a listing by a
// binary search, so that probes cost what they cost a bucket: one page.
// With consumed set, it counts as ranged does.
type seqLister struct {
	keySeq
	calls       atomic.Int64
	given, held atomic.Int64
	consumed    *atomic.Int64
}

func (s *seqLister) Remote() bool { return true }

func (s *seqLister) ListAfter(ctx context.Context, prefix, after string, fn func(store.Object) error) error {
	s.calls.Add(1)
	if !utf8.ValidString(after) {
		// A bucket's driver cuts such a start short, and blobstore then
		// passes over the keys up to it: a probe must never need that.
		return fmt.Errorf("start %q is not UTF-8: %w", after, errors.ErrUnsupported)
	}
	i := sort.Search(s.n, func(i int) bool { return s.key(i) > after })
	return s.from(ctx, prefix, i, func(o store.Object) error {
		if err := fn(o); err != nil || s.consumed == nil {
			return err
		}
		maxInto(&s.held, s.given.Add(1)-s.consumed.Load())
		return nil
	})
}

// maxInto makes m the larger of m and v.
func maxInto(m *atomic.Int64, v int64) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}

func keysOf(t *testing.T, list func(fn func(store.Object) error) error) []string {
	t.Helper()
	var keys []string
	require.NoError(t, list(func(o store.Object) error {
		keys = append(keys, o.Key)
		return nil
	}))
	return keys
}

// small are limits that make every part of a listing happen on a few
// keys: ranges of a few keys, many of them, buffers of two batches.
var small = listLimits{head: 3, listers: 3, buffer: 4, batch: 2, ranges: 9}

// shapes are key sets of the forms a store holds, or could.
func shapes() map[string][]string {
	rng := rand.New(rand.NewPCG(1, 2))
	hex := func(n int) []string {
		var keys []string
		for range n {
			id := fmt.Sprintf("%016x", rng.Uint64())
			keys = append(keys, id+".json")
			if rng.IntN(3) == 0 {
				keys = append(keys, id+".json.bak")
			}
		}
		return keys
	}
	numbered := func(format string, n int) []string {
		var keys []string
		for i := range n {
			keys = append(keys, fmt.Sprintf(format, i))
		}
		return keys
	}
	return map[string][]string{
		"empty":     nil,
		"one":       {"a.json"},
		"two":       {"a.json", "a.json.bak"},
		"three":     {"a.json", "b.json", "c.json"}, // the small head, and nothing after
		"four":      {"a.json", "b.json", "c.json", "d.json"},
		"hex":       hex(300),
		"hex 10k":   hex(10_000),
		"one first": numbered("s%04d.json", 500),
		"all one":   numbered("sessions-0000000000%03d.json", 400),
		"unicode":   append(numbered("会话-%03d.json", 100), append(numbered("séance %03d.json", 100), numbered("emoji-😀-%03d.json", 100)...)...),
		"spaces":    numbered("with space %03d.json", 200),
		"nested": {
			"a", "a.json", "a.json.b.json", "a.json.b.json.bak", "a.json.bak", "a.json.bak.kept-1",
			"a.jsonx", "a0", "ab", "chat", "chat-1.json", "chat-2.json", "chat.json", "chat.json.bak",
		},
		"outliers": append(append([]string{"0.json", "00.json"}, numbered("sessions-%05d.json", 1000)...), "zzz.json", "ÿ.json"),
		"high bytes": {
			"a\x7f.json", "a\xc3\xbf.json", "a\xfe.json", "a\xff.json", "a\xff\xff\xff\xff\xff.json",
			"b\xff", "b\xff\xff\xff\xff", "b\xff\xff\xff\xff\x01", "c",
		},
		"dense then sparse": append(numbered("k%06d.json", 800), numbered("z%03d.json", 10)...),
	}
}

func aferoStore(t *testing.T, keys []string) store.Store {
	t.Helper()
	fsys := afero.NewMemMapFs()
	for _, k := range keys {
		require.NoError(t, afero.WriteFile(fsys, "/"+k, []byte(k), 0o600))
	}
	return aferofs.New(fsys, "/")
}

// TestListTopIsList: on every shape of keys, with every size of limits,
// the listing made of ranges is the one List gives, key for key, and it
// ends with nothing in flight.
func TestListTopIsList(t *testing.T) {
	limits := map[string]listLimits{
		"small":   small,
		"no head": {head: 0, listers: 2, buffer: 2, batch: 1, ranges: 40},
		"medium":  {head: 50, listers: 4, buffer: 64, batch: 16, ranges: 40},
		"default": defaultListLimits,
	}
	for name, keys := range shapes() {
		t.Run(name, func(t *testing.T) {
			s := aferoStore(t, keys)
			want := keysOf(t, func(fn func(store.Object) error) error { return s.List(context.Background(), "", fn) })
			require.Len(t, want, len(keys))
			for lname, lim := range limits {
				r := &ranged{Store: s}
				got := keysOf(t, func(fn func(store.Object) error) error {
					return listTopWith(context.Background(), r, lim, fn)
				})
				assert.Equal(t, want, got, "limits %s", lname)
				assert.Zero(t, r.inFlight.Load(), "limits %s: no listing left running", lname)
				if len(keys) > lim.head+1 && lim.head < 1000 {
					assert.Greater(t, r.calls.Load(), int64(2), "limits %s: the listing was made of ranges", lname)
				}
			}
		})
	}
}

// TestListTopPlainList: a store that is local, or not a RangeLister, is
// listed by one List; one that refuses ListAfter, by List after it.
func TestListTopPlainList(t *testing.T) {
	keys := shapes()["hex"]
	s := aferoStore(t, keys)
	want := keysOf(t, func(fn func(store.Object) error) error { return s.List(context.Background(), "", fn) })

	got := keysOf(t, func(fn func(store.Object) error) error { return listTopWith(context.Background(), s, small, fn) })
	assert.Equal(t, want, got, "not a RangeLister")

	local := struct{ store.RangeLister }{&ranged{Store: s}} // no Remote
	got = keysOf(t, func(fn func(store.Object) error) error { return listTopWith(context.Background(), local, small, fn) })
	assert.Equal(t, want, got, "not remote")

	refusing := &ranged{Store: s, refuse: func(string) bool { return true }}
	got = keysOf(t, func(fn func(store.Object) error) error { return listTopWith(context.Background(), refusing, small, fn) })
	assert.Equal(t, want, got, "ListAfter refused")
	assert.Equal(t, int64(1), refusing.calls.Load(), "refused once, then listed")
}

// TestListTopRefusedMidway: a store that refuses to start part-way only
// after some keys (a bucket found to ignore starts) is listed by List for
// the rest, from where the listing had got to.
func TestListTopRefusedMidway(t *testing.T) {
	keys := shapes()["hex"]
	s := aferoStore(t, keys)
	want := keysOf(t, func(fn func(store.Object) error) error { return s.List(context.Background(), "", fn) })
	for _, from := range []int{10, len(want) / 3, len(want) / 2, len(want) - 3} {
		for _, onlyKeys := range []bool{false, true} {
			r := &ranged{Store: s, refuse: func(after string) bool {
				_, isKey := slices.BinarySearch(want, after)
				return after > want[from] && (isKey || !onlyKeys)
			}}
			got := keysOf(t, func(fn func(store.Object) error) error { return listTopWith(context.Background(), r, small, fn) })
			assert.Equal(t, want, got, "refused after %q (only at range starts: %v)", want[from], onlyKeys)
			assert.Zero(t, r.inFlight.Load())
		}
	}
}

// TestListTopRangeFails: a range that fails fails the listing with its
// error, naming where the range starts, after handing on everything
// before the failure, as a List that failed there would have; the other
// ranges are stopped.
func TestListTopRangeFails(t *testing.T) {
	keys := shapes()["hex"]
	s := aferoStore(t, keys)
	want := keysOf(t, func(fn func(store.Object) error) error { return s.List(context.Background(), "", fn) })
	injected := errors.New("injected")
	for _, at := range []int{small.head + 2, len(want) / 2, len(want) - 2} {
		x := want[at]
		var failedAfter atomic.Value
		r := &ranged{Store: s, fail: func(after string, i int, key string) error {
			// Not a probe (it stops at its first object).
			if i > 0 && key >= x {
				failedAfter.CompareAndSwap(nil, after)
				return injected
			}
			return nil
		}}
		var got []string
		err := listTopWith(context.Background(), r, small, func(o store.Object) error {
			got = append(got, o.Key)
			return nil
		})
		require.ErrorIs(t, err, injected, "fail at %q", x)
		assert.Contains(t, err.Error(), "list after ", "the error names the range")
		failed := len(got)
		require.GreaterOrEqual(t, failed, at, "everything before %q was handed on", x)
		require.LessOrEqual(t, failed, at+1, "the failure is at %q or the key after it", x)
		assert.Equal(t, want[:failed], got)
		assert.Zero(t, r.inFlight.Load(), "no listing left running")
	}
}

// TestListTopFnFails: fn's error stops everything and is returned
// unchanged.
func TestListTopFnFails(t *testing.T) {
	keys := shapes()["hex"]
	r := &ranged{Store: aferoStore(t, keys)}
	stop := errors.New("stop")
	for _, at := range []int{0, small.head, small.head + 1, 100, len(keys) - 1} {
		n := 0
		err := listTopWith(context.Background(), r, small, func(store.Object) error {
			if n == at {
				return stop
			}
			n++
			return nil
		})
		assert.Same(t, stop, err, "fn failed at object %d", at)
		assert.Equal(t, at, n)
		assert.Zero(t, r.inFlight.Load())
	}
}

// TestListTopCancelled: a cancelled context ends the listing, whether it
// is cancelled while objects are handed on or while a range waits on the
// store, and nothing is left running.
func TestListTopCancelled(t *testing.T) {
	keys := shapes()["hex"]
	s := aferoStore(t, keys)
	want := keysOf(t, func(fn func(store.Object) error) error { return s.List(context.Background(), "", fn) })

	t.Run("WhileHandingOn", func(t *testing.T) {
		for _, at := range []int{1, small.head + 1, 100} {
			r := &ranged{Store: s}
			ctx, cancel := context.WithCancel(context.Background())
			var got []string
			err := listTopWith(ctx, r, small, func(o store.Object) error {
				got = append(got, o.Key)
				if len(got) == at {
					cancel()
				}
				return nil
			})
			cancel()
			require.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, want[:len(got)], got)
			assert.Less(t, len(got), len(want))
			assert.Zero(t, r.inFlight.Load())
		}
	})

	t.Run("WhileARangeWaits", func(t *testing.T) {
		// Every range after the first waits for its context; the first
		// ends; the listing waits for the second, and is cancelled.
		blocked := make(chan string, 100)
		mid := want[len(want)/2]
		r := &ranged{Store: s, blocked: blocked, block: func(after string) bool {
			_, isKey := slices.BinarySearch(want, after)
			return isKey && after >= mid
		}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		var got []string
		go func() {
			done <- listTopWith(ctx, r, small, func(o store.Object) error {
				got = append(got, o.Key)
				return nil
			})
		}()
		<-blocked
		cancel()
		err := <-done
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, want[:len(got)], got)
		assert.Zero(t, r.inFlight.Load(), "the waiting ranges were stopped")
	})
}

// TestListTopHoldsBoundedMemory: however many keys, the objects listed and
// not yet handed on stay within the bound of the limits, which ranges
// larger than their buffers reach.
func TestListTopHoldsBoundedMemory(t *testing.T) {
	for name, c := range map[string]struct {
		n   int
		lim listLimits
	}{
		"small":   {50_000, listLimits{head: 100, listers: 4, buffer: 64, batch: 8, ranges: 40}},
		"default": {1_500_000, defaultListLimits},
	} {
		t.Run(name, func(t *testing.T) {
			if c.n > 100_000 && testing.Short() {
				t.Skip("lists 1.5 million keys")
			}
			var consumed atomic.Int64
			s := &seqLister{keySeq: keySeq{n: c.n, key: func(i int) string {
				return fmt.Sprintf("%012x.json", uint64(i)*(1<<48/uint64(c.n)))
			}}, consumed: &consumed}
			count, prev := 0, ""
			err := listTopWith(context.Background(), s, c.lim, func(o store.Object) error {
				if o.Key <= prev {
					return fmt.Errorf("%q after %q", o.Key, prev)
				}
				prev = o.Key
				count++
				consumed.Add(1)
				return nil
			})
			require.NoError(t, err)
			assert.Equal(t, c.n, count)
			// Each range's buffer and the batch it fills, and the batch
			// being handed on.
			bound := int64(c.lim.listers*(c.lim.buffer+c.lim.batch) + c.lim.batch)
			assert.LessOrEqual(t, s.held.Load(), bound, "objects held at once")
			assert.Greater(t, s.held.Load(), bound/2, "the buffers were filled")
			t.Logf("%d keys: at most %d objects held (bound %d), %d listings", c.n, s.held.Load(), bound, s.calls.Load())
		})
	}
}

// TestPlanRangesProbes counts the probes planRanges makes, a list request
// each, on a million keys of several shapes: never more than the 63 the
// listing's doc promises; and the ranges they bound are even, with ids
// that share a prefix or not, and with a key far after the others.
func TestPlanRangesProbes(t *testing.T) {
	const n = 1_000_000
	for name, key := range map[string]func(i int) string{
		"hex ids":   func(i int) string { return fmt.Sprintf("%016x.json", uint64(i)*(1<<64/n)) },
		"numbered":  func(i int) string { return fmt.Sprintf("sessions-%07d.json", i) },
		"uuid-like": func(i int) string { return fmt.Sprintf("%08x-7a1c-4e1b-9a3f-%012x.json", uint64(i)*(1<<32/n), i) },
		"outlier": func(i int) string {
			if i == n-1 {
				return "zzz.json"
			}
			return fmt.Sprintf("chat-%07d.json", i)
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := &seqLister{keySeq: keySeq{n: n, key: key}}
			var h head
			for i := range listHead {
				h.add(key(i))
			}
			bounds, more, err := planRanges(context.Background(), s, &h, defaultListLimits)
			require.NoError(t, err)
			require.True(t, more)
			probes := s.calls.Load()
			assert.LessOrEqual(t, probes, int64(63), "probes")
			assert.LessOrEqual(t, len(bounds), listMaxRanges-1)
			require.True(t, slices.IsSorted(bounds))
			// The sizes of the ranges, in keys.
			at := func(k string) int { return sort.Search(n, func(i int) bool { return key(i) > k }) }
			sizes := []int{}
			prev := listHead
			for _, b := range append(bounds, key(n-1)) {
				sizes = append(sizes, at(b)-prev)
				prev = at(b)
			}
			t.Logf("%s: %d probes, %d ranges, sizes %v", name, probes, len(sizes), sizes)
			// Even: no range more than half again the mean, but the
			// last, which holds the far key alone.
			assert.GreaterOrEqual(t, len(sizes), 20, "ranges")
			mean := (n - listHead) / len(sizes)
			for i, size := range sizes[:len(sizes)-1] {
				assert.LessOrEqual(t, size, mean*3/2, "range %d", i)
			}
		})
	}
}

// TestPlanRangesSmallStore: a store little larger than the head is not
// cut into ranges.
func TestPlanRangesSmallStore(t *testing.T) {
	key := func(i int) string { return fmt.Sprintf("%016x.json", uint64(i)*(1<<64/15000)) }
	s := &seqLister{keySeq: keySeq{n: 15000, key: key}}
	var h head
	for i := range listHead {
		h.add(key(i))
	}
	bounds, more, err := planRanges(context.Background(), s, &h, defaultListLimits)
	require.NoError(t, err)
	assert.True(t, more)
	assert.Empty(t, bounds)
}

// TestRecoverAllSameReport: recovering through the listing made of ranges
// gives the report, and leaves the store, as through one List, byte for
// byte.
func TestRecoverAllSameReport(t *testing.T) {
	objects := map[string][]byte{}
	rng := rand.New(rand.NewPCG(3, 4))
	doc := func(n int) []byte {
		msgs := strings.Repeat(`{"role":"user"},`, n)
		return []byte(`{"messages":[` + strings.TrimSuffix(msgs, ",") + `]}`)
	}
	for i := range 600 {
		id := fmt.Sprintf("%08x", rng.Uint32())
		objects[id+".json"] = doc(2)
		switch i % 6 {
		case 0:
			objects[id+".json.bak"] = doc(4) // shrunk: restored
		case 1:
			objects[id+".json.bak"] = doc(1)
		case 2:
			objects["orphan-"+id+".json.bak"] = doc(3)
		case 3:
			objects[id+".json.bak.json"] = doc(1) // a session whose id ends in .json.bak
		}
	}
	fill := func() store.Store {
		fsys := afero.NewMemMapFs()
		for k, v := range objects {
			require.NoError(t, afero.WriteFile(fsys, "/"+k, v, 0o600))
		}
		return aferofs.New(fsys, "/")
	}
	for _, opts := range []Options{{DryRun: true}, {}, {CountAll: true, RestoreOrphans: true}} {
		plain, split := fill(), fill()
		r := &ranged{Store: split}
		ra, err := pairThrough(plain, opts, defaultListLimits)
		require.NoError(t, err)
		rb, err := pairThrough(r, opts, small)
		require.NoError(t, err)
		ja, err := ra.MarshalJSON()
		require.NoError(t, err)
		jb, err := rb.MarshalJSON()
		require.NoError(t, err)
		assert.Equal(t, string(ja), string(jb), "options %+v", opts)
		assert.Greater(t, r.calls.Load(), int64(10), "the listing was made of ranges")
		assert.Equal(t, keysOf(t, func(fn func(store.Object) error) error { return plain.List(context.Background(), "", fn) }),
			keysOf(t, func(fn func(store.Object) error) error { return split.List(context.Background(), "", fn) }))
	}
}

// pairThrough runs RecoverAll with the listing's limits set to lim. No
// test of this package runs in parallel with another.
func pairThrough(s store.Store, opts Options, lim listLimits) (*Report, error) {
	saved := defaultListLimits
	defaultListLimits = lim
	defer func() { defaultListLimits = saved }()
	return RecoverAll(context.Background(), s, opts)
}
