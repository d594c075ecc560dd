package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
)

// cli runs the command in-process and returns its exit code and output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// sampleCopy copies the shipped sample store to a fresh directory.
func sampleCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("../../examples/sessions")))
	return dir
}

// snapshot reads every file of dir, by name relative to dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return out
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := cli(t, "help")
	assert.Equal(t, exitOK, code)
	for _, want := range []string{"scan", "recover", "inspect", "--session", "Exit status"} {
		assert.Contains(t, out, want)
	}
	code, out, _ = cli(t, "help", "recover")
	assert.Equal(t, exitOK, code)
	for _, want := range []string{"-session", "-json", "-count-all", "-concurrency", "-restore-orphans"} {
		assert.Contains(t, out, want)
	}
	for _, flag := range []string{"--help", "-h"} {
		code, out, errOut := cli(t, "recover", flag)
		assert.Equal(t, exitOK, code)
		assert.Contains(t, out, "--session", "help goes to stdout, as asked for")
		assert.Empty(t, errOut)
	}
	// Flags are GNU-style: a long flag with one dash is a slip, answered
	// with the fix rather than read as a cluster of short flags.
	code, out, errOut := cli(t, "recover", "-help")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "long flags take two dashes: --help")
}

// Every command takes --help and answers on stdout with its own flags.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, tc := range []struct{ cmd, flag string }{
		{"scan", "--count-all"}, {"recover", "--dry-run"}, {"inspect", "--json"},
		{"prune", "--older-than"}, {"undo", "--session"}, {"completion", "bash"}, {"version", "--help"},
	} {
		code, out, errOut := cli(t, tc.cmd, "--help")
		assert.Equal(t, exitOK, code, tc.cmd)
		assert.Contains(t, out, "Usage:\n  sessionrecovery "+tc.cmd, tc.cmd)
		assert.Contains(t, out, tc.flag, tc.cmd)
		assert.Contains(t, out, "Exit status", tc.cmd)
		assert.Empty(t, errOut, tc.cmd)
	}
}

// A mistyped flag is answered in one line and a hint, not the whole
// usage: the line that says what is wrong stays on the screen.
func TestUnknownFlagIsOneLineAndAHint(t *testing.T) {
	code, out, errOut := cli(t, "scan", "--force", "examples/sessions")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Equal(t, "sessionrecovery scan: unknown flag: --force\nRun 'sessionrecovery help scan' for usage.\n", errOut)
}

func TestUsageErrorsExit2(t *testing.T) {
	dir := sampleCopy(t)
	file := filepath.Join(dir, "_index.json")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "Usage"},
		{"unknown command", []string{"fix", dir}, `unknown command "fix"`},
		{"no location", []string{"scan"}, "want one LOCATION"},
		{"two locations", []string{"scan", dir, dir}, "want one LOCATION"},
		{"unknown flag", []string{"scan", "--force", dir}, "unknown flag: --force"},
		{"one-dash long flag", []string{"scan", "-json", dir}, "long flags take two dashes: --json"},
		{"flag of another command", []string{"scan", "--session", "x", dir}, "unknown flag: --session"},
		{"flag not for one session", []string{"recover", "--session", "x", "--concurrency", "4", dir}, "--concurrency does not apply to recover --session"},
		{"bad log level", []string{"scan", "--log-level", "loud", dir}, "--log-level"},
		{"bad log format", []string{"scan", "--log-format", "xml", dir}, "--log-format"},
		{"bad concurrency", []string{"recover", "--concurrency", "0", dir}, "--concurrency must be between 1 and 1024"},
		{"missing location", []string{"scan", filepath.Join(dir, "nope")}, "nope"},
		{"location is a file", []string{"recover", file}, "not a directory"},
		{"unsupported scheme", []string{"scan", "ftp://host/dir"}, `unsupported scheme "ftp"`},
		{"inspect without id", []string{"inspect", dir}, "want LOCATION and ID"},
		{"id with ..", []string{"inspect", dir, "../x"}, `invalid session id "../x"`},
		{"id with /", []string{"recover", "--session", "a/b", dir}, `invalid session id "a/b"`},
		{"id with leading _", []string{"recover", "--session", "_index", dir}, `invalid session id "_index"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, dir)
			code, out, errOut := cli(t, tc.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tc.want)
			assert.Equal(t, before, snapshot(t, dir), "nothing changed")
		})
	}
}

func TestScanChangesNothing(t *testing.T) {
	dir := sampleCopy(t)
	before := snapshot(t, dir)
	code, out, errOut := cli(t, "scan", dir)
	assert.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "20240601_trip-planning")
	assert.Contains(t, out, "to restore")
	assert.Contains(t, out, "4 sessions scanned: 2 to restore, 1 without backup.")
	assert.NotContains(t, out, "20240602_garden", "healthy sessions are listed only with --verbose")
	assert.Equal(t, before, snapshot(t, dir))

	_, out, _ = cli(t, "scan", "--verbose", dir)
	assert.Contains(t, out, "20240602_garden")
}

func TestRecoverJSON(t *testing.T) {
	dir := sampleCopy(t)
	before := snapshot(t, dir)
	// Flags may follow the location.
	code, out, errOut := cli(t, "recover", dir, "--json", "--count-all", "--concurrency", "2")
	require.Equal(t, exitOK, code, errOut)
	var r recovery.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	assert.Equal(t, 4, r.Scanned)
	assert.Equal(t, 2, r.Restored)
	assert.Equal(t, recovery.Count(3), r.Details[2].LiveMessages, "--count-all reads sessions without backup")

	after := snapshot(t, dir)
	for _, id := range []string{"20240601_trip-planning", "20240604_taxes"} {
		assert.Equal(t, before[id+".json.bak"], after[id+".json"], "%s restored", id)
		assert.Equal(t, before[id+".json"], after[id+".json.replaced"], "%s's old bytes kept", id)
		assert.Equal(t, before[id+".json.bak"], after[id+".json.bak"], "%s's backup unchanged", id)
	}
	assert.True(t, strings.HasSuffix(out, "}\n") && strings.Count(out, "\n") == 1, "one JSON document, nothing else on stdout")

	// The second run finds nothing to do.
	code, out, _ = cli(t, "recover", dir)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "0 restored")
}

func TestRecoverOneSession(t *testing.T) {
	dir := sampleCopy(t)
	before := snapshot(t, dir)
	code, out, errOut := cli(t, "recover", "--session", "20240604_taxes", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "restored (replaced bytes kept as 20240604_taxes.json.replaced)")
	after := snapshot(t, dir)
	assert.Equal(t, before["20240604_taxes.json.bak"], after["20240604_taxes.json"])
	assert.Equal(t, before["20240601_trip-planning.json"], after["20240601_trip-planning.json"], "other sessions untouched")

	code, out, _ = cli(t, "recover", "--json", "--session", "20240601_trip-planning", dir)
	require.Equal(t, exitOK, code)
	var st recovery.Status
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	assert.True(t, st.Restored)
	assert.Equal(t, recovery.Count(12), st.BakMessages)
}

func TestInspect(t *testing.T) {
	dir := sampleCopy(t)
	before := snapshot(t, dir)
	code, out, _ := cli(t, "inspect", dir, "20240601_trip-planning")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "0 messages")
	assert.Contains(t, out, "12 messages")
	assert.Contains(t, out, "sessionrecovery recover --session 20240601_trip-planning")

	code, out, _ = cli(t, "inspect", "--json", dir, "20240603_recipes")
	assert.Equal(t, exitOK, code)
	assert.JSONEq(t, `{"bak_messages":-1,"live_messages":3,"recommend":"no_backup","restored":false,"session_id":"20240603_recipes"}`, out)

	code, out, _ = cli(t, "inspect", dir, "nosuch")
	assert.Equal(t, exitErrors, code)
	assert.Contains(t, out, "no live document")
	assert.Equal(t, before, snapshot(t, dir))
}

func TestSessionErrorExits1AndIsLeftAlone(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret.json": `{"messages":[]}`})
	writeFiles(t, dir, map[string]string{
		"good.json":     `{"messages":[]}`,
		"good.json.bak": `{"messages":[1]}`,
		"link.json.bak": `{"messages":[1,2,3]}`,
	})
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.json"), filepath.Join(dir, "link.json")))

	code, out, _ := cli(t, "recover", "--json", dir)
	assert.Equal(t, exitErrors, code)
	var r recovery.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Len(t, r.Details, 2)
	assert.True(t, r.Details[0].Restored, "good")
	assert.Equal(t, "link", r.Details[1].SessionID)
	assert.False(t, r.Details[1].Restored)
	assert.Contains(t, r.Details[1].Error, "link.json")
	target, err := os.Readlink(filepath.Join(dir, "link.json"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(outside, "secret.json"), target, "the link is left as it was")
	assert.Equal(t, map[string]string{"secret.json": `{"messages":[]}`}, snapshot(t, outside), "nothing outside the store touched")

	code, out, _ = cli(t, "scan", dir)
	assert.Equal(t, exitErrors, code)
	assert.Contains(t, out, "error, left as it was")
}

func TestFileURL(t *testing.T) {
	dir := sampleCopy(t)
	code, out, errOut := cli(t, "scan", "--json", "file://"+dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, `"scanned":4`)
}

func TestOrphans(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"lost.json.bak": `{"messages":[1,2]}`})
	code, out, _ := cli(t, "recover", dir)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "lost.json.bak")
	assert.Contains(t, out, "--restore-orphans restores it")
	assert.NoFileExists(t, filepath.Join(dir, "lost.json"))

	code, _, _ = cli(t, "recover", "--restore-orphans", dir)
	assert.Equal(t, exitOK, code)
	assert.FileExists(t, filepath.Join(dir, "lost.json"))
}
