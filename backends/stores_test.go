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
	"github.com/c0fe5641/sessionrecovery/store"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

// backend makes fresh stores of one kind, each holding the given objects.
type backend struct {
	name string
	make func(t *testing.T, objects map[string][]byte) store.Writer
}

// everyBackend is every store this module ships, each suite of this
// package runs on all of them: S3 and GCS over real HTTP to in-process
// servers, S3 also to SeaweedFS, a real S3-compatible server, and Azure to
// Azurite (each of the last two skipped, saying how to get it, when it is
// missing outside CI).
var everyBackend = []backend{
	{"Local", func(t *testing.T, objects map[string][]byte) store.Writer { return newLocal(t, objects) }},
	{"AferoMem", func(t *testing.T, objects map[string][]byte) store.Writer { return newAferoMem(t, objects) }},
	{"MemBlob", newBlob(testserver.Mem, nil)},
	{"S3", newBlob(testserver.S3, s3cond.Conditions{})},
	{"SeaweedFS", newBlob(testserver.SeaweedFS, s3cond.Conditions{})},
	{"GCS", newBlob(testserver.GCS, gcscond.Conditions{})},
	{"Azure", newBlob(testserver.Azure, azurecond.Conditions{})},
}

func newLocal(t *testing.T, objects map[string][]byte) *local.Store {
	t.Helper()
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
}

func newAferoMem(t *testing.T, objects map[string][]byte) *aferofs.Store {
	t.Helper()
	fsys := afero.NewMemMapFs()
	for key, b := range objects {
		require.NoError(t, afero.WriteFile(fsys, "/"+key, b, 0o644))
	}
	return aferofs.New(fsys, "/")
}

// newBlob makes stores on fresh buckets of a test server; conds may be nil
// (a bucket that reports no versions).
func newBlob(start func(testing.TB) *testserver.Server, conds blobstore.Conditions) func(*testing.T, map[string][]byte) store.Writer {
	return func(t *testing.T, objects map[string][]byte) store.Writer {
		srv := start(t)
		testserver.Fill(t, srv.Bucket, objects)
		if conds == nil {
			return blobstore.New(srv.Bucket)
		}
		return blobstore.New(srv.Bucket, blobstore.WithConditions(conds))
	}
}
