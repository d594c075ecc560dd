package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's sample output is the command's real output: each block that
// starts "$ sessionrecovery ..." on a shipped sample store is run, on a
// copy of that store, and what it prints must be what the README shows
// under it.
func TestReadmeSampleOutput(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	samples := 0
	for _, block := range strings.Split(string(readme), "```")[1:] {
		command, want, ok := strings.Cut(strings.TrimPrefix(block, "\n"), "\n")
		args, isCommand := strings.CutPrefix(command, "$ sessionrecovery ")
		if !ok || !isCommand {
			continue
		}
		fields := strings.Fields(args)
		for i, f := range fields {
			if strings.HasPrefix(f, "examples/") {
				copied := t.TempDir()
				require.NoError(t, os.CopyFS(copied, os.DirFS("../../"+f)))
				fields[i] = copied
			}
		}
		samples++
		_, out, _ := cli(t, fields...)
		assert.Equal(t, want, out, "the README's output of %q", command)
	}
	require.Positive(t, samples, "the README shows the command's output")
}
