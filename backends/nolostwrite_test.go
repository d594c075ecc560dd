package backends_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/azurecond"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/gcscond"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/s3cond"
	"github.com/c0fe5641/sessionrecovery/internal/testserver"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/recovery/recoverytest"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

// saveInWindow plays an application that saves a session at the worst
// moment: right after recovery has read the live document and before it
// restores it. Every live read of a session key triggers one save of that
// session through the bucket, in that window.
type saveInWindow struct {
	store.Writer
	app   func(key string) // the application's save
	mu    sync.Mutex
	saved map[string]bool
}

func (s *saveInWindow) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.Writer.Open(ctx, key)
	if err != nil || bytes.HasSuffix([]byte(key), []byte(".bak")) {
		return rc, err
	}
	s.mu.Lock()
	first := !s.saved[key]
	s.saved[key] = true
	s.mu.Unlock()
	if first {
		s.app(key) // after the server answered the read: the version is known
	}
	return rc, nil
}

// TestNoSaveLostDuringRecovery shows that a restore never overwrites a save
// the application made after recovery read the session: the conditional
// write refuses, and the session is reported as changed.
func TestNoSaveLostDuringRecovery(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *testserver.Server
		conds blobstore.Conditions
	}{
		{"S3", testserver.S3, s3cond.Conditions{}},
		{"GCS", testserver.GCS, gcscond.Conditions{}},
		{"Azure", testserver.Azure, azurecond.Conditions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const sessions = 40
			srv := tc.start(t)
			objects := map[string][]byte{}
			for i := range sessions {
				objects[fmt.Sprintf("s%02d.json", i)] = recoverytest.Session(1)
				objects[fmt.Sprintf("s%02d.json.bak", i)] = recoverytest.Session(5)
			}
			testserver.Fill(t, srv.Bucket, objects)

			saves := map[string][]byte{}
			var mu sync.Mutex
			app := func(key string) {
				// A save the user made: more messages than the backup.
				body := append(recoverytest.Session(6), "\n\n"...)
				require.NoError(t, srv.Bucket.WriteAll(context.Background(), key, body, nil))
				mu.Lock()
				saves[key] = body
				mu.Unlock()
			}
			s := &saveInWindow{Writer: blobstore.New(srv.Bucket, blobstore.WithConditions(tc.conds)), app: app, saved: map[string]bool{}}

			r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{Concurrency: 8})
			require.NoError(t, err)
			assert.Equal(t, sessions, r.Scanned)
			assert.Zero(t, r.Restored, "every session changed after it was read")
			assert.Equal(t, sessions, r.Errors)
			for _, st := range r.Details {
				assert.ErrorIs(t, st.Err, store.ErrChanged, st.SessionID)
				assert.Contains(t, st.Error, "changed after it was read", st.SessionID)
			}
			got := storetest.Objects(t, blobstore.New(srv.Bucket))
			lost := 0
			for key, body := range saves {
				if !bytes.Equal(body, got[key]) {
					lost++
				}
			}
			assert.Len(t, saves, sessions)
			assert.Zero(t, lost, "saves lost")
			t.Logf("%s: %d sessions saved between read and restore, %d saves lost, %d restores refused", tc.name, len(saves), lost, r.Errors)

			// The saves were not in vain, and the next run has nothing to do.
			r, err = recovery.RecoverAll(context.Background(), blobstore.New(srv.Bucket, blobstore.WithConditions(tc.conds)), recovery.Options{})
			require.NoError(t, err)
			assert.Zero(t, r.Restored)
			assert.Zero(t, r.Errors)
			for _, st := range r.Details {
				assert.NoError(t, st.Err, st.SessionID)
			}
		})
	}
}

// TestConcurrentWriterLosesNothing runs recovery while a writer keeps
// saving growing versions of the sessions: whatever the timing, the last
// save of every session survives.
func TestConcurrentWriterLosesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *testserver.Server
		conds blobstore.Conditions
	}{
		{"S3", testserver.S3, s3cond.Conditions{}},
		{"GCS", testserver.GCS, gcscond.Conditions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const sessions, rounds = 60, 3
			srv := tc.start(t)
			objects := map[string][]byte{}
			for i := range sessions {
				objects[fmt.Sprintf("c%02d.json", i)] = recoverytest.Session(0)
				objects[fmt.Sprintf("c%02d.json.bak", i)] = recoverytest.Session(3)
			}
			testserver.Fill(t, srv.Bucket, objects)

			last := map[string][]byte{}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for round := range rounds {
					for i := range sessions {
						key := fmt.Sprintf("c%02d.json", i)
						body := recoverytest.Session(4 + round)
						if err := srv.Bucket.WriteAll(context.Background(), key, body, nil); err == nil {
							last[key] = body
						}
					}
				}
			}()
			var reports []*recovery.Report
			for range 3 {
				r, err := recovery.RecoverAll(context.Background(), blobstore.New(srv.Bucket, blobstore.WithConditions(tc.conds)), recovery.Options{Concurrency: 4})
				require.NoError(t, err)
				reports = append(reports, r)
			}
			<-done
			got := storetest.Objects(t, blobstore.New(srv.Bucket))
			lost := 0
			for key, body := range last {
				if !bytes.Equal(body, got[key]) {
					lost++
				}
			}
			restored, refused := 0, 0
			for _, r := range reports {
				restored += r.Restored
				refused += r.Errors
			}
			assert.Zero(t, lost, "saves lost")
			t.Logf("%s: %d sessions, %d saves each, %d restores, %d refused as changed, %d saves lost", tc.name, sessions, rounds, restored, refused, lost)
		})
	}
}
