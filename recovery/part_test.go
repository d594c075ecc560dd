package recovery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// partStore is a store whose ids prefix one another (so report order and
// key order differ), with backups, shrunk sessions, orphans, documents
// that are not sessions, and an id that is not UTF-8.
func partStore(t *testing.T, seed uint64) store.Store {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	fsys := afero.NewMemMapFs()
	alphabet := []string{"a", "b", "-", ".", " ", "+", "%", "é", "json", ".json", "0", "\xff"}
	write := func(name, body string) {
		require.NoError(t, afero.WriteFile(fsys, "/"+name, []byte(body), 0o644))
	}
	for range 120 {
		var id strings.Builder
		for range 1 + rng.IntN(4) {
			id.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		key := id.String() + ".json"
		if ok, _ := afero.Exists(fsys, "/"+key); ok {
			continue
		}
		switch rng.IntN(6) {
		case 0: // an orphan
			write(key+".bak", `{"messages":[1,2]}`)
		case 1: // shrunk
			write(key, `{"messages":[1]}`)
			write(key+".bak", `{"messages":[1,2,3]}`)
		case 2: // a backup with fewer messages
			write(key, `{"messages":[1,2]}`)
			write(key+".bak", `{"messages":[1]}`)
		case 3:
			write(key, `not json`)
			write(key+".bak", `{"messages":[1]}`)
		default:
			write(key, `{"messages":[]}`)
		}
	}
	return aferofs.New(fsys, "/")
}

// jsonReport runs RecoverAll as the command's --json does and returns the
// report's bytes.
func jsonReport(t *testing.T, s store.Store, opts recovery.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	w := recovery.NewReportWriter(&b)
	opts.OnStatus = w.Add
	r, err := recovery.RecoverAll(context.Background(), s, opts)
	require.NoError(t, err)
	require.NoError(t, w.Finish(r, nil))
	return b.Bytes()
}

func TestShardsMergedAreOneRun(t *testing.T) {
	for seed := range uint64(6) {
		s := partStore(t, seed)
		for _, opts := range []recovery.Options{
			{DryRun: true, CountAll: true},
			{DryRun: true},
			{RestoreOrphans: true, DryRun: true},
		} {
			whole := jsonReport(t, s, opts)
			for _, n := range []int{1, 2, 3, 4, 7} {
				var parts []recovery.NamedReport
				seen := 0
				for k := range n {
					o := opts
					o.Shard = recovery.Shard{Index: k, Count: n}
					b := jsonReport(t, s, o)
					r := struct{ Scanned int }{}
					require.NoError(t, jsonUnmarshal(b, &r))
					seen += r.Scanned
					parts = append(parts, recovery.NamedReport{Name: fmt.Sprintf("shard-%d", k), R: bytes.NewReader(b)})
				}
				var merged bytes.Buffer
				require.NoError(t, recovery.MergeReports(&merged, parts...))
				require.Equal(t, string(whole), merged.String(), "seed %d, %d shards, %+v", seed, n, opts)
			}
		}
	}
}

func TestShardsRestoreEachSessionOnce(t *testing.T) {
	s := partStore(t, 9)
	want := jsonReport(t, s, recovery.Options{DryRun: true, RestoreOrphans: true})
	var parts []recovery.NamedReport
	for k := range 3 {
		b := jsonReport(t, s, recovery.Options{RestoreOrphans: true, Shard: recovery.Shard{Index: k, Count: 3}})
		parts = append(parts, recovery.NamedReport{Name: fmt.Sprint(k), R: bytes.NewReader(b)})
	}
	var merged bytes.Buffer
	require.NoError(t, recovery.MergeReports(&merged, parts...))
	// What the dry run advised is what the shards did between them.
	var adv, did struct {
		Details []struct {
			Recommend string `json:"recommend"`
			Restored  bool   `json:"restored"`
		} `json:"details"`
	}
	require.NoError(t, jsonUnmarshal(want, &adv))
	require.NoError(t, jsonUnmarshal(merged.Bytes(), &did))
	require.Equal(t, len(adv.Details), len(did.Details))
	for i := range adv.Details {
		assert.Equal(t, adv.Details[i].Recommend == "restore", did.Details[i].Restored, i)
	}
	again := jsonReport(t, s, recovery.Options{DryRun: true})
	assert.NotContains(t, string(again), `"recommend":"restore"`, "nothing left to restore")
}

func TestMergeReportsRefusesOverlapsAndDisorder(t *testing.T) {
	s := partStore(t, 2)
	one := jsonReport(t, s, recovery.Options{DryRun: true, CountAll: true, Shard: recovery.Shard{Index: 0, Count: 2}})
	err := recovery.MergeReports(&bytes.Buffer{},
		recovery.NamedReport{Name: "a.json", R: bytes.NewReader(one)},
		recovery.NamedReport{Name: "b.json", R: bytes.NewReader(one)})
	require.ErrorIs(t, err, recovery.ErrMergeReports)
	assert.ErrorContains(t, err, "is in both a.json and b.json")

	swapped := []byte(`{"details":[{"session_id":"b"},{"session_id":"a"}],"restored":0,"scanned":2}`)
	err = recovery.MergeReports(&bytes.Buffer{}, recovery.NamedReport{Name: "x", R: bytes.NewReader(swapped)})
	assert.ErrorContains(t, err, `x: session "a" comes after "b", out of report order`)

	for _, bad := range []string{``, `[]`, `{"scanned":1}`, `{"details":[{"no":1}]}`, `{"details":[],"restored":"x"}`, `{"details":[]}{}`} {
		err := recovery.MergeReports(&bytes.Buffer{}, recovery.NamedReport{Name: "bad", R: strings.NewReader(bad)})
		assert.ErrorIs(t, err, recovery.ErrMergeReports, bad)
	}
}

func TestShardValidate(t *testing.T) {
	for _, sh := range []recovery.Shard{{0, 0}, {0, 1}, {3, 4}, {recovery.MaxShards - 1, recovery.MaxShards}} {
		assert.NoError(t, sh.Validate(), sh)
	}
	for _, sh := range []recovery.Shard{{1, 0}, {-1, 4}, {4, 4}, {0, -2}, {0, recovery.MaxShards + 1}} {
		assert.ErrorIs(t, sh.Validate(), recovery.ErrInvalidShard, sh)
		_, err := recovery.RecoverAll(context.Background(), partStore(t, 1), recovery.Options{Shard: sh})
		assert.ErrorIs(t, err, recovery.ErrInvalidShard, sh)
	}
}

// delivered is what a run handed on, in order: each session and orphan.
type delivered struct {
	st     recovery.Status
	orphan bool
}

func record(opts *recovery.Options, into *[]delivered) {
	opts.OnStatus = func(st recovery.Status) { *into = append(*into, delivered{st, false}) }
	opts.OnOrphan = func(st recovery.Status) { *into = append(*into, delivered{st, true}) }
}

func TestAfterContinuesWhereARunStopped(t *testing.T) {
	for seed := range uint64(4) {
		s := partStore(t, seed)
		var whole []delivered
		opts := recovery.Options{DryRun: true, CountAll: true}
		record(&opts, &whole)
		_, err := recovery.RecoverAll(context.Background(), s, opts)
		require.NoError(t, err)
		require.NotEmpty(t, whole)
		for cut := 0; cut <= len(whole); cut += 1 + cut/8 {
			var pos recovery.Position
			for _, d := range whole[:cut] {
				pos.Advance(d.st, d.orphan)
			}
			var rest []delivered
			o := recovery.Options{DryRun: true, CountAll: true, After: pos}
			record(&o, &rest)
			_, err := recovery.RecoverAll(context.Background(), s, o)
			require.NoError(t, err)
			require.Equal(t, len(whole)-cut, len(rest), "seed %d, cut %d", seed, cut)
			for i := range rest {
				assert.Equal(t, whole[cut+i], rest[i], "seed %d, cut %d, item %d", seed, cut, i)
			}
		}
	}
}

// A run cancelled part way, then continued from what it finished, reports
// and restores exactly what one run would have; no session it finished is
// read again.
func TestInterruptedRunContinued(t *testing.T) {
	for cutAt := 1; cutAt < 40; cutAt += 6 {
		dry := partStore(t, 5)
		var want []delivered
		o := recovery.Options{DryRun: true, RestoreOrphans: true}
		record(&o, &want)
		_, err := recovery.RecoverAll(context.Background(), dry, o)
		require.NoError(t, err)

		s := partStore(t, 5)
		ctx, cancel := context.WithCancel(context.Background())
		var first []delivered
		o = recovery.Options{RestoreOrphans: true, Concurrency: 4}
		record(&o, &first)
		onStatus := o.OnStatus
		o.OnStatus = func(st recovery.Status) {
			onStatus(st)
			if len(first) == cutAt {
				cancel()
			}
		}
		_, err = recovery.RecoverAll(ctx, s, o)
		require.ErrorIs(t, err, context.Canceled)
		// What a run finished is what it delivered without the cancel
		// cutting it short: a prefix, then the sessions in flight that
		// completed.
		var done []delivered
		var pos recovery.Position
		prefix := true
		for _, d := range first {
			switch {
			case errors.Is(d.st.Err, context.Canceled):
				prefix = false
				continue
			case prefix:
				pos.Advance(d.st, d.orphan)
			default:
				pos.Finish(d.st, d.orphan)
			}
			done = append(done, d)
		}
		opened := &openLog{Store: s}
		var rest []delivered
		o = recovery.Options{RestoreOrphans: true, After: pos}
		record(&o, &rest)
		_, err = recovery.RecoverAll(context.Background(), opened, o)
		require.NoError(t, err)
		all := append(done, rest...)
		slices.SortStableFunc(all, func(a, b delivered) int {
			switch {
			case a.orphan != b.orphan:
				return cmpBool(a.orphan, b.orphan)
			case a.orphan:
				return strings.Compare(a.st.BackupKey, b.st.BackupKey)
			}
			return recovery.CompareReportOrder(a.st.Key, b.st.Key)
		})
		slices.SortStableFunc(want, func(a, b delivered) int { return cmpBool(a.orphan, b.orphan) })
		require.Equal(t, len(want), len(all), "cut at %d", cutAt)
		for i := range want {
			w, g := want[i], all[i]
			assert.Equal(t, w.st.Key, g.st.Key, "cut at %d, item %d", cutAt, i)
			assert.Equal(t, w.st.LiveMessages, g.st.LiveMessages, "cut at %d, %s", cutAt, g.st.Key)
			assert.Equal(t, w.st.BakMessages, g.st.BakMessages, "cut at %d, %s", cutAt, g.st.Key)
			assert.Equal(t, w.st.Recommend == recovery.Restore && w.st.Err == nil, g.st.Restored, "cut at %d: %s restored as advised", cutAt, g.st.Key)
		}
		for _, d := range done {
			assert.NotContains(t, opened.keys(), d.st.Key, "finished before the cut, not read again")
		}
		cancel()
	}
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// openLog notes every key opened.
type openLog struct {
	store.Store
	mu     sync.Mutex
	opened []string
}

func (l *openLog) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	l.mu.Lock()
	l.opened = append(l.opened, key)
	l.mu.Unlock()
	return l.Store.Open(ctx, key)
}

func (l *openLog) keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.opened)
}

// OnFinish sees every session and orphan once, before its turn in the
// report, from the workers.
func TestOnFinishComesBeforeTheReport(t *testing.T) {
	s := partStore(t, 3)
	var mu sync.Mutex
	finished := map[string]int{}
	var late []string
	opts := recovery.Options{DryRun: true, CountAll: true, Concurrency: 8,
		OnFinish: func(st recovery.Status, orphan bool) {
			mu.Lock()
			finished[fmt.Sprint(orphan, st.Key)]++
			mu.Unlock()
		},
	}
	check := func(st recovery.Status, orphan bool) {
		mu.Lock()
		defer mu.Unlock()
		if finished[fmt.Sprint(orphan, st.Key)] != 1 {
			late = append(late, st.Key)
		}
	}
	opts.OnStatus = func(st recovery.Status) { check(st, false) }
	opts.OnOrphan = func(st recovery.Status) { check(st, true) }
	r, err := recovery.RecoverAll(context.Background(), s, opts)
	require.NoError(t, err)
	assert.Empty(t, late, "reported before OnFinish saw them")
	assert.Equal(t, r.Scanned+len(r.Orphans), len(finished))
}

// BeforeRestore sees each restore before its write, with the status the
// report then gives the session.
func TestBeforeRestoreAnnouncesEachRestore(t *testing.T) {
	s := partStore(t, 5)
	var mu sync.Mutex
	announced := map[string]recovery.Status{}
	var landedEarly []string
	opts := recovery.Options{RestoreOrphans: true, Concurrency: 8,
		BeforeRestore: func(st recovery.Status, orphan bool) {
			rc, err := s.Open(context.Background(), st.Key)
			var live []byte
			if err == nil {
				live, _ = io.ReadAll(rc)
				rc.Close()
			}
			mu.Lock()
			defer mu.Unlock()
			if string(live) == `{"messages":[1,2,3]}` || orphan && err == nil {
				landedEarly = append(landedEarly, st.Key)
			}
			announced[fmt.Sprint(orphan, st.Key)] = st
		},
	}
	var restored []recovery.Status
	keep := func(st recovery.Status, orphan bool) {
		if st.Restored {
			restored = append(restored, st)
			mu.Lock()
			a := announced[fmt.Sprint(orphan, st.Key)]
			mu.Unlock()
			assert.Equal(t, st, a, "%s: announced as reported", st.Key)
		}
	}
	opts.OnStatus = func(st recovery.Status) { keep(st, false) }
	opts.OnOrphan = func(st recovery.Status) { keep(st, true) }
	r, err := recovery.RecoverAll(context.Background(), s, opts)
	require.NoError(t, err)
	require.NotZero(t, r.Restored)
	require.NotZero(t, r.OrphansRestored)
	assert.Len(t, announced, len(restored), "only restores are announced")
	assert.Empty(t, landedEarly, "announced before the write")
}
