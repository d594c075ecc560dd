package saveguard_test

import (
	"context"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/recovery/recoverytest"
	"github.com/c0fe5641/sessionrecovery/saveguard"
	"github.com/c0fe5641/sessionrecovery/saveguard/saveguardtest"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storefault"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

// memStore is an in-memory store holding objects. Every backend runs the
// scenarios from backends/saveguard_test.go; this one keeps the package's
// own tests self-contained.
func memStore(t *testing.T, objects map[string][]byte) store.Writer {
	fsys := afero.NewMemMapFs()
	for key, b := range objects {
		require.NoError(t, afero.WriteFile(fsys, "/"+key, b, 0o644))
	}
	return aferofs.New(fsys, "/")
}

func TestSaveguardScenarios(t *testing.T) {
	saveguardtest.Run(t, memStore)
}

func TestSaveguardNames(t *testing.T) {
	assert.Equal(t, "chat.json", saveguard.Key("chat"))
	assert.Equal(t, "chat.json.bak", saveguard.BackupKey("chat"))
	// The names recovery pairs, including pathlib's odd case.
	s := memStore(t, map[string][]byte{})
	require.NoError(t, saveguard.New(s).Save(context.Background(), ".json", recoverytest.Session(3)))
	require.NoError(t, saveguard.New(s).Save(context.Background(), ".json", recoverytest.Session(0)))
	st, err := recovery.Inspect(context.Background(), s, ".json")
	require.NoError(t, err)
	assert.Equal(t, recovery.Restore, st.Recommend, "recovery finds the backup Save made")
}

// TestSaveguardShortReadNotTakenForNotSession: a stored document whose read
// ends early without an error looks like a document that is not a session
// (and would get no backup); Save notices and writes nothing.
func TestSaveguardShortReadNotTakenForNotSession(t *testing.T) {
	objects := map[string][]byte{"chat.json": recoverytest.Session(40)}
	inner := memStore(t, objects)
	s := storefault.New(inner, storefault.Config{Rate: 1, Seed: 1, Kinds: []storefault.Kind{storefault.ShortRead}}).(store.Writer)
	err := saveguard.New(s).Save(context.Background(), "chat", recoverytest.Session(0))
	require.ErrorIs(t, err, recovery.ErrShortRead)
	assert.Contains(t, err.Error(), `save session "chat"`)
	assert.Equal(t, objects, storetest.Objects(t, inner))
}

// TestSaveguardUnderFaults runs each operation over a store that fails a
// third of its calls, with many seeds: whatever failed, the recovery that
// follows never loses the document a Save shrank (nor the larger backup
// of an earlier shrink), never rolls back a Shrink and never brings back a
// Delete.
func TestSaveguardUnderFaults(t *testing.T) {
	old, bak, compressed := recoverytest.Session(40), recoverytest.Session(30), recoverytest.Session(2)
	larger := recoverytest.Session(60)
	start := map[string][]byte{"chat.json": old, "chat.json.bak": bak}
	for _, tc := range []struct {
		name    string
		start   map[string][]byte
		op      func(g *saveguard.Guard) error
		allowed [][]byte // the live documents allowed after recovery; nil: deleted
	}{
		{"ShrinkingSave", start, func(g *saveguard.Guard) error { return g.Save(context.Background(), "chat", recoverytest.Session(0)) }, [][]byte{old}},
		{"ShrinkingSaveUnderALargerBackup", map[string][]byte{"chat.json": old, "chat.json.bak": larger},
			func(g *saveguard.Guard) error { return g.Save(context.Background(), "chat", recoverytest.Session(0)) }, [][]byte{larger}},
		{"Shrink", start, func(g *saveguard.Guard) error { return g.Shrink(context.Background(), "chat", compressed) }, [][]byte{old, compressed}},
		{"Delete", start, func(g *saveguard.Guard) error { return g.Delete(context.Background(), "chat") }, [][]byte{old, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failed := 0
			for seed := range uint64(200) {
				inner := memStore(t, tc.start)
				s := storefault.New(inner, storefault.Config{Rate: 0.35, Seed: seed, Delay: time.Microsecond}).(store.Writer)
				if tc.op(saveguard.New(s)) != nil {
					failed++
				}
				_, err := recovery.RecoverAll(context.Background(), inner, recovery.Options{RestoreOrphans: true})
				require.NoError(t, err)
				got := storetest.Objects(t, inner)
				assert.Contains(t, tc.allowed, got["chat.json"], "seed %d", seed)
			}
			t.Logf("%s: %d of 200 runs failed under faults; every recovery after them was right", tc.name, failed)
			assert.NotZero(t, failed, "the faults never hit")
		})
	}
}
