package recoverytest

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

func init() {
	scenarios = append(scenarios,
		scenario{"DiffOfAShrunkSession", diffOfAShrunkSession},
		scenario{"DiffOfADivergedSession", diffOfADivergedSession},
		scenario{"DiffOfAnUnchangedSession", diffOfAnUnchangedSession},
		scenario{"DiffMatchesRepeatedMessagesInOrder", diffMatchesRepeatedMessagesInOrder},
		scenario{"DiffLeavesOutcomesAlone", diffLeavesOutcomesAlone},
		scenario{"DiffThatCannotBeMadeIsSaid", diffThatCannotBeMadeIsSaid},
		scenario{"DiffReadsTheLastMessagesMember", diffReadsTheLastMessagesMember},
	)
}

// doc is a session document of the given messages.
func doc(msgs ...string) []byte {
	return []byte(`{"title":"t","messages":[` + strings.Join(msgs, ",") + `],"model":"m"}`)
}

func msg(role, content string) string {
	return `{"role":"` + role + `","content":"` + content + `"}`
}

func diffOf(t *testing.T, newStore storetest.NewStore, live, bak []byte) recovery.Status {
	t.Helper()
	s := newStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak})
	st, err := recovery.Preview(context.Background(), s, "s")
	require.NoError(t, err)
	require.NoError(t, st.Err)
	require.NotNil(t, st.Diff, "both documents are sessions: a preview")
	require.Empty(t, st.Diff.Error)
	return st
}

func brief(i int, role, start string) *recovery.MessageBrief {
	return &recovery.MessageBrief{Index: i, Role: role, Start: start}
}

// A session cut short: the restore brings back the messages after the
// ones the live document kept, and drops none.
func diffOfAShrunkSession(t *testing.T, newStore storetest.NewStore) {
	m := []string{msg("user", "hello"), msg("assistant", "hi there"), msg("user", "plan a trip"), msg("assistant", "where to?"), msg("user", "Lisbon")}
	st := diffOf(t, newStore, doc(m[:2]...), doc(m...))
	assert.Equal(t, recovery.Restore, st.Recommend)
	assert.Equal(t, recovery.Diff{
		Returning: recovery.MessageRun{Count: 3, First: brief(2, "user", "plan a trip"), Last: brief(4, "user", "Lisbon")},
	}, *st.Diff)
}

// The loss the count rule misses: the session was wiped, the user went
// on, and the live document now has more messages than the backup. The
// count rule advises nothing; the preview finds the session to merge, and
// shows what a restore would bring back and what it would drop.
func diffOfADivergedSession(t *testing.T, newStore storetest.NewStore) {
	old := []string{msg("user", "a"), msg("assistant", "b"), msg("user", "c")}
	now := []string{msg("user", "a"), msg("user", "new 1"), msg("assistant", "new 2"), msg("user", "new 3")}
	st := diffOf(t, newStore, doc(now...), doc(old...))
	assert.Equal(t, recovery.Merge, st.Recommend, "the count rule says no_action")
	assert.False(t, st.Restored)
	assert.Equal(t, recovery.Diff{
		Returning: recovery.MessageRun{Count: 2, First: brief(1, "assistant", "b"), Last: brief(2, "user", "c")},
		Dropped:   recovery.MessageRun{Count: 3, First: brief(1, "user", "new 1"), Last: brief(3, "user", "new 3")},
	}, *st.Diff)
}

// Messages are the same when their JSON values are: member order, white
// space and escapes do not make a difference; the number 1 is not 1.0.
func diffOfAnUnchangedSession(t *testing.T, newStore storetest.NewStore) {
	live := doc(`{"role":"user","content":"\u00e9t\u00e9","n":1}`, `{ "content" : "x", "role" : "assistant" }`)
	bak := doc(`{"n":1,"content":"été","role":"user"}`, `{"role":"assistant","content":"x"}`)
	st := diffOf(t, newStore, live, bak)
	assert.Equal(t, recovery.Diff{}, *st.Diff)

	st = diffOf(t, newStore, doc(`{"n":1}`), doc(`{"n":1.0}`))
	assert.Equal(t, 1, st.Diff.Returning.Count, "1.0 is not 1")
	assert.Equal(t, 1, st.Diff.Dropped.Count)
}

// A message held twice on one side and once on the other is matched once:
// the later occurrence is the one dropped, or brought back.
func diffMatchesRepeatedMessagesInOrder(t *testing.T, newStore storetest.NewStore) {
	a, b := msg("user", "ok"), msg("assistant", "sure")
	st := diffOf(t, newStore, doc(a, a, b), doc(a, b, b))
	assert.Equal(t, recovery.Diff{
		Returning: recovery.MessageRun{Count: 1, First: brief(2, "assistant", "sure"), Last: brief(2, "assistant", "sure")},
		Dropped:   recovery.MessageRun{Count: 1, First: brief(1, "user", "ok"), Last: brief(1, "user", "ok")},
	}, *st.Diff)
}

// With Diff, a run restores what it restores without it, and reports the
// same but for the preview and the diverged session's advice, merge
// instead of no_action; nothing is written for that one.
func diffLeavesOutcomesAlone(t *testing.T, newStore storetest.NewStore) {
	files := map[string][]byte{
		"shrunk.json": doc(msg("user", "a")), "shrunk.json.bak": doc(msg("user", "a"), msg("user", "b")),
		"same.json": doc(msg("user", "a")), "same.json.bak": doc(msg("user", "a")),
		"nobak.json":    doc(msg("user", "a")),
		"diverged.json": doc(msg("user", "new"), msg("user", "newer")), "diverged.json.bak": doc(msg("user", "old")),
		"broken.json": []byte(`{"messages":`), "broken.json.bak": doc(msg("user", "a")),
	}
	plain := recoverAll(t, newStore(t, files), recovery.Options{})
	s := newStore(t, files)
	with := recoverAll(t, s, recovery.Options{Diff: true})
	require.Equal(t, len(plain.Details), len(with.Details))
	for i, st := range with.Details {
		switch st.SessionID {
		case "diverged":
			assert.Equal(t, recovery.Merge, st.Recommend)
			st.Recommend = recovery.NoAction
			fallthrough
		case "shrunk", "same":
			require.NotNil(t, st.Diff, st.SessionID)
		default:
			assert.Nil(t, st.Diff, "%s: not two sessions, no preview", st.SessionID)
		}
		st.Diff = nil
		assert.Equal(t, plain.Details[i], st)
	}
	assert.Equal(t, plain.Restored, with.Restored)
	for _, key := range []string{"diverged.json", "diverged.json.bak"} {
		assert.Equal(t, files[key], storetest.Read(t, s, key), "%s: a diverged session is not written", key)
	}
}

// A preview that cannot be made (here the backup changed between the
// count and the preview's read) says why, and the session's advice is what
// it is without the preview; a merge is not made without one.
func diffThatCannotBeMadeIsSaid(t *testing.T, newStore storetest.NewStore) {
	live, bak := doc(msg("user", "a")), doc(msg("user", "a"), msg("user", "b"))
	s := &secondReadDiffers{Store: newStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak}), key: "s.json.bak"}
	st, err := recovery.Preview(context.Background(), s, "s")
	require.NoError(t, err)
	assert.NoError(t, st.Err)
	assert.Equal(t, recovery.Restore, st.Recommend)
	require.NotNil(t, st.Diff)
	assert.Contains(t, st.Diff.Error, `"s.json.bak"`)
	assert.Contains(t, st.Diff.Error, "changed since it was counted")

	s.opens.Store(0)
	r := recoverAll(t, s, recovery.Options{Merge: true})
	st = find(t, r, "s")
	assert.False(t, st.Restored)
	require.Error(t, st.Err)
	assert.Contains(t, st.Err.Error(), "could not be compared, so nothing was merged or restored")
	assert.Equal(t, live, storetest.Read(t, s.Store, "s.json"))
}

// secondReadDiffers is a store whose key, from its second Open on, reads
// with one byte changed: a document saved again, to the same size, between
// two reads.
type secondReadDiffers struct {
	store.Store
	key   string
	opens atomic.Int32
}

func (s *secondReadDiffers) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.Store.Open(ctx, key)
	if err != nil || key != s.key || s.opens.Add(1) == 1 {
		return rc, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	b = bytes.Replace(b, []byte(`"b"`), []byte(`"c"`), 1)
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Of several "messages" members, the last counts, on both sides, as
// Python reads a document: the preview and the merge compare those.
func diffReadsTheLastMessagesMember(t *testing.T, newStore storetest.NewStore) {
	a, b, x := msg("user", "a"), msg("user", "b"), msg("user", "x")
	live := []byte(`{"messages":[` + b + `,` + x + `],"messages":[` + a + `]}`)
	bak := []byte(`{"messages":[` + x + `,` + x + `],"messages":[` + a + `,` + b + `]}`)
	st := diffOf(t, newStore, live, bak)
	assert.Equal(t, recovery.Diff{
		Returning: recovery.MessageRun{Count: 1, First: brief(1, "user", "b"), Last: brief(1, "user", "b")},
	}, *st.Diff)

	s := newStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak})
	r := recoverAll(t, s, recovery.Options{Merge: true})
	st = find(t, r, "s")
	require.NoError(t, st.Err)
	assert.False(t, st.Merged, "the live document's last messages are all in the backup: a restore")
	assert.Equal(t, bak, storetest.Read(t, s, "s.json"))

	// Diverged: the merge goes into the live document's last array, the
	// earlier one kept as it is.
	n1, n2 := msg("user", "n1"), msg("user", "n2")
	live = []byte(`{"messages":[` + x + `],"t":1,"messages":[` + a + `,` + n1 + `,` + n2 + `]}`)
	bak = []byte(`{"messages":[` + a + `,` + b + `]}`)
	s = newStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak})
	st = find(t, recoverAll(t, s, recovery.Options{Merge: true}), "s")
	require.NoError(t, st.Err)
	assert.True(t, st.Merged)
	assert.Equal(t, `{"messages":[`+x+`],"t":1,"messages":[`+a+`,`+b+`,`+n1+`,`+n2+`]}`, string(storetest.Read(t, s, "s.json")))
}
