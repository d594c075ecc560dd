//go:build unix

package saveguard_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/internal/crashtest"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/saveguard"
)

// The bounds of TestCrashBetweenSteps.
const (
	crashChildEnv  = "SAVEGUARD_CRASH_CHILD" // "<dir>:<op>" in the child
	crashSessionN  = 200                     // sessions per store
	crashTrials    = 100                     // trials wanted
	crashBudget    = 40 * time.Second        // fewer trials if the test has run this long
	crashMinTrials = 30                      // trials wanted at the least, time allowing
)

// crashTempRE matches the local backend's temporary files (fileops.TempName):
// "." + destination name + ".tmp-" + 16 hex digits. A kill during a Write
// may leave one; its name does not end in ".json", so it is not a session.
var crashTempRE = regexp.MustCompile(`^\.(.+)\.tmp-[0-9a-f]{16}$`)

// The stages a session goes through under Shrink, Delete or Save, in order.
const (
	stageUntouched = iota // live and its backup, as written
	stageBackedUp         // backup step done (retired, deleted or raised), live step not
	stageDone             // shrink or save written, or session deleted
	stageCount
)

var stageNames = [stageCount]string{"untouched", "backup step only", "done"}

// TestCrashBetweenSteps kills, with SIGKILL at random moments, a process
// that shrinks, deletes or saves with fewer messages (as a bug would)
// every session of a local store in turn. Most sessions have a backup with
// more messages than their live document (a pending accidental shrink);
// every third has a smaller one (an old shrink, since outgrown). It checks
// that a kill never leaves a state in which recovery would roll the user's
// decision back or lose messages: a shrunk session never keeps its backup,
// a deleted one never leaves an orphan backup, a saved one always has a
// backup of the larger of its two documents, and a recovery run afterwards
// (restoring orphans) restores only what it should: the sessions the
// process had not reached yet, and those a save shrank.
//
// The test binary is its own child: with SAVEGUARD_CRASH_CHILD set, this
// test function runs the operations and exits.
func TestCrashBetweenSteps(t *testing.T) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		crashChild(spec)
		return // not reached
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0x5a7e))
	t.Logf("seed %d", seed)
	cs := newCrashSessions(crashSessionN)
	scratch := crashtest.ScratchDir(t, "saveguard-crash-")
	t.Logf("store: %d sessions, %d files, in %s", len(cs.ids), 2*len(cs.ids), scratch)

	ops := []string{"shrink", "delete", "save"}

	// Uninterrupted runs tell how long a run lasts, so that the kills can
	// land anywhere in one: the faster of two per operation, since the
	// first start of the binary may be slow.
	full := map[string]time.Duration{}
	for i, op := range slices.Concat(ops, ops) {
		dir := filepath.Join(scratch, fmt.Sprintf("full-%d-%s", i, op))
		cs.writeTo(t, dir)
		began := time.Now()
		killed, out := crashRun(ctx, t, dir, op, time.Hour)
		if d := time.Since(began); full[op] == 0 || d < full[op] {
			full[op] = d
		}
		require.False(t, killed)
		require.Empty(t, out, "the child prints nothing")
		f := cs.check(t, dir, op)
		require.Empty(t, f.violations, "uninterrupted %s run", op)
		require.Equal(t, len(cs.ids), f.stages[stageDone], "an uninterrupted %s run finishes every session", op)
		require.NoError(t, os.RemoveAll(dir))
	}
	t.Logf("uninterrupted runs: %v", full)

	var (
		trials, killed, checked, temps, restores, rollbacks, resurrections, losses int
		stages                                                                     [stageCount]int
	)
	for trials < crashTrials && time.Since(start) < crashBudget && !t.Failed() {
		trial := trials
		trials++
		op := ops[trial%len(ops)]
		dir := filepath.Join(scratch, fmt.Sprintf("trial-%02d-%s", trial, op))
		cs.writeTo(t, dir)

		delay := time.Duration(rng.Int64N(int64(full[op]) * 6 / 5))
		wasKilled, out := crashRun(ctx, t, dir, op, delay)
		if wasKilled {
			killed++
		} else {
			require.Empty(t, out, "trial %d: the child prints nothing", trial)
		}

		f := cs.check(t, dir, op)
		checked += len(cs.ids)
		temps += f.temps
		for s, n := range f.stages {
			stages[s] += n
		}
		if !assert.Empty(t, f.violations, "trial %d (%s, kill at %v): the store after the kill", trial, op, delay) {
			break
		}

		r := cs.recover(ctx, t, dir, op, f)
		restores += r.restores
		rollbacks += r.rollbacks
		resurrections += r.resurrections
		losses += r.losses
		if !assert.Empty(t, r.violations, "trial %d (%s, kill at %v): recovery after the kill", trial, op, delay) {
			break
		}
		require.NoError(t, os.RemoveAll(dir))
	}

	if trials < crashTrials && !t.Failed() {
		t.Logf("time bound of %v hit after %d trials", crashBudget, trials)
		if trials < crashMinTrials {
			t.Logf("fewer than %d trials ran: the machine is slow", crashMinTrials)
		}
	}
	t.Logf("trials run: %d", trials)
	t.Logf("killed mid-run: %d (the others had finished)", killed)
	t.Logf("sessions checked: %d", checked)
	for s, n := range stages {
		t.Logf("sessions found %s: %d", stageNames[s], n)
	}
	t.Logf("temporary files left by kills: %d", temps)
	t.Logf("restores by recovery: %d (all of untouched sessions with a larger backup, or of saved ones)", restores)
	t.Logf("saveguard crash test: %d trials, %d killed mid-run, %d sessions checked, %d rollbacks, %d resurrections, %d losses",
		trials, killed, checked, rollbacks, resurrections, losses)
}

// crashChild is the child process: it shrinks, deletes or saves (with
// fewer messages) every session of the store in spec ("<dir>:<op>"), in
// order of id, prints nothing and exits 0; on an error it prints it and
// exits 2.
func crashChild(spec string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	i := strings.LastIndexByte(spec, ':')
	if i < 0 {
		fail(fmt.Errorf("bad %s %q", crashChildEnv, spec))
	}
	dir, op := spec[:i], spec[i+1:]
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		fail(err)
	}
	s, err := local.New(dir)
	if err != nil {
		fail(err)
	}
	g := saveguard.New(s)
	ctx := context.Background()
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		switch op {
		case "shrink":
			err = g.Shrink(ctx, id, crashCleared(id))
		case "delete":
			err = g.Delete(ctx, id)
		case "save":
			err = g.Save(ctx, id, crashCleared(id))
		default:
			err = fmt.Errorf("unknown op %q", op)
		}
		if err != nil {
			fail(err)
		}
	}
	os.Exit(0)
}

// crashRun starts the child on dir for op and sends it SIGKILL after delay,
// unless it has exited by then. It reports whether the kill ended it; a
// child that was not killed must have exited 0. out is what it printed.
func crashRun(ctx context.Context, t *testing.T, dir, op string, delay time.Duration) (killed bool, out string) {
	t.Helper()
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashBetweenSteps$", "-test.count=1")
	// A binary built with -race sleeps a second at exit unless told not to
	// (GORACE atexit_sleep_ms), which would swamp the run it times.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir+":"+op, "GORACE="+gorace)
	cmd.Stdout, cmd.Stderr = &buf, &buf
	killed, err := crashtest.KillAfter(cmd, delay)
	require.NoError(t, err)
	if killed {
		return true, buf.String()
	}
	require.Equal(t, 0, cmd.ProcessState.ExitCode(), "the child failed: %s", buf.String())
	return false, buf.String()
}

// crashSessions is the pristine store every trial starts from.
type crashSessions struct {
	ids          []string // sorted
	live, backup map[string][]byte
	lowBackup    map[string]bool // the backup has fewer messages than the live document
}

// newCrashSessions makes n sessions, each with a live document and a
// backup: most with more messages (an accidental shrink recovery would
// undo), every third with fewer (a backup the session has outgrown).
func newCrashSessions(n int) *crashSessions {
	cs := &crashSessions{live: map[string][]byte{}, backup: map[string][]byte{}, lowBackup: map[string]bool{}}
	for i := range n {
		id := fmt.Sprintf("sess-%03d", i)
		cs.ids = append(cs.ids, id)
		msgs := 3 + i%17
		cs.live[id] = crashDoc(id+" live", msgs)
		if i%3 == 2 {
			cs.backup[id] = crashDoc(id+" backup", 1+i%2)
			cs.lowBackup[id] = true
		} else {
			cs.backup[id] = crashDoc(id+" backup", msgs+5+i%7)
		}
	}
	return cs
}

// larger is the one of session id's two documents with more messages:
// what a backup holds after a shrinking save, and what recovery leaves
// live when nothing retired the backup.
func (cs *crashSessions) larger(id string) []byte {
	if cs.lowBackup[id] {
		return cs.live[id]
	}
	return cs.backup[id]
}

// crashDoc is a session document of n messages, unique by title.
func crashDoc(title string, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"title":%q,"messages":[`, title)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"role":%q,"content":"message %d of %s"}`, []string{"user", "assistant"}[i%2], i, title)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// crashCleared is what the user's shrink, or a bug's save, writes for
// session id.
func crashCleared(id string) []byte {
	return []byte(fmt.Sprintf(`{"title":%q,"messages":[]}`, id+" cleared"))
}

func (cs *crashSessions) writeTo(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.Mkdir(dir, 0o755))
	for _, id := range cs.ids {
		require.NoError(t, os.WriteFile(filepath.Join(dir, saveguard.Key(id)), cs.live[id], 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, saveguard.BackupKey(id)), cs.backup[id], 0o644))
	}
}

// crashFindings is what check found in a store after a kill.
type crashFindings struct {
	stage      map[string]int // every session's stage
	stages     [stageCount]int
	temps      int
	violations []string
}

// check reads dir after a run of op and classifies every session, noting
// any state a kill must never leave.
func (cs *crashSessions) check(t *testing.T, dir, op string) crashFindings {
	t.Helper()
	got := crashReadDir(t, dir)
	f := crashFindings{stage: map[string]int{}}
	bad := func(format string, a ...any) { f.violations = append(f.violations, fmt.Sprintf(format, a...)) }
	for name := range got {
		if crashTempRE.MatchString(name) {
			f.temps++
			delete(got, name)
		}
	}
	prev := stageDone
	for _, id := range cs.ids {
		live, hasLive := got[saveguard.Key(id)]
		bak, hasBak := got[saveguard.BackupKey(id)]
		delete(got, saveguard.Key(id))
		delete(got, saveguard.BackupKey(id))
		isOrig := hasLive && bytes.Equal(live, cs.live[id])
		isCleared := hasLive && bytes.Equal(live, crashCleared(id))
		origBak := hasBak && bytes.Equal(bak, cs.backup[id])
		raisedBak := hasBak && bytes.Equal(bak, cs.live[id]) // the live document, copied by a save
		if hasBak && !origBak && !(op == "save" && raisedBak) {
			bad("%s: backup changed: %q", id, bak)
			continue
		}
		if hasLive && !isOrig && !isCleared {
			bad("%s: live document torn: %q", id, live)
			continue
		}
		stage := -1
		switch op {
		case "shrink":
			switch {
			case isOrig && hasBak:
				stage = stageUntouched
			case isOrig:
				stage = stageBackedUp
			case isCleared && !hasBak:
				stage = stageDone
			case isCleared:
				bad("%s: shrunk, but its backup is still there (recovery would roll the shrink back)", id)
			default:
				bad("%s: live document missing", id)
			}
		case "delete":
			switch {
			case isOrig && hasBak:
				stage = stageUntouched
			case isOrig:
				stage = stageBackedUp
			case !hasLive && !hasBak:
				stage = stageDone
			default:
				bad("%s: only the backup is left (an orphan that RestoreOrphans would resurrect)", id)
			}
		case "save":
			switch {
			case !hasLive:
				bad("%s: live document missing", id)
			case !hasBak:
				bad("%s: backup missing (a save never removes one)", id)
			case raisedBak && !cs.lowBackup[id]:
				bad("%s: backup lowered to the live document, which had fewer messages", id)
			case isOrig && origBak:
				stage = stageUntouched
			case isOrig:
				stage = stageBackedUp
			case origBak && cs.lowBackup[id]:
				bad("%s: saved with fewer messages, but the backup is not the larger document (the messages are lost)", id)
			default:
				stage = stageDone
			}
		}
		if stage < 0 {
			continue
		}
		f.stage[id] = stage
		f.stages[stage]++
		// One process handles the sessions in order, one at a time: those
		// before the kill are done, those after untouched, at most one
		// between.
		if stage > prev || (stage == stageBackedUp && prev == stageBackedUp) {
			bad("%s: %s after a session %s: the sessions were not handled in order", id, stageNames[stage], stageNames[prev])
		}
		prev = stage
	}
	for name := range got {
		bad("unexpected file %s", name)
	}
	slices.Sort(f.violations)
	return f
}

// crashRecovery is what a recovery after a kill did.
type crashRecovery struct {
	restores, rollbacks, resurrections, losses int
	violations                                 []string
}

// recover runs recovery (restoring orphans) over dir as the restarted
// application would, and checks that it restored only what it should:
// untouched sessions whose backup is larger, and every session a save
// shrank.
func (cs *crashSessions) recover(ctx context.Context, t *testing.T, dir, op string, f crashFindings) crashRecovery {
	t.Helper()
	s, err := local.New(dir)
	require.NoError(t, err)
	defer s.Close()
	report, err := recovery.RecoverAll(ctx, s, recovery.Options{RestoreOrphans: true})
	require.NoError(t, err)

	var r crashRecovery
	bad := func(format string, a ...any) { r.violations = append(r.violations, fmt.Sprintf(format, a...)) }
	for _, st := range append(slices.Clone(report.Details), report.Orphans...) {
		if st.Err != nil {
			bad("%s: recovery failed: %v", st.SessionID, st.Err)
		}
		if !st.Restored {
			continue
		}
		switch stage, ok := f.stage[st.SessionID]; {
		case !ok:
			bad("%s: restored, but it was not a session of the store", st.SessionID)
		case stage == stageUntouched && !cs.lowBackup[st.SessionID]:
			r.restores++ // the repair of the accidental shrink
		case op == "save" && stage == stageDone:
			r.restores++ // the repair of the save's shrink
		case op == "shrink":
			r.rollbacks++
			bad("%s: %s, yet recovery restored it", st.SessionID, stageNames[stage])
		case op == "delete":
			r.resurrections++
			bad("%s: %s, yet recovery restored it", st.SessionID, stageNames[stage])
		default:
			bad("%s: %s, yet recovery restored it", st.SessionID, stageNames[stage])
		}
	}
	if len(report.Orphans) > 0 {
		bad("recovery found %d orphan backups", len(report.Orphans))
	}

	// The store after recovery, whatever the report says.
	got := crashReadDir(t, dir)
	for _, id := range cs.ids {
		live, hasLive := got[saveguard.Key(id)]
		_, hasBak := got[saveguard.BackupKey(id)]
		switch stage := f.stage[id]; {
		case stage == stageUntouched || op == "save":
			if !bytes.Equal(live, cs.larger(id)) {
				if op == "save" {
					r.losses++
				}
				bad("%s: %s, but after recovery the larger document is not live", id, stageNames[stage])
			}
		case stage == stageBackedUp:
			if !bytes.Equal(live, cs.live[id]) || hasBak {
				bad("%s: backup retired, but recovery changed it", id)
			}
		case op == "shrink":
			if !bytes.Equal(live, crashCleared(id)) || hasBak {
				r.rollbacks++
				bad("%s: shrunk, but after recovery holds %q (backup %v)", id, live, hasBak)
			}
		default:
			if hasLive || hasBak {
				r.resurrections++
				bad("%s: deleted, but after recovery live %v, backup %v", id, hasLive, hasBak)
			}
		}
	}
	if report.Restored != r.restores {
		bad("recovery reports %d restores, %d seen", report.Restored, r.restores)
	}
	return r
}

// crashReadDir reads every file of a flat directory, by name.
func crashReadDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	got := make(map[string][]byte, len(entries))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		got[e.Name()] = b
	}
	return got
}
