package recovery_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// synthetic is a store of n small sessions that exist only as a formula, so
// that the memory a run takes is recovery's alone: a third have a backup,
// and a third of those were shrunk.
type synthetic struct{ n int }

func (s synthetic) List(ctx context.Context, prefix string, fn func(store.Object) error) error {
	for i := range s.n {
		key := fmt.Sprintf("s%07d.json", i)
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		if err := fn(store.Object{Key: key, Size: int64(len(syntheticDoc(key)))}); err != nil {
			return err
		}
		if i%3 == 0 {
			if err := fn(store.Object{Key: key + ".bak", Size: int64(len(syntheticDoc(key + ".bak")))}); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

func (s synthetic) Open(_ context.Context, key string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(syntheticDoc(key))), nil
}

func syntheticDoc(key string) string {
	var i int
	if _, err := fmt.Sscanf(key, "s%07d.json", &i); err == nil && strings.HasSuffix(key, ".bak") && i%9 == 0 {
		return `{"messages":[{"role":"user"},{"role":"assistant"}]}`
	}
	return `{"messages":[{"role":"user"}]}`
}

func (s synthetic) Replace(context.Context, string, string) error { return nil }

// liveHeap runs a streaming recovery of n sessions and returns the live
// heap measured after a collection every thousand sessions.
func liveHeap(t *testing.T, n int) (samples []uint64, handled int) {
	t.Helper()
	var ms runtime.MemStats
	sample := func() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		samples = append(samples, ms.HeapAlloc)
	}
	r, err := recovery.RecoverAll(context.Background(), synthetic{n}, recovery.Options{
		CountAll: true,
		OnStatus: func(recovery.Status) { handled++ },
		Progress: func(p recovery.Progress) {
			if p.Handled%1000 == 0 {
				sample()
			}
		},
	})
	require.NoError(t, err)
	require.Equal(t, n, r.Scanned)
	require.Equal(t, (n+8)/9, r.Restored)
	slices.Sort(samples)
	return samples, handled
}

// TestMemoryFlat shows that a run over 100,000 sessions holds no more than
// one over 10,000: only the sessions in flight are in memory.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 110,000 sessions")
	}
	small, n1 := liveHeap(t, 10_000)
	large, n2 := liveHeap(t, 100_000)
	assert.Equal(t, 10_000, n1)
	assert.Equal(t, 100_000, n2)
	median := func(s []uint64) uint64 { return s[len(s)/2] }
	peak := func(s []uint64) uint64 { return s[len(s)-1] }
	t.Logf("live heap during the run, median and peak: %d and %d KiB for 10,000 sessions, %d and %d KiB for 100,000",
		median(small)>>10, peak(small)>>10, median(large)>>10, peak(large)>>10)
	// Keeping even 10 bytes per session would add 900 KiB to the median.
	assert.Less(t, median(large), median(small)+256<<10, "median: 100,000 sessions hold no more than 10,000")
	assert.Less(t, peak(large), peak(small)+4<<20, "peak: 100,000 sessions hold no more than 10,000 (+4 MiB of noise)")
}
