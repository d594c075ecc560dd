package bucketsim_test

import (
	"bytes"
	"context"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends"
	"github.com/c0fe5641/sessionrecovery/internal/bucketsim"
	"github.com/c0fe5641/sessionrecovery/msgcount"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// open starts a simulated bucket and opens it as sessionrecovery does,
// through the AWS SDK over HTTP.
func open(t *testing.T, cfg bucketsim.Config) (*bucketsim.Server, store.Store) {
	t.Helper()
	for k, v := range bucketsim.Env() {
		t.Setenv(k, v)
	}
	srv, err := bucketsim.New(cfg)
	require.NoError(t, err)
	_, err = srv.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	s, closeFn, err := backends.Open(context.Background(), srv.Location())
	require.NoError(t, err)
	t.Cleanup(func() { closeFn() })
	return srv, s
}

func keys(t *testing.T, s store.Store, prefix string) []store.Object {
	t.Helper()
	var out []store.Object
	require.NoError(t, s.List(context.Background(), prefix, func(o store.Object) error {
		out = append(out, o)
		return nil
	}))
	return out
}

func read(t *testing.T, s store.Store, key string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

func TestListingAndReads(t *testing.T) {
	cfg := bucketsim.Config{Sessions: 2500, BackupShare: 0.3, ShrunkShare: 0.1, MedianBytes: 2000, Seed: 7}
	srv, s := open(t, cfg)
	tot := srv.Totals()
	all := keys(t, s, "")
	require.Len(t, all, tot.Objects, "one listing, over pages, gives every object")
	assert.Equal(t, tot.Sessions+tot.Backups, tot.Objects)
	assert.InDelta(t, 750, tot.Backups, 120)
	assert.InDelta(t, 250, tot.Shrunk, 80)
	c := srv.Counts()
	assert.Equal(t, map[string]int{"list": (tot.Objects + 999) / 1000}, c, "a page of 1,000 keys a request")

	var live, bak, bytesListed int64
	var shrunk int
	var counter msgcount.Counter
	for i, o := range all {
		if i > 0 {
			require.Less(t, all[i-1].Key, o.Key)
		}
		bytesListed += o.Size
		switch {
		case strings.HasSuffix(o.Key, ".json"):
			live++
			require.Len(t, o.Key, 21)
		case strings.HasSuffix(o.Key, ".json.bak"):
			bak++
			require.Equal(t, all[i-1].Key+".bak", o.Key, "a backup follows its session")
			nb, err := counter.Count(bytes.NewReader(read(t, s, o.Key)))
			require.NoError(t, err)
			nl, err := counter.Count(bytes.NewReader(read(t, s, all[i-1].Key)))
			require.NoError(t, err)
			require.GreaterOrEqual(t, nb, 0)
			require.GreaterOrEqual(t, nl, 0)
			if nl < nb {
				shrunk++
			}
		default:
			t.Fatalf("unexpected key %q", o.Key)
		}
	}
	assert.Equal(t, int64(tot.Sessions), live)
	assert.Equal(t, int64(tot.Backups), bak)
	assert.Equal(t, tot.Bytes, bytesListed)
	assert.Equal(t, tot.Shrunk, shrunk, "the shrunk sessions are those whose backup has more messages")
	first := read(t, s, all[0].Key)
	assert.Len(t, first, int(all[0].Size), "a read gives the size listed")

	// A prefix lists its keys only.
	p := all[1234].Key[:3]
	var want []store.Object
	for _, o := range all {
		if strings.HasPrefix(o.Key, p) {
			want = append(want, o)
		}
	}
	assert.Equal(t, want, keys(t, s, p))
	assert.Empty(t, keys(t, s, "zz"))

	_, err := s.Open(context.Background(), "0000000000000000.json.bak.x")
	assert.ErrorIs(t, err, store.ErrNotExist)
	_, err = s.Open(context.Background(), strings.Replace(all[0].Key, all[0].Key[15:16], "g", 1))
	assert.ErrorIs(t, err, store.ErrNotExist)
}

func TestTheSameConfigServesTheSameBucket(t *testing.T) {
	cfg := bucketsim.Config{Sessions: 300, BackupShare: 0.5, ShrunkShare: 0.2, MedianBytes: 1000, Seed: 3}
	_, s1 := open(t, cfg)
	_, s2 := open(t, cfg)
	l1, l2 := keys(t, s1, ""), keys(t, s2, "")
	require.Equal(t, l1, l2)
	for _, o := range l1[:20] {
		assert.Equal(t, read(t, s1, o.Key), read(t, s2, o.Key))
	}
	cfg.Seed = 4
	_, s3 := open(t, cfg)
	assert.NotEqual(t, l1, keys(t, s3, ""))
}

func TestWritesOverlayTheSyntheticObjects(t *testing.T) {
	ctx := context.Background()
	srv, s := open(t, bucketsim.Config{Sessions: 50, BackupShare: 0.5, ShrunkShare: 0.2, MedianBytes: 1000, Seed: 1})
	w := s.(store.Writer)
	all := keys(t, s, "")
	k := all[3].Key

	err := w.Write(ctx, k, strings.NewReader("{}"), store.WriteOptions{IfNotExist: true})
	assert.ErrorIs(t, err, store.ErrChanged, "If-None-Match on a synthetic object")
	rc, err := s.Open(ctx, k)
	require.NoError(t, err)
	v := store.Version(rc)
	rc.Close()
	require.NotEmpty(t, v)
	require.NoError(t, w.Write(ctx, k, strings.NewReader(`{"messages":[]}`), store.WriteOptions{IfVersion: v}))
	assert.Equal(t, `{"messages":[]}`, string(read(t, s, k)))
	err = w.Write(ctx, k, strings.NewReader("{}"), store.WriteOptions{IfVersion: v})
	assert.ErrorIs(t, err, store.ErrChanged, "If-Match on the version replaced")

	// New keys, with the characters keys carry; listed in order among the
	// synthetic ones.
	added := []string{k + ".replaced", "a b+c%d é.json", "zzzz"}
	for _, key := range added {
		require.NoError(t, w.Write(ctx, key, strings.NewReader("x"), store.WriteOptions{IfNotExist: true}))
	}
	require.NoError(t, s.Replace(ctx, "copy of first", all[0].Key))
	assert.Equal(t, read(t, s, all[0].Key), read(t, s, "copy of first"))
	require.NoError(t, w.Delete(ctx, all[1].Key, store.WriteOptions{}))
	require.NoError(t, w.Delete(ctx, "zzzz", store.WriteOptions{}))

	var want []string
	for _, o := range all {
		if o.Key != all[1].Key {
			want = append(want, o.Key)
		}
	}
	want = append(want, added[:2]...)
	want = append(want, "copy of first")
	slices.Sort(want)
	var got []string
	for _, o := range keys(t, s, "") {
		got = append(got, o.Key)
	}
	assert.Equal(t, want, got)
	_, err = s.Open(ctx, all[1].Key)
	assert.ErrorIs(t, err, store.ErrNotExist, "a deleted synthetic object")

	ov := srv.Overlay()
	assert.ElementsMatch(t, []string{k, k + ".replaced", "a b+c%d é.json", "copy of first"}, slices.Collect(maps.Keys(ov)))
	c := srv.Counts()
	assert.Equal(t, 2, c["head"], "gocloud's Delete asks first whether the key exists")
	assert.Equal(t, 1, c["copy"])
	assert.Equal(t, 2, c["delete"])
}

func TestRecoveryRestoresTheShrunk(t *testing.T) {
	srv, s := open(t, bucketsim.Config{Sessions: 3000, BackupShare: 0.05, ShrunkShare: 0.01, MedianBytes: 3000, Seed: 2})
	tot := srv.Totals()
	rep, err := recovery.RecoverAll(context.Background(), s, recovery.Options{})
	require.NoError(t, err)
	restored := 0
	for _, st := range rep.Details {
		require.Empty(t, st.Error, st.Key)
		if st.Restored {
			restored++
		}
	}
	assert.Equal(t, tot.Shrunk, restored)
	assert.Len(t, rep.Details, tot.Sessions)
	c := srv.Counts()
	assert.Zero(t, c["head"])
	assert.Equal(t, 2*tot.Shrunk, c["put"], "a kept copy and a restore for each")
	assert.Len(t, srv.Overlay(), 2*tot.Shrunk)
}

func TestThrottledRequestsAreRetried(t *testing.T) {
	cfg := bucketsim.Config{Sessions: 3000, BackupShare: 0.05, ShrunkShare: 0.01, MedianBytes: 1000, Seed: 5}
	calm, s := open(t, cfg)
	want, err := recovery.RecoverAll(context.Background(), s, recovery.Options{DryRun: true})
	require.NoError(t, err)

	cfg.ThrottleShare = 0.2
	busy, s := open(t, cfg)
	got, err := recovery.RecoverAll(context.Background(), s, recovery.Options{DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, want.Details, got.Details)
	assert.Equal(t, calm.Counts(), busy.Counts(), "every request served once, however often throttled")
	th := busy.Throttled()
	assert.Positive(t, th["list"]+th["get"])
}

func TestBadConfigs(t *testing.T) {
	for _, cfg := range []bucketsim.Config{
		{Sessions: 0},
		{Sessions: 1, BackupShare: 1.5},
		{Sessions: 1, BackupShare: 0.1, ShrunkShare: 0.2},
		{Sessions: 1, ThrottleShare: 1},
		{Sessions: 1, Latency: -1},
	} {
		_, err := bucketsim.New(cfg)
		assert.Error(t, err, "%+v", cfg)
	}
}
