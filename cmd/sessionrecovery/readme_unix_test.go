//go:build unix

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's table of JSON fields names every field a report can hold,
// and no field a report never holds.
func TestReadmeListsEveryJSONField(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	documented := map[string]bool{}
	_, section, _ := strings.Cut(string(readme), "### The JSON report")
	section, _, _ = strings.Cut(section, "\n## ")
	for line := range strings.Lines(section) {
		if f, ok := strings.CutPrefix(line, "| `"); ok {
			documented[f[:strings.Index(f, "`")]] = true
		}
	}
	require.NotEmpty(t, documented)

	// A store that gives every field: a restore, an error (a backup that is
	// a FIFO is refused), a session without backup, an orphan.
	dir := sampleCopy(t)
	require.NoError(t, os.Remove(filepath.Join(dir, "20240602_garden.json")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.json"), []byte(session(1)), 0o644))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "broken.json.bak"), 0o644))
	_, out, _ := cli(t, "recover", "--json", "--restore-orphans", dir)
	var report map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &report), out)
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				seen[k] = true
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(report)
	for k := range seen {
		assert.True(t, documented[k], "the field %q is not in the README's table", k)
	}
	for k := range documented {
		assert.True(t, seen[k], "the README documents %q, which the report never held:\n%s", k, out)
	}
}
