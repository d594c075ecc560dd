package backends_test

import (
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/azurecond"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/gcscond"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/s3cond"
	"github.com/c0fe5641/sessionrecovery/internal/testserver"
	"github.com/c0fe5641/sessionrecovery/saveguard/saveguardtest"
	"github.com/c0fe5641/sessionrecovery/store"
)

// The save-path scenarios run on every backend: a shrinking save leaves a
// backup, an intentional shrink or a delete is never undone by recovery,
// even when cut by a crash, and a concurrent save is never overwritten.

func TestSaveguardLocal(t *testing.T) {
	saveguardtest.Run(t, func(t *testing.T, objects map[string][]byte) store.Writer {
		return newLocal(t, objects)
	})
}

func TestSaveguardAferoMem(t *testing.T) {
	saveguardtest.Run(t, func(t *testing.T, objects map[string][]byte) store.Writer {
		fsys := afero.NewMemMapFs()
		for key, b := range objects {
			require.NoError(t, afero.WriteFile(fsys, "/"+key, b, 0o644))
		}
		return aferofs.New(fsys, "/")
	})
}

// blobWriter is blobStore for the suites that need a store.Writer.
func blobWriter(start func(testing.TB) *testserver.Server, opts ...blobstore.Option) saveguardtest.NewStore {
	newStore := blobStore(start, opts...)
	return func(t *testing.T, objects map[string][]byte) store.Writer {
		s, ok := newStore(t, objects).(store.Writer)
		require.True(t, ok, "a blob store is a store.Writer")
		return s
	}
}

// TestSaveguardMemBlob runs on a bucket that reports no versions: the
// guard's writes are then unconditional, and the concurrent-save scenarios
// that need a version say so and skip.
func TestSaveguardMemBlob(t *testing.T) {
	saveguardtest.Run(t, blobWriter(testserver.Mem))
}

func TestSaveguardS3(t *testing.T) {
	saveguardtest.Run(t, blobWriter(testserver.S3, blobstore.WithConditions(s3cond.Conditions{})))
}

func TestSaveguardGCS(t *testing.T) {
	saveguardtest.Run(t, blobWriter(testserver.GCS, blobstore.WithConditions(gcscond.Conditions{})))
}

func TestSaveguardAzure(t *testing.T) {
	saveguardtest.Run(t, blobWriter(testserver.Azure, blobstore.WithConditions(azurecond.Conditions{})))
}
