package storefault_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storefault"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

// aferoStore is an in-memory store.
func aferoStore(t *testing.T, objects map[string][]byte) store.Store {
	t.Helper()
	fsys := afero.NewMemMapFs()
	for key, b := range objects {
		require.NoError(t, afero.WriteFile(fsys, "/"+key, b, 0o644))
	}
	return aferofs.New(fsys, "/")
}

// readOnly hides every method of a store but those of store.Store.
type readOnly struct{ store.Store }

// memWriter is an in-memory store.Writer.
func memWriter(t *testing.T, objects map[string][]byte) store.Writer {
	t.Helper()
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { b.Close() })
	for key, body := range objects {
		require.NoError(t, b.WriteAll(context.Background(), key, body, &blob.WriterOptions{ContentType: blobstore.ContentType}))
	}
	return blobstore.New(b)
}

// versioned makes every reader of a store report a version, "v-" + key.
type versioned struct{ store.Writer }

type versionedReader struct {
	io.ReadCloser
	v string
}

func (r versionedReader) Version() string { return r.v }

func (s versioned) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.Writer.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	return versionedReader{rc, "v-" + key}, nil
}

var allKinds = []storefault.Kind{
	storefault.Error, storefault.ShortRead, storefault.MidwayError,
	storefault.Slow, storefault.FailedCopy, storefault.FailedWrite,
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  storefault.Config
	}{
		{"NoFaults", storefault.Config{Rate: 0, Seed: 1}},
		{"EveryCallSlow", storefault.Config{Rate: 1, Seed: 1, Kinds: []storefault.Kind{storefault.Slow}, Delay: time.Microsecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("Afero", func(t *testing.T) {
				storetest.Run(t, func(t *testing.T, objects map[string][]byte) store.Store {
					return storefault.New(aferoStore(t, objects), tc.cfg)
				})
			})
			t.Run("MemBlobWriter", func(t *testing.T) {
				storetest.Run(t, func(t *testing.T, objects map[string][]byte) store.Store {
					return storefault.New(memWriter(t, objects), tc.cfg)
				})
			})
		})
	}
}

func TestWriterOnlyWhenInnerIs(t *testing.T) {
	_, ok := storefault.New(readOnly{aferoStore(t, nil)}, storefault.Config{}).(store.Writer)
	assert.False(t, ok, "a store that cannot write does not become one")
	_, ok = storefault.New(memWriter(t, nil), storefault.Config{}).(store.Writer)
	assert.True(t, ok, "a store.Writer stays one")
}

func TestConfigRefused(t *testing.T) {
	for _, cfg := range []storefault.Config{
		{Rate: -0.1}, {Rate: 1.5}, {Rate: nan()}, {Delay: -time.Second}, {Kinds: []storefault.Kind{0}},
	} {
		assert.Panics(t, func() { storefault.New(aferoStore(t, nil), cfg) }, "%+v", cfg)
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

func readAll(s store.Store, key string) ([]byte, string, error) {
	rc, err := s.Open(context.Background(), key)
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return b, store.Version(rc), err
}

func listAll(s store.Store, prefix string) ([]string, error) {
	keys := []string{}
	err := s.List(context.Background(), prefix, func(o store.Object) error {
		keys = append(keys, o.Key)
		return nil
	})
	return keys, err
}

// big returns n bytes that differ for each seed.
func big(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%253)
	}
	return b
}

func fixture() map[string][]byte {
	return map[string][]byte{
		"a.json":     []byte(`{"messages":[1,2,3]}`),
		"a.json.bak": []byte(`{"messages":[1,2,3,4]}`),
		"big":        big(300<<10, 1),
		"dir/b":      []byte("b"),
		"empty":      {},
	}
}

// TestEachKindAlone fails every call it can with one kind of fault, and
// checks each operation fails, or is cut, slowed or left alone, as the
// kind's documentation says.
func TestEachKindAlone(t *testing.T) {
	const delay = 5 * time.Millisecond
	ctx := context.Background()
	for _, kind := range allKinds {
		t.Run(kind.String(), func(t *testing.T) {
			objects := fixture()
			inner := versioned{memWriter(t, objects)}
			s := storefault.New(inner, storefault.Config{Rate: 1, Seed: 7, Kinds: []storefault.Kind{kind}, Delay: delay}).(store.Writer)
			wantFaults := 0

			// List: only Error applies. Each call draws anew. The
			// listing is one level deep: "dir/b" is not in it.
			allKeys := []string{"a.json", "a.json.bak", "big", "empty"}
			atOnce, partway := 0, 0
			for range 40 {
				keys, err := listAll(s, "")
				if kind != storefault.Error {
					require.NoError(t, err)
					assert.Equal(t, allKeys, keys)
					continue
				}
				wantFaults++
				require.ErrorIs(t, err, storefault.ErrInjected)
				assert.Contains(t, err.Error(), `list ""`)
				assert.Equal(t, allKeys[:len(keys)], keys, "what was listed before the failure is in order")
				if len(keys) == 0 {
					atOnce++
				} else {
					partway++
				}
			}
			if kind == storefault.Error {
				assert.Positive(t, atOnce, "some listings fail at once")
				assert.Positive(t, partway, "some listings fail after delivering objects")
			}

			// Open.
			for _, key := range slices.Sorted(maps.Keys(objects)) {
				want := objects[key]
				start := time.Now()
				got, version, err := readAll(s, key)
				switch kind {
				case storefault.Error:
					wantFaults++
					require.ErrorIs(t, err, storefault.ErrInjected, key)
					assert.Contains(t, err.Error(), fmt.Sprintf("open %q", key))
				case storefault.ShortRead:
					wantFaults++
					require.NoError(t, err, "a short read ends like a whole one")
					assert.True(t, bytes.HasPrefix(want, got), key)
					if len(want) > 0 {
						assert.Less(t, len(got), len(want), "%s: something is cut", key)
					}
					assert.Equal(t, "v-"+key, version, "the reader keeps its version")
				case storefault.MidwayError:
					wantFaults++
					require.ErrorIs(t, err, storefault.ErrInjected, key)
					assert.Contains(t, err.Error(), fmt.Sprintf("read %q", key))
					assert.NotErrorIs(t, err, io.EOF)
					assert.True(t, bytes.HasPrefix(want, got), key)
					if len(want) > 0 {
						assert.Less(t, len(got), len(want), "%s: the failure comes before the end", key)
					}
					assert.Equal(t, "v-"+key, version)
				case storefault.Slow:
					wantFaults++
					require.NoError(t, err)
					assert.Equal(t, want, got, key)
					assert.GreaterOrEqual(t, time.Since(start), delay)
					assert.Equal(t, "v-"+key, version)
				default:
					require.NoError(t, err)
					assert.Equal(t, want, got, key)
					assert.Equal(t, "v-"+key, version)
				}
			}
			_, err := s.Open(ctx, "missing")
			if kind == storefault.Error {
				wantFaults++ // refused before the inner store is asked
				assert.ErrorIs(t, err, storefault.ErrInjected)
			} else {
				assert.ErrorIs(t, err, store.ErrNotExist, "a missing object stays missing")
			}

			// Replace.
			start := time.Now()
			err = s.Replace(ctx, "a.json", "a.json.bak")
			switch kind {
			case storefault.Error, storefault.FailedCopy:
				wantFaults++
				require.ErrorIs(t, err, storefault.ErrInjected)
				assert.Contains(t, err.Error(), `replace "a.json" from "a.json.bak"`)
				assert.Equal(t, objects, storetest.Objects(t, inner, "dir/"), "a failed replace changes nothing")
			case storefault.Slow:
				wantFaults++
				require.NoError(t, err)
				assert.GreaterOrEqual(t, time.Since(start), delay)
				assert.Equal(t, objects["a.json.bak"], storetest.Read(t, inner, "a.json"))
			default:
				require.NoError(t, err)
				assert.Equal(t, objects["a.json.bak"], storetest.Read(t, inner, "a.json"))
			}
			err = s.Replace(ctx, "a.json", "gone")
			switch kind {
			case storefault.Error:
				wantFaults++
				assert.ErrorIs(t, err, storefault.ErrInjected)
			case storefault.Slow:
				wantFaults++ // it waited, then the inner store refused
				assert.ErrorIs(t, err, store.ErrNotExist)
			default: // FailedCopy cannot start: not counted
				assert.ErrorIs(t, err, store.ErrNotExist, "a missing source stays missing")
			}

			// Write.
			before := storetest.Objects(t, inner, "dir/")
			start = time.Now()
			err = s.Write(ctx, "dir/b", bytes.NewReader(big(100<<10, 9)), store.WriteOptions{})
			switch kind {
			case storefault.FailedWrite:
				wantFaults++
				require.ErrorIs(t, err, storefault.ErrInjected)
				assert.Contains(t, err.Error(), `write "dir/b"`)
				assert.Equal(t, before, storetest.Objects(t, inner, "dir/"), "a failed write changes nothing")
			case storefault.Slow:
				wantFaults++
				require.NoError(t, err)
				assert.GreaterOrEqual(t, time.Since(start), delay)
				assert.Equal(t, big(100<<10, 9), storetest.Read(t, inner, "dir/b"))
			default:
				require.NoError(t, err)
				assert.Equal(t, big(100<<10, 9), storetest.Read(t, inner, "dir/b"))
			}

			stats, ok := storefault.StatsOf(s)
			require.True(t, ok)
			assert.Equal(t, 40+len(objects)+1+2+1, stats.Calls)
			assert.Equal(t, wantFaults, stats.Faults)
			assert.Equal(t, map[storefault.Kind]int{kind: wantFaults}, clean(stats.ByKind))
		})
	}
}

// clean drops the zero counts of m.
func clean(m map[storefault.Kind]int) map[storefault.Kind]int {
	out := map[storefault.Kind]int{}
	for k, n := range m {
		if n != 0 {
			out[k] = n
		}
	}
	return out
}

// TestCutWithinTheEnd reads a large object through many cut readers, with
// an odd buffer size: each gives a strict prefix that lacks at most the
// last 64 KiB.
func TestCutWithinTheEnd(t *testing.T) {
	want := big(1<<20+5, 3)
	inner := memWriter(t, map[string][]byte{"large": want})
	for _, kind := range []storefault.Kind{storefault.ShortRead, storefault.MidwayError} {
		s := storefault.New(inner, storefault.Config{Rate: 1, Seed: 3, Kinds: []storefault.Kind{kind}})
		for range 20 {
			rc, err := s.Open(context.Background(), "large")
			require.NoError(t, err)
			var got []byte
			buf := make([]byte, 777)
			for {
				n, err := rc.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					assert.Equal(t, storefault.ShortRead, kind)
					break
				}
				if err != nil {
					assert.Equal(t, storefault.MidwayError, kind)
					require.ErrorIs(t, err, storefault.ErrInjected)
					assert.Contains(t, err.Error(), fmt.Sprintf("after %d bytes", len(got)))
					break
				}
			}
			require.NoError(t, rc.Close())
			assert.True(t, bytes.Equal(want[:len(got)], got), "a prefix")
			assert.Less(t, len(got), len(want))
			assert.GreaterOrEqual(t, len(got), len(want)-64<<10)
		}
	}
}

// TestSlowRespectsContext gives up waiting when the context ends, and
// changes nothing.
func TestSlowRespectsContext(t *testing.T) {
	objects := map[string][]byte{"a": []byte("a"), "b": []byte("b")}
	inner := memWriter(t, objects)
	s := storefault.New(inner, storefault.Config{Rate: 1, Kinds: []storefault.Kind{storefault.Slow}, Delay: time.Hour}).(store.Writer)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()

	rc, err := s.Open(ctx, "a")
	require.NoError(t, err)
	_, err = io.ReadAll(rc)
	rc.Close()
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, s.Replace(ctx, "a", "b"), context.DeadlineExceeded)
	assert.ErrorIs(t, s.Write(ctx, "a", strings.NewReader("new"), store.WriteOptions{}), context.DeadlineExceeded)
	assert.Equal(t, objects, storetest.Objects(t, inner))
}

// TestNoFaultOnInvalidCalls leaves invalid keys and done contexts to the
// inner store, whose errors say so.
func TestNoFaultOnInvalidCalls(t *testing.T) {
	s := storefault.New(memWriter(t, map[string][]byte{"a": []byte("a")}), storefault.Config{Rate: 1}).(store.Writer)
	var ke *store.KeyError
	_, err := s.Open(context.Background(), "../a")
	assert.ErrorAs(t, err, &ke)
	assert.ErrorAs(t, s.Replace(context.Background(), "a", "/b"), &ke)
	assert.ErrorAs(t, s.Write(context.Background(), "a//b", strings.NewReader(""), store.WriteOptions{}), &ke)
	assert.ErrorAs(t, s.List(context.Background(), "../", func(store.Object) error { return nil }), &ke)
	assert.Error(t, s.Replace(context.Background(), "a", "a"))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Open(ctx, "a")
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, s.Replace(ctx, "b", "a"), context.Canceled)
	assert.ErrorIs(t, s.Write(ctx, "a", strings.NewReader(""), store.WriteOptions{}), context.Canceled)
	assert.ErrorIs(t, s.List(ctx, "", func(store.Object) error { return nil }), context.Canceled)

	stats, _ := storefault.StatsOf(s)
	assert.Equal(t, 9, stats.Calls)
	assert.Zero(t, stats.Faults)
}

// outcome describes what one read of key through s gave.
func outcome(s store.Store, key string) string {
	b, _, err := readAll(s, key)
	if err != nil {
		return fmt.Sprintf("%d bytes, then %v", len(b), err)
	}
	return fmt.Sprintf("%d bytes", len(b))
}

func manyObjects() map[string][]byte {
	objects := map[string][]byte{}
	for i := range 200 {
		objects[fmt.Sprintf("s%03d.json", i)] = big(50+i*37, byte(i))
	}
	return objects
}

// TestDeterministic: a seed fails the same calls the same way, whether
// they are made one after the other or all at once.
func TestDeterministic(t *testing.T) {
	objects := manyObjects()
	inner := aferoStore(t, objects)
	keys := slices.Sorted(maps.Keys(objects))
	cfg := storefault.Config{Rate: 0.5, Seed: 42, Kinds: []storefault.Kind{storefault.Error, storefault.ShortRead, storefault.MidwayError}}

	sequential := func(cfg storefault.Config) map[string]string {
		s := storefault.New(inner, cfg)
		out := map[string]string{}
		for round := range 3 {
			for _, key := range keys {
				out[fmt.Sprint(key, "#", round)] = outcome(s, key)
			}
			_, err := listAll(s, "")
			out[fmt.Sprint("list#", round)] = fmt.Sprint(err)
		}
		return out
	}
	first := sequential(cfg)
	assert.Equal(t, first, sequential(cfg), "the same seed, the same faults")

	// All at once, keys in reverse order: each key's calls are still made
	// in the same order, so they meet the same faults.
	s := storefault.New(inner, cfg)
	concurrent := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, key := range slices.Backward(keys) {
		wg.Go(func() {
			for round := range 3 {
				o := outcome(s, key)
				mu.Lock()
				concurrent[fmt.Sprint(key, "#", round)] = o
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		for round := range 3 {
			_, err := listAll(s, "")
			mu.Lock()
			concurrent[fmt.Sprint("list#", round)] = fmt.Sprint(err)
			mu.Unlock()
		}
	})
	wg.Wait()
	assert.Equal(t, first, concurrent)

	other := cfg
	other.Seed = 43
	assert.NotEqual(t, first, sequential(other), "another seed, other faults")
}

// TestStats checks that Stats counts every call and exactly the faults
// that were seen, at about the rate asked for.
func TestStats(t *testing.T) {
	objects := manyObjects()
	inner := aferoStore(t, objects)
	s := storefault.New(inner, storefault.Config{Rate: 0.3, Seed: 5, Kinds: []storefault.Kind{storefault.Error, storefault.ShortRead, storefault.MidwayError}})
	seen := map[storefault.Kind]int{}
	for range 5 {
		for key, want := range objects {
			got, _, err := readAll(s, key)
			switch {
			case err != nil && strings.Contains(err.Error(), "open "):
				seen[storefault.Error]++
			case err != nil:
				seen[storefault.MidwayError]++
			case len(got) < len(want):
				seen[storefault.ShortRead]++
			}
		}
	}
	stats, ok := storefault.StatsOf(s)
	require.True(t, ok)
	assert.Equal(t, 5*len(objects), stats.Calls)
	assert.Equal(t, seen, clean(stats.ByKind))
	total := 0
	for _, n := range seen {
		total += n
	}
	assert.Equal(t, total, stats.Faults)
	assert.InDelta(t, 0.3, float64(stats.Faults)/float64(stats.Calls), 0.05)

	// Stats are a copy.
	stats.ByKind[storefault.Slow] = 99
	again, _ := storefault.StatsOf(s)
	assert.Zero(t, again.ByKind[storefault.Slow])

	_, ok = storefault.StatsOf(inner)
	assert.False(t, ok, "only a wrapper has stats")
}

// TestConcurrentUse runs many calls at once under the race detector.
func TestConcurrentUse(t *testing.T) {
	objects := manyObjects()
	inner := memWriter(t, objects)
	s := storefault.New(inner, storefault.Config{Rate: 0.5, Seed: 9, Delay: time.Microsecond}).(store.Writer)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				key := fmt.Sprintf("s%03d.json", (i*50+j)%200)
				_, _, _ = readAll(s, key)
				_ = s.Replace(context.Background(), fmt.Sprintf("copy%d", i), key)
				_ = s.Write(context.Background(), fmt.Sprintf("w%d", i), bytes.NewReader(objects[key]), store.WriteOptions{})
				_, _ = listAll(s, "s00")
			}
		})
	}
	wg.Wait()
	stats, _ := storefault.StatsOf(s)
	assert.Equal(t, 8*50*4, stats.Calls)
	// Every copy or write that happened is whole.
	for key, b := range storetest.Objects(t, inner) {
		if strings.HasPrefix(key, "copy") || strings.HasPrefix(key, "w") {
			assert.True(t, slices.ContainsFunc(slices.Collect(maps.Values(objects)), func(v []byte) bool { return bytes.Equal(v, b) }), key)
		}
	}
}
