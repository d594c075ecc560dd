package recovery_test

import (
	"context"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/recovery"
)

// Recover --session and the sweep keep the replaced bytes under the same
// name. Before listSession, both noted every key of the session's listing
// with Kept.Note, which counts "x.json.replaced.1" (so the next name is
// ".replaced.2"); listSession now filters with ForKept, which refuses
// N < 2, so the single recovery takes ".replaced" while the sweep takes
// ".replaced.2".
//
// FAILS at 2d938b4: single chat.json.replaced, sweep chat.json.replaced.2.
func TestSingleAndSweepTakeTheSameKeptName(t *testing.T) {
	open := func() *aferofs.Store {
		fsys := afero.NewMemMapFs()
		require.NoError(t, afero.WriteFile(fsys, "/chat.json", []byte(`{"messages":[]}`), 0o644))
		require.NoError(t, afero.WriteFile(fsys, "/chat.json.bak", []byte(`{"messages":[1,2,3]}`), 0o644))
		require.NoError(t, afero.WriteFile(fsys, "/chat.json.replaced.1", []byte(`{"messages":[1]}`), 0o644))
		return aferofs.New(fsys, "/")
	}
	ctx := context.Background()

	st, err := recovery.Recover(ctx, open(), "chat", recovery.Options{})
	require.NoError(t, err)

	r, err := recovery.RecoverAll(ctx, open(), recovery.Options{})
	require.NoError(t, err)
	require.Len(t, r.Details, 1)

	require.Equal(t, r.Details[0].PreservedKey, st.PreservedKey, "single vs sweep")
}
