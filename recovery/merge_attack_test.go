package recovery_test

import (
	"context"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/recovery"
)

// memStore is an aferofs store on a fresh MemMapFs holding objects.
func memStore(t testing.TB, objects map[string][]byte) (*aferofs.Store, afero.Fs) {
	t.Helper()
	fsys := afero.NewMemMapFs()
	for key, b := range objects {
		require.NoError(t, afero.WriteFile(fsys, "/"+key, b, 0o644))
	}
	return aferofs.New(fsys, "/"), fsys
}

func readMem(t testing.TB, fsys afero.Fs, key string) []byte {
	t.Helper()
	b, err := afero.ReadFile(fsys, "/"+key)
	require.NoError(t, err)
	return b
}

// Real sessions carry top-level scalars ("created_at": 1712345678,
// "pinned": false). internal/messages' scanner moves to wantComma on the
// first byte of a top-level value and then refuses the second byte of any
// scalar longer than one byte, so the preview of such a session fails, and
// with Options.Merge a session the count rule restores is not restored at
// all ("could not be compared"): Merge makes recovery worse than without it.
func TestMergeOfASessionWithTopLevelScalars(t *testing.T) {
	for _, extra := range []string{`"created_at":1712345678`, `"pinned":false`, `"archived":true`, `"folder":null`, `"score":-1`, `"t":1.5`} {
		live := []byte(`{` + extra + `,"messages":[{"role":"user","content":"a"},{"role":"user","content":"x"}]}`)
		bak := []byte(`{` + extra + `,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"user","content":"c"}]}`)
		for _, merge := range []bool{false, true} {
			s, fsys := memStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak})
			r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{Merge: merge})
			require.NoError(t, err)
			require.Len(t, r.Details, 1)
			st := r.Details[0]
			if !assert.NoError(t, st.Err, "%s, Merge=%v", extra, merge) {
				continue
			}
			assert.True(t, st.Restored, "%s, Merge=%v", extra, merge)
			if merge {
				assert.True(t, st.Merged, extra)
				assert.Equal(t, `{`+extra+`,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"user","content":"c"},{"role":"user","content":"x"}]}`, string(readMem(t, fsys, "s.json")))
			}
		}
		// The preview alone.
		s, _ := memStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak})
		st, err := recovery.Preview(context.Background(), s, "s")
		require.NoError(t, err)
		if assert.NotNil(t, st.Diff) {
			assert.Empty(t, st.Diff.Error, extra)
		}
	}
}

// A merge is a restore that keeps the replaced bytes (Status.Restored,
// PreservedKey), but Undo puts a kept copy back only while the live
// document holds the backup's bytes, which a merge never does: a merge
// cannot be undone ("not the version a restore wrote ... never restored").
func TestUndoOfAMerge(t *testing.T) {
	live := []byte(`{"title":"now","messages":[{"role":"user","content":"a"},{"role":"user","content":"new 1"},{"role":"user","content":"new 2"}]}`)
	bak := []byte(`{"title":"t","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`)
	s, fsys := memStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak})
	r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{Merge: true})
	require.NoError(t, err)
	st := r.Details[0]
	require.NoError(t, st.Err)
	require.True(t, st.Merged)
	merged := readMem(t, fsys, "s.json")

	u, err := recovery.Undo(context.Background(), s, "s", recovery.UndoOptions{})
	require.NoError(t, err)
	if assert.NoError(t, u.Err, "undo of a merge") {
		assert.True(t, u.Undone)
		assert.Equal(t, st.PreservedKey, u.KeptKey)
		assert.Equal(t, live, readMem(t, fsys, "s.json"), "the merge undone")
		assert.Equal(t, merged, readMem(t, fsys, u.PreservedKey), "the merge kept")
	}
}
