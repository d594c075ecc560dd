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
