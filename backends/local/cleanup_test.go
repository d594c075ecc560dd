package local_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/store"
)

// notDurableDelete is a local store whose restore fails before anything
// lands (ENOSPC on the temporary file) and whose Delete removes the file
// and then cannot sync the directory (EIO, EMFILE): store.ErrNotDurable,
// "the change was made".
type notDurableDelete struct{ *spyStore }

func (n notDurableDelete) Write(ctx context.Context, key string, r io.Reader, opts store.WriteOptions) error {
	if key == "s.json" {
		return fmt.Errorf("local: write %q: write temporary file: %w", key, syscall.ENOSPC)
	}
	return n.spyStore.Write(ctx, key, r, opts)
}

func (n notDurableDelete) Delete(ctx context.Context, key string, opts store.WriteOptions) error {
	if err := n.spyStore.Delete(ctx, key, opts); err != nil {
		return err
	}
	return fmt.Errorf("local: delete %q: %w: sync directory: %w", key, store.ErrNotDurable, syscall.EIO)
}

// Once a bug: cleanUp treats a Delete that wraps store.ErrNotDurable (the
// link was removed, the directory sync failed) as a Delete that failed:
// the status names as PreservedKey a file that no longer exists, and the
// error says it "could not be removed".
func TestLinkRemovedButNotDurableIsNotReportedAsKept(t *testing.T) {
	dir, s := shrunkStore(t)
	st := recoverS(t, notDurableDelete{s})
	require.Error(t, st.Err)
	assert.False(t, st.Restored)
	_, err := os.Lstat(filepath.Join(dir, "s.json.replaced"))
	require.ErrorIs(t, err, os.ErrNotExist, "the link was removed")
	assert.Empty(t, st.PreservedKey, "PreservedKey names no file that is gone")
	assert.NotContains(t, st.Error, "could not be removed")
}
