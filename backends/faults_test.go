package backends_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/s3cond"
	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/internal/testserver"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storefault"
)

// TestRecoveryUnderFaults runs recovery over a store of 1,000 sessions
// whose calls fail, hand out cut or failing readers, or are slow, one call
// in five, on every backend, again and again until every session is
// recovered. After every run: a session was replaced only by a backup with
// more messages, backups are untouched, every failure is in the report,
// and nothing else changed. In the end the store is what a run without
// faults makes of it, and a run without faults finds nothing to do.
//
// No run under faults is free of errors: each reads every session that has
// a backup again, some 1,500 reads of which 15% fail. So the runs go on
// until the store is recovered, not until a run reports no error.
func TestRecoveryUnderFaults(t *testing.T) {
	m := newFaultModel(t)
	for _, b := range []struct {
		name     string
		newStore func(t *testing.T, objects map[string][]byte) faultTarget
	}{
		{"Local", func(t *testing.T, objects map[string][]byte) faultTarget {
			dir := t.TempDir()
			for key, b := range objects {
				require.NoError(t, os.WriteFile(filepath.Join(dir, key), b, 0o644))
			}
			s, err := local.New(dir)
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			return faultTarget{Store: s}
		}},
		{"AferoMem", func(t *testing.T, objects map[string][]byte) faultTarget {
			fsys := afero.NewMemMapFs()
			for key, b := range objects {
				require.NoError(t, afero.WriteFile(fsys, "/"+key, b, 0o644))
			}
			return faultTarget{Store: aferofs.New(fsys, "/")}
		}},
		{"S3", s3FaultTarget(testserver.S3)},
		{"SeaweedFS", s3FaultTarget(testserver.SeaweedFS)},
	} {
		t.Run(b.name, func(t *testing.T) { recoverUnderFaults(t, m, b.newStore) })
	}
}

// s3FaultTarget makes fault targets on fresh buckets of an S3 server.
func s3FaultTarget(start func(testing.TB) *testserver.Server) func(t *testing.T, objects map[string][]byte) faultTarget {
	return func(t *testing.T, objects map[string][]byte) faultTarget {
		srv := start(t)
		testserver.Fill(t, srv.Bucket, objects)
		return faultTarget{
			Store: blobstore.New(srv.Bucket, blobstore.WithConditions(s3cond.Conditions{})),
			// The listing gives every object's MD5 (its ETag): only
			// objects that changed need reading.
			digests: func(t *testing.T) map[string][]byte {
				out := map[string][]byte{}
				it := srv.Bucket.List(nil)
				for {
					obj, err := it.Next(context.Background())
					if err == io.EOF {
						return out
					}
					require.NoError(t, err)
					out[obj.Key] = obj.MD5
				}
			},
		}
	}
}

const (
	faultSessions = 1000
	faultOrphans  = 50
	faultRate     = 0.2
	faultMaxRuns  = 50
	// faultSeed + run is the seed of each run. With this one, the third
	// run's listing fails after 413 objects, leaving sessions listed but
	// not handled, and the 10th fails after two.
	faultSeed = 10
)

// faultModel is the store the test starts from, and what recovery must
// make of it.
type faultModel struct {
	// objects is the store before any run.
	objects map[string][]byte
	// counts maps every document generated, by its bytes, to its message
	// count, -1 for those that are not sessions.
	counts map[string]int
	// restored holds the live keys that recovery gives their backup's
	// bytes: shrunk and corrupt sessions, and orphans whose backup is a
	// session.
	restored map[string]bool
	// final is the store after recovery, preserved copies aside.
	final map[string][]byte
}

// newFaultModel makes the sessions: 30% shrunk, with a backup that has
// more messages; 10% with a live document that is not a session and a good
// backup; 25% healthy, with a backup that has as many messages or fewer;
// 5% healthy with a backup that is not a session; 30% without a backup;
// and orphan backups, some of which are not sessions, and _index.json.
// Every document holds its session's id, so that no two are alike.
func newFaultModel(t *testing.T) *faultModel {
	m := &faultModel{objects: map[string][]byte{}, counts: map[string]int{}, restored: map[string]bool{}}
	rng := rand.New(rand.NewPCG(2024, 6))
	doc := func(id, version string, n int) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, `{"id":%q,"version":%q,"messages":[`, id, version)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"role":"user","content":"message %d of %s: été 会话 \"quoted\""}`, i, id)
		}
		b.WriteString(`]}`)
		m.counts[b.String()] = n
		return []byte(b.String())
	}
	broken := func(id, version string, i int) []byte {
		var s string
		switch i % 4 {
		case 0:
			s = fmt.Sprintf(`{"id":%q,"version":%q,"messages":[{"role":"user"`, id, version) // cut short
		case 1:
			s = fmt.Sprintf(`[{"id":%q,"version":%q}]`, id, version) // a list
		case 2:
			s = fmt.Sprintf(`{"id":%q,"version":%q,"title":"no messages"}`, id, version)
		default:
			s = fmt.Sprintf("not json: %s %s", id, version)
		}
		m.counts[s] = -1
		return []byte(s)
	}
	for i := range faultSessions {
		id := fmt.Sprintf("s%04d", i)
		live, bak := id+".json", id+".json.bak"
		switch c := i % 20; {
		case c < 6: // shrunk
			n := rng.IntN(4)
			m.objects[live] = doc(id, "live", n)
			m.objects[bak] = doc(id, "bak", n+1+rng.IntN(6))
		case c < 8: // corrupt live, good backup
			m.objects[live] = broken(id, "live", i)
			m.objects[bak] = doc(id, "bak", rng.IntN(6))
		case c < 13: // healthy
			n := rng.IntN(8)
			m.objects[live] = doc(id, "live", n)
			m.objects[bak] = doc(id, "bak", rng.IntN(n+1))
		case c < 14: // healthy, backup not a session
			m.objects[live] = doc(id, "live", rng.IntN(5))
			m.objects[bak] = broken(id, "bak", i)
		default: // no backup
			m.objects[live] = doc(id, "live", rng.IntN(8))
		}
	}
	for i := range faultOrphans {
		id := fmt.Sprintf("o%03d", i)
		if i%5 == 0 {
			m.objects[id+".json.bak"] = broken(id, "bak", i)
		} else {
			m.objects[id+".json.bak"] = doc(id, "bak", rng.IntN(6))
		}
	}
	m.objects["_index.json"] = []byte(`{"sessions":["s0000","s0001"],"messages":[]}`)

	m.final = maps.Clone(m.objects)
	for key, b := range m.objects {
		live, ok := strings.CutSuffix(key, ".bak")
		if !ok {
			continue
		}
		liveCount := -1 // a missing live document counts as no session
		if l, ok := m.objects[live]; ok {
			liveCount = m.count(t, l)
		}
		if m.count(t, b) > liveCount {
			m.restored[live] = true
			m.final[live] = b
		}
	}
	return m
}

func (m *faultModel) count(t *testing.T, b []byte) int {
	t.Helper()
	n, ok := m.counts[string(b)]
	require.True(t, ok, "a document the test did not make: %.80q", b)
	return n
}

// preservedKey matches the copies a restore makes of the live bytes.
var preservedKey = regexp.MustCompile(`^(.+\.json)\.replaced(\.[0-9]+)?$`)

// withoutPreserved returns objects less the preserved copies.
func withoutPreserved(objects map[string][]byte) map[string][]byte {
	out := maps.Clone(objects)
	maps.DeleteFunc(out, func(key string, _ []byte) bool { return preservedKey.MatchString(key) })
	return out
}

// faultTarget is a store under test, and optionally the MD5 of each of its
// objects, from a listing.
type faultTarget struct {
	store.Store
	digests func(t *testing.T) map[string][]byte
}

// snapshot returns the whole store. With digests, an object whose MD5
// matches its bytes in prev is not read again.
func (ft faultTarget) snapshot(t *testing.T, prev map[string][]byte) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	var keys []string
	var digests map[string][]byte
	if ft.digests != nil {
		digests = ft.digests(t)
		keys = slices.Collect(maps.Keys(digests))
	} else {
		require.NoError(t, ft.List(ctx, "", func(o store.Object) error {
			keys = append(keys, o.Key)
			return nil
		}))
	}
	out := make(map[string][]byte, len(keys))
	var toRead []string
	for _, key := range keys {
		if b, ok := prev[key]; ok && digests[key] != nil {
			if sum := md5.Sum(b); bytes.Equal(sum[:], digests[key]) {
				out[key] = b
				continue
			}
		}
		toRead = append(toRead, key)
	}
	bodies := make([][]byte, len(toRead))
	errs := make([]error, len(toRead))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, key := range toRead {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			rc, err := ft.Open(ctx, key)
			if err != nil {
				errs[i] = err
				return
			}
			defer rc.Close()
			bodies[i], errs[i] = io.ReadAll(rc)
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	for i, key := range toRead {
		out[key] = bodies[i]
	}
	return out
}

// faultRun is what one run under faults did.
type faultRun struct {
	listFailed        bool
	sessions, orphans int // in the report
	errors, restores  int
	notHandled        int // reported as not handled after the listing failed
	shortReads        int // errors for a read that recovery saw was cut short
}

func recoverUnderFaults(t *testing.T, m *faultModel, newStore func(*testing.T, map[string][]byte) faultTarget) {
	ctx := context.Background()
	start := time.Now()

	// The reference: the same store, recovered without faults.
	ref := newStore(t, m.objects)
	r, err := recovery.RecoverAll(ctx, ref, recovery.Options{RestoreOrphans: true})
	require.NoError(t, err)
	require.Zero(t, r.Errors)
	refObjects := ref.snapshot(t, m.objects)
	want := withoutPreserved(refObjects)
	require.Equal(t, m.final, want, "a run without faults restores what the model says")
	preserved := 0
	for key, b := range refObjects {
		if p := preservedKey.FindStringSubmatch(key); p != nil {
			preserved++
			assert.Equal(t, p[1]+".replaced", key, "one copy per session")
			assert.Equal(t, m.objects[p[1]], b, "%s holds the live bytes it replaced", key)
		}
	}
	assert.Equal(t, r.Restored, preserved, "every session restored has its live bytes kept")
	t.Logf("without faults: %d sessions and %d orphans, %d sessions and %d orphans restored (%v)",
		r.Scanned, len(r.Orphans), r.Restored, countRestored(r.Orphans), time.Since(start).Round(time.Millisecond))

	inner := newStore(t, m.objects)
	_, isWriter := inner.Store.(store.Writer)
	before := maps.Clone(m.objects)
	total := map[storefault.Kind]int{}
	var runs []faultRun
	converged := false
	for run := 1; run <= faultMaxRuns && !converged; run++ {
		s := storefault.New(inner.Store, storefault.Config{Rate: faultRate, Seed: faultSeed + uint64(run), Delay: time.Millisecond})
		_, ok := s.(store.Writer)
		require.Equal(t, isWriter, ok, "the wrapper is a store.Writer when the store is")
		opts := recovery.Options{RestoreOrphans: true, CountAll: run%2 == 0}
		runStart := time.Now()
		r, err := recovery.RecoverAll(ctx, s, opts)
		took := time.Since(runStart)
		after := inner.snapshot(t, before)
		fr := checkFaultRun(t, m, opts, before, after, r, err)
		stats, _ := storefault.StatsOf(s)
		for k, n := range stats.ByKind {
			total[k] += n
		}
		runs = append(runs, fr)
		t.Logf("run %2d (%v): %d sessions and %d orphans reported, %d errors (%d short reads caught, %d not handled, listing failed: %v), %d restores; %d faults in %d calls %v",
			run, took.Round(time.Millisecond), fr.sessions, fr.orphans, fr.errors, fr.shortReads, fr.notHandled, fr.listFailed, fr.restores, stats.Faults, stats.Calls, stats.ByKind)
		if t.Failed() {
			t.FailNow() // one run's failures are enough to read
		}
		before = after
		converged = maps.EqualFunc(withoutPreserved(after), m.final, func(a, b []byte) bool { return string(a) == string(b) })
	}
	require.True(t, converged, "still not recovered after %d runs", faultMaxRuns)
	assert.Equal(t, want, withoutPreserved(before), "the store ends as the run without faults left it")

	// A last run without faults finds nothing to do, and no error.
	s := storefault.New(inner.Store, storefault.Config{})
	r, err = recovery.RecoverAll(ctx, s, recovery.Options{RestoreOrphans: true})
	require.NoError(t, err)
	assert.Zero(t, r.Errors)
	assert.Zero(t, r.Restored+countRestored(r.Orphans))
	assert.Equal(t, before, inner.snapshot(t, before))

	restores, checked, errs := 0, 0, []int{}
	for _, fr := range runs {
		restores += fr.restores
		checked += fr.sessions + fr.orphans
		errs = append(errs, fr.errors)
	}
	preserved = len(before) - len(withoutPreserved(before))
	t.Logf("recovered after %d runs under faults (store.Writer: %v): %d statuses checked, %d restores done, %d preserved copies kept; errors per run %v; faults %v; %v",
		len(runs), isWriter, checked, restores, preserved, errs, total, time.Since(start).Round(time.Millisecond))
}

func countRestored(sts []recovery.Status) int {
	n := 0
	for _, st := range sts {
		if st.Restored {
			n++
		}
	}
	return n
}

// checkFaultRun checks one run under faults, from the store before and
// after it and the report, and counts what it did.
func checkFaultRun(t *testing.T, m *faultModel, opts recovery.Options, before, after map[string][]byte, r *recovery.Report, runErr error) faultRun {
	t.Helper()
	fr := faultRun{listFailed: runErr != nil}
	require.NotNil(t, r)
	if runErr != nil {
		require.ErrorIs(t, runErr, storefault.ErrInjected, "a run fails only when its listing does")
	}

	// The sessions and orphans that were there to find.
	sessionIDs, orphanIDs := []string{}, []string{}
	for key := range before {
		if id, ok := strings.CutSuffix(key, ".json"); ok && !strings.HasPrefix(key, "_") {
			sessionIDs = append(sessionIDs, id)
		}
		if id, ok := strings.CutSuffix(key, ".json.bak"); ok && !strings.HasPrefix(key, "_") {
			if _, live := before[id+".json"]; !live {
				orphanIDs = append(orphanIDs, id)
			}
		}
	}
	slices.Sort(sessionIDs)
	slices.Sort(orphanIDs)
	gotSessions, gotOrphans := statusIDs(r.Details), statusIDs(r.Orphans)
	fr.sessions, fr.orphans = len(gotSessions), len(gotOrphans)
	if runErr == nil {
		require.Equal(t, sessionIDs, gotSessions, "every session is reported once")
		require.Equal(t, orphanIDs, gotOrphans, "every orphan is reported once")
	} else {
		// The sessions listed before the listing failed, each once.
		require.LessOrEqual(t, len(gotSessions), len(sessionIDs))
		require.Equal(t, sessionIDs[:len(gotSessions)], gotSessions, "the sessions listed are reported once, in order")
		require.LessOrEqual(t, len(gotOrphans), len(orphanIDs))
		require.Equal(t, orphanIDs[:len(gotOrphans)], gotOrphans, "the orphans listed are reported once, in order")
	}

	handled := map[string]bool{} // live keys of the sessions and orphans reported
	errCount := 0
	check := func(st recovery.Status) {
		live, bak := st.SessionID+".json", st.SessionID+".json.bak"
		handled[live] = true
		assert.Equal(t, live, st.Key)
		liveBytes, hadLive := before[live]
		bakBytes, hadBak := before[bak]
		liveCount := -1
		if hadLive {
			liveCount = m.count(t, liveBytes)
		}
		if st.Err != nil {
			errCount++
			fr.errors++
			assert.Equal(t, st.Err.Error(), st.Error, "%s: Error is Err's message", live)
			// A short read ends without an error: recovery tells it by
			// the size the listing gave, with an error of its own.
			if errors.Is(st.Err, recovery.ErrShortRead) {
				fr.shortReads++
			} else {
				assert.ErrorIs(t, st.Err, storefault.ErrInjected, "%s: the only failures are those injected", live)
			}
			if strings.Contains(st.Error, " not handled: ") {
				fr.notHandled++
				assert.True(t, fr.listFailed, "%s: not handled, yet the listing went well", live)
			} else {
				assert.Contains(t, st.Error, st.SessionID+".json", "%s: the error names the key", live)
			}
			assert.False(t, st.Restored, live)
		} else {
			if hadLive && (hadBak || opts.CountAll) {
				assert.Equal(t, recovery.Count(liveCount), st.LiveMessages, "%s: the live count is the true one", live)
			}
			if hadBak {
				assert.Equal(t, recovery.Count(m.count(t, bakBytes)), st.BakMessages, "%s: the backup count is the true one", live)
			}
			restore := hadBak && m.count(t, bakBytes) > liveCount
			switch {
			case !hadBak:
				assert.Equal(t, recovery.NoBackup, st.Recommend, live)
			case restore:
				assert.Equal(t, recovery.Restore, st.Recommend, live)
			default:
				assert.Equal(t, recovery.NoAction, st.Recommend, live)
			}
			assert.Equal(t, restore, st.Restored, "%s: restored if and only if the backup has more messages", live)
		}
		afterLive, hasLive := after[live]
		if st.Restored {
			fr.restores++
			assert.Equal(t, string(bakBytes), string(afterLive), "%s: restored with the backup's bytes", live)
			if hadLive {
				assert.Equal(t, string(liveBytes), string(after[st.PreservedKey]), "%s: the bytes replaced are kept as %q", live, st.PreservedKey)
			}
		} else {
			assert.Equal(t, hadLive, hasLive, "%s: exists as before", live)
			assert.Equal(t, string(liveBytes), string(afterLive), "%s: unchanged when not restored", live)
		}
	}
	for _, st := range r.Details {
		check(st)
	}
	for _, st := range r.Orphans {
		check(st)
	}
	assert.Equal(t, errCount, r.Errors, "Report.Errors counts the statuses with an error")

	// The store as a whole: nothing removed; backups and other files as
	// they were at the start; a live document is either as it was or, for
	// a session to restore, its backup's bytes; every preserved copy holds
	// the original live bytes of a session to restore; nothing else.
	for key := range before {
		if _, ok := after[key]; !ok {
			t.Errorf("%s was removed", key)
		}
	}
	for key, b := range after {
		if p := preservedKey.FindStringSubmatch(key); p != nil {
			assert.True(t, m.restored[p[1]], "%s: a copy preserved for a session that is not to be restored", key)
			assert.Equal(t, string(m.objects[p[1]]), string(b), "%s holds the original live bytes", key)
			continue
		}
		orig, existed := m.objects[key]
		switch {
		case m.restored[key]:
			assert.True(t, string(b) == string(orig) || string(b) == string(m.final[key]),
				"%s: holds its original bytes or its backup's", key)
		case existed:
			assert.Equal(t, string(orig), string(b), "%s: never changes", key)
		default:
			assert.Failf(t, "unexpected object", "%s appeared", key)
		}
		if !handled[key] && strings.HasSuffix(key, ".json") {
			assert.Equal(t, string(before[key]), string(b), "%s: not reported, so not touched", key)
		}
	}
	return fr
}

func statusIDs(sts []recovery.Status) []string {
	ids := []string{}
	for _, st := range sts {
		ids = append(ids, st.SessionID)
	}
	return ids
}
