package saveguard_test

import (
	"context"
	"errors"
	"io"
	"math/rand"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/msgcount"
	"github.com/c0fe5641/sessionrecovery/recovery/recoverytest"
	"github.com/c0fe5641/sessionrecovery/saveguard"
	"github.com/c0fe5641/sessionrecovery/store"
)

func countOf(t *testing.T, s store.Store, key string) int {
	rc, err := s.Open(context.Background(), key)
	if errors.Is(err, store.ErrNotExist) {
		return -2
	}
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return msgcount.CountBytes(b)
}

// several writers Save one session at once (no Shrink, no
// Delete), each reading the session and saving a document of a random
// count. The high-water mark says the largest document that was ever live
// stays live or in the backup, for recovery to bring back.
func TestConcurrentSavesKeepTheHighWaterMark(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	for _, withBackup := range []bool{false, true} {
		name := map[bool]string{false: "NoBackupAtFirst", true: "BackupAtFirst"}[withBackup]
		t.Run(name, func(t *testing.T) { concurrentSaves(t, withBackup) })
	}
}

func concurrentSaves(t *testing.T, withBackup bool) {
	ctx := context.Background()
	lost, rounds := 0, 30
	for round := 0; round < rounds; round++ {
		dir := t.TempDir()
		s, err := local.New(dir)
		require.NoError(t, err)
		g := saveguard.New(s)
		if withBackup {
			require.NoError(t, g.Save(ctx, "chat", recoverytest.Session(5)))
			require.NoError(t, g.Save(ctx, "chat", recoverytest.Session(1)))
		}
		require.NoError(t, g.Save(ctx, "chat", recoverytest.Session(50)))
		var mu sync.Mutex
		maxLive := 50
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(seed int64) {
				defer wg.Done()
				r := rand.New(rand.NewSource(seed))
				for i := 0; i < 10; i++ {
					n := r.Intn(60)
					if err := g.Save(ctx, "chat", recoverytest.Session(n)); err == nil {
						mu.Lock()
						maxLive = max(maxLive, n)
						mu.Unlock()
					}
				}
			}(int64(round*10 + w))
		}
		wg.Wait()
		if c := max(countOf(t, s, "chat.json"), countOf(t, s, "chat.json.bak")); c < maxLive {
			lost++
			if lost <= 3 {
				t.Logf("round %d: the largest document saved had %d messages; live and backup hold at most %d", round, maxLive, c)
			}
		}
		s.Close()
	}
	if !withBackup {
		// The package doc's third window ("two shrinking Saves at once on a
		// session without a backup"): measured, not asserted.
		t.Logf("documented window: %d of %d rounds lost the largest document", lost, rounds)
		return
	}
	assert.Zero(t, lost, "rounds (of %d) where the high-water mark was lost", rounds)
}
