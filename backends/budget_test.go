package backends_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/gcscond"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/s3cond"
	"github.com/c0fe5641/sessionrecovery/internal/testserver"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/recovery/recoverytest"
	"github.com/c0fe5641/sessionrecovery/store"
)

// TestRequestBudget counts the HTTP requests a recovery makes: the listing
// pages, two reads for a session with a backup and none for one without
// (one with CountAll), for each restore the upload of the live bytes read
// under the kept name (only if that name is free: a server-side copy could
// not be made conditional on every server) and one upload of the backup's
// bytes, and never a HEAD: at most two GETs a session.
func TestRequestBudget(t *testing.T) {
	for _, tc := range []struct {
		name     string
		start    func(testing.TB) *testserver.Server
		conds    blobstore.Conditions
		sessions int
	}{
		{"S3", testserver.S3, s3cond.Conditions{}, 2000},
		{"SeaweedFS", testserver.SeaweedFS, s3cond.Conditions{}, 2000},
		// fake-gcs-server's writes cost O(objects), so its bucket is smaller.
		{"GCS", testserver.GCS, gcscond.Conditions{}, 600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.start(t)
			objects := map[string][]byte{}
			withBackup, shrunk := 0, 0
			for i := range tc.sessions {
				key := fmt.Sprintf("sessions-%05d.json", i)
				objects[key] = recoverytest.Session(2)
				if i%3 == 0 { // a third have a backup
					withBackup++
					objects[key+".bak"] = recoverytest.Session(1)
					if i%9 == 0 { // and a third of those were shrunk
						shrunk++
						objects[key+".bak"] = recoverytest.Session(4)
					}
				}
			}
			testserver.Fill(t, srv.Bucket, objects)
			pages := func(keys int) int { return (keys + 999) / 1000 }
			s := blobstore.New(srv.Bucket, blobstore.WithConditions(tc.conds))

			srv.Requests.Reset()
			r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{})
			require.NoError(t, err)
			require.Equal(t, shrunk, r.Restored)
			require.Zero(t, r.Errors)
			want := map[string]int{
				testserver.List: pages(len(objects)),
				testserver.Get:  2 * withBackup,
				testserver.Put:  2 * shrunk,
			}
			assert.Equal(t, want, srv.Requests.Counts())
			t.Logf("%s recover, %d sessions (%d with backup, %d restored): %v", tc.name, tc.sessions, withBackup, shrunk, srv.Requests.Counts())

			srv.Requests.Reset()
			r, err = recovery.RecoverAll(context.Background(), s, recovery.Options{CountAll: true, DryRun: true})
			require.NoError(t, err)
			require.Zero(t, r.Restored)
			want = map[string]int{
				testserver.List: pages(len(objects) + shrunk), // the preserved copies are listed too
				testserver.Get:  tc.sessions + withBackup,
			}
			assert.Equal(t, want, srv.Requests.Counts())
			t.Logf("%s scan --count-all: %v", tc.name, srv.Requests.Counts())
		})
	}
}

// noRanges is a store that cannot start a listing part-way: recovery
// lists it with one List.
type noRanges struct{ store.Writer }

func (noRanges) Remote() bool { return true }

// TestRequestBudgetRanges: on a bucket larger than what recovery lists
// before probing, the listing is made of ranges (store.RangeLister) at a
// cost of at most 63 probes and a page a range on top of the listing's
// pages, and the report is the one a single listing gives, byte for byte.
func TestRequestBudgetRanges(t *testing.T) {
	srv := testserver.S3(t)
	objects := map[string][]byte{}
	rng := rand.New(rand.NewPCG(5, 6))
	withBackup := 0
	for i := range 9000 {
		key := fmt.Sprintf("%016x.json", rng.Uint64())
		objects[key] = recoverytest.Session(2)
		if i%3 == 0 {
			withBackup++
			objects[key+".bak"] = recoverytest.Session(1 + 3*(i%2))
		}
	}
	objects["zzz-notes.txt"] = []byte("not a session")
	testserver.Fill(t, srv.Bucket, objects)
	s := blobstore.New(srv.Bucket, blobstore.WithConditions(s3cond.Conditions{}))
	require.Greater(t, len(objects), 10000, "more than recovery lists before probing")

	opts := recovery.Options{DryRun: true}
	srv.Requests.Reset()
	ranged, err := recovery.RecoverAll(context.Background(), s, opts)
	require.NoError(t, err)
	counts := srv.Requests.Counts()
	pages := (len(objects) + 999) / 1000
	assert.Greater(t, counts[testserver.List], pages, "probes were made")
	assert.LessOrEqual(t, counts[testserver.List], pages+1+63+40, "the pages, the head's last again, at most 63 probes and a page a range")
	assert.Equal(t, 2*withBackup, counts[testserver.Get])
	t.Logf("%d objects, %d pages: %v", len(objects), pages, counts)

	whole, err := recovery.RecoverAll(context.Background(), noRanges{s}, opts)
	require.NoError(t, err)
	a, err := json.Marshal(ranged)
	require.NoError(t, err)
	b, err := json.Marshal(whole)
	require.NoError(t, err)
	assert.Equal(t, string(b), string(a), "the same report as from one listing")
}
