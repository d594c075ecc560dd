//go:build unix

package aferofs

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// On an afero.OsFs, a FIFO renamed over the key after open's check does
// not make Open wait for a writer (it would, for ever): the file opened is
// refused by its own Stat, the key named. (A hang shows as the test
// binary's timeout.)
func TestOpenOnOsFsDoesNotBlockOnAFIFOSwappedIn(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json"), []byte("checked"), 0o644))
	fifo := filepath.Join(dir, ".fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	s := New(afero.NewOsFs(), dir)
	s.checked = func(string) { require.NoError(t, os.Rename(fifo, filepath.Join(dir, "s.json"))) }

	_, err := s.Open(context.Background(), "s.json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `aferofs: open "s.json": not a regular file`)
}

// Open decides on the file it opened, not on the name it checked: a
// directory renamed over the key in between is refused.
func TestOpenChecksTheFileOpened(t *testing.T) {
	fsys := afero.NewMemMapFs()
	require.NoError(t, afero.WriteFile(fsys, "/s.json", []byte("checked"), 0o644))
	require.NoError(t, fsys.MkdirAll("/d/sub", 0o755))
	s := New(fsys, "/")
	s.checked = func(string) {
		require.NoError(t, fsys.Remove("/s.json"))
		require.NoError(t, fsys.Rename("/d", "/s.json"))
	}

	_, err := s.Open(context.Background(), "s.json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `aferofs: open "s.json": not a regular file`)
}
