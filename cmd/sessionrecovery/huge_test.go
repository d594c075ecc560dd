package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
)

// writeHuge writes head, then n copies of fill, then tail to path.
func writeHuge(t *testing.T, path, head string, fill byte, n int64, tail string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriterSize(f, 1<<20)
	_, err = w.WriteString(head)
	require.NoError(t, err)
	chunk := []byte(strings.Repeat(string(fill), 1<<20))
	for left := n; left > 0; left -= int64(len(chunk)) {
		_, err = w.Write(chunk[:min(int64(len(chunk)), left)])
		require.NoError(t, err)
	}
	_, err = w.WriteString(tail)
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
}

// TestHugeDocuments reads a session holding one 2 GB string and a 2 GB
// file of whitespace. Under the race detector the reader is too slow for
// 4 GB, so .ci/run runs this test again without it.
func TestHugeDocuments(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("reads 4 GB; .ci/run runs it without -race")
	}
	const size = 2 << 30
	dir := t.TempDir()
	writeHuge(t, filepath.Join(dir, "bigstring.json"), `{"messages":["`, 'a', size, `",{"role":"user"},{"role":"assistant"}]}`)
	writeHuge(t, filepath.Join(dir, "whitespace.json"), "", ' ', size, "")
	writeFiles(t, dir, map[string]string{
		"bigstring.json.bak": session(2),
		"honest.json":        session(0),
		"honest.json.bak":    session(1),
	})

	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	code, out, errOut := cli(t, "recover", "--json", "--count-all", dir)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	require.Equal(t, exitOK, code, errOut)
	var r recovery.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	byID := map[string]recovery.Status{}
	for _, st := range r.Details {
		byID[st.SessionID] = st
	}
	assert.Equal(t, recovery.Count(3), byID["bigstring"].LiveMessages, "a 2 GB string is one message")
	assert.Equal(t, recovery.NoAction, byID["bigstring"].Recommend)
	assert.Equal(t, recovery.NotSession, byID["whitespace"].LiveMessages, "2 GB of whitespace is no document")
	assert.True(t, byID["honest"].Restored)
	t.Logf("read 4 GB; heap grew by %d KiB over the run (Sys %d MiB)", (int64(after.HeapAlloc)-int64(before.HeapAlloc))>>10, after.Sys>>20)
	assert.Less(t, after.Sys, uint64(256<<20), "memory obtained from the OS stays small")
}
