package recovery_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// hookStore is an aferofs store whose Write of the live key and whose
// Opens can be hooked; with noVersions its readers report no version.
type hookStore struct {
	*aferofs.Store
	fsys       afero.Fs
	noVersions bool
	mu         sync.Mutex
	opens      map[string]int
	open       func(key string, n int) error                                             // before the nth Open of key (from 1)
	write      func(ctx context.Context, r io.Reader, inner func(io.Reader) error) error // Write of "s.json"
	onKeep     func()                                                                    // after the live bytes are kept
}

type plainRC struct{ io.ReadCloser }

func (h *hookStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	h.mu.Lock()
	if h.opens == nil {
		h.opens = map[string]int{}
	}
	h.opens[key]++
	n := h.opens[key]
	h.mu.Unlock()
	if h.open != nil {
		if err := h.open(key, n); err != nil {
			return nil, err
		}
	}
	rc, err := h.Store.Open(ctx, key)
	if err == nil && h.noVersions {
		rc = plainRC{rc}
	}
	return rc, err
}

func (h *hookStore) Write(ctx context.Context, key string, r io.Reader, opts store.WriteOptions) error {
	if key == "s.json" && h.write != nil {
		return h.write(ctx, r, func(r io.Reader) error { return h.Store.Write(ctx, key, r, opts) })
	}
	err := h.Store.Write(ctx, key, r, opts)
	if err == nil && strings.HasPrefix(key, "s.json"+recovery.PreservedSuffix) && h.onKeep != nil {
		h.onKeep()
	}
	return err
}

var _ store.Writer = (*hookStore)(nil)

// bigSession is a session of messages named by contents, with a string
// outside the messages big enough that the merge crosses many pipe writes.
func bigSession(contents ...string) []byte {
	var b strings.Builder
	b.WriteString(`{"title":"` + strings.Repeat(`t\"`, 40_000) + `","messages":[`)
	for i, c := range contents {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `{"role":"user","content":"%s %s"}`, c, strings.Repeat("x", 30_000))
	}
	b.WriteString(`],"model":"m"}`)
	return []byte(b.String())
}

func newHookStore(t *testing.T, live, bak []byte) *hookStore {
	s, fsys := memStore(t, map[string][]byte{"s.json": live, "s.json.bak": bak})
	return &hookStore{Store: s, fsys: fsys}
}

// settled waits for the goroutines recovery started to end.
func settled(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines left running (%d before):\n%s", runtime.NumGoroutine(), before, buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Every way a store's Write can fail a merge leaves no goroutine behind,
// writes nothing, keeps the backup and the kept copy, and reports an error.
func TestMergeWriteFailuresLeakNothing(t *testing.T) {
	live, bak := bigSession("a", "new 1", "new 2", "new 3"), bigSession("a", "b", "c")
	boom := errors.New("boom")
	for _, c := range []struct {
		name  string
		write func(ctx context.Context, r io.Reader, inner func(io.Reader) error) error
	}{
		{"returns without reading", func(context.Context, io.Reader, func(io.Reader) error) error { return boom }},
		{"reads a little", func(_ context.Context, r io.Reader, _ func(io.Reader) error) error {
			io.CopyN(io.Discard, r, 10)
			return boom
		}},
		{"reads past the first pipe write", func(_ context.Context, r io.Reader, _ func(io.Reader) error) error {
			io.CopyN(io.Discard, r, 200_000)
			return boom
		}},
		{"reads it all, then fails", func(_ context.Context, r io.Reader, _ func(io.Reader) error) error {
			io.Copy(io.Discard, r)
			return boom
		}},
		{"reads on in a goroutine after it returns", func(_ context.Context, r io.Reader, _ func(io.Reader) error) error {
			go io.Copy(io.Discard, iotest.OneByteReader(r))
			return boom
		}},
		{"the inner write, cancelled midway", func(ctx context.Context, r io.Reader, inner func(io.Reader) error) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			_ = ctx
			return inner(&cancelAfter{r: r, n: 100_000, cancel: cancel, then: boom})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			s := newHookStore(t, live, bak)
			s.write = c.write
			done := make(chan *recovery.Report)
			go func() {
				r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{Merge: true})
				assert.NoError(t, err)
				done <- r
			}()
			var r *recovery.Report
			select {
			case r = <-done:
			case <-time.After(20 * time.Second):
				buf := make([]byte, 1<<20)
				t.Fatalf("deadlock:\n%s", buf[:runtime.Stack(buf, true)])
			}
			st := r.Details[0]
			assert.Error(t, st.Err)
			assert.False(t, st.Merged)
			assert.Equal(t, live, readMem(t, s.fsys, "s.json"))
			assert.Equal(t, bak, readMem(t, s.fsys, "s.json.bak"))
			if assert.NotEmpty(t, st.PreservedKey) {
				assert.Equal(t, live, readMem(t, s.fsys, st.PreservedKey))
			}
			settled(t, before)
		})
	}
}

// cancelAfter reads n bytes, then fails with then (the inner store sees a
// failing source after its context was cancelled).
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
	then   error
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
		return 0, c.then
	}
	p = p[:min(len(p), c.n)]
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

// Cancelling the run itself while the merge is read by the store.
func TestMergeCancelledMidwayLeaksNothing(t *testing.T) {
	live, bak := bigSession("a", "new 1", "new 2", "new 3"), bigSession("a", "b", "c")
	before := runtime.NumGoroutine()
	s := newHookStore(t, live, bak)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.write = func(wctx context.Context, r io.Reader, inner func(io.Reader) error) error {
		return inner(&cancelAfter{r: r, n: 150_000, cancel: cancel, then: nil})
	}
	r, err := recovery.RecoverAll(ctx, s, recovery.Options{Merge: true})
	if err == nil {
		st := r.Details[0]
		assert.Error(t, st.Err)
		assert.False(t, st.Merged)
	}
	assert.Equal(t, live, readMem(t, s.fsys, "s.json"))
	assert.Equal(t, bak, readMem(t, s.fsys, "s.json.bak"))
	settled(t, before)
}

// A second read that fails, of either document, makes no write.
func TestMergeReopenFailuresLeakNothing(t *testing.T) {
	live, bak := bigSession("a", "new 1", "new 2", "new 3"), bigSession("a", "b", "c")
	// Opens: live: count, pass 2, keep, merge; backup: count, pass 1, pass 3, merge.
	for _, c := range []struct {
		key string
		n   int
	}{{"s.json", 4}, {"s.json.bak", 4}} {
		t.Run(c.key, func(t *testing.T) {
			before := runtime.NumGoroutine()
			s := newHookStore(t, live, bak)
			s.open = func(key string, n int) error {
				if key == c.key && n == c.n {
					return errors.New("open failed")
				}
				return nil
			}
			r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{Merge: true})
			require.NoError(t, err)
			st := r.Details[0]
			assert.ErrorContains(t, st.Err, "open failed")
			assert.Equal(t, live, readMem(t, s.fsys, "s.json"))
			assert.Equal(t, bak, readMem(t, s.fsys, "s.json.bak"))
			settled(t, before)
		})
	}
}

// On a store that tells no versions, a document changed (same size) after
// it was compared and before the merge is written makes no write: only the
// bytes counted are written.
func TestMergeOfChangedDocumentsWithoutVersions(t *testing.T) {
	live, bak := bigSession("a", "new 1", "new 2", "new 3"), bigSession("a", "b", "c")
	for _, key := range []string{"s.json", "s.json.bak"} {
		t.Run(key, func(t *testing.T) {
			before := runtime.NumGoroutine()
			s := newHookStore(t, live, bak)
			s.noVersions = true
			var changed []byte
			s.onKeep = func() {
				b := readMem(t, s.fsys, key)
				changed = bytes.Replace(b, []byte(`"a x`), []byte(`"A x`), 1)
				require.NotEqual(t, b, changed)
				require.NoError(t, afero.WriteFile(s.fsys, "/"+key, changed, 0o644))
			}
			r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{Merge: true})
			require.NoError(t, err)
			st := r.Details[0]
			require.NotNil(t, changed, "kept")
			assert.ErrorIs(t, st.Err, store.ErrChanged)
			assert.False(t, st.Merged)
			if key == "s.json" {
				assert.Equal(t, changed, readMem(t, s.fsys, "s.json"))
			} else {
				assert.Equal(t, live, readMem(t, s.fsys, "s.json"))
			}
			settled(t, before)
		})
	}
}
