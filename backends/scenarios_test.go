package backends_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/recovery/recoverytest"
	"github.com/c0fe5641/sessionrecovery/store"
)

// The recovery scenarios run on every backend: the same sessions must be
// recovered the same way whatever holds them.

func TestRecoveryLocal(t *testing.T) {
	recoverytest.Run(t, func(t *testing.T, objects map[string][]byte) store.Store {
		dir := t.TempDir()
		for key, b := range objects {
			p := filepath.Join(dir, filepath.FromSlash(key))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, b, 0o644))
		}
		s, err := local.New(dir)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestRecoveryAferoMem(t *testing.T) {
	recoverytest.Run(t, func(t *testing.T, objects map[string][]byte) store.Store {
		fsys := afero.NewMemMapFs()
		for key, b := range objects {
			require.NoError(t, afero.WriteFile(fsys, "/"+key, b, 0o644))
		}
		return aferofs.New(fsys, "")
	})
}
