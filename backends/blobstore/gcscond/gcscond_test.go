package gcscond_test

import (
	"errors"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore/gcscond"
)

func TestListFrom(t *testing.T) {
	hook := gcscond.Conditions{}.ListFrom(func(prefix string) string { return prefix + "k0105" })
	as := func(q *storage.Query) func(any) bool {
		return func(i any) bool {
			p, ok := i.(**storage.Query)
			if ok {
				*p = q
			}
			return ok
		}
	}
	q := &storage.Query{Prefix: "root/", Delimiter: "/"}
	require.NoError(t, hook(as(q)))
	assert.Equal(t, "root/k0105", q.StartOffset, "under the query's prefix, on every page")

	none := &storage.Query{}
	require.NoError(t, gcscond.Conditions{}.ListFrom(func(string) string { return "" })(as(none)))
	assert.Empty(t, none.StartOffset, "no start")

	err := hook(func(any) bool { return false })
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	assert.ErrorContains(t, err, "not a gcsblob bucket")
}
