package recovery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

func smallStore(t *testing.T, n int) store.Store {
	return storeWithOrphans(t, n, 5)
}

// storeWithOrphans is smallStore with an orphan beside every every-th
// session.
func storeWithOrphans(t *testing.T, n, every int) store.Store {
	t.Helper()
	fsys := afero.NewMemMapFs()
	for i := range n {
		require.NoError(t, afero.WriteFile(fsys, fmt.Sprintf("/s%03d.json", i), []byte(`{"messages":[]}`), 0o644))
		require.NoError(t, afero.WriteFile(fsys, fmt.Sprintf("/s%03d.json.bak", i), []byte(`{"messages":[1]}`), 0o644))
		if i%every == 0 { // an orphan, whose status goes to Report.Orphans
			require.NoError(t, afero.WriteFile(fsys, fmt.Sprintf("/o%03d.json.bak", i), []byte(`{"messages":[1]}`), 0o644))
		}
	}
	return aferofs.New(fsys, "/")
}

// An absurd bound is clamped, and workers start only as work comes: a
// bound of 100,000 or 2^63-1 over 50 sessions costs what 50 workers cost.
func TestAbsurdConcurrencyIsClampedAndCostsNothing(t *testing.T) {
	for _, n := range []int{100_000, 1_000_000_000, math.MaxInt} {
		s := smallStore(t, 50)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{DryRun: true, Concurrency: n})
		runtime.ReadMemStats(&after)
		require.NoError(t, err, "concurrency %d", n)
		assert.Equal(t, 50, r.Scanned)
		allocated := after.TotalAlloc - before.TotalAlloc
		t.Logf("concurrency %d: %d KiB allocated for 50 sessions", n, allocated>>10)
		// 50 workers' counter buffers are a few MiB; a worker or a channel
		// slot per unit of the bound would be hundreds.
		assert.Less(t, allocated, uint64(32<<20), "concurrency %d allocates for the bound, not the work", n)
	}
}

// The callbacks run one at a time, never concurrently with each other:
// they share state here without a lock, which the race detector checks.
func TestCallbacksNeverRunConcurrently(t *testing.T) {
	for round := range 5 {
		s := storeWithOrphans(t, 200, 1)
		shared := 0 // touched by both callbacks, unguarded
		var statuses, progress int
		r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{
			DryRun:      round%2 == 0,
			Concurrency: 16,
			OnStatus:    func(recovery.Status) { shared++; statuses++ },
			Progress:    func(p recovery.Progress) { shared++; progress = p.Handled },
		})
		require.NoError(t, err)
		assert.Equal(t, 200, statuses)
		assert.Len(t, r.Orphans, 200)
		assert.Equal(t, 400, progress, "Progress counts sessions and orphans")
		assert.Equal(t, 600, shared)
	}
}

// openSignal tells when a key is opened.
type openSignal struct {
	store.Store
	key    string
	opened chan struct{}
	once   atomic.Bool
}

func (o *openSignal) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if key == o.key && o.once.CompareAndSwap(false, true) {
		close(o.opened)
	}
	return o.Store.Open(ctx, key)
}

// A callback that waits is not holding a lock the workers need: while the
// first status's callback waits, the run goes on reading later sessions.
func TestCallbackHoldsNoLockWorkersNeed(t *testing.T) {
	s := &openSignal{Store: smallStore(t, 20), key: "s005.json", opened: make(chan struct{})}
	stalled := false
	first := true
	_, err := recovery.RecoverAll(context.Background(), s, recovery.Options{
		Concurrency: 2,
		OnStatus: func(recovery.Status) {
			if !first {
				return
			}
			first = false
			select {
			case <-s.opened:
			case <-time.After(30 * time.Second): // a watchdog, not synchronisation
				stalled = true
			}
		},
	})
	require.NoError(t, err)
	assert.False(t, stalled, "while a callback ran, no worker could go on to the next session")
}

// Ids that are not valid UTF-8 stay distinct in JSON, in the form Python
// writes them (surrogate escapes), and valid ids are written as before.
func TestNonUTF8IDsAreLosslessInJSON(t *testing.T) {
	cases := map[string]string{
		"a\xff":              `"a\udcff"`,
		"a\xfe":              `"a\udcfe"`,
		"\xc3":               `"\udcc3"`,
		"ok-ü<&>":            `"ok-ü<&>"`,
		"x\xe2\x82y\x80z":    `"x\udce2\udc82y\udc80z"`,
		"tab\there\"q\\\x01": `"tab\there\"q\\\u0001"`,
	}
	for id, want := range cases {
		b, err := json.Marshal(recovery.Status{SessionID: id, Recommend: recovery.NoAction})
		require.NoError(t, err)
		var fields map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(b, &fields), "%s", b)
		got := string(fields["session_id"])
		if strings.ContainsAny(id, "<&>") { // json.Marshal's own HTML escaping
			want = strings.NewReplacer("<", `\u003c`, "&", `\u0026`, ">", `\u003e`).Replace(want)
		}
		assert.Equal(t, want, got, "id %q", id)
		assert.True(t, strings.HasPrefix(string(b), `{"bak_messages":`), "fields keep the reference's order: %s", b)
		assert.True(t, strings.HasSuffix(string(b), `"session_id":`+got+`}`), "session_id stays last: %s", b)
	}
}
