package blobstore_test

import (
	"os"
	"testing"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/azurecond"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/gcscond"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/s3cond"
	"github.com/c0fe5641/sessionrecovery/internal/testserver"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

// Each cloud runs the conformance suite over real HTTP, through its real
// SDK, against a server that speaks its protocol.

func cloudStore(start func(testing.TB) *testserver.Server, conds blobstore.Conditions) storetest.NewStore {
	return func(t *testing.T, objects map[string][]byte) store.Store {
		srv := start(t)
		testserver.Fill(t, srv.Bucket, objects)
		return blobstore.New(srv.Bucket, blobstore.WithConditions(conds))
	}
}

func TestConformanceS3(t *testing.T) {
	storetest.Run(t, cloudStore(testserver.S3, s3cond.Conditions{}))
}

func TestConformanceGCS(t *testing.T) {
	storetest.Run(t, cloudStore(testserver.GCS, gcscond.Conditions{}))
}

func TestConformanceAzure(t *testing.T) {
	storetest.Run(t, cloudStore(testserver.Azure, azurecond.Conditions{}))
}

// SeaweedFS is a real S3-compatible server, reached through the same
// driver and Conditions as S3.
func TestConformanceSeaweedFS(t *testing.T) {
	storetest.Run(t, cloudStore(testserver.SeaweedFS, s3cond.Conditions{}))
}
