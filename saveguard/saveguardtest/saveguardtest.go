// Package saveguardtest runs the save-path scenarios of package saveguard
// against any store.Writer, so that every backend shows the whole
// protection loop holds on it:
//
//	saveguardtest.Run(t, newStore)
//
// Each scenario is one subtest named for the promise it shows. Recovery
// runs with recovery.Options.RestoreOrphans wherever a scenario checks that
// nothing comes back, since that is the run most eager to restore.
package saveguardtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/msgcount"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/recovery/recoverytest"
	"github.com/c0fe5641/sessionrecovery/saveguard"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

// NewStore makes a fresh store that holds exactly the given objects (keys
// are valid store keys). It is called at least once per subtest; cleanup
// belongs to t.
type NewStore func(t *testing.T, objects map[string][]byte) store.Writer

// Run runs every save-path scenario against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, newStore) })
	}
}

type scenario struct {
	name string
	run  func(t *testing.T, newStore NewStore)
}

var scenarios = []scenario{
	{"ShrinkingSaveBacksUpStoredBytes", shrinkingSaveBacksUpStoredBytes},
	{"GrowingOrEqualSaveWritesNoBackup", growingOrEqualSaveWritesNoBackup},
	{"BackupIsTheHighWaterMark", backupIsTheHighWaterMark},
	{"CascadeOfShrinkingSavesRestoresTheLargest", cascadeOfShrinkingSavesRestoresTheLargest},
	{"BackupReadFailureChangesNothing", backupReadFailureChangesNothing},
	{"NonSessionRefused", nonSessionRefused},
	{"InvalidIDRefused", invalidIDRefused},
	{"ShrinkThenRecoveryRestoresNothing", shrinkThenRecoveryRestoresNothing},
	{"DeleteThenRecoveryRestoresNothing", deleteThenRecoveryRestoresNothing},
	{"ConcurrentSaveNotOverwritten", concurrentSaveNotOverwritten},
	{"SaveLosingARaceLeavesBackupAsItWas", saveLosingARaceLeavesBackupAsItWas},
	{"ConcurrentBackupNotLowered", concurrentBackupNotLowered},
	{"ShrinkOrDeleteRacingASaveNotUndone", shrinkOrDeleteRacingASaveNotUndone},
	{"CrashBetweenStepsNeverRestoresWhatWasRemoved", crashBetweenSteps},
	{"ProtectionLoop", protectionLoop},
}

// stub is what a buggy save writes: the session's metadata, no messages.
var stub = []byte(`{"title":"chat","messages":[]}`)

// indented is a session of n messages whose bytes differ from
// recoverytest.Session(n), so that a test can tell them apart and check
// copies byte for byte.
func indented(n int) []byte {
	return append(append([]byte("\n  "), recoverytest.Session(n)...), " \n"...)
}

func recoverAll(t *testing.T, s store.Store) *recovery.Report {
	t.Helper()
	r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{RestoreOrphans: true})
	require.NoError(t, err)
	for _, st := range append(r.Details, r.Orphans...) {
		require.NoError(t, st.Err, "recovery of %s", st.SessionID)
	}
	return r
}

// restoredAnything says whether a recovery restored a session or an orphan.
func restoredAnything(r *recovery.Report) bool {
	for _, st := range append(r.Details, r.Orphans...) {
		if st.Restored {
			return true
		}
	}
	return false
}

func shrinkingSaveBacksUpStoredBytes(t *testing.T, newStore NewStore) {
	for _, tc := range []struct {
		name    string
		objects map[string][]byte
		save    []byte
	}{
		{"WithoutBackup", map[string][]byte{"chat.json": indented(12)}, recoverytest.Session(5)},
		{"ToNoMessages", map[string][]byte{"chat.json": indented(12)}, stub},
		{"ByOneMessage", map[string][]byte{"chat.json": indented(12)}, recoverytest.Session(11)},
		{"OverAnOlderBackup", map[string][]byte{"chat.json": indented(12), "chat.json.bak": recoverytest.Session(3)}, recoverytest.Session(5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, tc.objects)
			require.NoError(t, saveguard.New(s).Save(context.Background(), "chat", tc.save))
			assert.Equal(t, map[string][]byte{
				"chat.json":     tc.save,
				"chat.json.bak": indented(12), // the bytes that were stored, byte for byte
			}, storetest.Objects(t, s))
		})
	}
}

func growingOrEqualSaveWritesNoBackup(t *testing.T, newStore NewStore) {
	for _, tc := range []struct {
		name    string
		objects map[string][]byte
		save    []byte
	}{
		{"Growth", map[string][]byte{"chat.json": recoverytest.Session(3)}, recoverytest.Session(4)},
		{"EqualCount", map[string][]byte{"chat.json": recoverytest.Session(3)}, indented(3)},
		{"GrowthFromStub", map[string][]byte{"chat.json": stub}, recoverytest.Session(1)},
		{"StoredNotASession", map[string][]byte{"chat.json": []byte("{")}, stub},
		{"NewSession", map[string][]byte{}, recoverytest.Session(2)},
		{"ExistingBackupKept", map[string][]byte{"chat.json": recoverytest.Session(3), "chat.json.bak": recoverytest.Session(2)}, recoverytest.Session(7)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, tc.objects)
			require.NoError(t, saveguard.New(s).Save(context.Background(), "chat", tc.save))
			want := map[string][]byte{"chat.json": tc.save}
			if bak, ok := tc.objects["chat.json.bak"]; ok {
				want["chat.json.bak"] = bak
			}
			assert.Equal(t, want, storetest.Objects(t, s))
		})
	}
}

func backupIsTheHighWaterMark(t *testing.T, newStore NewStore) {
	for _, tc := range []struct {
		name    string
		objects map[string][]byte
		backup  []byte // what the backup holds after the shrinking save
	}{
		{"LargerBackupKept", map[string][]byte{"chat.json": indented(12), "chat.json.bak": recoverytest.Session(40)}, recoverytest.Session(40)},
		{"EqualBackupKept", map[string][]byte{"chat.json": indented(12), "chat.json.bak": recoverytest.Session(12)}, recoverytest.Session(12)},
		{"SmallerBackupRaised", map[string][]byte{"chat.json": indented(12), "chat.json.bak": recoverytest.Session(11)}, indented(12)},
		{"BackupNotASessionReplaced", map[string][]byte{"chat.json": indented(12), "chat.json.bak": []byte(`{"messages":`)}, indented(12)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, tc.objects)
			require.NoError(t, saveguard.New(s).Save(context.Background(), "chat", recoverytest.Session(5)))
			assert.Equal(t, map[string][]byte{
				"chat.json":     recoverytest.Session(5),
				"chat.json.bak": tc.backup,
			}, storetest.Objects(t, s))
		})
	}
}

// cascadeOfShrinkingSavesRestoresTheLargest: a bug that shrinks a session
// twice must not lose the backup of the first shrink to the second.
func cascadeOfShrinkingSavesRestoresTheLargest(t *testing.T, newStore NewStore) {
	s := newStore(t, map[string][]byte{})
	g := saveguard.New(s)
	ctx := context.Background()
	for _, n := range []int{1000, 10, 5} {
		require.NoError(t, g.Save(ctx, "chat", recoverytest.Session(n)))
	}
	assert.Equal(t, recoverytest.Session(1000), storetest.Read(t, s, "chat.json.bak"), "the backup is still the largest document")

	r := recoverAll(t, s)
	require.Len(t, r.Details, 1)
	assert.True(t, r.Details[0].Restored)
	assert.Equal(t, recoverytest.Session(1000), storetest.Read(t, s, "chat.json"), "the session is whole again, byte for byte")
}

// failingRead fails, or cuts short without an error, every read of key.
type failingRead struct {
	store.Writer
	key     string
	openErr error // when set, Open fails with it
	readErr error // when set, the read fails with it halfway
	short   bool  // when set, the read ends halfway, without an error
}

func (f *failingRead) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if key != f.key {
		return f.Writer.Open(ctx, key)
	}
	if f.openErr != nil {
		return nil, f.openErr
	}
	rc, err := f.Writer.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	r := io.Reader(bytes.NewReader(b[:len(b)/2]))
	if f.readErr != nil {
		r = io.MultiReader(r, errReader{f.readErr})
	} else if !f.short {
		r = bytes.NewReader(b)
	}
	return io.NopCloser(r), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func backupReadFailureChangesNothing(t *testing.T, newStore NewStore) {
	errDisk := errors.New("the disk failed")
	objects := map[string][]byte{"chat.json": indented(12), "chat.json.bak": recoverytest.Session(40)}
	for _, tc := range []struct {
		name string
		read failingRead
		is   error
	}{
		{"OpenFails", failingRead{openErr: errDisk}, errDisk},
		{"ReadFailsMidway", failingRead{readErr: errDisk}, errDisk},
		{"ReadCutShort", failingRead{short: true}, recovery.ErrShortRead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := newStore(t, objects)
			s := tc.read
			s.Writer, s.key = inner, "chat.json.bak"
			err := saveguard.New(&s).Save(context.Background(), "chat", recoverytest.Session(5))
			require.ErrorIs(t, err, tc.is, "a backup that cannot be read is never taken for none")
			assert.Contains(t, err.Error(), `"chat.json.bak"`, "the error names the backup")
			assert.Equal(t, objects, storetest.Objects(t, inner), "nothing changed")
		})
	}
}

func nonSessionRefused(t *testing.T, newStore NewStore) {
	objects := map[string][]byte{"chat.json": recoverytest.Session(4), "chat.json.bak": recoverytest.Session(2)}
	s := newStore(t, objects)
	g := saveguard.New(s)
	ctx := context.Background()
	for _, doc := range []string{"", "not json", `[1,2,3]`, `{"msgs":[]}`, `{"messages":{}}`, `{"messages":[]`, `{"messages":[]} x`} {
		for op, call := range map[string]func() error{
			"save":   func() error { return g.Save(ctx, "chat", []byte(doc)) },
			"shrink": func() error { return g.Shrink(ctx, "chat", []byte(doc)) },
			"create": func() error { return g.Save(ctx, "new", []byte(doc)) },
		} {
			err := call()
			require.ErrorIs(t, err, saveguard.ErrNotSession, "%s %q", op, doc)
			assert.Contains(t, err.Error(), "session \"", "the error names the session")
		}
	}
	assert.Equal(t, objects, storetest.Objects(t, s), "nothing changed")
}

func invalidIDRefused(t *testing.T, newStore NewStore) {
	objects := map[string][]byte{"a.json": recoverytest.Session(1), "_x.json": recoverytest.Session(1)}
	s := newStore(t, objects)
	g := saveguard.New(s)
	ctx := context.Background()
	for _, id := range []string{"", "..", "a/b", "a\x00", "_x"} {
		require.ErrorIs(t, g.Save(ctx, id, stub), recovery.ErrInvalidID, "save %q", id)
		require.ErrorIs(t, g.Shrink(ctx, id, stub), recovery.ErrInvalidID, "shrink %q", id)
		require.ErrorIs(t, g.Delete(ctx, id), recovery.ErrInvalidID, "delete %q", id)
	}
	assert.Equal(t, objects, storetest.Objects(t, s))
}

func shrinkThenRecoveryRestoresNothing(t *testing.T, newStore NewStore) {
	for _, tc := range []struct {
		name    string
		objects map[string][]byte
		shrink  []byte
	}{
		{"Clear", map[string][]byte{"chat.json": recoverytest.Session(40), "chat.json.bak": recoverytest.Session(30)}, stub},
		{"Compress", map[string][]byte{"chat.json": recoverytest.Session(40), "chat.json.bak": recoverytest.Session(30)}, recoverytest.Session(2)},
		{"WithoutBackup", map[string][]byte{"chat.json": recoverytest.Session(40)}, stub},
		{"NewSession", map[string][]byte{}, stub},
		{"OverAnOrphanBackup", map[string][]byte{"chat.json.bak": recoverytest.Session(30)}, stub},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, tc.objects)
			require.NoError(t, saveguard.New(s).Shrink(context.Background(), "chat", tc.shrink))
			want := map[string][]byte{"chat.json": tc.shrink}
			assert.Equal(t, want, storetest.Objects(t, s), "the backup is retired")
			r := recoverAll(t, s)
			assert.False(t, restoredAnything(r))
			assert.Equal(t, want, storetest.Objects(t, s), "recovery left the shrink alone")
		})
	}
}

func deleteThenRecoveryRestoresNothing(t *testing.T, newStore NewStore) {
	other := map[string][]byte{"other.json": recoverytest.Session(1), "other.json.bak": recoverytest.Session(3)}
	for _, tc := range []struct {
		name    string
		objects map[string][]byte
	}{
		{"WithBackup", map[string][]byte{"chat.json": recoverytest.Session(40), "chat.json.bak": recoverytest.Session(30)}},
		{"ShrunkWithBackup", map[string][]byte{"chat.json": stub, "chat.json.bak": recoverytest.Session(30)}},
		{"WithoutBackup", map[string][]byte{"chat.json": recoverytest.Session(40)}},
		{"OnlyAnOrphanBackup", map[string][]byte{"chat.json.bak": recoverytest.Session(30)}},
		{"Missing", map[string][]byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objects := map[string][]byte{}
			for k, v := range tc.objects {
				objects[k] = v
			}
			for k, v := range other {
				objects[k] = v
			}
			s := newStore(t, objects)
			g := saveguard.New(s)
			require.NoError(t, g.Delete(context.Background(), "chat"))
			assert.Equal(t, other, storetest.Objects(t, s), "the session and its backup are gone; nothing else changed")
			require.NoError(t, g.Delete(context.Background(), "chat"), "deleting again is not an error")

			r := recoverAll(t, s)
			got := storetest.Objects(t, s)
			assert.NotContains(t, got, "chat.json", "recovery brought the deleted session back")
			assert.NotContains(t, got, "chat.json.bak")
			for _, st := range append(r.Details, r.Orphans...) {
				assert.NotEqual(t, "chat", st.SessionID, "recovery saw the deleted session")
			}
		})
	}
}

// window plays another writer that acts on the session at the worst
// moment: just after the guard has opened key (and noted its version) and
// before the guard writes anything. act runs once, on the store under the
// window, the first time key is opened.
type window struct {
	store.Writer
	key string
	act func(ctx context.Context, s store.Writer) error

	mu    sync.Mutex
	acted bool
	err   error // act's
}

// writes is the act of an application that writes body to key, as a
// writer that knows nothing of the guard would.
func writes(key string, body []byte) func(ctx context.Context, s store.Writer) error {
	return func(ctx context.Context, s store.Writer) error {
		return s.Write(ctx, key, bytes.NewReader(body), store.WriteOptions{})
	}
}

func (w *window) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := w.Writer.Open(ctx, key)
	w.mu.Lock()
	defer w.mu.Unlock()
	if key != w.key || w.acted {
		return rc, err
	}
	w.acted = true
	var r io.ReadCloser
	if err == nil {
		// Read whole before the other writer acts, as any transport may have.
		b, rerr := io.ReadAll(rc)
		version := store.Version(rc)
		rc.Close()
		if rerr != nil {
			return nil, rerr
		}
		r = &versionedReader{Reader: bytes.NewReader(b), version: version}
	}
	w.err = w.act(ctx, w.Writer)
	return r, err
}

type versionedReader struct {
	*bytes.Reader
	version string
}

func (r *versionedReader) Close() error    { return nil }
func (r *versionedReader) Version() string { return r.version }

// versioned says whether s reports versions, without which no write can
// be conditional on one.
func versioned(t *testing.T, s store.Store, key string) bool {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	require.NoError(t, err)
	defer rc.Close()
	return store.Version(rc) != ""
}

func concurrentSaveNotOverwritten(t *testing.T, newStore NewStore) {
	theirs := indented(50) // the other writer's save, of a size no other document has
	for _, tc := range []struct {
		name    string
		objects map[string][]byte
		op      func(g *saveguard.Guard) error
		backup  []byte // what the backup holds after
	}{
		{"GrowingSave", map[string][]byte{"chat.json": recoverytest.Session(3)},
			func(g *saveguard.Guard) error { return g.Save(context.Background(), "chat", recoverytest.Session(4)) }, nil},
		{"ShrinkingSave", map[string][]byte{"chat.json": recoverytest.Session(3)},
			func(g *saveguard.Guard) error { return g.Save(context.Background(), "chat", stub) }, nil}, // the failed save withdrew its backup
		{"Shrink", map[string][]byte{"chat.json": recoverytest.Session(3), "chat.json.bak": recoverytest.Session(2)},
			func(g *saveguard.Guard) error { return g.Shrink(context.Background(), "chat", stub) }, nil},
		{"NewSession", map[string][]byte{},
			func(g *saveguard.Guard) error { return g.Save(context.Background(), "chat", recoverytest.Session(4)) }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := newStore(t, tc.objects)
			if _, exists := tc.objects["chat.json"]; exists && !versioned(t, inner, "chat.json") {
				t.Skip("the store reports no versions, so saveguard writes unconditionally (as documented)")
			}
			s := &window{Writer: inner, key: "chat.json", act: writes("chat.json", theirs)}
			err := tc.op(saveguard.New(s))
			require.True(t, s.acted, "the other writer never saved")
			require.NoError(t, s.err, "the other writer's save")
			require.ErrorIs(t, err, store.ErrChanged)
			assert.Contains(t, err.Error(), `session "chat"`)
			want := map[string][]byte{"chat.json": theirs}
			if tc.backup != nil {
				want["chat.json.bak"] = tc.backup
			}
			assert.Equal(t, want, storetest.Objects(t, inner), "the other writer's save survives")
		})
	}
}

// saveLosingARaceLeavesBackupAsItWas: a shrinking Save that fails because
// another writer saved the session after it read it leaves the backup byte
// for byte as it was, whether it had raised it or not.
func saveLosingARaceLeavesBackupAsItWas(t *testing.T, newStore NewStore) {
	theirs := indented(50)
	for _, tc := range []struct {
		name    string
		objects map[string][]byte
	}{
		{"NoBackup", map[string][]byte{"chat.json": indented(12)}},
		{"SmallerBackup", map[string][]byte{"chat.json": indented(12), "chat.json.bak": recoverytest.Session(3)}},
		{"LargerBackup", map[string][]byte{"chat.json": indented(12), "chat.json.bak": recoverytest.Session(40)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := newStore(t, tc.objects)
			if !versioned(t, inner, "chat.json") {
				t.Skip("the store reports no versions, so saveguard writes unconditionally (as documented)")
			}
			s := &window{Writer: inner, key: "chat.json", act: writes("chat.json", theirs)}
			err := saveguard.New(s).Save(context.Background(), "chat", recoverytest.Session(5))
			require.True(t, s.acted, "the other writer never saved")
			require.NoError(t, s.err, "the other writer's save")
			require.ErrorIs(t, err, store.ErrChanged)
			want := map[string][]byte{"chat.json": theirs}
			if bak, ok := tc.objects["chat.json.bak"]; ok {
				want["chat.json.bak"] = bak
				if msgcount.CountBytes(bak) < 12 {
					// Raised to the document that was live, and kept so: a
					// backup only grows (see the package doc).
					want["chat.json.bak"] = tc.objects["chat.json"]
				}
			}
			assert.Equal(t, want, storetest.Objects(t, inner), "the backup is as it was, or raised, byte for byte")
		})
	}
}

// concurrentBackupNotLowered: two shrinking Saves at once; the backup the
// other one wrote after this one read the backup is never overwritten, so
// that a Save acting on a stale read cannot lower it.
func concurrentBackupNotLowered(t *testing.T, newStore NewStore) {
	theirs := indented(50) // the backup the other Save wrote
	for _, tc := range []struct {
		name    string
		objects map[string][]byte
	}{
		{"OverABackup", map[string][]byte{"chat.json": indented(12), "chat.json.bak": recoverytest.Session(3)}},
		{"WhereThereWasNone", map[string][]byte{"chat.json": indented(12)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := newStore(t, tc.objects)
			if _, exists := tc.objects["chat.json.bak"]; exists && !versioned(t, inner, "chat.json.bak") {
				t.Skip("the store reports no versions, so saveguard replaces a backup unconditionally (as documented)")
			}
			s := &window{Writer: inner, key: "chat.json.bak", act: writes("chat.json.bak", theirs)}
			err := saveguard.New(s).Save(context.Background(), "chat", recoverytest.Session(5))
			require.True(t, s.acted, "the other writer never wrote the backup")
			require.NoError(t, s.err, "the other writer's backup")
			require.ErrorIs(t, err, store.ErrChanged)
			assert.Contains(t, err.Error(), `"chat.json.bak"`, "the error names the backup that changed")
			assert.Equal(t, map[string][]byte{"chat.json": indented(12), "chat.json.bak": theirs}, storetest.Objects(t, inner),
				"the other backup survives, and nothing was saved")
		})
	}
}

// shrinkOrDeleteRacingASaveNotUndone: a Shrink or Delete that runs while a
// shrinking Save is between its reads and its writes is never rolled back
// by the backup that Save makes: the Save fails, and recovery restores
// nothing.
func shrinkOrDeleteRacingASaveNotUndone(t *testing.T, newStore NewStore) {
	compressed := recoverytest.Session(2)
	shrink := func(ctx context.Context, s store.Writer) error {
		return saveguard.New(s).Shrink(ctx, "chat", compressed)
	}
	del := func(ctx context.Context, s store.Writer) error { return saveguard.New(s).Delete(ctx, "chat") }
	for _, tc := range []struct {
		name    string
		objects map[string][]byte
		at      string // the key whose read the other operation follows
		act     func(ctx context.Context, s store.Writer) error
		want    map[string][]byte
	}{
		{"ShrinkAfterLiveReadWithoutBackup", map[string][]byte{"chat.json": indented(12)},
			"chat.json", shrink, map[string][]byte{"chat.json": compressed}},
		{"ShrinkAfterLiveReadWithBackup", map[string][]byte{"chat.json": indented(12), "chat.json.bak": recoverytest.Session(3)},
			"chat.json", shrink, map[string][]byte{"chat.json": compressed}},
		{"ShrinkAfterBackupReadWithoutBackup", map[string][]byte{"chat.json": indented(12)},
			"chat.json.bak", shrink, map[string][]byte{"chat.json": compressed}},
		{"ShrinkAfterBackupReadWithBackup", map[string][]byte{"chat.json": indented(12), "chat.json.bak": recoverytest.Session(3)},
			"chat.json.bak", shrink, map[string][]byte{"chat.json": compressed}},
		{"DeleteAfterLiveRead", map[string][]byte{"chat.json": indented(12), "chat.json.bak": recoverytest.Session(3)},
			"chat.json", del, map[string][]byte{}},
		{"DeleteAfterBackupRead", map[string][]byte{"chat.json": indented(12)},
			"chat.json.bak", del, map[string][]byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := newStore(t, tc.objects)
			if !versioned(t, inner, "chat.json") {
				t.Skip("the store reports no versions, so saveguard writes unconditionally (as documented)")
			}
			s := &window{Writer: inner, key: tc.at, act: tc.act}
			err := saveguard.New(s).Save(context.Background(), "chat", recoverytest.Session(5))
			require.True(t, s.acted, "the other operation never ran")
			require.NoError(t, s.err, "the other operation")
			require.ErrorIs(t, err, store.ErrChanged)
			assert.Equal(t, tc.want, storetest.Objects(t, inner), "no backup left to roll the other operation back")
			r := recoverAll(t, inner)
			assert.False(t, restoredAnything(r), "recovery undid the other operation")
			assert.Equal(t, tc.want, storetest.Objects(t, inner))
		})
	}
}

// errDied is the error of every call made through a dying store after its
// process died.
var errDied = errors.New("the process died")

// dying is a store.Writer whose process dies just before its mutating
// call number cut+1 (counting from 1): that call and every later one, of
// any kind, fail with errDied and change nothing. It cuts an operation
// between any two of its steps, deterministically.
type dying struct {
	store.Writer
	mu        sync.Mutex
	cut       int // mutating calls allowed
	mutations int // mutating calls made
	dead      bool
}

func (d *dying) step(mutating bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if mutating && !d.dead && d.mutations == d.cut {
		d.dead = true
	}
	if d.dead {
		return errDied
	}
	if mutating {
		d.mutations++
	}
	return nil
}

func (d *dying) List(ctx context.Context, prefix string, fn func(store.Object) error) error {
	if err := d.step(false); err != nil {
		return err
	}
	return d.Writer.List(ctx, prefix, fn)
}

func (d *dying) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := d.step(false); err != nil {
		return nil, err
	}
	return d.Writer.Open(ctx, key)
}

func (d *dying) Replace(ctx context.Context, dst, src string) error {
	if err := d.step(true); err != nil {
		return err
	}
	return d.Writer.Replace(ctx, dst, src)
}

func (d *dying) Write(ctx context.Context, key string, r io.Reader, opts store.WriteOptions) error {
	if err := d.step(true); err != nil {
		return err
	}
	return d.Writer.Write(ctx, key, r, opts)
}

func (d *dying) Delete(ctx context.Context, key string, opts store.WriteOptions) error {
	if err := d.step(true); err != nil {
		return err
	}
	return d.Writer.Delete(ctx, key, opts)
}

func crashBetweenSteps(t *testing.T, newStore NewStore) {
	old, bak, compressed := recoverytest.Session(40), recoverytest.Session(30), recoverytest.Session(2)
	start := map[string][]byte{"chat.json": old, "chat.json.bak": bak}
	larger, theirs := recoverytest.Session(60), indented(50)
	for _, tc := range []struct {
		name  string
		start map[string][]byte
		// race, when set, is another writer's act, run just after the
		// operation has read the live document.
		race func(ctx context.Context, s store.Writer) error
		op   func(g *saveguard.Guard) error
		// end is what the operation returns when no cut stops it: nil, or
		// store.ErrChanged for one that loses a race.
		end error
		// steps is the number of mutating calls of an operation that no
		// cut stops.
		steps int
		// allowed are the states the store may be in after the cut and
		// after the recovery that follows it.
		allowed []map[string][]byte
		// restores is whether the recovery may restore (a shrinking Save's
		// backup is there to be restored).
		restores bool
		// says is what the operation's error says when it is cut after
		// so many mutating calls: what it left behind.
		says map[int]string
		// deletesConditionally is whether one step is a conditional
		// delete, asked again unconditionally of a store that refuses it.
		deletesConditionally bool
	}{
		{
			name:  "Shrink",
			start: start,
			op:    func(g *saveguard.Guard) error { return g.Shrink(context.Background(), "chat", compressed) },
			steps: 2,
			allowed: []map[string][]byte{
				start,                     // not started
				{"chat.json": old},        // backup retired, shrink not done: retry it
				{"chat.json": compressed}, // done
			},
		},
		{
			name:  "Delete",
			start: start,
			op:    func(g *saveguard.Guard) error { return g.Delete(context.Background(), "chat") },
			steps: 2,
			allowed: []map[string][]byte{
				start,              // not started
				{"chat.json": old}, // backup deleted, live not: retry the delete
				{},                 // done
			},
		},
		{
			// A bug's shrink through Save: whatever the cut, after recovery
			// the old document is live again.
			name:  "ShrinkingSave",
			start: start,
			op:    func(g *saveguard.Guard) error { return g.Save(context.Background(), "chat", stub) },
			steps: 2,
			allowed: []map[string][]byte{
				start,                                    // not started
				{"chat.json": old, "chat.json.bak": old}, // backed up, not saved
				{"chat.json": old, "chat.json.bak": old, "chat.json.replaced": stub}, // saved, then restored
			},
			restores: true,
			says:     map[int]string{1: `the backup "chat.json.bak" was left holding the document that was live`},
		},
		{
			// The second shrink of a cascade: the backup already holds
			// more messages, so the live write is the only step, and the
			// larger backup is what recovery brings back.
			name:  "ShrinkingSaveUnderALargerBackup",
			start: map[string][]byte{"chat.json": old, "chat.json.bak": larger},
			op:    func(g *saveguard.Guard) error { return g.Save(context.Background(), "chat", stub) },
			steps: 1,
			allowed: []map[string][]byte{
				{"chat.json": larger, "chat.json.bak": larger, "chat.json.replaced": old},  // not started, then restored
				{"chat.json": larger, "chat.json.bak": larger, "chat.json.replaced": stub}, // saved, then restored
			},
			restores: true,
		},
		{
			// Another writer saves between the Save's reads and its
			// writes: the Save raises the backup, its live write is
			// refused, and the raised backup stays (a backup only grows).
			name:  "ShrinkingSaveLosingARace",
			start: start,
			race:  writes("chat.json", theirs),
			op:    func(g *saveguard.Guard) error { return g.Save(context.Background(), "chat", stub) },
			end:   store.ErrChanged,
			steps: 2,
			allowed: []map[string][]byte{
				{"chat.json": theirs, "chat.json.bak": bak}, // not raised
				{"chat.json": theirs, "chat.json.bak": old}, // raised
			},
			says: map[int]string{2: `the backup "chat.json.bak" was raised to the document that was live`},
		},
		{
			// The same where there was no backup: the Save created one,
			// and puts it back (removes it), since the winner may be a
			// Shrink or Delete that found no backup to retire.
			name:  "ShrinkingSaveLosingARaceWithoutBackup",
			start: map[string][]byte{"chat.json": old},
			race:  writes("chat.json", theirs),
			op:    func(g *saveguard.Guard) error { return g.Save(context.Background(), "chat", stub) },
			end:   store.ErrChanged,
			steps: 3,
			allowed: []map[string][]byte{
				{"chat.json": theirs},                       // not created, or put back
				{"chat.json": theirs, "chat.json.bak": old}, // created, not put back: the crash's window (see the package doc)
			},
			says:                 map[int]string{2: `the backup "chat.json.bak" that this save had written could not be put back`},
			deletesConditionally: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for cut := 0; ; cut++ {
				inner := newStore(t, tc.start)
				s := inner
				if tc.race != nil {
					if !versioned(t, inner, "chat.json") {
						t.Skip("the store reports no versions, so saveguard writes unconditionally (as documented)")
					}
					s = &window{Writer: inner, key: "chat.json", act: tc.race}
				}
				d := &dying{Writer: s, cut: cut}
				err := tc.op(saveguard.New(d))
				finished := !errors.Is(err, errDied)
				if says, ok := tc.says[cut]; ok {
					require.Error(t, err)
					assert.Contains(t, err.Error(), says, "cut after %d mutating calls", cut)
				}
				if finished {
					if tc.end == nil {
						require.NoError(t, err, "cut after %d mutating calls", cut)
					} else {
						require.ErrorIs(t, err, tc.end, "cut after %d mutating calls", cut)
					}
				}

				r := recoverAll(t, inner) // the restarted process
				got := storetest.Objects(t, inner)
				assert.Contains(t, tc.allowed, got, "cut after %d mutating calls: the store after recovery", cut)
				assert.NotEqual(t, bak, got["chat.json"], "cut after %d: the backup of what was removed came back", cut)
				if !tc.restores {
					assert.False(t, restoredAnything(r), "cut after %d: recovery restored something", cut)
				}
				t.Logf("cut after %d mutating calls: finished %v, keys after recovery %v", cut, finished, slices.Sorted(maps.Keys(got)))
				if finished {
					require.Equal(t, d.mutations, cut, "the operation finished without reaching its cut")
					steps := tc.steps
					if tc.deletesConditionally && refusesConditionalDeletes(inner) {
						steps++ // the refused conditional delete, then the plain one
					}
					require.Equal(t, steps, cut, "the operation's mutating calls")
					break
				}
				require.Less(t, cut, 10, "the operation never finished")
			}
		})
	}
}

// refusesConditionalDeletes says whether s refuses IfVersion deletes.
func refusesConditionalDeletes(s store.Writer) bool {
	err := s.Delete(context.Background(), "saveguardtest-probe.json", store.WriteOptions{IfVersion: "probe"})
	return errors.Is(err, errors.ErrUnsupported)
}

func protectionLoop(t *testing.T, newStore NewStore) {
	s := newStore(t, map[string][]byte{})
	g := saveguard.New(s)
	ctx := context.Background()
	for _, n := range []int{1, 2, 10, 1000} {
		require.NoError(t, g.Save(ctx, "chat", recoverytest.Session(n)))
	}
	assert.Equal(t, map[string][]byte{"chat.json": recoverytest.Session(1000)}, storetest.Objects(t, s), "growth writes no backup")

	require.NoError(t, g.Save(ctx, "chat", stub), "the bug's save")
	assert.Equal(t, recoverytest.Session(1000), storetest.Read(t, s, "chat.json.bak"))

	r := recoverAll(t, s) // the application restarts
	require.Len(t, r.Details, 1)
	assert.True(t, r.Details[0].Restored)
	assert.Equal(t, recovery.Count(0), r.Details[0].LiveMessages)
	assert.Equal(t, recovery.Count(1000), r.Details[0].BakMessages)
	assert.Equal(t, recoverytest.Session(1000), storetest.Read(t, s, "chat.json"), "the session is whole again")

	r = recoverAll(t, s)
	assert.False(t, restoredAnything(r), "a second recovery has nothing to do")
}
