package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Absurd bounds are refused with a message saying the range, before
// anything is read; none panics or runs out of memory.
func TestAbsurdConcurrencyRefused(t *testing.T) {
	dir := sampleCopy(t)
	before := snapshot(t, dir)
	for _, n := range []string{"0", "-1", "1025", "100000", "1000000000", "9223372036854775807", "9223372036854775808"} {
		for _, cmd := range []string{"scan", "recover"} {
			code, out, errOut := cli(t, cmd, "--concurrency", n, dir)
			assert.Equal(t, exitUsage, code, "%s --concurrency %s: %s", cmd, n, errOut)
			assert.Empty(t, out)
			assert.Contains(t, errOut, "concurrency", "%s --concurrency %s", cmd, n)
		}
	}
	code, _, errOut := cli(t, "scan", "--concurrency", "100000", dir)
	require.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "between 1 and 1024")
	code, _, errOut = cli(t, "scan", "--concurrency", "1024", dir)
	assert.Equal(t, exitOK, code, errOut)
	assert.Equal(t, before, snapshot(t, dir))
}

// File names are bytes: two ids that differ only in bytes that are not
// UTF-8 stay two distinct ids in the JSON report, and a name with a
// backslash is a session like any other.
func TestIDsAreKeptAsTheyAre(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"a\xff", "a\xfe", `back\slash`} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, id+".json"), []byte(session(1)), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, id+".json.bak"), []byte(session(3)), 0o644))
	}
	code, out, errOut := cli(t, "recover", "--json", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, `"session_id":"a\udcff"`)
	assert.Contains(t, out, `"session_id":"a\udcfe"`)
	assert.Contains(t, out, `"session_id":"back\\slash"`)
	var report struct {
		Restored int `json:"restored"`
		Scanned  int `json:"scanned"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &report), out)
	assert.Equal(t, 3, report.Restored)
	assert.Equal(t, 3, report.Scanned)
	for _, id := range []string{"a\xff", "a\xfe", `back\slash`} {
		b, err := os.ReadFile(filepath.Join(dir, id+".json"))
		require.NoError(t, err)
		assert.Equal(t, session(3), string(b), "%q restored", id)
	}

	code, out, errOut = cli(t, "inspect", dir, `back\slash`)
	assert.Equal(t, exitOK, code, errOut)
	assert.True(t, strings.Contains(out, "3 messages"), out)
}
