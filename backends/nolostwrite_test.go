package backends_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gocloud.dev/blob"

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

// savingStore is a store under test and the application's own way to save
// one of its sessions.
type savingStore struct {
	s    store.Writer
	save func(key string, body []byte) error
}

// savingStores makes, for each backend, a store holding objects.
var savingStores = []struct {
	name string
	make func(t *testing.T, objects map[string][]byte) savingStore
}{
	{"S3", cloudSaving(testserver.S3, s3cond.Conditions{})},
	{"SeaweedFS", cloudSaving(testserver.SeaweedFS, s3cond.Conditions{})},
	{"GCS", cloudSaving(testserver.GCS, gcscond.Conditions{})},
	{"Azure", cloudSaving(testserver.Azure, azurecond.Conditions{})},
	{"LocalThroughLibrary", func(t *testing.T, objects map[string][]byte) savingStore {
		s := newLocal(t, objects)
		return savingStore{s, func(key string, body []byte) error {
			return s.Write(context.Background(), key, bytes.NewReader(body), store.WriteOptions{})
		}}
	}},
	{"LocalInPlace", func(t *testing.T, objects map[string][]byte) savingStore {
		s := newLocal(t, objects)
		return savingStore{s, func(key string, body []byte) error {
			// An application that rewrites the file in place, without the library.
			return os.WriteFile(filepath.Join(s.Dir(), key), body, 0o644)
		}}
	}},
	{"AferoMem", func(t *testing.T, objects map[string][]byte) savingStore {
		s := newAferoMem(t, objects)
		return savingStore{s, func(key string, body []byte) error {
			return s.Write(context.Background(), key, bytes.NewReader(body), store.WriteOptions{})
		}}
	}},
}

func cloudSaving(start func(testing.TB) *testserver.Server, conds blobstore.Conditions) func(*testing.T, map[string][]byte) savingStore {
	return func(t *testing.T, objects map[string][]byte) savingStore {
		srv := start(t)
		testserver.Fill(t, srv.Bucket, objects)
		return savingStore{blobstore.New(srv.Bucket, blobstore.WithConditions(conds)), func(key string, body []byte) error {
			return srv.Bucket.Upload(context.Background(), key, bytes.NewReader(body), &blob.WriterOptions{ContentType: "application/json"})
		}}
	}
}

// TestNoSaveLostDuringRecovery shows that a restore never overwrites a save
// the application made after recovery read the session: the conditional
// write refuses, and the session is reported as changed.
func TestNoSaveLostDuringRecovery(t *testing.T) {
	for _, tc := range savingStores {
		t.Run(tc.name, func(t *testing.T) {
			const sessions = 40
			objects := map[string][]byte{}
			for i := range sessions {
				objects[fmt.Sprintf("s%02d.json", i)] = recoverytest.Session(1)
				objects[fmt.Sprintf("s%02d.json.bak", i)] = recoverytest.Session(5)
			}
			ss := tc.make(t, objects)

			saves := map[string][]byte{}
			var mu sync.Mutex
			app := func(key string) {
				// A save the user made: more messages than the backup.
				body := append(recoverytest.Session(6), "\n\n"...)
				require.NoError(t, ss.save(key, body))
				mu.Lock()
				saves[key] = body
				mu.Unlock()
			}
			s := &saveInWindow{Writer: ss.s, app: app, saved: map[string]bool{}}

			r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{Concurrency: 8})
			require.NoError(t, err)
			assert.Equal(t, sessions, r.Scanned)
			assert.Zero(t, r.Restored, "every session changed after it was read")
			assert.Equal(t, sessions, r.Errors)
			for _, st := range r.Details {
				// Refused when the live bytes are kept (they are not the
				// version counted) or at the restore, or — for a file
				// rewritten in place under the open handle — already at the
				// read, whose length no longer matches the listing, or whose
				// version is not the same at the end of the read.
				changed := errors.Is(st.Err, store.ErrChanged) &&
					(strings.Contains(st.Error, "nothing was restored") || strings.Contains(st.Error, "changed while it was read"))
				assert.True(t, changed || strings.Contains(st.Error, "where the listing said"), "%s: %v", st.SessionID, st.Err)
			}
			got := storetest.Objects(t, ss.s)
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
			r, err = recovery.RecoverAll(context.Background(), ss.s, recovery.Options{})
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
	for _, tc := range savingStores {
		if tc.name == "LocalInPlace" {
			continue // in-place writes race the check; see the local package docs
		}
		t.Run(tc.name, func(t *testing.T) {
			const sessions, rounds = 60, 3
			objects := map[string][]byte{}
			for i := range sessions {
				objects[fmt.Sprintf("c%02d.json", i)] = recoverytest.Session(0)
				objects[fmt.Sprintf("c%02d.json.bak", i)] = recoverytest.Session(3)
			}
			ss := tc.make(t, objects)

			last := map[string][]byte{}
			var saveErr error
			done := make(chan struct{})
			go func() {
				defer close(done)
				for round := range rounds {
					for i := range sessions {
						key := fmt.Sprintf("c%02d.json", i)
						body := recoverytest.Session(4 + round)
						if err := ss.save(key, body); err != nil {
							saveErr = err
							return
						}
						last[key] = body
					}
				}
			}()
			var reports []*recovery.Report
			for range 3 {
				r, err := recovery.RecoverAll(context.Background(), ss.s, recovery.Options{Concurrency: 4})
				require.NoError(t, err)
				reports = append(reports, r)
			}
			<-done
			require.NoError(t, saveErr)
			got := storetest.Objects(t, ss.s)
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
