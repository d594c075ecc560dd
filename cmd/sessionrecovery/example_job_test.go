package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jobCommand reads the command line of the example Indexed Job: the
// folded shell line under "args:", as words, and the file its stdout goes
// to.
func jobCommand(t *testing.T) (words []string, stdout string) {
	t.Helper()
	b, err := os.ReadFile("../../examples/kubernetes/recover-job.yaml")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), "- >-\n")
	require.True(t, ok, "the manifest has a folded args line")
	block, _, ok := strings.Cut(rest, "resources:")
	require.True(t, ok)
	line := strings.Join(strings.Fields(block), " ")
	line, stdout, ok = strings.Cut(line, " > ")
	require.True(t, ok, "its report goes to a file")
	for _, w := range strings.Fields(line) {
		words = append(words, strings.Trim(w, "'"))
	}
	require.Equal(t, []string{"exec", "sessionrecovery"}, words[:2])
	return words[2:], stdout
}

// The example Job's command, run as its eight pods would run it (on a
// directory instead of its bucket), then merged as its comment says,
// gives one run's report; run again, as a retried pod, it reads nothing
// twice and reports the same.
func TestKubernetesExampleJob(t *testing.T) {
	words, stdoutFile := jobCommand(t)
	one := genStore(t, 600)
	code, want, errOut := cli(t, "recover", "--json", one)
	require.Equal(t, exitOK, code, errOut)

	dir := genStore(t, 600)
	state := t.TempDir()
	count := 0
	for _, w := range words {
		if n, ok := strings.CutPrefix(w, "JOB_COMPLETION_INDEX/"); ok {
			count, _ = strconv.Atoi(n)
		}
	}
	require.Equal(t, 8, count, "the shard count is the job's completions")
	for pass := range 2 {
		var reports []string
		for k := range count {
			t.Setenv("JOB_COMPLETION_INDEX", strconv.Itoa(k))
			var args []string
			for _, w := range words {
				w = strings.ReplaceAll(w, "$JOB_COMPLETION_INDEX", strconv.Itoa(k))
				w = strings.ReplaceAll(w, "/state/", state+"/")
				if strings.HasPrefix(w, "s3://") {
					w = dir
				}
				args = append(args, w)
			}
			code, out, errOut := cli(t, args...)
			require.Equal(t, exitOK, code, "pod %d: %s", k, errOut)
			name := strings.ReplaceAll(strings.ReplaceAll(stdoutFile, "$JOB_COMPLETION_INDEX", strconv.Itoa(k)), "/state/", state+"/")
			require.NoError(t, os.WriteFile(name, []byte(out), 0o644))
			reports = append(reports, name)
		}
		matches, err := filepath.Glob(filepath.Join(state, "report-*.json"))
		require.NoError(t, err)
		assert.ElementsMatch(t, reports, matches)
		code, got, errOut := cli(t, append([]string{"merge-reports"}, matches...)...)
		require.Equal(t, exitOK, code, errOut)
		assert.Equal(t, want, got, "pass %d", pass)
	}
	assert.Equal(t, snapshot(t, one), snapshot(t, dir))
}
