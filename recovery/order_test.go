package recovery_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// listingOrder is the report's order: byte-wise by key, except that a key
// comes after the keys it prefixes.
func listingOrder(a, b recovery.Status) int {
	switch {
	case a.Key == b.Key:
		return 0
	case strings.HasPrefix(a.Key, b.Key):
		return -1
	case strings.HasPrefix(b.Key, a.Key):
		return 1
	}
	return strings.Compare(a.Key, b.Key)
}

// Ids that prefix one another make key order and id order differ; the
// report, gathered or streamed, comes in listing order.
func TestOnStatusStreamsInReportOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	alphabet := []string{"a", "b", "-", ".", " ", "!", "json", ".json", "_", "0"}
	for round := range 30 {
		fsys := afero.NewMemMapFs()
		var want []string
		for range 40 {
			var id strings.Builder
			for range 1 + rng.IntN(4) {
				id.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			key := id.String() + ".json"
			if strings.HasPrefix(key, "_") || slices.Contains(want, key) {
				continue
			}
			want = append(want, key)
			require.NoError(t, afero.WriteFile(fsys, "/"+key, []byte(`{"messages":[]}`), 0o644))
			if rng.IntN(2) == 0 {
				require.NoError(t, afero.WriteFile(fsys, "/"+key+".bak", []byte(`{"messages":[1]}`), 0o644))
			}
		}
		s := aferofs.New(fsys, "/")

		whole, err := recovery.RecoverAll(context.Background(), s, recovery.Options{DryRun: true, CountAll: true})
		require.NoError(t, err)
		require.True(t, slices.IsSortedFunc(whole.Details, listingOrder), "round %d: details in listing order", round)

		var streamed []recovery.Status
		r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{
			DryRun: true, CountAll: true, Concurrency: 1 + round%5,
			OnStatus: func(st recovery.Status) { streamed = append(streamed, st) },
		})
		require.NoError(t, err)
		assert.Empty(t, r.Details, "streamed, not kept")
		assert.Equal(t, len(whole.Details), r.Scanned)
		require.Equal(t, len(whole.Details), len(streamed))
		for i := range streamed {
			assert.Equal(t, whole.Details[i].Key, streamed[i].Key, "round %d, position %d", round, i)
		}
	}
}

// cancelAt cancels a run when it opens a given key.
type cancelAt struct {
	store.Store
	key    string
	cancel context.CancelFunc
}

func (c cancelAt) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if key == c.key {
		c.cancel()
	}
	return c.Store.Open(ctx, key)
}

func TestCancelledRunReportsUnhandledSessions(t *testing.T) {
	fsys := afero.NewMemMapFs()
	for i := range 5 {
		require.NoError(t, afero.WriteFile(fsys, fmt.Sprintf("/s%d.json", i), []byte(`{"messages":[]}`), 0o644))
		require.NoError(t, afero.WriteFile(fsys, fmt.Sprintf("/s%d.json.bak", i), []byte(`{"messages":[1]}`), 0o644))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := cancelAt{Store: aferofs.New(fsys, "/"), key: "s2.json", cancel: cancel}
	r, err := recovery.RecoverAll(ctx, s, recovery.Options{Concurrency: 1})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, r.Scanned, len(r.Details), "every session listed is in the report")
	require.GreaterOrEqual(t, len(r.Details), 3)
	for _, st := range r.Details[:2] {
		assert.True(t, st.Restored, "%s was handled before the cancel", st.SessionID)
	}
	// Handled one at a time, every session from the cancel on either
	// failed its reads or was never handled: either way an error, and
	// untouched.
	for _, st := range r.Details[2:] {
		assert.ErrorIs(t, st.Err, context.Canceled, st.SessionID)
		assert.False(t, st.Restored, st.SessionID)
		assert.Equal(t, recovery.NotCounted, st.BakMessages, "%s: a backup not read is not counted", st.SessionID)
	}
}
