package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// File names are the store's, not ours: one holding terminal escapes, a
// carriage return or a bidi override must neither reach the terminal raw
// nor pass for another session's row.
func TestTableShowsNoControlCharacters(t *testing.T) {
	dir := t.TempDir()
	ids := []string{"clear\x1b[2J", "cr\rforged", "bidi\u202eevil", "tab\there", "bad\xffutf8"}
	for _, id := range ids {
		require.NoError(t, os.WriteFile(filepath.Join(dir, id+".json"), []byte(session(1)), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, id+".json.bak"), []byte(session(2)), 0o644))
	}
	code, out, errOut := cli(t, "scan", dir)
	require.Equal(t, exitOK, code, errOut)
	for _, bad := range []string{"\x1b", "\r", "\u202e", "\t", "\xff"} {
		assert.NotContains(t, out, bad, "the table holds %q raw", bad)
	}
	for _, want := range []string{`"clear\x1b[2J"`, `"cr\rforged"`, `"bidi\u202eevil"`, `"tab\there"`, `"bad\xffutf8"`} {
		assert.Contains(t, out, want, "shown quoted")
	}

	code, out, errOut = cli(t, "recover", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.NotContains(t, out, "\x1b")
	assert.Contains(t, out, `kept as "clear\x1b[2J.json.replaced"`)

	for _, id := range ids {
		code, out, errOut = cli(t, "inspect", dir, id)
		assert.Equal(t, exitOK, code, errOut)
		assert.NotContains(t, out, "\x1b")
		assert.NotContains(t, out, "\r")
	}
}

// The command inspect suggests can be pasted into a shell as it is: ids
// and locations are quoted where they need it.
func TestSuggestedCommandIsShellQuoted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my sessions")
	require.NoError(t, os.Mkdir(dir, 0o755))
	for _, id := range []string{"plain-id_1", "it's mine", "esc\x1bape"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, id+".json"), []byte(session(1)), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, id+".json.bak"), []byte(session(2)), 0o644))
	}
	next := func(id string) string {
		t.Helper()
		code, out, errOut := cli(t, "inspect", dir, id)
		require.Equal(t, exitOK, code, errOut)
		for line := range strings.Lines(out) {
			if rest, ok := strings.CutPrefix(line, "next"); ok {
				return strings.TrimSpace(rest)
			}
		}
		t.Fatalf("no next line:\n%s", out)
		return ""
	}
	loc := "'" + dir + "'"
	assert.Equal(t, "sessionrecovery recover --session plain-id_1 "+loc, next("plain-id_1"))
	assert.Equal(t, `sessionrecovery recover --session 'it'\''s mine' `+loc, next("it's mine"))
	assert.Equal(t, `sessionrecovery recover --session $'esc\x1bape' `+loc, next("esc\x1bape"))
}

// An id given with its file extension finds nothing; the command says
// which id was probably meant.
func TestIDWithExtensionGetsDidYouMean(t *testing.T) {
	dir := sampleCopy(t)
	for _, args := range [][]string{
		{"inspect", dir, "20240601_trip-planning.json"},
		{"recover", "--session", "20240601_trip-planning.json", dir},
	} {
		code, _, errOut := cli(t, args...)
		assert.Equal(t, exitErrors, code, "%v", args)
		assert.Contains(t, errOut, `did you mean "20240601_trip-planning"? (an id is the file name less .json)`, "%v", args)
	}
	code, _, errOut := cli(t, "inspect", dir, "20240601_trip-planning")
	assert.Equal(t, exitOK, code)
	assert.NotContains(t, errOut, "did you mean")
}
