package recoverytest

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

func init() {
	scenarios = append(scenarios,
		scenario{"MergeOfADivergedSession", mergeOfADivergedSession},
		scenario{"MergeOfAShrunkSessionKeepsNewerMessages", mergeOfAShrunkSessionKeepsNewerMessages},
		scenario{"MergeOfAPlainShrunkSessionIsTheRestore", mergeOfAPlainShrunkSessionIsTheRestore},
		scenario{"MergeLosesToASaveWhileItRuns", mergeLosesToASaveWhileItRuns},
		scenario{"MergeDryRunChangesNothing", mergeDryRunChangesNothing},
		scenario{"MergeIsUndone", mergeIsUndone},
	)
}

// messagesOf returns the messages of a session document, compacted.
func messagesOf(t *testing.T, b []byte) []string {
	t.Helper()
	var d struct{ Messages []json.RawMessage }
	require.NoError(t, json.Unmarshal(b, &d), "%s", b)
	out := make([]string, len(d.Messages))
	for i, m := range d.Messages {
		var c bytes.Buffer
		require.NoError(t, json.Compact(&c, m))
		out[i] = c.String()
	}
	return out
}

func merge(t *testing.T, s store.Store) recovery.Status {
	t.Helper()
	r := recoverAll(t, s, recovery.Options{Merge: true})
	return find(t, r, "s")
}

// The loss the count rule misses, merged: every message of both sides,
// once, the backup's first; the rest of the document is the live one's,
// byte for byte; the replaced bytes are kept and the backup is untouched.
func mergeOfADivergedSession(t *testing.T, newStore storetest.NewStore) {
	a, b, c := msg("user", "a"), msg("assistant", "b"), msg("user", "c")
	n1, n2, n3 := msg("user", "new 1"), msg("assistant", "new 2"), msg("user", "new 3")
	live := []byte("{\"title\": \"now\",\n \"messages\": [\n  " + a + ",\n  " + n1 + ",\n  " + n2 + ",\n  " + n3 + "\n ],\n \"model\": \"m2\"}\n")
	bak := doc(a, b, c)
	s := newStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak})
	st := merge(t, s)
	require.NoError(t, st.Err)
	assert.Equal(t, recovery.Merge, st.Recommend)
	assert.True(t, st.Restored)
	assert.True(t, st.Merged)
	want := "{\"title\": \"now\",\n \"messages\": [\n  " + a + "," + b + "," + c + ",\n  " + n1 + ",\n  " + n2 + ",\n  " + n3 + "\n ],\n \"model\": \"m2\"}\n"
	assert.Equal(t, want, string(storetest.Read(t, s, "s.json")))
	assert.Equal(t, live, storetest.Read(t, s, st.PreservedKey), "the replaced bytes are kept")
	assert.Equal(t, bak, storetest.Read(t, s, "s.json.bak"), "the backup is never modified")

	again := merge(t, s)
	assert.Equal(t, recovery.NoAction, again.Recommend, "merged: nothing left to bring back")
	assert.False(t, again.Restored)
}

// A session to restore whose live document has messages of its own: the
// merge is the backup's document with those after its messages, so a
// restore drops nothing.
func mergeOfAShrunkSessionKeepsNewerMessages(t *testing.T, newStore storetest.NewStore) {
	a, b, c, x := msg("user", "a"), msg("assistant", "b"), msg("user", "c"), msg("user", "typed after the wipe")
	live := []byte(`{"title":"wiped","messages":[` + a + `, ` + x + `]}`)
	bak := []byte(`{"title":"t","messages":[` + a + `, ` + b + `, ` + c + `],"model":"m"}`)
	s := newStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak})
	st := merge(t, s)
	require.NoError(t, st.Err)
	assert.Equal(t, recovery.Restore, st.Recommend)
	assert.True(t, st.Merged)
	got := storetest.Read(t, s, "s.json")
	assert.Equal(t, `{"title":"t","messages":[`+a+`, `+b+`, `+c+`, `+x+`],"model":"m"}`, string(got))
	assert.Equal(t, messagesOf(t, []byte(`{"messages":[`+a+`,`+b+`,`+c+`,`+x+`]}`)), messagesOf(t, got))
	assert.Equal(t, live, storetest.Read(t, s, st.PreservedKey))
	assert.Equal(t, bak, storetest.Read(t, s, "s.json.bak"))
}

// Where the live document holds nothing the backup lacks, the merge is the
// backup: a plain restore, byte for byte.
func mergeOfAPlainShrunkSessionIsTheRestore(t *testing.T, newStore storetest.NewStore) {
	live, bak := doc(msg("user", "a")), doc(msg("user", "a"), msg("user", "b"))
	s := newStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak})
	st := merge(t, s)
	require.NoError(t, st.Err)
	assert.True(t, st.Restored)
	assert.False(t, st.Merged, "a restore, not a merge")
	assert.Equal(t, bak, storetest.Read(t, s, "s.json"))
}

// A merge is written only over the live version it read: an application
// that saves after the live bytes are kept and before the merge is written
// wins, and nothing is lost.
func mergeLosesToASaveWhileItRuns(t *testing.T, newStore storetest.NewStore) {
	live, bak := doc(msg("user", "a"), msg("user", "new")), doc(msg("user", "a"), msg("user", "b"))
	base := newStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak})
	wr, ok := base.(store.Writer)
	if !ok || !reportsVersions(t, base, "s.json") {
		t.Skip("the store cannot write conditionally")
	}
	saved := doc(msg("user", "a"), msg("user", "new"), msg("user", "newer"))
	s := &SavesDuring{Writer: wr, Op: "keep", Key: "s.json" + recovery.PreservedSuffix, Save: func() {
		require.NoError(t, wr.Write(context.Background(), "s.json", bytes.NewReader(saved), store.WriteOptions{}))
	}}
	st := merge(t, s)
	require.True(t, s.Saved(), "the application saved")
	require.ErrorIs(t, st.Err, store.ErrChanged)
	assert.False(t, st.Restored)
	assert.False(t, st.Merged)
	assert.Equal(t, saved, storetest.Read(t, base, "s.json"), "the application's save stands")
	assert.Equal(t, live, storetest.Read(t, base, "s.json"+recovery.PreservedSuffix), "the bytes read are kept")
	assert.Equal(t, bak, storetest.Read(t, base, "s.json.bak"))
}

// A dry run with Merge reports what a merge run would do and writes nothing.
func mergeDryRunChangesNothing(t *testing.T, newStore storetest.NewStore) {
	files := map[string][]byte{
		"s.json": doc(msg("user", "new"), msg("user", "newer")), "s.json.bak": doc(msg("user", "old")),
	}
	s := newStore(t, files)
	r := recoverAll(t, s, recovery.Options{Merge: true, DryRun: true})
	st := find(t, r, "s")
	assert.Equal(t, recovery.Merge, st.Recommend)
	assert.False(t, st.Restored)
	assert.False(t, st.Merged)
	require.NotNil(t, st.Diff)
	for key, b := range files {
		assert.Equal(t, b, storetest.Read(t, s, key))
	}
}

// Undo takes a merge back as it takes back a restore: the live document is
// the merge of the kept copy and the backup, so the kept copy returns; a
// merge saved over since is not undone.
func mergeIsUndone(t *testing.T, newStore storetest.NewStore) {
	live, bak := doc(msg("user", "new"), msg("user", "newer")), doc(msg("user", "old"))
	s := newStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak})
	require.True(t, merge(t, s).Merged)
	merged := storetest.Read(t, s, "s.json")
	st, err := recovery.Undo(context.Background(), s, "s", recovery.UndoOptions{})
	require.NoError(t, err)
	require.NoError(t, st.Err)
	assert.True(t, st.Undone)
	assert.Equal(t, live, storetest.Read(t, s, "s.json"))
	assert.Equal(t, merged, storetest.Read(t, s, st.PreservedKey), "what the undo replaced is kept")

	if _, ok := s.(store.Writer); !ok {
		return // no save to make
	}
	s2 := newStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak})
	require.True(t, merge(t, s2).Merged)
	wr := s2.(store.Writer)
	saved := append(storetest.Read(t, s2, "s.json"), ' ')
	require.NoError(t, wr.Write(context.Background(), "s.json", bytes.NewReader(saved), store.WriteOptions{}))
	st, err = recovery.Undo(context.Background(), s2, "s", recovery.UndoOptions{})
	require.NoError(t, err)
	require.ErrorIs(t, st.Err, recovery.ErrNotRestoredVersion)
	assert.Equal(t, saved, storetest.Read(t, s2, "s.json"))
}
