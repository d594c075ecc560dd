package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/testserver"
)

// undo puts back what a restore replaced, after a dry run that changes
// nothing, and refuses a second time: the live document is no longer the
// version the restore wrote.
func TestUndo(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s.json": session(1), "s.json.bak": session(3)})
	code, _, errOut := cli(t, "recover", dir)
	require.Equal(t, exitOK, code, errOut)
	restored := snapshot(t, dir)

	code, out, errOut := cli(t, "undo", "-n", "--session", "s", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "would undo")
	assert.Contains(t, out, "a later recover restores the session again")
	assert.Equal(t, restored, snapshot(t, dir), "a dry run changes nothing")

	code, out, errOut = cli(t, "undo", "--session", "s", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Regexp(t, `outcome +undone\n`, out)
	assert.Regexp(t, `replaced bytes kept as +s.json.replaced.2\n`, out)
	assert.Equal(t, map[string]string{
		"s.json": session(1), "s.json.bak": session(3),
		"s.json.replaced": session(1), "s.json.replaced.2": session(3),
	}, snapshot(t, dir))

	undone := snapshot(t, dir)
	code, out, errOut = cli(t, "undo", "--session", "s", "--json", dir)
	assert.Equal(t, exitErrors, code)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	assert.Equal(t, false, st["undone"])
	assert.Equal(t, "s.json.replaced.2", st["kept_key"])
	assert.Contains(t, st["error"], "not the version a restore wrote")
	assert.Empty(t, errOut, "with --json the error is in the JSON")
	assert.Equal(t, undone, snapshot(t, dir))
}

func TestUndoUsage(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s.json": session(1)})
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"undo", dir}, exitUsage, "--session is required"},
		{[]string{"undo", "--session", "../s", dir}, exitUsage, "invalid session id"},
		{[]string{"undo", "--session", "s"}, exitUsage, "want one LOCATION"},
		{[]string{"undo", "--session", "s", "--concurrency", "2", dir}, exitUsage, "unknown flag: --concurrency"},
		{[]string{"undo", "--session", "s", dir}, exitErrors, "nothing to undo"},
	} {
		before := snapshot(t, dir)
		code, out, errOut := cli(t, tc.args...)
		assert.Equal(t, tc.code, code, "%v", tc.args)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
		if tc.code == exitUsage {
			assert.Empty(t, out, "%v", tc.args)
		}
		assert.Equal(t, before, snapshot(t, dir))
	}
}

// undo works on buckets as on disk.
func TestUndoOnBuckets(t *testing.T) {
	for name, srv := range map[string]*testserver.Server{"s3": testserver.S3(t), "gcs": testserver.GCS(t)} {
		t.Run(name, func(t *testing.T) {
			for k, v := range srv.Env {
				t.Setenv(k, v)
			}
			prefix := "undo-" + name + "/"
			testserver.Fill(t, srv.Bucket, map[string][]byte{
				prefix + "a.json":     []byte(session(0)),
				prefix + "a.json.bak": []byte(session(2)),
			})
			loc := withPrefix(srv.URL, prefix)
			code, _, errOut := cli(t, "recover", loc)
			require.Equal(t, exitOK, code, errOut)
			code, out, errOut := cli(t, "undo", "--session", "a", "--json", loc)
			require.Equal(t, exitOK, code, errOut)
			assert.JSONEq(t, `{"session_id":"a","live_messages":2,"kept_key":"a.json.replaced","kept_messages":0,"undone":true,"preserved_key":"a.json.replaced.2"}`, out)
			assert.Equal(t, map[string]string{
				"a.json": session(0), "a.json.bak": session(2),
				"a.json.replaced": session(0), "a.json.replaced.2": session(2),
			}, bucketFiles(t, srv.Bucket, prefix))
		})
	}
}
