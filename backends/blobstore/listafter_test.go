package blobstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/gcscond"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/s3cond"
	"github.com/c0fe5641/sessionrecovery/internal/testserver"
	"github.com/c0fe5641/sessionrecovery/store"
)

// keysAfter lists prefix after after, failing the test on any error.
func keysAfter(t *testing.T, s *blobstore.Store, prefix, after string) []string {
	t.Helper()
	var keys []string
	err := s.ListAfter(context.Background(), prefix, after, func(o store.Object) error {
		keys = append(keys, o.Key)
		return nil
	})
	require.NoError(t, err, "list %q after %q", prefix, after)
	return keys
}

// numbered returns n keys "k00000.json" and on, and their listing order.
func numbered(n int) (map[string][]byte, []string) {
	objects := map[string][]byte{}
	var keys []string
	for i := range n {
		k := fmt.Sprintf("k%05d.json", i)
		objects[k] = []byte("{}")
		keys = append(keys, k)
	}
	return objects, keys
}

// TestListAfterStartsOnTheServer shows that gofakes3 and SeaweedFS
// (start-after) and fake-gcs-server (startOffset) honour the start that
// ListAfter sets: listing the last keys of 1100 takes one request, where a
// listing from the start would take two.
func TestListAfterStartsOnTheServer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *testserver.Server
		conds blobstore.Conditions
	}{
		{"S3", testserver.S3, s3cond.Conditions{}},
		{"SeaweedFS", testserver.SeaweedFS, s3cond.Conditions{}},
		{"GCS", testserver.GCS, gcscond.Conditions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.start(t)
			objects, keys := numbered(1100)
			testserver.Fill(t, srv.Bucket, objects)
			s := blobstore.New(srv.Bucket, blobstore.WithConditions(tc.conds))

			for _, c := range []struct {
				after string
				want  []string
			}{
				{keys[1050], keys[1051:]},
				{"k01049.json\x01", keys[1050:]}, // between two keys
				{"k0105", keys[1050:]},           // a prefix of a key
				{keys[1099], nil},
			} {
				srv.Requests.Reset()
				assert.Equal(t, c.want, keysAfter(t, s, "", c.after), "after %q", c.after)
				assert.Equal(t, map[string]int{testserver.List: 1}, srv.Requests.Counts(), "after %q: one page, from the key on", c.after)
			}
		})
	}
}

// TestListAfterPrefixedBucket: with a bucket opened on a prefix (the
// prefix= of a URL), the start is under that prefix too.
func TestListAfterPrefixedBucket(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *testserver.Server
		conds blobstore.Conditions
	}{
		{"S3", testserver.S3, s3cond.Conditions{}},
		{"SeaweedFS", testserver.SeaweedFS, s3cond.Conditions{}},
		{"GCS", testserver.GCS, gcscond.Conditions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.start(t)
			objects, keys := numbered(1100)
			inside := map[string][]byte{}
			for i, k := range keys {
				inside["root/"+k] = objects[k]
				if i < 10 {
					inside["a"+k] = nil // beside the prefix, before it
					inside["z"+k] = nil // and after it
				}
			}
			testserver.Fill(t, srv.Bucket, inside)
			s := blobstore.New(blob.PrefixedBucket(srv.Bucket, "root/"), blobstore.WithConditions(tc.conds))

			srv.Requests.Reset()
			assert.Equal(t, keys[1051:], keysAfter(t, s, "", keys[1050]))
			assert.Equal(t, map[string]int{testserver.List: 1}, srv.Requests.Counts(), "the start is under root/")
			assert.Equal(t, keys[1:], keysAfter(t, s, "k", keys[0]))
			assert.Empty(t, keysAfter(t, s, "", "z"))
		})
	}
	t.Run("UnderscoresInThePrefix", func(t *testing.T) {
		// A start after "__" could be read as part of an escape: refused.
		srv := testserver.S3(t)
		testserver.Fill(t, srv.Bucket, map[string][]byte{"a__b/x.json": {}})
		s := blobstore.New(blob.PrefixedBucket(srv.Bucket, "a__b/"), blobstore.WithConditions(s3cond.Conditions{}))
		for _, after := range []string{"", "a", "x.json"} {
			calls := 0
			err := s.ListAfter(context.Background(), "", after, func(store.Object) error { calls++; return nil })
			assert.ErrorIs(t, err, errors.ErrUnsupported, "after %q", after)
			assert.Zero(t, calls)
		}
	})
}

// ignoring is a ListHook whose listings never start part-way, as a server
// that ignores the start would answer (memblob never calls BeforeList).
type ignoring struct{ blobstore.Conditions }

func (ignoring) ListFrom(func(string) string) func(func(any) bool) error {
	return func(func(any) bool) error { return nil }
}

// TestListAfterServerIgnoresStart: whatever the bucket lists up to the key
// is passed over, so the result is right; more than a page of it, and
// ListAfter says that it cannot start part-way, before calling fn.
func TestListAfterServerIgnoresStart(t *testing.T) {
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { _ = b.Close() })
	objects, keys := numbered(1500)
	fill(t, b, objects)
	s := blobstore.New(b, blobstore.WithConditions(ignoring{}))

	assert.Equal(t, keys[1:], keysAfter(t, s, "", keys[0]))
	assert.Equal(t, keys[1000:], keysAfter(t, s, "", keys[999]), "a thousand keys passed over")
	assert.Equal(t, keys[1:4], firstAfter(t, s, keys[0], 3), "stops when fn fails")

	calls := 0
	err := s.ListAfter(context.Background(), "", keys[1000], func(store.Object) error { calls++; return nil })
	require.ErrorIs(t, err, errors.ErrUnsupported)
	assert.Zero(t, calls)
}

// firstAfter returns the first n keys ListAfter reports after after,
// stopping it there.
func firstAfter(t *testing.T, s *blobstore.Store, after string, n int) []string {
	t.Helper()
	stop := errors.New("stop")
	var keys []string
	err := s.ListAfter(context.Background(), "", after, func(o store.Object) error {
		keys = append(keys, o.Key)
		if len(keys) == n {
			return stop
		}
		return nil
	})
	require.Same(t, stop, err)
	return keys
}

// TestListAfterWithoutHook: a bucket opened without a ListHook cannot
// start part-way, and says so before calling fn.
func TestListAfterWithoutHook(t *testing.T) {
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { _ = b.Close() })
	fill(t, b, map[string][]byte{"a.json": {}})
	s := blobstore.New(b)
	for _, after := range []string{"", "a"} {
		calls := 0
		err := s.ListAfter(context.Background(), "", after, func(store.Object) error { calls++; return nil })
		assert.ErrorIs(t, err, errors.ErrUnsupported)
		assert.Zero(t, calls)
	}
}
