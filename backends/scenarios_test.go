package backends_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/azurecond"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/gcscond"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/s3cond"
	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/internal/testserver"
	"github.com/c0fe5641/sessionrecovery/recovery/recoverytest"
	"github.com/c0fe5641/sessionrecovery/store"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

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

func blobStore(start func(testing.TB) *testserver.Server, opts ...blobstore.Option) func(*testing.T, map[string][]byte) store.Store {
	return func(t *testing.T, objects map[string][]byte) store.Store {
		srv := start(t)
		testserver.Fill(t, srv.Bucket, objects)
		return blobstore.New(srv.Bucket, opts...)
	}
}

func TestRecoveryMemBlob(t *testing.T) {
	recoverytest.Run(t, blobStore(testserver.Mem))
}

func TestRecoveryS3(t *testing.T) {
	recoverytest.Run(t, blobStore(testserver.S3, blobstore.WithConditions(s3cond.Conditions{})))
}

func TestRecoveryGCS(t *testing.T) {
	recoverytest.Run(t, blobStore(testserver.GCS, blobstore.WithConditions(gcscond.Conditions{})))
}

func TestRecoveryAzure(t *testing.T) {
	recoverytest.Run(t, blobStore(testserver.Azure, blobstore.WithConditions(azurecond.Conditions{})))
}
