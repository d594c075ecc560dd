package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// complete asks the command for the words a shell would offer after args,
// the last of which is the word being typed, as the completion scripts do
// (sessionrecovery __complete ARGS...). It returns the words without
// their descriptions, and the directive line.
func complete(t *testing.T, args ...string) (words []string, directive string) {
	t.Helper()
	code, out, errOut := cli(t, append([]string{"__complete"}, args...)...)
	require.Equal(t, exitOK, code, errOut)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.NotEmpty(t, lines)
	directive = lines[len(lines)-1]
	require.True(t, strings.HasPrefix(directive, ":"), "the last line is the directive:\n%s", out)
	for _, l := range lines[:len(lines)-1] {
		word, _, _ := strings.Cut(l, "\t")
		words = append(words, word)
	}
	return words, directive
}

// The scripts for every shell are printed, and bash reads the bash one
// without a syntax error.
func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, errOut := cli(t, "completion", shell)
		require.Equal(t, exitOK, code, "%s: %s", shell, errOut)
		assert.Contains(t, out, "__complete", "%s: the script asks the command for its words", shell)
		assert.Empty(t, errOut, shell)
		if shell != "bash" {
			continue
		}
		bash, err := exec.LookPath("bash")
		if err != nil {
			t.Log("no bash here: the bash script's syntax is not checked")
			continue
		}
		script := filepath.Join(t.TempDir(), "sessionrecovery.bash")
		require.NoError(t, os.WriteFile(script, []byte(out), 0o644))
		check, err := exec.Command(bash, "-n", script).CombinedOutput()
		assert.NoError(t, err, "bash -n: %s", check)
	}
}

// Each command offers its own flags, and the flags every command takes.
func TestCompletionOffersEachCommandsFlags(t *testing.T) {
	words, _ := complete(t, "recover", "--")
	for _, want := range []string{"--dry-run", "--json", "--session", "--restore-orphans", "--lock-timeout", "--quiet", "--log-level", "--log-format"} {
		assert.Contains(t, words, want)
	}
	words, _ = complete(t, "scan", "--")
	assert.Contains(t, words, "--count-all")
	assert.NotContains(t, words, "--restore-orphans", "a flag of recover is not offered to scan")
	assert.NotContains(t, words, "--lock-timeout", "scan writes nothing, so takes no lock")

	words, _ = complete(t, "prune", "--")
	assert.Contains(t, words, "--older-than")
	assert.Contains(t, words, "--yes")
}

// The values of the log flags are offered on every command.
func TestCompletionOffersLogFlagValues(t *testing.T) {
	for _, cmd := range []string{"scan", "recover", "inspect", "prune", "undo"} {
		words, directive := complete(t, cmd, "--log-format", "")
		assert.Equal(t, []string{"text", "json"}, words, cmd)
		assert.Equal(t, ":4", directive, "%s: no file names offered", cmd)
		words, _ = complete(t, cmd, "--log-level", "w")
		assert.Equal(t, []string{"warn"}, words, cmd)
	}
}

// In a local directory a session id is completed from the sessions there:
// inspect's second argument, and --session of recover and undo. A bucket
// is never listed for a keystroke.
func TestCompletionOffersSessionIDs(t *testing.T) {
	dir := sampleCopy(t)
	all := []string{"20240601_trip-planning", "20240602_garden", "20240603_recipes", "20240604_taxes"}

	words, directive := complete(t, "inspect", dir, "")
	assert.ElementsMatch(t, all, words)
	assert.Equal(t, ":4", directive)

	words, _ = complete(t, "inspect", dir, "20240602")
	assert.Equal(t, []string{"20240602_garden"}, words)

	words, _ = complete(t, "recover", dir, "--session", "2024060")
	assert.ElementsMatch(t, all, words)
	words, _ = complete(t, "undo", dir, "--session", "20240604")
	assert.Equal(t, []string{"20240604_taxes"}, words)

	// The first argument is a directory: the shell offers directories.
	_, directive = complete(t, "inspect", "")
	assert.Equal(t, ":16", directive, "ShellCompDirectiveFilterDirs")

	// No request is made for a bucket: the server sees none.
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	bucket := "s3://b?use_path_style=true&region=us-east-1&endpoint=" + srv.URL
	words, _ = complete(t, "inspect", bucket, "")
	assert.Empty(t, words)
	words, _ = complete(t, "recover", bucket, "--session", "")
	assert.Empty(t, words)
	assert.Zero(t, requests.Load(), "completion made a request to the bucket's server")
	code, _, _ := cli(t, "scan", bucket)
	assert.Equal(t, exitUsage, code)
	assert.Positive(t, requests.Load(), "the same location does reach the server when scanned")
}
