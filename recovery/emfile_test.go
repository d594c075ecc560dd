package recovery_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// emfileStore is a local store that, as under `ulimit -n 20`, fails the
// restore's write with EMFILE, and from then on every Open with EMFILE too.
type emfileStore struct {
	*local.Store
	exhausted atomic.Bool
}

func (s *emfileStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if s.exhausted.Load() {
		return nil, fmt.Errorf("local: open %q: %w", key, syscall.EMFILE)
	}
	return s.Store.Open(ctx, key)
}

func (s *emfileStore) Write(ctx context.Context, key string, r io.Reader, opts store.WriteOptions) error {
	if strings.HasSuffix(key, ".json") {
		s.exhausted.Store(true)
		return fmt.Errorf("local: write %q: create temporary file: %w", key, syscall.EMFILE)
	}
	return s.Store.Write(ctx, key, r, opts)
}

// Under `ulimit -n 20`, recover on 500 sessions said of some of them "the
// live document is no longer the version read, so the restore may have
// been made", while the live document was untouched (the very inode the
// kept .replaced link names): the check after the failed write had failed
// too (EMFILE), and was taken for a change. It is said as what it is.
func TestAFailedCheckIsNotTakenForAChange(t *testing.T) {
	dir := t.TempDir()
	live := []byte(`{"messages":[1]}`)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.json"), live, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.json.bak"), []byte(`{"messages":[1,2,3]}`), 0o644))
	ls, err := local.New(dir)
	require.NoError(t, err)
	defer ls.Close()

	st, err := recovery.Recover(context.Background(), &emfileStore{Store: ls}, "a", recovery.Options{})
	require.NoError(t, err)
	require.False(t, st.Restored)
	require.Error(t, st.Err)
	got, rerr := os.ReadFile(filepath.Join(dir, "a.json"))
	require.NoError(t, rerr)
	require.Equal(t, string(live), string(got), "the live document is unchanged")
	require.NotContains(t, st.Err.Error(), "no longer the version read",
		"the error says the live document changed, but it did not: only the check failed (EMFILE)")
	require.Contains(t, st.Err.Error(), "could not be checked")
	require.Contains(t, st.Err.Error(), "too many open files")
}
