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

// jsonLines parses every line of stderr as a JSON object; it fails the
// test on a line that is not one.
func jsonLines(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "a line of stderr is not JSON: %q", line)
		out = append(out, m)
	}
	return out
}

// With --log-format json, the command's own messages are JSON objects
// too, not only the stores' and the SDKs' notices: an error that ends the
// run, a hint, a refusal.
func TestLogFormatJSONCoversTheCommandsMessages(t *testing.T) {
	parent := t.TempDir()
	sessions := filepath.Join(parent, "sessions")
	require.NoError(t, os.Mkdir(sessions, 0o755))
	writeFiles(t, sessions, map[string]string{"a.json": session(1), "a.json.bak": session(2)})

	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		level string
		msg   string
	}{
		{"cannot open", []string{"scan", filepath.Join(parent, "missing")}, exitUsage, "ERROR", "cannot open"},
		{"empty run", []string{"scan", parent}, exitOK, "WARN", "no sessions directly in " + parent},
		{"id with .json", []string{"recover", "--session", "a.json", sessions}, exitErrors, "ERROR", `did you mean "a"?`},
		{"nothing to undo", []string{"undo", "--session", "a", sessions}, exitErrors, "ERROR", "session a:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := cli(t, append([]string{"--log-format", "json"}, tc.args...)...)
			assert.Equal(t, tc.code, code, errOut)
			lines := jsonLines(t, errOut)
			require.NotEmpty(t, lines, "the message is said")
			var found bool
			for _, l := range lines {
				assert.Equal(t, tc.args[0], l["command"], "each object names the command: %v", l)
				if msg, _ := l["msg"].(string); strings.Contains(msg, tc.msg) {
					found = true
					assert.Equal(t, tc.level, l["level"], "%v", l)
				}
			}
			assert.True(t, found, "no object says %q:\n%s", tc.msg, errOut)
		})
	}
}

// In the text format a message is one line after the command's name;
// a warning says so.
func TestLogFormatTextIsOneLineEach(t *testing.T) {
	parent := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(parent, "sessions"), 0o755))
	writeFiles(t, filepath.Join(parent, "sessions"), map[string]string{"a.json": session(1)})
	code, _, errOut := cli(t, "scan", parent)
	assert.Equal(t, exitOK, code, errOut)
	for _, line := range strings.Split(strings.TrimSuffix(errOut, "\n"), "\n") {
		assert.True(t, strings.HasPrefix(line, "sessionrecovery scan: warning: "), "%q", line)
	}

	code, _, errOut = cli(t, "scan", filepath.Join(parent, "missing"))
	assert.Equal(t, exitUsage, code)
	assert.True(t, strings.HasPrefix(errOut, "sessionrecovery scan: cannot open "), "%q", errOut)
	assert.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
}

// --log-level hides what is below it, -q what is below a warning; errors
// show whatever the level.
func TestLogLevelAndQuiet(t *testing.T) {
	parent := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(parent, "sessions"), 0o755))
	writeFiles(t, filepath.Join(parent, "sessions"), map[string]string{"a.json": session(1)})
	const hint = "no sessions directly in"

	for _, tc := range []struct {
		flags []string
		shown bool
	}{
		{nil, true},
		{[]string{"--log-level", "debug"}, true},
		{[]string{"--log-level", "warn"}, true},
		{[]string{"-q"}, true}, // a hint is a warning: -q keeps it
		{[]string{"--log-level", "error"}, false},
	} {
		code, _, errOut := cli(t, append(append([]string{"scan"}, tc.flags...), parent)...)
		assert.Equal(t, exitOK, code, errOut)
		if tc.shown {
			assert.Contains(t, errOut, hint, "%v", tc.flags)
		} else {
			assert.Empty(t, errOut, "%v", tc.flags)
		}
	}

	code, _, errOut := cli(t, "scan", "--log-level", "error", filepath.Join(parent, "missing"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "cannot open", "errors show at every level")
}

// A notice at Info (here, a wait for a lock another process holds) shows
// by default and not with -q or --log-level warn.
func TestQuietHidesNotices(t *testing.T) {
	dir := lockedStore(t, "--shared")
	const notice = "waiting for the lock of "
	for _, tc := range []struct {
		flags []string
		shown bool
	}{
		{nil, true},
		{[]string{"-q"}, false},
		{[]string{"--log-level", "warn"}, false},
	} {
		args := append(append([]string{"recover", "--lock-timeout", "1ms"}, tc.flags...), dir)
		code, _, errOut := cli(t, args...)
		assert.Equal(t, exitErrors, code, "the session whose lock is held fails: %s", errOut)
		if tc.shown {
			assert.Contains(t, errOut, notice, "%v", tc.flags)
		} else {
			assert.NotContains(t, errOut, notice, "%v", tc.flags)
		}
	}
}
