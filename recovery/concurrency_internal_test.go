package recovery

import (
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"gocloud.dev/blob/memblob"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
)

func TestDefaultConcurrencyFitsTheStore(t *testing.T) {
	local := aferofs.New(afero.NewMemMapFs(), "/")
	bucket := blobstore.New(memblob.OpenBucket(nil))
	assert.Equal(t, DefaultConcurrency, concurrency(0, local))
	assert.Equal(t, DefaultRemoteConcurrency, concurrency(0, bucket), "a bucket waits on the network")
	assert.Equal(t, 7, concurrency(7, bucket), "a bound given is kept")
	assert.Equal(t, MaxConcurrency, concurrency(MaxConcurrency+1, bucket))
	assert.Greater(t, DefaultRemoteConcurrency, DefaultConcurrency)
}
