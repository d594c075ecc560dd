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
// and a third of those were shrunk. Their keys are "s0000000.json" and
// on, or with chat set "chat-0000000.json" and on, then "chat.json": an id
// that prefixes every other, yet whose key sorts after them all.
type synthetic struct {
	n    int
	chat bool
}

func (s synthetic) format() string {
	if s.chat {
		return "chat-%07d.json"
	}
	return "s%07d.json"
}

func (s synthetic) List(ctx context.Context, prefix string, fn func(store.Object) error) error {
	if err := s.list(prefix, fn); err != nil {
		return err
	}
	if s.chat && strings.HasPrefix("chat.json", prefix) {
		if err := fn(store.Object{Key: "chat.json", Size: int64(len(syntheticDoc("chat.json")))}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s synthetic) list(prefix string, fn func(store.Object) error) error {
	for i := range s.n {
		key := fmt.Sprintf(s.format(), i)
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
	return nil
}

func (s synthetic) Open(_ context.Context, key string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(syntheticDoc(key))), nil
}

func syntheticDoc(key string) string {
	var i int
	_, err := fmt.Sscanf(key, "s%07d.json", &i)
	if err != nil {
		_, err = fmt.Sscanf(key, "chat-%07d.json", &i)
	}
	if err == nil && strings.HasSuffix(key, ".bak") && i%9 == 0 {
		return `{"messages":[{"role":"user"},{"role":"assistant"}]}`
	}
	return `{"messages":[{"role":"user"}]}`
}

func (s synthetic) Replace(context.Context, string, string) error { return nil }

// liveHeap runs a streaming recovery of n sessions and returns the live
// heap measured after a collection every thousand sessions.
func liveHeap(t *testing.T, s synthetic) (samples []uint64, handled int) {
	t.Helper()
	var ms runtime.MemStats
	sample := func() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		samples = append(samples, ms.HeapAlloc)
	}
	n := s.n
	if s.chat {
		n++ // chat.json
	}
	r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{
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
	require.Equal(t, (s.n+8)/9, r.Restored)
	slices.Sort(samples)
	return samples, handled
}

// TestMemoryFlat shows that a run over 100,000 sessions holds no more than
// one over 10,000: only the sessions in flight are in memory.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 110,000 sessions")
	}
	for _, chat := range []bool{false, true} {
		t.Run(fmt.Sprintf("chat=%v", chat), func(t *testing.T) { memoryFlat(t, chat) })
	}
}

// memoryFlat is TestMemoryFlat for one naming: with chat, every session's
// id has "chat" as a prefix, whose key comes last.
func memoryFlat(t *testing.T, chat bool) {
	small, n1 := liveHeap(t, synthetic{n: 10_000, chat: chat})
	large, n2 := liveHeap(t, synthetic{n: 100_000, chat: chat})
	extra := 0
	if chat {
		extra = 1
	}
	assert.Equal(t, 10_000+extra, n1)
	assert.Equal(t, 100_000+extra, n2)
	median := func(s []uint64) uint64 { return s[len(s)/2] }
	peak := func(s []uint64) uint64 { return s[len(s)-1] }
	t.Logf("live heap during the run, median and peak: %d and %d KiB for 10,000 sessions, %d and %d KiB for 100,000",
		median(small)>>10, peak(small)>>10, median(large)>>10, peak(large)>>10)
	// Keeping even 10 bytes per session would add 900 KiB to the median.
	assert.Less(t, median(large), median(small)+256<<10, "median: 100,000 sessions hold no more than 10,000")
	assert.Less(t, peak(large), peak(small)+4<<20, "peak: 100,000 sessions hold no more than 10,000 (+4 MiB of noise)")
}
