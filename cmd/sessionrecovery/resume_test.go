package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/sessiongen"
)

// genStore writes the same generated store into a new directory each
// call.
func genStore(t *testing.T, sessions int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	genStoreAt(t, dir, sessions)
	return dir
}

// genStoreAt writes it into dir, after removing what dir holds.
func genStoreAt(t *testing.T, dir string, sessions int) {
	t.Helper()
	require.NoError(t, os.RemoveAll(dir))
	_, err := sessiongen.Write(dir, sessiongen.Shape{Sessions: sessions, BackupShare: 0.3, ShrunkShare: 0.3, MedianBytes: 1500, Sigma: 0.5, Seed: 4})
	require.NoError(t, err)
}

// cancelOnWrite cancels a run at its first write to stdout: the report
// has begun, and most sessions are still to come.
type cancelOnWrite struct {
	bytes.Buffer
	cancel context.CancelFunc
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	c.cancel()
	return c.Buffer.Write(p)
}

// journalEntries reads a journal's entries: for each id, how many times
// it was recorded finished, and how many cut short.
func journalEntries(t *testing.T, name string) (finished, cut map[string]int) {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	finished, cut = map[string]int{}, map[string]int{}
	for _, l := range lines[1:] {
		var e journalEntry
		require.NoError(t, json.Unmarshal([]byte(l), &e), l)
		switch {
		case e.Early, e.Intent: // written again at its turn; followed by its outcome
		case e.Cut:
			cut[string(e.ID)]++
		default:
			finished[string(e.ID)]++
		}
	}
	return finished, cut
}

func TestResumedRunEqualsOneRun(t *testing.T) {
	for _, args := range [][]string{
		{"recover", "--json", "--count-all"},
		{"recover", "--json", "--restore-orphans", "--concurrency", "3"},
		{"scan", "--json", "--count-all"},
		{"recover", "--verbose"}, // the table: kept copies named as one run names them
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			one := genStore(t, 1500)
			code, want, errOut := cli(t, append(args, one)...)
			require.Equal(t, exitOK, code, errOut)

			dir := genStore(t, 1500)
			jname := filepath.Join(t.TempDir(), "journal")
			ctx, cancel := context.WithCancel(context.Background())
			first := &cancelOnWrite{cancel: cancel}
			var errOut1 bytes.Buffer
			code = run(ctx, append(args, "--resume", jname, dir), first, &errOut1)
			require.Equal(t, exitErrors, code, "the first run is cut short: %s", errOut1.String())
			finished1, _ := journalEntries(t, jname)
			require.NotEmpty(t, finished1, "the first run finished some sessions")
			require.Less(t, len(finished1), 1500, "and not all")

			code, got, errOut := cli(t, append(args, "--resume", jname, dir)...)
			require.Equal(t, exitOK, code, errOut)
			assert.Equal(t, want, got, "the continued run reports what one run reports")
			assert.Equal(t, snapshot(t, one), snapshot(t, dir), "and leaves the store as one run leaves it")

			finished, _ := journalEntries(t, jname)
			for id, n := range finished {
				assert.Equal(t, 1, n, "%s was finished once, never redone", id)
			}
			code, again, errOut := cli(t, append(args, "--resume", jname, dir)...)
			require.Equal(t, exitOK, code, errOut)
			assert.Equal(t, want, again, "a finished journal reports its run again, reading nothing")
			finishedAgain, _ := journalEntries(t, jname)
			assert.Equal(t, finished, finishedAgain)
		})
	}
}

// recoveredWithJournal recovers a generated store twice: one, without a
// journal (want is its report), and dir, with the journal jname, whose
// lines (the header first, each with its newline) it returns.
func recoveredWithJournal(t *testing.T) (one, want, dir, jname string, lines []string) {
	t.Helper()
	one = genStore(t, 400)
	code, want, errOut := cli(t, "recover", "--json", one)
	require.Equal(t, exitOK, code, errOut)
	dir = genStore(t, 400)
	jname = filepath.Join(t.TempDir(), "journal")
	code, _, errOut = cli(t, "recover", "--json", "--resume", jname, dir)
	require.Equal(t, exitOK, code, errOut)
	b, err := os.ReadFile(jname)
	require.NoError(t, err)
	return one, want, dir, jname, strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
}

// landRestores makes in dir the restores that the journal entries record,
// as the run over one made them: the session's live document and its
// kept copy.
func landRestores(t *testing.T, one, dir string, entries []string) {
	t.Helper()
	for _, l := range entries {
		var e journalEntry
		require.NoError(t, json.Unmarshal([]byte(l), &e))
		for _, name := range []string{string(e.ID) + ".json", string(e.Preserved)} {
			b, err := os.ReadFile(filepath.Join(one, name))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
		}
	}
}

// A run killed after a restore, before the restore's turn in the report,
// has the restore in its journal all the same: the continued run reports
// it and does not make it again.
func TestResumeAfterAKillBetweenARestoreAndItsTurn(t *testing.T) {
	one, want, dir, jname, lines := recoveredWithJournal(t)
	// Cut the journal just after the tenth restore's early line, as a
	// kill there leaves it.
	early := 0
	for i, l := range lines {
		if strings.Contains(l, `"early":true`) {
			if early++; early == 10 {
				lines = lines[:i+1]
				break
			}
		}
	}
	require.Equal(t, 10, early)
	require.NoError(t, os.WriteFile(jname, []byte(strings.Join(lines, "")), 0o600))
	// The store as the killed run left it: a fresh copy with the restores
	// the kept lines record, as the run made them.
	genStoreAt(t, dir, 400)
	var made []string
	for _, l := range lines[1:] {
		if strings.Contains(l, `"early":true`) {
			made = append(made, l)
		}
	}
	landRestores(t, one, dir, made)
	code, got, errOut := cli(t, "recover", "--json", "--resume", jname, dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, want, got)
	assert.Equal(t, snapshot(t, one), snapshot(t, dir), "no restore made twice (a second would keep a .replaced.2)")
}

// A run killed after a restore's write landed and before its journal said
// so leaves only the restore's intent: the continued run finds the live
// document holding the backup's bytes, and reports the restore as one run
// does, rather than as a session with nothing to do.
func TestResumeAfterAKillBetweenARestoreAndItsJournalLine(t *testing.T) {
	one, want, dir, jname, lines := recoveredWithJournal(t)
	// Only the header and the first ten intents: every restore announced
	// was killed before any other line was written.
	kept := lines[:1]
	for _, l := range lines[1:] {
		if strings.Contains(l, `"intent":true`) && len(kept) < 11 {
			kept = append(kept, l)
		}
	}
	require.Len(t, kept, 11)
	// The second five were cut short as the run was stopped (SIGINT): their
	// status says so, and their writes landed all the same.
	for _, l := range kept[6:11] {
		var e journalEntry
		require.NoError(t, json.Unmarshal([]byte(l), &e))
		e.Intent, e.Cut = false, true
		b, err := json.Marshal(e)
		require.NoError(t, err)
		kept = append(kept, string(b)+"\n")
	}
	require.NoError(t, os.WriteFile(jname, []byte(strings.Join(kept, "")), 0o600))
	genStoreAt(t, dir, 400)
	landRestores(t, one, dir, kept[1:11])
	code, got, errOut := cli(t, "recover", "--json", "--resume", jname, dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, want, got)
	assert.Equal(t, snapshot(t, one), snapshot(t, dir))
}

func TestResumeRefusesAnotherRunsJournal(t *testing.T) {
	dir := sampleCopy(t)
	jname := filepath.Join(t.TempDir(), "journal")
	code, _, errOut := cli(t, "scan", "--resume", jname, dir)
	require.Equal(t, exitOK, code, errOut)
	before, err := os.ReadFile(jname)
	require.NoError(t, err)
	for _, args := range [][]string{
		{"recover", "--resume", jname, dir},
		{"scan", "--count-all", "--resume", jname, dir},
		{"scan", "--shard", "0/2", "--resume", jname, dir},
		{"scan", "--resume", jname, sampleCopy(t)},
	} {
		code, out, errOut := cli(t, args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.Empty(t, out)
		assert.Contains(t, errOut, "the journal of another run", "%v", args)
	}
	after, err := os.ReadFile(jname)
	require.NoError(t, err)
	assert.Equal(t, before, after, "a refused journal is left as it was")

	notJournal := filepath.Join(t.TempDir(), "notes.txt")
	require.NoError(t, os.WriteFile(notJournal, []byte("my notes\n"), 0o644))
	code, _, errOut = cli(t, "scan", "--resume", notJournal, dir)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "not a journal of sessionrecovery")
	b, _ := os.ReadFile(notJournal)
	assert.Equal(t, "my notes\n", string(b))
}

func TestResumeDropsATornLastLine(t *testing.T) {
	dir := genStore(t, 300)
	code, want, _ := cli(t, "scan", "--json", "--count-all", genStore(t, 300))
	require.Equal(t, exitOK, code)
	jname := filepath.Join(t.TempDir(), "journal")
	code, _, errOut := cli(t, "scan", "--json", "--count-all", "--resume", jname, dir)
	require.Equal(t, exitOK, code, errOut)
	b, err := os.ReadFile(jname)
	require.NoError(t, err)
	// A killed process leaves half a line: keep the first 100 entries
	// and half of the next.
	lines := strings.SplitAfter(string(b), "\n")
	torn := strings.Join(lines[:101], "") + lines[101][:len(lines[101])/2]
	require.NoError(t, os.WriteFile(jname, []byte(torn), 0o600))
	code, got, errOut := cli(t, "scan", "--json", "--count-all", "--resume", jname, dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, want, got)
	finished, _ := journalEntries(t, jname)
	assert.Len(t, finished, 300)
}

func TestResumeJournalInUseIsRefused(t *testing.T) {
	dir := sampleCopy(t)
	jname := filepath.Join(t.TempDir(), "journal")
	f, err := os.OpenFile(jname, os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))
	code, _, errOut := cli(t, "recover", "--resume", jname, dir)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "another run is using this journal")
}

func TestShardsMergeReportsCommand(t *testing.T) {
	dir := genStore(t, 800)
	code, want, _ := cli(t, "scan", "--json", "--count-all", dir)
	require.Equal(t, exitOK, code)
	var files []string
	for _, k := range []string{"0", "1", "2", "INDEX"} {
		t.Setenv("INDEX", "3")
		code, out, errOut := cli(t, "scan", "--json", "--count-all", "--shard", k+"/4", dir)
		require.Equal(t, exitOK, code, errOut)
		f := filepath.Join(t.TempDir(), "shard-"+k+".json")
		require.NoError(t, os.WriteFile(f, []byte(out), 0o644))
		files = append(files, f)
	}
	code, got, errOut := cli(t, append([]string{"merge-reports"}, files...)...)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, want, got)

	code, _, errOut = cli(t, "merge-reports", files[0], files[0])
	assert.Equal(t, exitErrors, code)
	assert.Contains(t, errOut, "is in both")
	code, _, errOut = cli(t, "merge-reports", filepath.Join(t.TempDir(), "missing.json"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "missing.json")
}

func TestShardFlagRefusesNonsense(t *testing.T) {
	dir := sampleCopy(t)
	t.Setenv("EMPTY_INDEX", "")
	t.Setenv("WORD_INDEX", "three")
	for _, v := range []string{"", "1", "/4", "4/", "4/4", "-1/4", "0/0", "0/-3", "0/1048577", "a-b/4", "EMPTY_INDEX/4", "WORD_INDEX/4", "0/4/2", "99999999999999999999/4"} {
		code, out, errOut := cli(t, "scan", "--shard", v, dir)
		assert.Equal(t, exitUsage, code, "--shard %q: %s", v, errOut)
		assert.Empty(t, out)
		assert.Contains(t, errOut, "--shard", v)
	}
}
