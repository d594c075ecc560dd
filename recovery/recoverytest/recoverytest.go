// Package recoverytest runs the recovery scenarios against any store.Store,
// so that every backend shows it recovers sessions the same way:
//
//	recoverytest.Run(t, newStore) // newStore as for storetest.Run
//
// Each scenario is one subtest named for the behaviour it shows.
package recoverytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

// Session returns a session document holding n messages.
func Session(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"title":"chat","messages":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		fmt.Fprintf(&b, `{"role":%q,"content":"message %d: \u00e9t\u00e9 \"quoted\" \\ ünïcode 会话"}`, role, i)
	}
	b.WriteString(`],"model":"m"}`)
	return b.Bytes()
}

// Run runs every recovery scenario against stores made by newStore.
func Run(t *testing.T, newStore storetest.NewStore) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, newStore) })
	}
}

type scenario struct {
	name string
	run  func(t *testing.T, newStore storetest.NewStore)
}

var scenarios = []scenario{
	{"ShrunkSessionRestored", shrunkSessionRestored},
	{"StoreWithoutBackupsUntouched", storeWithoutBackupsUntouched},
	{"NothingToRestoreUntouched", nothingToRestoreUntouched},
	{"UnderscoreFilesSkipped", underscoreFilesSkipped},
	{"ListShapedDocumentCountsMinusOne", listShapedDocument},
	{"JSONReadingRules", jsonReadingRules},
	{"ReadFailureLeavesSessionAlone", readFailureLeavesSessionAlone},
	{"ShortReadIsAFailure", shortReadIsAFailure},
	{"ReplacedBytesPreserved", replacedBytesPreserved},
	{"SessionWithoutBackupNotRead", sessionWithoutBackupNotRead},
	{"OrphanReportedNotRestored", orphanReportedNotRestored},
	{"SessionsHandledConcurrently", sessionsHandledConcurrently},
	{"InvalidIDRefused", invalidIDRefused},
	{"SingleSession", singleSession},
	{"DryRunChangesNothing", dryRunChangesNothing},
	{"SecondRunRestoresNothing", secondRunRestoresNothing},
	{"NamesFollowTheReference", namesFollowTheReference},
	{"CancelledRunChangesNothing", cancelledRunChangesNothing},
	{"UndoPutsBackWhatARestoreReplaced", undoPutsBackWhatARestoreReplaced},
	{"UndoTakesTheLatestKeptCopy", undoTakesTheLatestKeptCopy},
	{"UndoRefusedAfterASave", undoRefusedAfterASave},
	{"UndoWithNothingToUndo", undoWithNothingToUndo},
	{"UndoDryRunChangesNothing", undoDryRunChangesNothing},
	{"UndoLosesToASaveWhileItRuns", undoLosesToASaveWhileItRuns},
}

func recoverAll(t *testing.T, s store.Store, opts recovery.Options) *recovery.Report {
	t.Helper()
	r, err := recovery.RecoverAll(context.Background(), s, opts)
	require.NoError(t, err)
	return r
}

func ids(sts []recovery.Status) []string {
	out := make([]string, len(sts))
	for i, st := range sts {
		out[i] = st.SessionID
	}
	return out
}

func find(t *testing.T, r *recovery.Report, id string) recovery.Status {
	t.Helper()
	for _, st := range r.Details {
		if st.SessionID == id {
			return st
		}
	}
	require.Failf(t, "session not in report", "%q not in %v", id, ids(r.Details))
	return recovery.Status{}
}

func shrunkSessionRestored(t *testing.T, newStore storetest.NewStore) {
	stub := []byte(`{"title":"chat","messages":[]}`)
	full := Session(1000)
	s := newStore(t, map[string][]byte{
		"chat.json":     stub,
		"chat.json.bak": full,
	})
	r := recoverAll(t, s, recovery.Options{})
	assert.Equal(t, 1, r.Scanned)
	assert.Equal(t, 1, r.Restored)
	st := find(t, r, "chat")
	assert.Equal(t, recovery.Count(0), st.LiveMessages)
	assert.Equal(t, recovery.Count(1000), st.BakMessages)
	assert.Equal(t, recovery.Restore, st.Recommend)
	assert.True(t, st.Restored)
	assert.NoError(t, st.Err)
	assert.Equal(t, "chat.json.replaced", st.PreservedKey)
	assert.Equal(t, map[string][]byte{
		"chat.json":          full,
		"chat.json.bak":      full,
		"chat.json.replaced": stub,
	}, storetest.Objects(t, s))
}

func storeWithoutBackupsUntouched(t *testing.T, newStore storetest.NewStore) {
	objects := map[string][]byte{
		"a.json":      Session(3),
		"b.json":      Session(0),
		"c.json":      []byte("not json"),
		"notes.txt":   []byte("hello"),
		"_index.json": []byte(`[{"id":"a"}]`),
	}
	s := newStore(t, objects)
	r := recoverAll(t, s, recovery.Options{})
	assert.Equal(t, 3, r.Scanned)
	assert.Zero(t, r.Restored)
	for _, st := range r.Details {
		assert.Equal(t, recovery.NoBackup, st.Recommend, st.SessionID)
		assert.Equal(t, recovery.NotCounted, st.LiveMessages, st.SessionID)
		assert.Equal(t, recovery.NotSession, st.BakMessages, st.SessionID)
	}
	r = recoverAll(t, s, recovery.Options{CountAll: true})
	assert.Equal(t, recovery.Count(3), find(t, r, "a").LiveMessages)
	assert.Equal(t, recovery.Count(0), find(t, r, "b").LiveMessages)
	assert.Equal(t, recovery.NotSession, find(t, r, "c").LiveMessages)
	assert.Equal(t, objects, storetest.Objects(t, s), "byte-identical after both runs")
}

func nothingToRestoreUntouched(t *testing.T, newStore storetest.NewStore) {
	objects := map[string][]byte{
		"equal.json":        Session(5),
		"equal.json.bak":    Session(5),
		"grew.json":         Session(9),
		"grew.json.bak":     Session(4),
		"badbak.json":       Session(2),
		"badbak.json.bak":   []byte(`{"messages":[1,2,3`),
		"listbak.json":      Session(0),
		"listbak.json.bak":  []byte(`[1,2,3]`),
		"nomsgbak.json":     Session(0),
		"nomsgbak.json.bak": []byte(`{"msgs":[1]}`),
	}
	s := newStore(t, objects)
	r := recoverAll(t, s, recovery.Options{})
	assert.Equal(t, 5, r.Scanned)
	assert.Zero(t, r.Restored)
	for _, st := range r.Details {
		assert.Equal(t, recovery.NoAction, st.Recommend, st.SessionID)
		assert.NoError(t, st.Err, st.SessionID)
	}
	assert.Equal(t, recovery.Count(-1), find(t, r, "badbak").BakMessages)
	assert.Equal(t, objects, storetest.Objects(t, s))
}

func underscoreFilesSkipped(t *testing.T, newStore storetest.NewStore) {
	objects := map[string][]byte{
		"_index.json":     []byte(`[{"session_id":"s"}]`),
		"_x.json":         Session(0),
		"_x.json.bak":     Session(7),
		"_settings.json":  []byte(`{"messages":[]}`),
		"s.json":          Session(1),
		"s.json.bak":      Session(2),
		"sub/t.json":      Session(0),
		"sub/t.json.bak":  Session(3),
		"x.JSON":          Session(0),
		"x.JSON.bak":      Session(3),
		"y.json.tmp":      Session(0),
		"y.json.tmp.bak":  Session(3),
		"z.json.replaced": Session(0),
	}
	s := newStore(t, objects)
	r := recoverAll(t, s, recovery.Options{CountAll: true})
	assert.Equal(t, []string{"s"}, ids(r.Details), "only s.json is a session of this store")
	assert.Empty(t, r.Orphans)
	want := maps(objects)
	want["s.json"] = objects["s.json.bak"]
	want["s.json.replaced"] = objects["s.json"]
	assert.Equal(t, want, storetest.Objects(t, s, "sub/"), "sub/t.json is not restored")
}

func maps(m map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func listShapedDocument(t *testing.T, newStore storetest.NewStore) {
	s := newStore(t, map[string][]byte{
		"l.json":     []byte(`[{"role":"user"},{"role":"assistant"}]`),
		"l.json.bak": Session(1),
		"m.json":     []byte(`[]`),
	})
	r := recoverAll(t, s, recovery.Options{CountAll: true})
	l := find(t, r, "l")
	assert.Equal(t, recovery.NotSession, l.LiveMessages)
	assert.Equal(t, recovery.Count(1), l.BakMessages)
	assert.True(t, l.Restored, "a backup with 1 message beats a live count of -1, as in the reference")
	assert.Equal(t, recovery.NotSession, find(t, r, "m").LiveMessages)
	assert.Equal(t, Session(1), storetest.Read(t, s, "l.json"))
}

// jsonRules maps documents to the count the reference gives them.
var jsonRules = []struct {
	name string
	doc  string
	want recovery.Count
}{
	{"plain", `{"messages":[1,2,3]}`, 3},
	{"empty messages", `{"messages":[]}`, 0},
	{"nested messages not counted", `{"a":{"messages":[1,2]},"messages":[{"messages":[1,2,3]}]}`, 1},
	{"NaN and infinities accepted", `{"messages":[NaN,Infinity,-Infinity]}`, 3},
	{"-NaN refused", `{"messages":[-NaN]}`, -1},
	{"last duplicate key wins (list)", `{"messages":{},"messages":[1,2]}`, 2},
	{"last duplicate key wins (not list)", `{"messages":[1,2],"messages":null}`, -1},
	{"keys compared after unescaping", `{"messag\u0065s":[1,2,3,4]}`, 4},
	{"escaped duplicate wins", `{"messages":[1],"\u006dessages":[1,2]}`, 2},
	{"control character in string refused", "{\"messages\":[\"a\tb\"]}", -1},
	{"escaped control character fine", `{"messages":["a\tb"]}`, 1},
	{"DEL in string fine", "{\"messages\":[\"a\x7fb\"]}", 1},
	{"byte-order mark refused", "\ufeff{\"messages\":[1]}", -1},
	{"invalid UTF-8 refused", "{\"messages\":[\"\xff\"]}", -1},
	{"encoded surrogate refused", "{\"messages\":[\"\xed\xa0\x80\"]}", -1},
	{"lone surrogate escape fine", `{"messages":["\ud800"]}`, 1},
	{"only whitespace may follow", `{"messages":[1]} x`, -1},
	{"form feed may not follow", "{\"messages\":[1]}\f", -1},
	{"whitespace around", " \t\r\n{\"messages\" : [ 1 , 2 ] }\n\r\t ", 2},
	{"trailing comma refused", `{"messages":[1,2,]}`, -1},
	{"messages not a list", `{"messages":"abc"}`, -1},
	{"no messages", `{"title":"x"}`, -1},
	{"top-level list", `[{"messages":[1]}]`, -1},
	{"4300-digit integer fine", `{"messages":[` + strings.Repeat("9", 4300) + `]}`, 1},
	{"4301-digit integer refused", `{"messages":[` + strings.Repeat("9", 4301) + `]}`, -1},
	{"long float fine", `{"messages":[` + strings.Repeat("9", 5000) + `.5]}`, 1},
	{"leading zero refused", `{"messages":[01]}`, -1},
	{"empty document", ``, -1},
	{"truncated", `{"messages":[1,2`, -1},
}

func jsonReadingRules(t *testing.T, newStore storetest.NewStore) {
	objects := map[string][]byte{}
	for i, rule := range jsonRules {
		objects[fmt.Sprintf("rule%02d.json", i)] = []byte(rule.doc)
	}
	s := newStore(t, objects)
	r := recoverAll(t, s, recovery.Options{CountAll: true})
	for i, rule := range jsonRules {
		st := find(t, r, fmt.Sprintf("rule%02d", i))
		assert.Equal(t, rule.want, st.LiveMessages, "%s: %q", rule.name, rule.doc)
		assert.NoError(t, st.Err, rule.name)
	}
}

func readFailureLeavesSessionAlone(t *testing.T, newStore storetest.NewStore) {
	objects := map[string][]byte{
		"openfails.json":     Session(3),
		"openfails.json.bak": Session(9),
		"midread.json":       Session(3),
		"midread.json.bak":   Session(9),
		"bakfails.json":      Session(0),
		"bakfails.json.bak":  Session(9),
		"healthy.json":       Session(0),
		"healthy.json.bak":   Session(2),
	}
	failure := errors.New("injected I/O failure")
	s := &faulty{Store: newStore(t, objects), fail: map[string]fault{
		"openfails.json":    {openErr: failure},
		"midread.json":      {readErr: failure, after: 10},
		"bakfails.json.bak": {readErr: io.ErrUnexpectedEOF, after: 5},
	}}
	r := recoverAll(t, s.wrapped(), recovery.Options{})
	assert.Equal(t, 3, r.Errors)
	assert.Equal(t, 1, r.Restored)
	for _, id := range []string{"openfails", "midread", "bakfails"} {
		st := find(t, r, id)
		assert.False(t, st.Restored, id)
		assert.Equal(t, recovery.NoAction, st.Recommend, id)
		require.Error(t, st.Err, id)
		assert.NotEmpty(t, st.Error, id)
	}
	assert.ErrorIs(t, find(t, r, "openfails").Err, failure)
	assert.ErrorIs(t, find(t, r, "midread").Err, failure)
	assert.Contains(t, find(t, r, "midread").Error, "midread.json")
	assert.ErrorIs(t, find(t, r, "bakfails").Err, io.ErrUnexpectedEOF)
	assert.Equal(t, recovery.NotCounted, find(t, r, "openfails").LiveMessages, "a failed read is not a count")
	assert.Equal(t, recovery.NotCounted, find(t, r, "bakfails").BakMessages)
	assert.Equal(t, recovery.NotCounted, find(t, r, "openfails").BakMessages, "a backup never read is not counted (null in JSON), not -1")

	want := maps(objects)
	want["healthy.json"] = objects["healthy.json.bak"]
	want["healthy.json.replaced"] = objects["healthy.json"]
	assert.Equal(t, want, storetest.Objects(t, s.Store))
}

// A read that ends early without an error looks like a whole, truncated
// document — one that counts -1, so that any backup would win. A file that
// grows while it is read may be half old, half new. The listed size gives
// both away.
func shortReadIsAFailure(t *testing.T, newStore storetest.NewStore) {
	objects := map[string][]byte{
		"cut.json":       Session(8),
		"cut.json.bak":   Session(3),
		"bak.json":       Session(1),
		"bak.json.bak":   Session(9),
		"grown.json":     Session(0),
		"grown.json.bak": Session(2),
	}
	s := &faulty{Store: newStore(t, objects), fail: map[string]fault{
		"cut.json":     {truncate: 20},
		"bak.json.bak": {truncate: 100},
		"grown.json":   {grow: "   "},
	}}
	r := recoverAll(t, s.wrapped(), recovery.Options{})
	assert.Equal(t, 3, r.Errors)
	assert.Zero(t, r.Restored)
	for _, id := range []string{"cut", "bak", "grown"} {
		st := find(t, r, id)
		assert.False(t, st.Restored, id)
		assert.ErrorContains(t, st.Err, "where the listing said", id)
	}
	assert.Equal(t, objects, storetest.Objects(t, s.Store))
}

func replacedBytesPreserved(t *testing.T, newStore storetest.NewStore) {
	first, second, third := []byte(`{"messages":[],"v":1}`), []byte(`{"messages":[1],"v":2}`), []byte(`{"messages":[],"v":3}`)
	s := newStore(t, map[string][]byte{
		"s.json":          first,
		"s.json.bak":      Session(4),
		"t.json":          second,
		"t.json.bak":      Session(4),
		"t.json.replaced": []byte("kept from an earlier run"),
		"third":           third,
	})
	r := recoverAll(t, s, recovery.Options{})
	assert.Equal(t, "s.json.replaced", find(t, r, "s").PreservedKey)
	assert.Equal(t, "t.json.replaced.2", find(t, r, "t").PreservedKey, "an existing copy is never overwritten")

	// The application shrinks the session again, and it is restored again.
	require.NoError(t, s.Replace(context.Background(), "s.json", "third"))
	st, err := recovery.Recover(context.Background(), s, "s", recovery.Options{})
	require.NoError(t, err)
	assert.Equal(t, "s.json.replaced.2", st.PreservedKey)
	got := storetest.Objects(t, s)
	assert.Equal(t, first, got["s.json.replaced"])
	assert.Equal(t, third, got["s.json.replaced.2"])
	assert.Equal(t, second, got["t.json.replaced.2"])
	assert.Equal(t, []byte("kept from an earlier run"), got["t.json.replaced"])
	assert.Equal(t, Session(4), got["s.json"])
	assert.Equal(t, Session(4), got["t.json"])
}

func sessionWithoutBackupNotRead(t *testing.T, newStore storetest.NewStore) {
	s := &faulty{Store: newStore(t, map[string][]byte{
		"lone.json":       Session(2),
		"paired.json":     Session(2),
		"paired.json.bak": Session(1),
	})}
	r := recoverAll(t, s.wrapped(), recovery.Options{})
	assert.Equal(t, recovery.NotCounted, find(t, r, "lone").LiveMessages)
	assert.Equal(t, []string{"paired.json", "paired.json.bak"}, s.opened(), "only the paired session was read")

	s.reset()
	r = recoverAll(t, s.wrapped(), recovery.Options{CountAll: true})
	assert.Equal(t, recovery.Count(2), find(t, r, "lone").LiveMessages)
	assert.Equal(t, []string{"lone.json", "paired.json", "paired.json.bak"}, s.opened())
}

func orphanReportedNotRestored(t *testing.T, newStore storetest.NewStore) {
	objects := map[string][]byte{
		"gone.json.bak":   Session(5),
		"broken.json.bak": []byte("{"),
		"live.json":       Session(1),
		"_sys.json.bak":   Session(5),
		"notes.bak":       []byte("x"),
	}
	s := newStore(t, objects)
	r := recoverAll(t, s, recovery.Options{})
	assert.Equal(t, []string{"live"}, ids(r.Details))
	assert.Equal(t, []string{"broken", "gone"}, ids(r.Orphans))
	gone := r.Orphans[1]
	assert.Equal(t, recovery.Count(5), gone.BakMessages)
	assert.Equal(t, recovery.NotSession, gone.LiveMessages)
	assert.False(t, gone.Restored)
	assert.Equal(t, objects, storetest.Objects(t, s), "orphans are left alone by default")

	r = recoverAll(t, s, recovery.Options{RestoreOrphans: true})
	assert.True(t, r.Orphans[1].Restored)
	assert.False(t, r.Orphans[0].Restored, "a backup that is not a session is not restored")
	assert.Zero(t, r.Restored, "Restored counts the sessions of Details")
	want := maps(objects)
	want["gone.json"] = objects["gone.json.bak"]
	assert.Equal(t, want, storetest.Objects(t, s))
}

func sessionsHandledConcurrently(t *testing.T, newStore storetest.NewStore) {
	const bound = 4
	objects := map[string][]byte{}
	for i := range 20 {
		objects[fmt.Sprintf("s%02d.json", i)] = Session(1)
		objects[fmt.Sprintf("s%02d.json.bak", i)] = Session(2)
	}
	s := &faulty{Store: newStore(t, objects), gate: newGate(bound)}
	r := recoverAll(t, s.wrapped(), recovery.Options{Concurrency: bound})
	assert.Equal(t, 20, r.Restored)
	assert.Equal(t, bound, s.gate.max, "the first %d reads were all in flight at once, and never more", bound)
	assert.False(t, s.gate.timedOut, "the gate had to give up waiting: sessions were not handled concurrently")
}

func invalidIDRefused(t *testing.T, newStore storetest.NewStore) {
	objects := map[string][]byte{"a.json": Session(0), "a.json.bak": Session(3), "_x.json": Session(0), "_x.json.bak": Session(1)}
	s := newStore(t, objects)
	for _, id := range []string{"", "..", ".", "../a", "a/b", "sub/a", "a\x00", "_x"} {
		_, err := recovery.Inspect(context.Background(), s, id)
		require.ErrorIs(t, err, recovery.ErrInvalidID, "inspect %q", id)
		assert.Contains(t, err.Error(), fmt.Sprintf("%q", id))
		_, err = recovery.Recover(context.Background(), s, id, recovery.Options{})
		require.ErrorIs(t, err, recovery.ErrInvalidID, "recover %q", id)
	}
	assert.Equal(t, objects, storetest.Objects(t, s))
}

func singleSession(t *testing.T, newStore storetest.NewStore) {
	objects := map[string][]byte{
		"a.json":          Session(0),
		"a.json.bak":      Session(3),
		"b.json":          Session(2),
		"orphan.json.bak": Session(2),
	}
	s := newStore(t, objects)
	ctx := context.Background()

	st, err := recovery.Inspect(ctx, s, "a")
	require.NoError(t, err)
	assert.Equal(t, recovery.Status{BakMessages: 3, LiveMessages: 0, Recommend: recovery.Restore, SessionID: "a", Key: "a.json", BackupKey: "a.json.bak"}, st)

	st, err = recovery.Inspect(ctx, s, "b")
	require.NoError(t, err)
	assert.Equal(t, recovery.Count(2), st.LiveMessages, "inspect reads a session without backup")
	assert.Equal(t, recovery.NoBackup, st.Recommend)

	st, err = recovery.Inspect(ctx, s, "missing")
	require.NoError(t, err)
	assert.ErrorIs(t, st.Err, store.ErrNotExist)

	st, err = recovery.Recover(ctx, s, "orphan", recovery.Options{})
	require.NoError(t, err)
	assert.False(t, st.Restored, "an orphan is restored only when asked")
	assert.Equal(t, objects, storetest.Objects(t, s), "inspect and a refused orphan change nothing")

	st, err = recovery.Recover(ctx, s, "a", recovery.Options{})
	require.NoError(t, err)
	assert.True(t, st.Restored)
	st, err = recovery.Recover(ctx, s, "orphan", recovery.Options{RestoreOrphans: true})
	require.NoError(t, err)
	assert.True(t, st.Restored)
	assert.Equal(t, Session(3), storetest.Read(t, s, "a.json"))
	assert.Equal(t, Session(2), storetest.Read(t, s, "orphan.json"))
}

func dryRunChangesNothing(t *testing.T, newStore storetest.NewStore) {
	objects := map[string][]byte{"a.json": Session(0), "a.json.bak": Session(3), "o.json.bak": Session(1)}
	s := newStore(t, objects)
	r := recoverAll(t, s, recovery.Options{DryRun: true, RestoreOrphans: true})
	assert.Equal(t, recovery.Restore, find(t, r, "a").Recommend)
	assert.False(t, find(t, r, "a").Restored)
	assert.Zero(t, r.Restored)
	assert.False(t, r.Orphans[0].Restored)
	assert.Equal(t, objects, storetest.Objects(t, s))
}

func secondRunRestoresNothing(t *testing.T, newStore storetest.NewStore) {
	s := newStore(t, map[string][]byte{"a.json": Session(1), "a.json.bak": Session(3)})
	assert.Equal(t, 1, recoverAll(t, s, recovery.Options{}).Restored)
	before := storetest.Objects(t, s)
	r := recoverAll(t, s, recovery.Options{})
	assert.Zero(t, r.Restored)
	assert.Equal(t, recovery.NoAction, find(t, r, "a").Recommend)
	assert.Equal(t, before, storetest.Objects(t, s))
}

func namesFollowTheReference(t *testing.T, newStore storetest.NewStore) {
	s := newStore(t, map[string][]byte{
		".json":               Session(0), // pathlib: no suffix, id ".json", backup ".json.json.bak"
		".json.json.bak":      Session(2),
		".hidden.json":        Session(0),
		".hidden.json.bak":    Session(1),
		"a.b.json":            Session(0),
		"a.b.json.bak":        Session(1),
		"with space.json":     Session(0),
		"with space.json.bak": Session(1),
		"会话.json":             Session(0),
		"会话.json.bak":         Session(1),
		"Case.json":           Session(0),
		"case.json":           Session(0),
		"case.json.bak":       Session(1),
		"a-b.json":            Session(0),
		"a.json":              Session(0),
		"a.json-x.json":       Session(0),
		"a.json-x.json.bak":   Session(1),
		"a.json.bak":          Session(1),
	})
	r := recoverAll(t, s, recovery.Options{})
	// In listing order: "a.json" after "a.json-x.json", the key it prefixes.
	assert.Equal(t, []string{".hidden", ".json", "Case", "a-b", "a.b", "a.json-x", "a", "case", "with space", "会话"}, ids(r.Details))
	restored := map[string]bool{}
	for _, st := range r.Details {
		restored[st.SessionID] = st.Restored
	}
	assert.Equal(t, map[string]bool{".hidden": true, ".json": true, "Case": false, "a": true, "a-b": false, "a.b": true,
		"a.json-x": true, "case": true, "with space": true, "会话": true}, restored)
	assert.Equal(t, Session(2), storetest.Read(t, s, ".json"))
}

func cancelledRunChangesNothing(t *testing.T, newStore storetest.NewStore) {
	objects := map[string][]byte{"a.json": Session(0), "a.json.bak": Session(3)}
	s := newStore(t, objects)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := recovery.RecoverAll(ctx, s, recovery.Options{})
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, r.Restored)
	assert.Equal(t, objects, storetest.Objects(t, s))
}

// fault is what a faulty store does to one key.
type fault struct {
	openErr  error // Open fails with it
	readErr  error // Read fails with it once after bytes have been read
	after    int
	truncate int    // Read ends, with io.EOF and no error, after this many bytes
	grow     string // Read returns these bytes after the object's: it grew
}

// faulty wraps a store: it records the keys opened, injects faults, and
// with a gate holds reads until enough run at once.
type faulty struct {
	store.Store
	fail map[string]fault
	gate *gate

	mu   sync.Mutex
	keys []string
}

func (f *faulty) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	f.mu.Lock()
	f.keys = append(f.keys, key)
	f.mu.Unlock()
	if f.gate != nil {
		f.gate.enter()
		defer f.gate.leave()
	}
	ft := f.fail[key]
	if ft.openErr != nil {
		return nil, fmt.Errorf("open %q: %w", key, ft.openErr)
	}
	rc, err := f.Store.Open(ctx, key)
	if err != nil {
		return rc, err
	}
	if ft.grow != "" {
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(rc, strings.NewReader(ft.grow)), rc}, nil
	}
	if ft.truncate > 0 {
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(rc, int64(ft.truncate)), rc}, nil
	}
	if ft.readErr == nil {
		return rc, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(io.LimitReader(rc, int64(ft.after)), errReader{ft.readErr}), rc}, nil
}

// wrapped is f as recovery should see it: a store.Writer when the store it
// wraps is one, and always a store.Linker, so that runs under faults take
// the paths (conditional writes, links) that runs without them take.
func (f *faulty) wrapped() store.Store {
	if w, ok := f.Store.(store.Writer); ok {
		return faultyWriter{f, w}
	}
	return f
}

// Link implements store.Linker with the wrapped store's Link, or fails as
// a store that cannot link does.
func (f *faulty) Link(ctx context.Context, dst, src, ifVersion string) error {
	if l, ok := f.Store.(store.Linker); ok {
		return l.Link(ctx, dst, src, ifVersion)
	}
	return fmt.Errorf("link %q to %q: %w", dst, src, errors.ErrUnsupported)
}

// faultyWriter is a faulty store over a store.Writer.
type faultyWriter struct {
	*faulty
	w store.Writer
}

func (f faultyWriter) Write(ctx context.Context, key string, r io.Reader, opts store.WriteOptions) error {
	return f.w.Write(ctx, key, r, opts)
}

func (f faultyWriter) Delete(ctx context.Context, key string, opts store.WriteOptions) error {
	return f.w.Delete(ctx, key, opts)
}

func (f *faulty) opened() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]string(nil), f.keys...)
	slices.Sort(out)
	return out
}

func (f *faulty) reset() {
	f.mu.Lock()
	f.keys = nil
	f.mu.Unlock()
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// gate holds the first n callers until n are inside at once, then lets
// everyone through, and records the most that were ever inside together.
type gate struct {
	n        int
	mu       sync.Mutex
	inside   int
	max      int
	open     chan struct{}
	timedOut bool
}

func newGate(n int) *gate { return &gate{n: n, open: make(chan struct{})} }

func (g *gate) enter() {
	g.mu.Lock()
	g.inside++
	g.max = max(g.max, g.inside)
	if g.inside == g.n {
		select {
		case <-g.open:
		default:
			close(g.open)
		}
	}
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-time.After(30 * time.Second):
		// A safety net so a serial implementation fails instead of hanging.
		g.mu.Lock()
		g.timedOut = true
		g.mu.Unlock()
	}
}

func (g *gate) leave() {
	g.mu.Lock()
	g.inside--
	g.mu.Unlock()
}
