package blobstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

func fill(t *testing.T, b *blob.Bucket, objects map[string][]byte) {
	t.Helper()
	for key, body := range objects {
		require.NoError(t, b.WriteAll(context.Background(), key, body, &blob.WriterOptions{ContentType: blobstore.ContentType}))
	}
}

func TestConformanceMem(t *testing.T) {
	storetest.Run(t, func(t *testing.T, objects map[string][]byte) store.Store {
		b := memblob.OpenBucket(nil)
		t.Cleanup(func() { b.Close() })
		fill(t, b, objects)
		return blobstore.New(b)
	})
}
