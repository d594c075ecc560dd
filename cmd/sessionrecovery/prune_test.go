package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/testserver"
)

// prune lists the kept copies older than --older-than, and deletes them
// with --yes; it touches nothing else, however old.
func TestPruneDeletesOnlyOldKeptCopies(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"s.json":               session(3),
		"s.json.bak":           session(3),
		"s.json.replaced":      session(1),
		"s.json.replaced.2":    session(2),
		"t.json.replaced":      session(1),
		"notes.replaced":       "x",
		"_index.json.replaced": "{}",
		"u.json.replaced.1":    "{}",
	})
	before := snapshot(t, dir)

	code, out, errOut := cli(t, "prune", "--older-than", "720h", "--yes", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "0 kept copies older than 720h0m0s deleted; 3 newer kept.")
	assert.Equal(t, before, snapshot(t, dir), "nothing is old yet")

	// 40 days later (a file's status change time cannot be set back).
	later := time.Now().Add(40 * 24 * time.Hour)
	pruneNow = func() time.Time { return later }
	t.Cleanup(func() { pruneNow = time.Now })

	code, out, errOut = cli(t, "prune", "--older-than", "720h", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, before, snapshot(t, dir), "without --yes nothing is deleted")
	for _, kept := range []string{"s.json.replaced ", "s.json.replaced.2 ", "t.json.replaced "} {
		assert.Contains(t, out, kept)
	}
	assert.Contains(t, out, "3 kept copies older than 720h0m0s: run again with --yes to delete them; 0 newer kept.")

	code, out, errOut = cli(t, "prune", "--older-than", "720h", "--yes", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "3 kept copies older than 720h0m0s deleted; 0 newer kept.")
	after := snapshot(t, dir)
	for name := range before {
		switch name {
		case "s.json.replaced", "s.json.replaced.2", "t.json.replaced":
			assert.NotContains(t, after, name)
		default:
			assert.Equal(t, before[name], after[name], "%s is left alone", name)
		}
	}
}

func TestPruneNeedsOlderThan(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"prune", dir}, {"prune", "--older-than", "-1h", dir}} {
		code, out, errOut := cli(t, args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.Empty(t, out)
		assert.Contains(t, errOut, "--older-than", "%v", args)
	}
}

// prune works on buckets as on disk: the objects' times come from the
// server's listing.
func TestPruneOnBuckets(t *testing.T) {
	for name, srv := range map[string]*testserver.Server{"s3": testserver.S3(t), "gcs": testserver.GCS(t)} {
		t.Run(name, func(t *testing.T) {
			for k, v := range srv.Env {
				t.Setenv(k, v)
			}
			prefix := "prune-" + name + "/"
			testserver.Fill(t, srv.Bucket, map[string][]byte{
				prefix + "a.json":            []byte(session(2)),
				prefix + "a.json.bak":        []byte(session(2)),
				prefix + "a.json.replaced":   []byte(session(1)),
				prefix + "a.json.replaced.2": []byte(session(1)),
				prefix + "other.replaced":    []byte("x"),
			})
			loc := withPrefix(srv.URL, prefix)
			code, out, errOut := cli(t, "prune", "--older-than", "1h", "--yes", loc)
			require.Equal(t, exitOK, code, errOut)
			assert.Contains(t, out, "0 kept copies older than 1h0m0s deleted; 2 newer kept.")

			code, out, errOut = cli(t, "prune", "--older-than", "0s", "--yes", loc)
			require.Equal(t, exitOK, code, errOut)
			assert.Contains(t, out, "2 kept copies older than 0s deleted")
			left := bucketFiles(t, srv.Bucket, prefix)
			var keys []string
			for k := range left {
				keys = append(keys, k)
			}
			assert.ElementsMatch(t, []string{"a.json", "a.json.bak", "other.replaced"}, keys, strings.Join(keys, " "))
		})
	}
}

// A kept copy made by a hard link is the replaced file itself, with the
// modification time of its last save, which may be long past: its age is
// from when it was kept, so a copy kept a moment ago is never pruned.
func TestPruneAgesAKeptCopyFromWhenItWasKept(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s.json": session(1), "s.json.bak": session(3)})
	old := time.Now().Add(-60 * 24 * time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "s.json"), old, old))
	code, out, errOut := cli(t, "recover", dir)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "kept as s.json.replaced")

	code, out, errOut = cli(t, "prune", "--older-than", "720h", "--yes", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "0 kept copies older than 720h0m0s deleted; 1 newer kept.")
	assert.FileExists(t, filepath.Join(dir, "s.json.replaced"))
}
