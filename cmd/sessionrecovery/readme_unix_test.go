//go:build unix

package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
)

// The README's table of JSON fields names every field a report can hold,
// and no field a report never holds.
func TestReadmeListsEveryJSONField(t *testing.T) {
	documented := readmeFields(t, "### The JSON report")

	// A store that gives every field: a restore, an error (a backup that is
	// a FIFO is refused), a session without backup, an orphan.
	dir := sampleCopy(t)
	require.NoError(t, os.Remove(filepath.Join(dir, "20240602_garden.json")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.json"), []byte(session(1)), 0o644))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "broken.json.bak"), 0o644))
	_, out, _ := cli(t, "recover", "--json", "--restore-orphans", dir)
	seen := fieldsOf(t, out)
	// And a merge, whose entries hold "diff" (its own table, below) and
	// "merged".
	code, merged, errOut := cli(t, "recover", "--merge", "--json", diffStore(t))
	require.Equal(t, exitOK, code, errOut)
	var report struct{ Details []map[string]json.RawMessage }
	require.NoError(t, json.Unmarshal([]byte(merged), &report))
	for _, d := range report.Details {
		for k := range d {
			seen[k] = true
		}
	}
	sameFields(t, documented, seen, out+"\n"+merged)
}

// The README's table of undo's JSON names every field its output can
// hold, and no other: here from an undo made and one refused.
func TestReadmeListsEveryUndoField(t *testing.T) {
	documented := readmeFields(t, "### undo's JSON")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s.json": session(1), "s.json.bak": session(3)})
	code, _, errOut := cli(t, "recover", dir)
	require.Equal(t, exitOK, code, errOut)
	seen := map[string]bool{}
	var outs string
	for _, want := range []int{exitOK, exitErrors} { // the second finds the undone session saved since
		code, out, errOut := cli(t, "undo", "--session", "s", "--json", dir)
		require.Equal(t, want, code, errOut)
		maps.Copy(seen, fieldsOf(t, out))
		outs += out
	}
	sameFields(t, documented, seen, outs)
}

// readmeFields reads the field names of the table in the README's
// section under heading.
func readmeFields(t *testing.T, heading string) map[string]bool {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), heading+"\n")
	require.True(t, ok, "the README has a section %q", heading)
	section, _, _ = strings.Cut(section, "\n#")
	documented := map[string]bool{}
	for line := range strings.Lines(section) {
		if f, ok := strings.CutPrefix(line, "| `"); ok {
			documented[f[:strings.Index(f, "`")]] = true
		}
	}
	require.NotEmpty(t, documented, "a table of fields under %q", heading)
	return documented
}

// fieldsOf lists every key of the JSON document out, at any depth.
func fieldsOf(t *testing.T, out string) map[string]bool {
	t.Helper()
	var doc any
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
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
	walk(doc)
	return seen
}

func sameFields(t *testing.T, documented, seen map[string]bool, out string) {
	t.Helper()
	for k := range seen {
		assert.True(t, documented[k], "the field %q is not in the README's table", k)
	}
	for k := range documented {
		assert.True(t, seen[k], "the README documents %q, which the output never held:\n%s", k, out)
	}
}

// The README's table of the preview's JSON names every field a diff
// object can hold, and no other: those of the Go types (an error, for
// one, cannot be made to happen in a run of the command), and, so that
// the types are the ones written, all those a run over shrunk, diverged
// and unchanged sessions writes.
func TestReadmeListsEveryPreviewField(t *testing.T) {
	documented := readmeFields(t, "### The preview's JSON")
	fields := map[string]bool{"diff": true}
	for _, v := range []any{recovery.Diff{}, recovery.MessageRun{}, recovery.MessageBrief{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			if name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
				fields[name] = true
			}
		}
	}
	assert.Equal(t, fields, documented)

	code, out, errOut := cli(t, "scan", "--diff", "--json", diffStore(t))
	require.Equal(t, exitOK, code, errOut)
	var report struct {
		Details []struct {
			Diff json.RawMessage `json:"diff"`
		} `json:"details"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &report), out)
	seen := map[string]bool{"error": true}
	for _, d := range report.Details {
		if d.Diff != nil {
			seen["diff"] = true
			maps.Copy(seen, fieldsOf(t, string(d.Diff)))
		}
	}
	sameFields(t, documented, seen, out)
}
