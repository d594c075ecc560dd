//go:build unix

package local_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/store"
)

// holdFlock takes a shared flock(2) on dir, as any user who may read the
// directory can, until the test ends.
func holdFlock(t *testing.T, dir string) {
	t.Helper()
	d, err := os.Open(dir)
	require.NoError(t, err)
	require.NoError(t, syscall.Flock(int(d.Fd()), syscall.LOCK_SH|syscall.LOCK_NB))
	t.Cleanup(func() { d.Close() })
}

// waitLog is a slog handler that closes waiting when the store says it
// waits for a lock, and keeps every record's text.
type waitLog struct {
	mu      sync.Mutex
	text    bytes.Buffer
	once    sync.Once
	waiting chan struct{}
}

func newWaitLog() *waitLog { return &waitLog{waiting: make(chan struct{})} }

func (w *waitLog) Enabled(context.Context, slog.Level) bool { return true }
func (w *waitLog) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *waitLog) WithGroup(string) slog.Handler            { return w }
func (w *waitLog) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	w.text.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		w.text.WriteString(" " + a.String())
		return true
	})
	w.text.WriteString("\n")
	w.mu.Unlock()
	if strings.Contains(r.Message, "waiting for") {
		w.once.Do(func() { close(w.waiting) })
	}
	return nil
}

func (w *waitLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.text.String()
}

// lockedOut opens dir with the given lock timeout and a log that tells
// when a write waits.
func lockedOut(t *testing.T, dir string, timeout time.Duration) (*local.Store, *waitLog) {
	t.Helper()
	log := newWaitLog()
	s, err := local.New(dir, local.WithLogger(slog.New(log)), local.WithLockTimeout(timeout))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, log
}

// within fails the test if done is not closed soon: a guard against a
// hang, which is the bug, not a measure of speed.
func within(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: still blocked after 30 s", what)
	}
}

// A reader's flock must not hold a writer for ever: the wait follows the
// context, and the file is left as it was.
func TestLockWaitFollowsTheContext(t *testing.T) {
	dir := newDir(t, map[string][]byte{"s.json": []byte(`{"messages":[]}`)})
	holdFlock(t, dir)
	s, log := lockedOut(t, dir, time.Hour)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var werr error
	go func() {
		defer close(done)
		werr = s.Write(ctx, "s.json", strings.NewReader(`{"messages":[1]}`), store.WriteOptions{})
	}()
	within(t, log.waiting, "the store never said it waits")
	cancel()
	within(t, done, "Write after its context was cancelled")
	require.ErrorIs(t, werr, context.Canceled)
	assert.Contains(t, werr.Error(), `"s.json"`)
	assert.Contains(t, log.String(), dir, "the wait names the directory")
	got, err := os.ReadFile(filepath.Join(dir, "s.json"))
	require.NoError(t, err)
	assert.Equal(t, `{"messages":[]}`, string(got))
	assertNoTempFiles(t, dir)
}

// A lock that is not released within the timeout fails the write with an
// error that says so; later writes in that directory then fail at once
// instead of each waiting the whole timeout, until the lock is free again.
func TestLockWaitIsBounded(t *testing.T) {
	dir := newDir(t, map[string][]byte{"a.json": []byte("a"), "b.json": []byte("b")})
	d, err := os.Open(dir)
	require.NoError(t, err)
	defer d.Close()
	require.NoError(t, syscall.Flock(int(d.Fd()), syscall.LOCK_SH|syscall.LOCK_NB))
	s, log := lockedOut(t, dir, time.Millisecond)
	ctx := context.Background()

	for _, key := range []string{"a.json", "b.json"} {
		err := s.Write(ctx, key, strings.NewReader("new"), store.WriteOptions{})
		require.ErrorIs(t, err, local.ErrLockTimeout, key)
		assert.NotErrorIs(t, err, context.DeadlineExceeded, "the caller's context did not end")
		assert.Contains(t, err.Error(), `"`+key+`"`)
		assert.Contains(t, err.Error(), "flock")
		got, rerr := os.ReadFile(filepath.Join(dir, key))
		require.NoError(t, rerr)
		assert.Equal(t, key[:1], string(got), "a write that could not lock changed nothing")
	}
	// A 1 ms wait may end before it is announced, on a loaded machine; the
	// tries after a timeout never are.
	assert.LessOrEqual(t, strings.Count(log.String(), "waiting for the lock of "+dir), 1, "the later tries are not announced:\n%s", log)
	if holderKnown() {
		err := s.Write(ctx, "a.json", strings.NewReader("new"), store.WriteOptions{})
		assert.Contains(t, err.Error(), "pid ", "the error names who holds the lock")
	}
	assertNoTempFiles(t, dir)

	require.NoError(t, syscall.Flock(int(d.Fd()), syscall.LOCK_UN))
	require.NoError(t, s.Write(ctx, "a.json", strings.NewReader("new"), store.WriteOptions{}),
		"a free lock is taken again")
}

// holderKnown says whether this system tells who holds a flock.
func holderKnown() bool {
	_, err := os.Stat("/proc/locks")
	return err == nil
}

// Writers of one process waiting for the same lock all follow their
// contexts, not only the one waiting in flock(2).
func TestEveryWaiterFollowsItsContext(t *testing.T) {
	dir := newDir(t, map[string][]byte{"s.json": []byte("old")})
	holdFlock(t, dir)
	s, log := lockedOut(t, dir, time.Hour)

	ctx, cancel := context.WithCancel(context.Background())
	const writers = 8
	errs := make(chan error, writers)
	for range writers {
		go func() {
			errs <- s.Write(ctx, "s.json", strings.NewReader("new"), store.WriteOptions{})
		}()
	}
	within(t, log.waiting, "the store never said it waits")
	cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range writers {
			assert.ErrorIs(t, <-errs, context.Canceled)
		}
	}()
	within(t, done, "writers after their context was cancelled")
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, de := range des {
		assert.False(t, strings.Contains(de.Name(), ".tmp-"), "temporary file %s left behind", de.Name())
	}
}
