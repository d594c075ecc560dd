package recovery_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// staleStore lists key with a size one byte short of its bytes (the
// document grew after it was listed), and fails reads of key past its
// first 1000 bytes when failTail is set.
type staleStore struct {
	store.Store
	key      string
	failTail bool
}

func (s staleStore) List(ctx context.Context, prefix string, fn func(store.Object) error) error {
	return s.Store.List(ctx, prefix, func(o store.Object) error {
		if o.Key == s.key && !s.failTail {
			o.Size--
		}
		return fn(o)
	})
}

type tailFails struct {
	io.ReadCloser
	left int
}

func (t *tailFails) Read(p []byte) (int, error) {
	if t.left <= 0 {
		return 0, errors.New("connection reset")
	}
	p = p[:min(len(p), t.left)]
	n, err := t.ReadCloser.Read(p)
	t.left -= n
	return n, err
}

func (s staleStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.Store.Open(ctx, key)
	if err == nil && key == s.key && s.failTail {
		rc = &tailFails{ReadCloser: rc, left: 1000}
	}
	return rc, err
}

// Options.Diff must not change a dry run's outcome. A live document that is
// not a session gets no preview, yet with Diff the count reads it to its
// end (sum forces the drain that only a restore needs), so a tail that
// fails to read, or a size that moved since the listing, turns the advice
// "restore" into an error.
func TestDiffDoesNotChangeADryRunsOutcome(t *testing.T) {
	for _, failTail := range []bool{false, true} {
		dir := t.TempDir()
		// Not a session from its first byte (a save cut by a crash), large.
		require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json"), []byte("\x00"+strings.Repeat("x", 100_000)), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json.bak"), []byte(`{"messages":[1,2]}`), 0o600))
		ls, err := local.New(dir)
		require.NoError(t, err)
		s := staleStore{Store: ls, key: "s.json", failTail: failTail}
		var got [2]recovery.Status
		for i, diff := range []bool{false, true} {
			r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{DryRun: true, Diff: diff})
			require.NoError(t, err)
			require.Len(t, r.Details, 1)
			got[i] = r.Details[0]
		}
		require.NoError(t, got[0].Err, "without Diff")
		assert.Equal(t, recovery.Restore, got[0].Recommend)
		assert.NoError(t, got[1].Err, "with Diff (failTail=%v)", failTail)
		assert.Equal(t, got[0].Recommend, got[1].Recommend, "with Diff (failTail=%v)", failTail)
		assert.Equal(t, got[0].LiveMessages, got[1].LiveMessages, "with Diff (failTail=%v)", failTail)
	}
}
