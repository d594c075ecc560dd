//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/crashtest"
	"github.com/c0fe5641/sessionrecovery/recovery"
)

// The bounds of TestCrashConsistency.
const (
	crashTrials = 50                // trials wanted
	crashBudget = 150 * time.Second // fewer trials if the test has run this long (a loaded machine)
)

// crashConcurrency are the --concurrency values the trials cycle through.
var crashConcurrency = []int{1, 2, 4, 8, 16, 32}

var (
	// tempFileRE matches the local backend's temporary files,
	// fileops.TempName: "." + destination name + ".tmp-" + 16 hex digits.
	tempFileRE = regexp.MustCompile(`^\.(.+)\.tmp-[0-9a-f]{16}$`)
	// preservedRE matches a preserved copy: "<id>.json.replaced[.N]".
	preservedRE = regexp.MustCompile(`^(.+)\.json\.replaced(?:\.[0-9]+)?$`)
)

// TestCrashConsistency kills `sessionrecovery recover` with SIGKILL at
// random moments of a run over a local directory and checks that the store
// is never torn: every live document holds its old bytes or its backup's,
// backups never change, every preserved copy is whole, and the only other
// files a kill leaves are the backend's temporary files. A run to
// completion afterwards then finishes the recovery. It ignores those
// temporary files, which are not sessions (their names do not end in
// ".json") and never appear in a report: they are safe to delete.
func TestCrashConsistency(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	bin := buildCLI(ctx, t)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0x5e55))
	t.Logf("seed %d", seed)
	cs := newCrashStore(rng)
	scratch := crashtest.ScratchDir(t, "sessionrecovery-crash-")
	t.Logf("store: %d sessions (%d shrunk), %d files, %d bytes, in %s",
		len(cs.ids), len(cs.shrunk), len(cs.files), cs.size(), scratch)

	// One uninterrupted run per concurrency tells how long a run lasts, so
	// that the kills can land anywhere in one.
	full := map[int]time.Duration{}
	for _, n := range crashConcurrency {
		dir := filepath.Join(scratch, "full-"+strconv.Itoa(n))
		cs.writeTo(t, dir)
		began := time.Now()
		code, out, errOut := runCLIProcess(ctx, bin, "recover", "--concurrency", strconv.Itoa(n), dir)
		full[n] = time.Since(began)
		require.Equal(t, exitOK, code, "%s%s", out, errOut)
		got := readStore(t, dir)
		f := cs.checkCrashed(got)
		require.Empty(t, f.violations, "uninterrupted run at --concurrency %d", n)
		require.Empty(t, f.temps, "an uninterrupted run leaves no temporary file")
		require.Equal(t, len(cs.shrunk), f.restored, "an uninterrupted run restores every shrunk session")
		require.NoError(t, os.RemoveAll(dir))
	}
	t.Logf("uninterrupted runs: %v", full)

	var (
		trials, killed, checked, restores, preservedOnly, temps, torn, maxConc int
	)
	for trials < crashTrials && time.Since(start) < crashBudget && !t.Failed() {
		trial := trials
		trials++
		n := crashConcurrency[trial%len(crashConcurrency)]
		maxConc = max(maxConc, n)
		dir := filepath.Join(scratch, fmt.Sprintf("trial-%02d", trial))
		cs.writeTo(t, dir)

		// The random delay is the point of the test: a kill anywhere in a
		// run, or just after it.
		delay := time.Duration(rng.Int64N(int64(full[n]) * 6 / 5))
		wasKilled, code, output := runAndKill(ctx, t, bin, dir, n, delay)
		if wasKilled {
			killed++
		} else {
			require.Equal(t, exitOK, code, "trial %d: a run that was not killed completes: %s", trial, output)
		}

		f := cs.checkCrashed(readStore(t, dir))
		checked += len(cs.ids)
		restores += f.restored
		preservedOnly += f.preservedOnly
		temps += len(f.temps)
		torn += len(f.violations)
		if !assert.Empty(t, f.violations, "trial %d (--concurrency %d, kill at %v): the store is torn", trial, n, delay) {
			break
		}

		cs.checkFollowUps(ctx, t, bin, dir, trial, f)
		require.NoError(t, os.RemoveAll(dir))
	}

	if trials < crashTrials && !t.Failed() {
		t.Logf("time bound of %v hit after %d trials", crashBudget, trials)
	}
	t.Logf("trials run: %d", trials)
	t.Logf("killed mid-run: %d (the others had exited by themselves)", killed)
	t.Logf("sessions checked: %d", checked)
	t.Logf("restores observed after kills: %d of %d shrunk sessions", restores, trials*len(cs.shrunk))
	t.Logf("sessions preserved but not yet restored at the kill: %d", preservedOnly)
	t.Logf("temporary files left behind: %d", temps)
	t.Logf("max concurrency: %d", maxConc)
	t.Logf("crash test: %d trials, %d killed mid-run, %d sessions checked, %d torn files", trials, killed, checked, torn)
}

// crashStore is the pristine store every trial starts from.
type crashStore struct {
	files  map[string][]byte // every file's original bytes, by name
	ids    []string          // every session, sorted
	shrunk map[string]bool   // the sessions whose backup has more messages
}

// newCrashStore makes a store of sessions that a bug shrank (a live stub of
// 0 to 2 messages, a backup of a few KB to about 100 KB, some with a copy
// preserved by an earlier run), healthy sessions whose backup is older, and
// sessions without backup, in random order, plus an application file.
func newCrashStore(rng *rand.Rand) *crashStore {
	cs := &crashStore{files: map[string][]byte{}, shrunk: map[string]bool{}}
	kinds := slices.Concat(
		slices.Repeat([]string{"shrunk"}, 380),
		slices.Repeat([]string{"shrunk, preserved before"}, 20),
		slices.Repeat([]string{"healthy"}, 50),
		slices.Repeat([]string{"no backup"}, 40),
	)
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	for i, kind := range kinds {
		id := fmt.Sprintf("sess-%04d", i)
		live := id + ".json"
		cs.ids = append(cs.ids, id)
		switch kind {
		case "shrunk", "shrunk, preserved before":
			cs.shrunk[id] = true
			size := int(2048 * math.Pow(50, rng.Float64())) // 2 KB to 100 KB
			msgs := crashMessages(rng, 3+rng.IntN(30), size)
			cs.files[live+".bak"] = crashDocument(id+" before the bug", msgs)
			cs.files[live] = crashDocument(id+" after the bug", msgs[:rng.IntN(3)])
			if kind == "shrunk, preserved before" {
				cs.files[live+".replaced"] = crashDocument(id+" replaced by an earlier run", msgs[:1])
			}
		case "healthy":
			msgs := crashMessages(rng, 1+rng.IntN(10), 4096)
			cs.files[live+".bak"] = crashDocument(id+" older", msgs[:len(msgs)/2])
			cs.files[live] = crashDocument(id+" newer", msgs)
		case "no backup":
			cs.files[live] = crashDocument(id, crashMessages(rng, rng.IntN(6), 2048))
		}
	}
	index, _ := json.Marshal(cs.ids)
	cs.files["_index.json"] = index
	return cs
}

type crashMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// crashMessages makes n messages of about size bytes in all.
func crashMessages(rng *rand.Rand, n, size int) []crashMessage {
	msgs := make([]crashMessage, n)
	for i := range msgs {
		text := make([]byte, size/max(n, 1))
		for j := range text {
			text[j] = "abcdefghijklmnopqrstuvwxyz      "[rng.IntN(32)]
		}
		msgs[i] = crashMessage{Role: []string{"user", "assistant"}[i%2], Content: string(text)}
	}
	return msgs
}

func crashDocument(title string, msgs []crashMessage) []byte {
	b, err := json.Marshal(struct {
		Title    string         `json:"title"`
		Messages []crashMessage `json:"messages"`
	}{title, msgs})
	if err != nil {
		panic(err)
	}
	return b
}

func (cs *crashStore) size() int {
	n := 0
	for _, b := range cs.files {
		n += len(b)
	}
	return n
}

// writeTo writes the pristine store to dir, which must not exist.
func (cs *crashStore) writeTo(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.Mkdir(dir, 0o755))
	for name, b := range cs.files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
}

// crashFindings is what checkCrashed found in a store.
type crashFindings struct {
	restored      int               // shrunk sessions holding their backup's bytes
	preservedOnly int               // shrunk sessions preserved, not yet restored
	preserved     map[string]bool   // shrunk sessions with a new preserved copy
	pending       []string          // shrunk sessions still holding their old bytes
	temps         map[string][]byte // the backend's temporary files
	violations    []string          // what is torn, with the bytes found
}

// checkCrashed checks the invariants a kill must never break, on the files
// of a store by name.
func (cs *crashStore) checkCrashed(got map[string][]byte) crashFindings {
	f := crashFindings{temps: map[string][]byte{}, preserved: map[string]bool{}}
	bad := func(format string, a ...any) { f.violations = append(f.violations, fmt.Sprintf(format, a...)) }
	for name, b := range got {
		orig, isOriginal := cs.files[name]
		id, isLive := strings.CutSuffix(name, ".json")
		switch {
		case isOriginal && isLive && cs.shrunk[id]:
			switch bak := cs.files[name+".bak"]; {
			case bytes.Equal(b, bak):
				f.restored++
			case !bytes.Equal(b, orig):
				bad("%s holds %s: neither its original (%s) nor its backup's (%s)", name, describe(b), describe(orig), describe(bak))
			}
		case isOriginal:
			if !bytes.Equal(b, orig) {
				bad("%s changed: holds %s, was %s", name, describe(b), describe(orig))
			}
		case preservedRE.MatchString(name) && cs.shrunk[preservedRE.FindStringSubmatch(name)[1]]:
			id := preservedRE.FindStringSubmatch(name)[1]
			f.preserved[id] = true
			if want := cs.files[id+".json"]; !bytes.Equal(b, want) {
				bad("preserved copy %s holds %s, not the live bytes it replaced (%s)", name, describe(b), describe(want))
			}
		case tempFileRE.MatchString(name) && cs.mayReplace(tempFileRE.FindStringSubmatch(name)[1]):
			f.temps[name] = b
		default:
			bad("unexpected file %s (%s)", name, describe(b))
		}
	}
	for name := range cs.files {
		if _, ok := got[name]; !ok {
			bad("%s is missing", name)
		}
	}
	for _, id := range cs.ids {
		if cs.shrunk[id] && bytes.Equal(got[id+".json"], cs.files[id+".json"]) {
			f.pending = append(f.pending, id)
			if f.preserved[id] {
				f.preservedOnly++
			}
		}
	}
	slices.Sort(f.violations)
	return f
}

// mayReplace says whether recovery may replace name in this store: the live
// document of a shrunk session, or a preserved copy of one.
func (cs *crashStore) mayReplace(name string) bool {
	if id, ok := strings.CutSuffix(name, ".json"); ok && cs.shrunk[id] {
		return true
	}
	m := preservedRE.FindStringSubmatch(name)
	return m != nil && cs.shrunk[m[1]] && cs.files[name] == nil
}

// checkFollowUps runs recover to completion after a kill, twice, and checks
// that the first finishes the recovery, ignoring the temporary files, and
// the second finds nothing to do.
func (cs *crashStore) checkFollowUps(ctx context.Context, t *testing.T, bin, dir string, trial int, crashed crashFindings) {
	t.Helper()
	code, out, errOut := runCLIProcess(ctx, bin, "recover", "--json", dir)
	require.Equal(t, exitOK, code, "trial %d: follow-up run: %s%s", trial, out, errOut)
	var report recovery.Report
	require.NoError(t, json.Unmarshal([]byte(out), &report), "trial %d: %s", trial, out)
	assert.Equal(t, len(cs.ids), report.Scanned, "trial %d", trial)
	assert.Empty(t, report.Orphans, "trial %d", trial)
	var ids, restored, failed []string
	for _, st := range report.Details {
		ids = append(ids, st.SessionID)
		if st.Restored {
			restored = append(restored, st.SessionID)
		}
		if st.Error != "" {
			failed = append(failed, st.SessionID+": "+st.Error)
		}
	}
	assert.Equal(t, cs.ids, ids, "trial %d: the sessions, and no temporary file", trial)
	assert.Equal(t, crashed.pending, restored, "trial %d: the follow-up restores what the kill left", trial)
	assert.Equal(t, len(crashed.pending), report.Restored, "trial %d", trial)
	assert.Empty(t, failed, "trial %d", trial)

	after := readStore(t, dir)
	f := cs.checkCrashed(after)
	assert.Empty(t, f.violations, "trial %d: after the follow-up run", trial)
	assert.Equal(t, len(cs.shrunk), f.restored, "trial %d: every shrunk session restored", trial)
	assert.Equal(t, crashed.temps, f.temps, "trial %d: temporary files are left as they were", trial)
	for id := range cs.shrunk {
		assert.True(t, f.preserved[id], "trial %d: %s's replaced bytes are kept", trial, id)
	}

	code, out, errOut = runCLIProcess(ctx, bin, "recover", "--json", dir)
	require.Equal(t, exitOK, code, "trial %d: second follow-up run: %s%s", trial, out, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &report), "trial %d: %s", trial, out)
	assert.Zero(t, report.Restored, "trial %d: the second follow-up restores nothing", trial)
	assert.True(t, maps.EqualFunc(after, readStore(t, dir), bytes.Equal), "trial %d: the second follow-up changes nothing", trial)
}

// describe names bytes briefly for a failure message.
func describe(b []byte) string {
	if b == nil {
		return "nothing"
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%d bytes, sha256 %x…, starting %q", len(b), sum[:8], b[:min(len(b), 48)])
}

// readStore reads every file of a flat store directory, by name.
func readStore(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	got := make(map[string][]byte, len(entries))
	for _, e := range entries {
		require.True(t, e.Type().IsRegular(), "%s in %s is not a regular file", e.Name(), dir)
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		got[e.Name()] = b
	}
	return got
}

// buildCLI builds the command into a temporary directory.
func buildCLI(ctx context.Context, t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go tool is needed to build the command: %v", err)
	}
	wd, err := os.Getwd()
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "sessionrecovery")
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".")
	cmd.Dir = wd
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// runCLIProcess runs the built command to completion.
func runCLIProcess(ctx context.Context, bin string, args ...string) (code int, stdout, stderr string) {
	return runCLIProcessIn(ctx, "", bin, args...)
}

// runCLIProcessIn is runCLIProcess in the working directory dir ("": this
// process's).
func runCLIProcessIn(ctx context.Context, dir, bin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if exitErr := (*exec.ExitError)(nil); err != nil && !errors.As(err, &exitErr) {
		return -1, out.String(), err.Error()
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// runAndKill starts `recover --concurrency n dir` and sends it SIGKILL
// after delay, unless it has exited by then. It reports whether the kill
// ended the process, and otherwise its exit code and output.
func runAndKill(ctx context.Context, t *testing.T, bin, dir string, n int, delay time.Duration) (killed bool, code int, output string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "recover", "--concurrency", strconv.Itoa(n), dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	killed, err := crashtest.KillAfter(cmd, delay)
	require.NoError(t, err)
	if killed {
		return true, -1, out.String()
	}
	return false, cmd.ProcessState.ExitCode(), out.String()
}
