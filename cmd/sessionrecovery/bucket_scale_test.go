package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/bucketsim"
)

// simBucket serves a simulated bucket of n sessions for the command.
func simBucket(t *testing.T, n int) *bucketsim.Server {
	t.Helper()
	for k, v := range bucketsim.Env() {
		t.Setenv(k, v)
	}
	srv, err := bucketsim.New(bucketsim.Config{Sessions: n, BackupShare: 0.2, ShrunkShare: 0.05, MedianBytes: 2000, Seed: 11})
	require.NoError(t, err)
	_, err = srv.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	return srv
}

// Four shards of a bucket, merged, are the report of one run; together
// they read each session once.
func TestShardsOfABucketMergeIntoOneRun(t *testing.T) {
	srv := simBucket(t, 6000)
	code, want, errOut := cli(t, "recover", "--json", "--no-progress", srv.Location())
	require.Equal(t, exitOK, code, errOut)
	oneRun := srv.Counts()
	written := srv.Overlay()

	srv2 := simBucket(t, 6000)
	dir := t.TempDir()
	var files []string
	for _, k := range []string{"0", "1", "2", "3"} {
		code, out, errOut := cli(t, "recover", "--json", "--no-progress", "--shard", k+"/4", srv2.Location())
		require.Equal(t, exitOK, code, errOut)
		name := filepath.Join(dir, "shard-"+k+".json")
		require.NoError(t, os.WriteFile(name, []byte(out), 0o644))
		files = append(files, name)
	}
	code, got, errOut := cli(t, append([]string{"merge-reports"}, files...)...)
	require.Equal(t, exitOK, code, errOut)
	assert.JSONEq(t, want, got)
	assert.Equal(t, want, got, "byte for byte")
	c := srv2.Counts()
	assert.Equal(t, oneRun["get"], c["get"], "each session read by one shard")
	assert.Equal(t, oneRun["put"], c["put"])
	assert.Equal(t, 4*oneRun["list"], c["list"], "every shard lists the whole bucket")
	assert.Equal(t, written, srv2.Overlay(), "the shards wrote what one run writes")
}

// A recover of a bucket cut short and continued from its journal reports
// what one run reports, writes what one run writes, and reads no session
// the first run finished.
func TestResumeOnABucketEqualsOneRun(t *testing.T) {
	args := []string{"recover", "--json", "--no-progress"}
	srv := simBucket(t, 6000)
	code, want, errOut := cli(t, append(args, srv.Location())...)
	require.Equal(t, exitOK, code, errOut)
	written := srv.Overlay()
	oneRun := srv.Counts()

	srv2 := simBucket(t, 6000)
	jname := filepath.Join(t.TempDir(), "journal")
	ctx, cancel := context.WithCancel(context.Background())
	first := &cancelOnWrite{cancel: cancel}
	var errOut1 bytes.Buffer
	code = run(ctx, append(args, "--resume", jname, srv2.Location()), first, &errOut1)
	require.Equal(t, exitErrors, code, "the first run is cut short: %s", errOut1.String())
	finished1, _ := journalEntries(t, jname)
	require.NotEmpty(t, finished1)
	require.Less(t, len(finished1), 6000)
	firstGets := srv2.Counts()["get"]

	code, got, errOut := cli(t, append(args, "--resume", jname, srv2.Location())...)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, want, got)
	// What one run wrote, and maybe a second copy of bytes already kept: a
	// copy kept by the first run for a restore it was stopped before (a
	// bucket cannot delete it on condition that it is still that copy) is
	// kept again by the continued run, under the next name.
	got2 := srv2.Overlay()
	for k, v := range written {
		assert.Equal(t, v, got2[k], k)
	}
	for k, v := range got2 {
		if _, ok := written[k]; ok {
			continue
		}
		base, _, ok := strings.Cut(k, ".json.replaced.")
		require.True(t, ok, "%s: written by neither run", k)
		assert.Equal(t, written[base+".json.replaced"], v, "%s: a second copy of the same bytes", k)
	}
	finished, _ := journalEntries(t, jname)
	for id, n := range finished {
		assert.Equal(t, 1, n, "%s was finished once, never redone", id)
	}
	assert.LessOrEqual(t, srv2.Counts()["get"]-firstGets, oneRun["get"], "the continued run reads only what was left")
}
