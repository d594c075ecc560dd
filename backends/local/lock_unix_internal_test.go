//go:build unix

package local

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/store"
)

// A change whose context ends as it takes the lock is not made, says so,
// and leaves the lock free: it once returned nil, change unmade, with this
// process's lock of the directory taken for good.
func TestChangeWithAnEndedContextIsNotClaimed(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir, WithLockTimeout(0))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err = s.changeDir(ctx, ".", func() error { called = true; return nil })
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, called, "the change of an ended context is not made")

	require.NoError(t, s.Write(context.Background(), "s.json", strings.NewReader("{}"), store.WriteOptions{}),
		"the lock is free afterwards")
}

// The writers of one process queue for the directory without a timeout of
// their own: only another process's lock times out. With a lock timeout of
// 0 (one try of the flock) and no other process, every write happens.
func TestOwnWritersQueueWithoutTimingOut(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir, WithLockTimeout(0))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	const writers = 64
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			errs[i] = s.Write(context.Background(), fmt.Sprintf("s%d.json", i), strings.NewReader("{}"), store.WriteOptions{})
		})
	}
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "writer %d", i)
	}
}

// A lock that could not be taken for another reason than a wait (a missing
// directory, too many open files) says that reason, even with a lock
// timeout of 0, and does not mark the directory as stuck.
func TestLockFailureKeepsItsCause(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir, WithLockTimeout(0))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	err = s.Delete(context.Background(), "nodir/x.json", store.WriteOptions{})
	require.ErrorIs(t, err, store.ErrNotExist)
	assert.NotErrorIs(t, err, ErrLockTimeout)
	_, stuck := s.stuck.Load("nodir")
	assert.False(t, stuck)
}
