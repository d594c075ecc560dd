package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// doc is a session document of the given message contents, roles
// alternating from "user".
func doc(contents ...string) string {
	msgs := make([]string, len(contents))
	for i, c := range contents {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		msgs[i] = `{"role":"` + role + `","content":"` + c + `"}`
	}
	return `{"messages":[` + strings.Join(msgs, ",") + `]}`
}

// diffStore has a shrunk session, a diverged one (wiped, then written
// past its backup's count) and one unchanged.
func diffStore(t *testing.T) string {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"shrunk.json": doc("hi"), "shrunk.json.bak": doc("hi", "hello", "plan a trip"),
		"diverged.json": doc("new 1", "new 2", "new 3"), "diverged.json.bak": doc("old 1", "old 2"),
		"same.json": doc("a", "b"), "same.json.bak": doc("a", "b"),
	})
	return dir
}

func TestScanDiff(t *testing.T) {
	dir := diffStore(t)
	before := snapshot(t, dir)
	code, out, errOut := cli(t, "scan", "--diff", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "brings back 2 messages: #1 assistant \"hello\" … #2 user \"plan a trip\"\n")
	assert.Contains(t, out, "diverged: not restored")
	assert.Contains(t, out, "brings back 2 messages: #0 user \"old 1\" … #1 assistant \"old 2\"\n")
	assert.Contains(t, out, "drops 3 messages: #0 user \"new 1\" … #2 user \"new 3\" (a restore keeps them in the .replaced copy)\n")
	assert.NotContains(t, out, "\nsame ", "an unchanged session is not worth a row")
	assert.Contains(t, out, "3 sessions scanned: 1 to restore, 0 without backup, 1 diverged.")
	assert.Equal(t, before, snapshot(t, dir))

	// Without --diff, the count rule alone: the diverged session is
	// nothing to do.
	code, out, _ = cli(t, "scan", dir)
	require.Equal(t, exitOK, code)
	assert.NotContains(t, out, "diverged")
	assert.NotContains(t, out, "brings back")
}

func TestScanDiffJSON(t *testing.T) {
	dir := diffStore(t)
	code, out, errOut := cli(t, "scan", "--diff", "--json", dir)
	require.Equal(t, exitOK, code, errOut)
	var report struct {
		Details []map[string]json.RawMessage `json:"details"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &report), out)
	got := map[string]string{}
	for _, d := range report.Details {
		var id, rec string
		require.NoError(t, json.Unmarshal(d["session_id"], &id))
		require.NoError(t, json.Unmarshal(d["recommend"], &rec))
		got[id] = rec + " " + string(d["diff"])
	}
	assert.Equal(t, map[string]string{
		"diverged": `merge {"dropped":{"count":3,"first":{"index":0,"role":"user","start":"new 1"},"last":{"index":2,"role":"user","start":"new 3"}},"returning":{"count":2,"first":{"index":0,"role":"user","start":"old 1"},"last":{"index":1,"role":"assistant","start":"old 2"}}}`,
		"same":     `no_action {"dropped":{"count":0},"returning":{"count":0}}`,
		"shrunk":   `restore {"dropped":{"count":0},"returning":{"count":2,"first":{"index":1,"role":"assistant","start":"hello"},"last":{"index":2,"role":"user","start":"plan a trip"}}}`,
	}, got)

	code, plain, _ := cli(t, "scan", "--json", dir)
	require.Equal(t, exitOK, code)
	assert.NotContains(t, plain, `"diff"`)
	assert.NotContains(t, plain, `"merge"`, "without --diff, the reference's advice")
}

// recover --diff restores what recover restores, and leaves a diverged
// session as it was.
func TestRecoverDiff(t *testing.T) {
	dir := diffStore(t)
	code, out, errOut := cli(t, "recover", "--diff", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "restored (replaced bytes kept as shrunk.json.replaced)\n")
	assert.Contains(t, out, "diverged: not restored")
	files := snapshot(t, dir)
	assert.Equal(t, doc("hi", "hello", "plan a trip"), files["shrunk.json"])
	assert.Equal(t, doc("new 1", "new 2", "new 3"), files["diverged.json"])
	assert.NotContains(t, files, "diverged.json.replaced")

	dir = diffStore(t)
	code, out, errOut = cli(t, "recover", "--diff", "--session", "shrunk", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "preview  brings back 2 messages")
}

// recover --merge merges the diverged session and a shrunk one with
// messages of its own, restores a plainly shrunk one, and says so; a dry
// run says what it would merge and changes nothing.
func TestRecoverMerge(t *testing.T) {
	dir := diffStore(t)
	writeFiles(t, dir, map[string]string{"typed.json": doc("hi", "typed after the wipe"), "typed.json.bak": doc("hi", "hello", "plan a trip")})
	before := snapshot(t, dir)
	code, out, errOut := cli(t, "recover", "--merge", "--dry-run", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, 2, strings.Count(out, "  to merge\n"), out)
	assert.Contains(t, out, "  to restore\n")
	assert.Contains(t, out, "keeps, after the backup's, 3 messages: #0 user \"new 1\" … #2 user \"new 3\"\n")
	assert.Contains(t, out, "4 sessions scanned: 3 to restore (2 by a merge), 0 without backup. Run 'sessionrecovery recover --merge' on the same location to restore.")
	assert.Equal(t, before, snapshot(t, dir))

	code, out, errOut = cli(t, "recover", "--merge", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "merged (replaced bytes kept as diverged.json.replaced)\n")
	assert.Contains(t, out, "merged (replaced bytes kept as typed.json.replaced)\n")
	assert.Contains(t, out, "restored (replaced bytes kept as shrunk.json.replaced)\n")
	assert.Contains(t, out, "4 sessions scanned: 3 restored (2 merged), 0 without backup.")
	files := snapshot(t, dir)
	assert.Equal(t, `{"messages":[{"role":"user","content":"old 1"},{"role":"assistant","content":"old 2"},{"role":"user","content":"new 1"},{"role":"assistant","content":"new 2"},{"role":"user","content":"new 3"}]}`, files["diverged.json"])
	assert.Equal(t, `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"plan a trip"},{"role":"assistant","content":"typed after the wipe"}]}`, files["typed.json"])
	assert.Equal(t, before["diverged.json"], files["diverged.json.replaced"])
	assert.Equal(t, before["diverged.json.bak"], files["diverged.json.bak"])

	code, out, errOut = cli(t, "recover", "--merge", "--json", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.NotContains(t, out, `"merged"`, "merged once: nothing left to merge")

	dir = diffStore(t)
	code, out, errOut = cli(t, "recover", "--merge", "--session", "diverged", "--json", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, `"merged":true,"recommend":"merge","restored":true`)
}

func TestInspectDiff(t *testing.T) {
	dir := diffStore(t)
	code, out, errOut := cli(t, "inspect", "--diff", dir, "diverged")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "advice   merge\n")
	assert.Contains(t, out, "next     sessionrecovery recover --merge --session diverged ")
	assert.Contains(t, out, "preview  brings back 2 messages: #0 user \"old 1\" … #1 assistant \"old 2\"\n")
	assert.Contains(t, out, "         drops 3 messages: #0 user \"new 1\"")

	code, out, _ = cli(t, "inspect", dir, "diverged")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "advice   no_action\n", "without --diff, the count rule")
	assert.NotContains(t, out, "preview")
}

// Message text reaches the terminal escaped, as ids do.
func TestDiffEscapesMessages(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"s.json": doc(), "s.json.bak": `{"messages":[{"role":"\u001b[31mroot","content":"\u001b]0;owned\u0007 text"}]}`,
	})
	code, out, errOut := cli(t, "inspect", "--diff", dir, "s")
	require.Equal(t, exitOK, code, errOut)
	assert.NotContains(t, out, "\x1b")
	assert.NotContains(t, out, "\x07")
	assert.Contains(t, out, `\x1b[31mroot`)
}
