package saveguard_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/recovery/recoverytest"
	"github.com/c0fe5641/sessionrecovery/saveguard"
)

func taggedSession(n int, tag string) []byte {
	b := recoverytest.Session(n)
	return append(bytes.TrimSuffix(b, []byte("}")), []byte(fmt.Sprintf(`,"tag":%q}`, tag))...)
}

// an application saving through saveguard while recovery
// runs over the same directory (separate stores, as separate processes
// would be). Every application save that succeeded last is live, or was
// replaced by a restore and is kept; no live document holds anything but
// a save or a backup; no file is a torn mix.
func TestSaveguardWhileRecoveryRuns(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	ctx := context.Background()
	dir := t.TempDir()
	const n = 30
	s0, err := local.New(dir)
	require.NoError(t, err)
	defer s0.Close()
	g := saveguard.New(s0)
	var mu sync.Mutex
	// Saves of one session are made one at a time, so that the save
	// recorded last is the one written last: two concurrent successful
	// Saves of one id could otherwise be recorded in the wrong order.
	var idLocks [n]sync.Mutex
	saves := map[string][][]byte{} // every document ever written by a Save, per id
	last := map[string][]byte{}    // the last successful save
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("c%02d", i)
		d := taggedSession(40, id+"-0")
		require.NoError(t, g.Save(ctx, id, d))
		saves[id], last[id] = [][]byte{d}, d
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			r := rand.New(rand.NewSource(seed))
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				i := r.Intn(n)
				id := fmt.Sprintf("c%02d", i)
				d := taggedSession(r.Intn(50), fmt.Sprintf("%s-%d-%d", id, seed, k))
				mu.Lock()
				saves[id] = append(saves[id], d)
				mu.Unlock()
				idLocks[i].Lock()
				if g.Save(ctx, id, d) == nil {
					mu.Lock()
					last[id] = d
					mu.Unlock()
				}
				idLocks[i].Unlock()
			}
		}(int64(w))
	}
	var rwg sync.WaitGroup
	for p := 0; p < 3; p++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			s, err := local.New(dir)
			require.NoError(t, err)
			defer s.Close()
			restored := 0
			for i := 0; i < 50; i++ {
				rep, err := recovery.RecoverAll(ctx, s, recovery.Options{Concurrency: 4})
				require.NoError(t, err)
				restored += rep.Restored
			}
			t.Logf("recovery restored %d", restored)
		}()
	}
	rwg.Wait()
	close(stop)
	wg.Wait()

	files := map[string][]byte{}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		files[e.Name()] = b
	}
	lost, foreign := 0, 0
	for id, want := range last {
		known := func(b []byte) bool {
			for _, d := range saves[id] {
				if bytes.Equal(b, d) {
					return true
				}
			}
			return false
		}
		found := false
		for name, b := range files {
			if !strings.HasPrefix(name, id+".json") {
				continue
			}
			if !known(b) && !strings.Contains(name, ".tmp-") {
				foreign++
				t.Logf("%s holds bytes no save wrote (%d bytes)", name, len(b))
			}
			if bytes.Equal(b, want) && (name == id+".json" || strings.HasPrefix(name, id+".json.replaced")) {
				found = true
			}
		}
		if !found {
			lost++
			t.Logf("%s: its last successful save is neither live nor kept", id)
		}
	}
	assert.Zero(t, lost)
	assert.Zero(t, foreign)
}
