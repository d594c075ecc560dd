package recoverytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

// The undo scenarios: a restore undone puts back exactly the bytes it
// replaced, keeps what it replaces, and refuses whenever the live document
// is not the version the restore wrote.

func undo(t *testing.T, s store.Store, id string, opts recovery.UndoOptions) recovery.UndoStatus {
	t.Helper()
	st, err := recovery.Undo(context.Background(), s, id, opts)
	require.NoError(t, err)
	return st
}

func undoPutsBackWhatARestoreReplaced(t *testing.T, newStore storetest.NewStore) {
	stub, full := Session(1), Session(500)
	s := newStore(t, map[string][]byte{"chat.json": stub, "chat.json.bak": full})
	require.Equal(t, 1, recoverAll(t, s, recovery.Options{}).Restored)

	st := undo(t, s, "chat", recovery.UndoOptions{})
	require.NoError(t, st.Err)
	assert.Equal(t, recovery.UndoStatus{
		SessionID: "chat", Key: "chat.json", BackupKey: "chat.json.bak",
		LiveMessages: 500, KeptKey: "chat.json.replaced", KeptMessages: 1,
		Undone: true, PreservedKey: "chat.json.replaced.2",
	}, st)
	assert.Equal(t, map[string][]byte{
		"chat.json":            stub, // what the restore replaced, back
		"chat.json.bak":        full, // the backup, untouched
		"chat.json.replaced":   stub, // the kept copy, untouched
		"chat.json.replaced.2": full, // what the undo replaced, kept
	}, storetest.Objects(t, s))

	// The live document is no longer what a restore wrote: a second undo
	// is refused and changes nothing.
	before := storetest.Objects(t, s)
	st = undo(t, s, "chat", recovery.UndoOptions{})
	require.ErrorIs(t, st.Err, recovery.ErrNotRestoredVersion)
	assert.False(t, st.Undone)
	assert.Equal(t, before, storetest.Objects(t, s))
}

func undoTakesTheLatestKeptCopy(t *testing.T, newStore storetest.NewStore) {
	first, second, full := Session(0), Session(2), Session(9)
	s := newStore(t, map[string][]byte{
		"a.json":            second,
		"a.json.bak":        full,
		"a.json.replaced":   first, // an earlier restore's
		"a.json.replaced.7": Session(5),
		"a.json.replaced.x": Session(6), // not a name a restore makes
	})
	rst, err := recovery.Recover(context.Background(), s, "a", recovery.Options{})
	require.NoError(t, err)
	require.Equal(t, "a.json.replaced.8", rst.PreservedKey)

	st := undo(t, s, "a", recovery.UndoOptions{})
	require.NoError(t, st.Err)
	assert.Equal(t, "a.json.replaced.8", st.KeptKey)
	assert.Equal(t, "a.json.replaced.9", st.PreservedKey)
	assert.Equal(t, second, storetest.Read(t, s, "a.json"))
	assert.Equal(t, full, storetest.Read(t, s, "a.json.replaced.9"))
	assert.Equal(t, second, storetest.Read(t, s, "a.json.replaced.8"))
}

func undoRefusedAfterASave(t *testing.T, newStore storetest.NewStore) {
	s := newStore(t, map[string][]byte{"a.json": Session(1), "a.json.bak": Session(4)})
	require.Equal(t, 1, recoverAll(t, s, recovery.Options{}).Restored)
	wr, ok := s.(store.Writer)
	if !ok {
		t.Skip("the store cannot write")
	}
	// The application saves the restored session, with one more message.
	require.NoError(t, wr.Write(context.Background(), "a.json", bytes.NewReader(Session(5)), store.WriteOptions{}))
	before := storetest.Objects(t, s)

	for _, dry := range []bool{true, false} {
		st := undo(t, s, "a", recovery.UndoOptions{DryRun: dry})
		require.ErrorIs(t, st.Err, recovery.ErrNotRestoredVersion, "dry run %v", dry)
		require.ErrorIs(t, st.Err, store.ErrChanged)
		assert.Contains(t, st.Err.Error(), `"a.json.bak"`)
		assert.False(t, st.Undone)
		assert.Empty(t, st.PreservedKey)
	}
	assert.Equal(t, before, storetest.Objects(t, s))
}

func undoWithNothingToUndo(t *testing.T, newStore storetest.NewStore) {
	objects := map[string][]byte{
		"never.json":             Session(2), // never restored
		"never.json.bak":         Session(3),
		"gone.json.bak":          Session(3), // its live document deleted
		"gone.json.replaced":     Session(1),
		"nobak.json":             Session(3), // its backup deleted
		"nobak.json.replaced":    Session(1),
		"never.json.replaced.01": Session(1), // not a name a restore makes
	}
	s := newStore(t, objects)
	for _, id := range []string{"never", "gone", "nobak", "missing"} {
		st := undo(t, s, id, recovery.UndoOptions{})
		require.ErrorIs(t, st.Err, recovery.ErrNothingToUndo, id)
		assert.False(t, st.Undone, id)
	}
	_, err := recovery.Undo(context.Background(), s, "../x", recovery.UndoOptions{})
	require.ErrorIs(t, err, recovery.ErrInvalidID)
	assert.Equal(t, objects, storetest.Objects(t, s))
}

func undoDryRunChangesNothing(t *testing.T, newStore storetest.NewStore) {
	s := newStore(t, map[string][]byte{"a.json": Session(0), "a.json.bak": Session(3)})
	require.Equal(t, 1, recoverAll(t, s, recovery.Options{}).Restored)
	before := storetest.Objects(t, s)
	st := undo(t, s, "a", recovery.UndoOptions{DryRun: true})
	require.NoError(t, st.Err)
	assert.False(t, st.Undone)
	assert.Equal(t, "a.json.replaced", st.KeptKey)
	assert.Equal(t, recovery.Count(0), st.KeptMessages)
	assert.Equal(t, recovery.Count(3), st.LiveMessages)
	assert.Equal(t, before, storetest.Objects(t, s))
}

// An application that saves while undo runs, after undo checked the live
// document, wins: on a store that writes conditionally the undo is
// abandoned, and nothing of the save or the kept copies is lost. The save
// comes while the kept copy is read, or once the live bytes are kept and
// before the write.
func undoLosesToASaveWhileItRuns(t *testing.T, newStore storetest.NewStore) {
	for _, at := range []struct{ op, key string }{{"open", "a.json.replaced"}, {"keep", "a.json.replaced.2"}} {
		t.Run(at.op, func(t *testing.T) {
			base := newStore(t, map[string][]byte{"a.json": Session(0), "a.json.bak": Session(3)})
			require.Equal(t, 1, recoverAll(t, base, recovery.Options{}).Restored)
			wr, ok := base.(store.Writer)
			if !ok || !reportsVersions(t, base, "a.json") {
				t.Skip("the store cannot write conditionally")
			}
			saved := Session(4)
			s := &SavesDuring{Writer: wr, Op: at.op, Key: at.key, Save: func() {
				require.NoError(t, wr.Write(context.Background(), "a.json", bytes.NewReader(saved), store.WriteOptions{}))
			}}
			st := undo(t, s, "a", recovery.UndoOptions{})
			require.True(t, s.Saved(), "the application saved")
			require.ErrorIs(t, st.Err, store.ErrChanged)
			assert.False(t, st.Undone)
			assert.Equal(t, saved, storetest.Read(t, base, "a.json"), "the application's save stands")
			assert.Equal(t, Session(0), storetest.Read(t, base, "a.json.replaced"))
			assert.Equal(t, Session(3), storetest.Read(t, base, "a.json.bak"))
			if st.PreservedKey != "" {
				assert.Equal(t, Session(3), storetest.Read(t, base, st.PreservedKey), "what the undo kept is the restored version")
			}
		})
	}
}

// reportsVersions tells whether s's readers of key report a version.
func reportsVersions(t *testing.T, s store.Store, key string) bool {
	rc, err := s.Open(context.Background(), key)
	require.NoError(t, err)
	defer rc.Close()
	return store.Version(rc) != ""
}

// SavesDuring is a store on which an application saves once, with Save:
// when Key is first opened (Op "open"), or just after Key is made by a
// Write or a Link (Op "keep"). It is safe for concurrent use.
type SavesDuring struct {
	store.Writer
	Op, Key string
	Save    func()

	mu   sync.Mutex
	done bool
}

// Saved tells whether the application has saved.
func (s *SavesDuring) Saved() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

func (s *SavesDuring) at(op, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op == s.Op && key == s.Key && !s.done {
		s.done = true
		s.Save()
	}
}

func (s *SavesDuring) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	s.at("open", key)
	return s.Writer.Open(ctx, key)
}

func (s *SavesDuring) Write(ctx context.Context, key string, r io.Reader, opts store.WriteOptions) error {
	err := s.Writer.Write(ctx, key, r, opts)
	s.at("keep", key)
	return err
}

// Link implements store.Linker with the wrapped store's Link, or fails as
// a store that cannot link does, so that undo takes the path it takes on
// the store itself.
func (s *SavesDuring) Link(ctx context.Context, dst, src, ifVersion string) error {
	l, ok := s.Writer.(store.Linker)
	if !ok {
		return fmt.Errorf("link %q to %q: %w", dst, src, errors.ErrUnsupported)
	}
	err := l.Link(ctx, dst, src, ifVersion)
	s.at("keep", dst)
	return err
}
